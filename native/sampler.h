// Sampler lifecycle: install the handler (chaining to the previous one), arm the timer engine,
// and undo both on stop, on environment teardown and at process exit.
#ifndef SFPROF_SAMPLER_H_
#define SFPROF_SAMPLER_H_

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "code_events.h"
#include "sampler_state.h"
#include "timer.h"

namespace sfprof {

struct SamplerOptions {
  uint64_t interval_us = 10000;
  size_t ring_slots = 4096;
  size_t max_frames = 128;
  // V8's own CPU profiler restores the default SIGPROF disposition when it stops; with our timer
  // still armed that kills the process. Only chain to it when it is known to stop after us
  // (node --cpu-prof writes its profile after the exit event).
  bool allow_v8_profiler = false;
  // "itimer", "perf" or "thread-cpu"; the JS side resolves "auto".
  std::string engine = "itimer";
  bool simulate_perf_failure = false;
};

// One sampled JS thread: the main thread or a worker that attached. Owned by the Sampler's
// registry; the signal handler reaches only `sampler`, through that thread's TLS pointer.
struct ThreadEntry {
  v8::Isolate* isolate = nullptr;
  int thread_id = 0;  // Node's threadId: 0 for the main thread
  std::string name;   // the worker's script, when known
  uint64_t session = 0;
  std::unique_ptr<ThreadSampler> sampler;
  std::unique_ptr<CodeEventLog> log;
  // The engine that armed this thread's timer: a later session may use another one.
  std::shared_ptr<TimerEngine> engine;
  // The thread's CPU clock (readable from any thread while it lives), at attach and at detach.
  clockid_t cpu_clock{};
  bool has_cpu_clock = false;
  double cpu_start_ns = 0;
  double cpu_end_ns = -1;
  // Samples the interrupt moved out of the ring; the drain hands them over first.
  std::vector<double> spill;
  uint64_t spill_count = 0;
  bool timer_attached = false;  // a per-thread timer runs for it
  bool finished = false;        // its thread cleared its TLS: the memory may go once drained
};

// Samples moved out of one thread's ring for JS, encoded as Sampler::DrainSamples describes.
struct DrainedThread {
  int thread_id = 0;
  std::string name;
  bool finished = false;
  std::vector<double> records;
  uint64_t count = 0;
  std::vector<CodeEvent> events;
};

// Counters summed over every thread of the session.
struct ThreadTotals {
  uint64_t samples_recorded = 0;
  uint64_t dropped_ring_full = 0;
  uint64_t dropped_busy = 0;
  uint64_t truncated = 0;
  uint64_t threads = 0;
  double thread_cpu_ns = 0;          // CPU time of the sampled threads while they were sampled
  std::vector<double> handler_time = std::vector<double>(kHandlerBuckets, 0);  // histogram
};

class Sampler {
 public:
  static Sampler& Get();

  // Main JS thread of `isolate`. Fails (with a reason) when already running, when another copy of
  // sfprof owns the signal, or when the timer cannot be armed.
  bool Start(v8::Isolate* isolate, const SamplerOptions& options, std::string* error);
  // Owner's JS thread. Disarms the timers, restores the previous disposition, stops code events on
  // the main thread and closes the workers' logs. Rings stay readable until Release().
  void Stop();
  void Release();

  // A worker's JS thread: samples it into the running session (its own ring, code log and, for
  // per-thread engines, timer). Fails when no session runs or the thread is already attached.
  bool AttachThread(v8::Isolate* isolate, int thread_id, std::string* error);
  // That worker's thread (explicitly, or its environment teardown): stops sampling it. What it
  // sampled stays for the main thread's next drain.
  void DetachThread(v8::Isolate* isolate);
  void NameThread(v8::Isolate* isolate, const std::string& name);

  bool running() const { return running_.load(); }
  v8::Isolate* owner() const { return owner_; }
  const char* engine_name() const { return engine_ ? engine_->name() : "none"; }
  int signal_number() const { return signal_; }
  uint64_t interval_us() const { return options_.interval_us; }
  // Summed over the session's threads; false before the first Start.
  bool Totals(ThreadTotals* totals);
  uint64_t start_ns() const { return start_ns_; }
  double thread_cpu_start_ns() const { return thread_cpu_start_ns_; }
  double process_cpu_start_ns() const { return process_cpu_start_ns_; }
  uint64_t handler_reinstalls() const { return handler_reinstalls_.load(); }
  uint64_t handler_displaced() const { return handler_displaced_.load(); }
  uint64_t spill_interrupts() const { return spill_interrupts_; }

