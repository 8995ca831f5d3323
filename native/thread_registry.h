// The registry of sampled threads: one ThreadEntry per JS thread of a session (the main thread and
// each attached worker), and the counters of the threads already drained and freed. Never touched in
// signal context: the handler reaches a thread's ThreadSampler only through that thread's slot
// (thread_slot.h).
#ifndef SFPROF_THREAD_REGISTRY_H_
#define SFPROF_THREAD_REGISTRY_H_

#include <pthread.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "code_events.h"
#include "gc_cause.h"
#include "sampler_state.h"
#include "thread_cpu_clock.h"
#include "timer.h"

namespace sfprof {

// One sampled JS thread. Owned by the registry; the signal handler reaches only `sampler`.
struct ThreadEntry {
  // ---- immutable once added ----
  v8::Isolate* isolate = nullptr;
  int thread_id = 0;  // Node's threadId: 0 for the main thread
  uint64_t session = 0;
  std::unique_ptr<ThreadSampler> sampler;
  std::unique_ptr<CodeEventLog> log;
  // The engine that armed this thread's timer: a later session may use another one.
  std::shared_ptr<TimerEngine> engine;
  // The stacks that began GCs (gc_cause.h); null when GC causes are off. Its callbacks are added
  // and removed on the entry's own thread by the session.
  std::unique_ptr<GcCauseLog> gc;

  // ---- registry locked ----
  std::string name;  // the worker's script, when known
  // The thread's CPU clock (readable from any thread while it lives), at attach and at detach.
  ThreadCpuClock cpu_clock;
  double cpu_start_ns = 0;
  double cpu_end_ns = -1;
  // Samples the watcher's spill moved out of the ring; the drain hands them over first.
  std::vector<double> spill;
  uint64_t spill_count = 0;
  bool timer_attached = false;  // a per-thread timer runs for it
  bool finished = false;        // its thread cleared its TLS: the memory may go once drained
};

// Counters summed over every thread of a session.
struct ThreadTotals {
  uint64_t samples_recorded = 0;
  uint64_t dropped_ring_full = 0;
  uint64_t dropped_busy = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t signals_coalesced = 0;  // pacer: deadlines passed while a signal was pending (not lost)
  uint64_t truncated = 0;
  uint64_t samples_labelled = 0;
  uint64_t label_read_ns = 0;
  uint64_t label_clock_ns = 0;
  uint64_t label_reads_timed = 0;
  uint64_t threads = 0;
  double thread_cpu_ns = 0;  // CPU time of the sampled threads while they were sampled
  std::vector<double> handler_time = std::vector<double>(kHandlerBuckets, 0);  // histogram
};

// An entry for `isolate`'s thread with its ring and code log allocated (outside signal context);
// null when the ring cannot be allocated.
std::unique_ptr<ThreadEntry> NewThreadEntry(v8::Isolate* isolate, int thread_id, uint64_t session,
                                            size_t ring_slots, size_t max_frames);
// On the entry's own thread, when it starts being sampled.
void StartThreadClock(ThreadEntry* entry);
// Any thread, while the entry's thread lives: its CPU time is final from here on.
void StopThreadClock(ThreadEntry* entry);

class ThreadRegistry {
 public:
  using Entries = std::vector<std::unique_ptr<ThreadEntry>>;

  class Lock {
   public:
    explicit Lock(ThreadRegistry* registry) : mutex_(&registry->mutex_) { pthread_mutex_lock(mutex_); }
    ~Lock() { pthread_mutex_unlock(mutex_); }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

   private:
    pthread_mutex_t* mutex_;
  };
  // For the watcher and the exit path, which never wait on the registry: the JS thread's drain has
  // priority (the watcher skips a spill and comes back in 20 ms). A forked child never locks it: the
  // watcher may have held it, for a whole spill, at the fork.
  bool TryLock() { return pthread_mutex_trylock(&mutex_) == 0; }
  void Unlock() { pthread_mutex_unlock(&mutex_); }

  // ---- with the registry locked ----
  Entries& entries() { return entries_; }
  // The entry of a thread still being sampled (not finished), or null.
  ThreadEntry* Find(v8::Isolate* isolate);
  void Add(std::unique_ptr<ThreadEntry> entry) { entries_.push_back(std::move(entry)); }
  void Remove(const ThreadEntry* entry);
  // Frees a finished entry the drain has emptied; its counters stay in the session's totals.
  Entries::iterator Retire(Entries::iterator it);
  // Counters of `session`'s threads, the retired ones included.
  void Totals(uint64_t session, ThreadTotals* totals);
  void ForgetRetired() { retired_ = ThreadTotals(); }

 private:
  pthread_mutex_t mutex_ = PTHREAD_MUTEX_INITIALIZER;
  Entries entries_;
  ThreadTotals retired_;  // counters of this session's threads already drained and freed
};

}  // namespace sfprof

#endif  // SFPROF_THREAD_REGISTRY_H_
