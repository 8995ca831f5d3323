// Rings → records: moves the published samples out of each sampled thread's ring, encoded for JS,
// with the code events logged so far. The reader side of ring_buffer.h: the drain on the owner's JS
// thread or the watcher thread's spill, always with the registry locked, which serializes them.
#ifndef SFPROF_DRAIN_H_
#define SFPROF_DRAIN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "code_events.h"
#include "thread_registry.h"

namespace sfprof {

// Samples and code events moved out of one thread, for JS.
struct DrainedThread {
  int thread_id = 0;
  std::string name;
  bool finished = false;
  std::vector<double> records;  // sample records, as wire_format.h lays out the drain's (kRecord*)
  uint64_t count = 0;
  std::vector<CodeEvent> events;
  std::vector<double> gc;   // GC causes, as wire_format.h lays them out
  uint64_t gc_dropped = 0;  // GC causes the full log could not take since the last drain
};

// What the drain needs to know of the session.
struct DrainScope {
  uint64_t session = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC at start: record times are relative to it
  const ThreadEntry* main = nullptr;
  // V8's embedded builtins: the same code at the same addresses in every isolate of the process.
  uint64_t embedded_start = 0;
  uint64_t embedded_size = 0;
};

// Moves each ring's samples (and GC records) into its entry's spill, so a long synchronous stretch
// of JS or a long call into C++ cannot fill the rings. All spills together stay under a limit
// (`spill_words` counts them); past it the rings fill and count their drops. Returns the words moved.
size_t SpillRings(ThreadRegistry* registry, const DrainScope& scope, size_t* spill_words);

// Hands over every thread's spill, then what is in its ring, then its code events. Threads that
// finished are retired from the registry afterwards.
void DrainThreads(ThreadRegistry* registry, const DrainScope& scope, std::vector<DrainedThread>* out);

}  // namespace sfprof

#endif  // SFPROF_DRAIN_H_