  // Owner's JS thread: moves published samples out of every thread's ring, and the code events
  // logged so far. Samples are encoded as doubles:
  // [time since start (ns), code sequence, vm state, flags, weight (µs, 0 = unknown), frame count,
  //  frame 0 … frame n-1]... Threads that finished are dropped from the registry afterwards.
  void Drain(std::vector<DrainedThread>* out);

  // Any thread (the watcher every 20 ms, the JS thread when a JS SIGPROF listener goes away): puts
  // our handler back if someone restored the default (or ignore) disposition while our timer is
  // armed, which would otherwise let the next tick kill the app. A live foreign handler is left
  // alone (counted): it may forward to us, and replacing it could make two handlers loop.
  void EnsureHandler();

  // JS thread, around the removal of the app's last JS SIGPROF listener: libuv then restores the
  // default disposition, and a tick in between would kill the app. Pause disarms the timer;
  // Resume reinstalls our handler and re-arms.
  void PauseTimer();
  void ResumeTimer();

  // atexit and Node's AtExit: stops signals and the watcher without touching anything that may
  // already be destroyed. Safe to call from any thread, more than once.
  static void DisarmAtExit();
  // pthread_atfork child: a forked child has no timer and no watcher thread.
  static void ForgetAfterFork();

 private:
  bool InstallHandler(std::string* error);
  // A real-time signal nobody handles, for the per-thread engines; 0 when none is free.
  static int PickRealtimeSignal();
  // A failed Start() after the handler was installed: put everything back as it was.
  void UndoStart(bool timer_armed);
  void RestoreHandler();
  // Stops the per-thread timer of an entry and keeps the handler from sampling it. Registry locked.
  void QuietEntry(ThreadEntry* entry);
  // The calling thread's CPU clock into `entry` (its own thread, at attach).
  static void StartThreadClock(ThreadEntry* entry);
  static double ThreadCpuNs(const ThreadEntry* entry);
  static void AddThreadCounters(const ThreadEntry& entry, ThreadTotals* totals);
  ThreadEntry* FindEntry(v8::Isolate* isolate);  // registry locked
  // Rings have one reader: the main JS thread. A long synchronous stretch of JS there never lets
  // the drain run, so a watcher thread asks V8 to interrupt it when any ring is half full; the
  // interrupt (on the main JS thread, outside signal context) moves samples into the spills.
  bool StartWatcher(std::string* error);
  void StopWatcher();
  static void* WatcherMain(void* data);
  static void OnInterrupt(v8::Isolate* isolate, void* data);
  void SpillRings();  // registry locked
  void ReadRing(ThreadEntry* entry, std::vector<double>* records, uint64_t* count, size_t limit_words);

  std::atomic<bool> running_{false};
  bool handler_installed_ = false;
  std::atomic<bool> ensuring_{false};  // EnsureHandler in progress on some thread
  bool timer_paused_ = false;          // JS thread only
  v8::Isolate* owner_ = nullptr;
  SamplerOptions options_;
  std::shared_ptr<TimerEngine> engine_;  // assigned with the registry locked
  uint64_t session_ = 0;
  uint64_t start_ns_ = 0;
  double thread_cpu_start_ns_ = 0;
  double process_cpu_start_ns_ = 0;
  int signal_ = SIGPROF;
  std::atomic<uint64_t> handler_reinstalls_{0};
  std::atomic<uint64_t> handler_displaced_{0};
  uint64_t spill_interrupts_ = 0;
  uint64_t spill_words_ = 0;  // across all spills, against kSpillLimitWords
  ThreadTotals retired_;      // counters of this session's threads already drained and freed
  // V8's embedded builtins: the same code at the same addresses in every isolate of the process.
  uint64_t embedded_start_ = 0;
  uint64_t embedded_size_ = 0;

  // The registry of sampled threads. Never touched in signal context. A forked child never locks
  // it (the parent may have held it at fork): forked_child_ is checked first.
  pthread_mutex_t registry_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  std::vector<std::unique_ptr<ThreadEntry>> entries_;
  ThreadEntry* main_entry_ = nullptr;
  std::atomic<bool> forked_child_{false};

  // Watcher thread state.
  pthread_t watcher_{};
  std::atomic<bool> watcher_running_{false};    // a thread exists; whoever clears it joins it
  std::atomic<bool> watcher_stop_{false};
  std::atomic<bool> interrupt_pending_{false};  // set by the watcher, cleared on the JS thread
};

double ClockNs(int clock_id);

}  // namespace sfprof

#endif  // SFPROF_SAMPLER_H_
