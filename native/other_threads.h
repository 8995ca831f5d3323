// The reader side of the other threads' ring (other_thread_ring.h): the timer signals that landed on
// a thread without a sampler, as (thread id, pc) records for JS. The owner's JS thread (the drain,
// start) and the watcher thread (its spill); never signal context, never in a forked child.
#ifndef SFPROF_OTHER_THREADS_H_
#define SFPROF_OTHER_THREADS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sfprof {

// At start, before the handler is installed: forgets records and drops of an earlier session.
void ResetOtherThreads();
// Any thread (the ring watcher): whether the ring is half full and should be spilled.
bool OtherThreadsHalfFull();
// The watcher's spill: moves the ring's records aside (bounded), so a long synchronous stretch of JS
// or a long call into C++ does not fill it. Returns the records moved.
size_t SpillOtherThreads();
// Hands over what was spilled, then what is in the ring, as wire_format.h's other-thread records.
// With `settle` (after stop): first gives handlers that counted a signal but have not yet published
// its record up to 20 ms to finish, so the records and drops add up to the non-JS-thread count.
void DrainOtherThreads(std::vector<double>* records, bool settle);
// Records the ring had no room for, this session.
uint64_t OtherThreadsUnrecorded();

}  // namespace sfprof

#endif  // SFPROF_OTHER_THREADS_H_
