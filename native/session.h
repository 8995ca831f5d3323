// A sampling session: start and stop on the main JS thread, workers attaching and detaching, the
// timer paused around the app's own SIGPROF listeners, and the process's exit and fork. One per
// process (Session::Get); addon.cc drives it. Never runs in signal context.
#ifndef SFPROF_SESSION_H_
#define SFPROF_SESSION_H_

#include <signal.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "drain.h"
#include "failure.h"
#include "ring_watcher.h"
#include "signal_chain.h"
#include "stall_watch.h"
#include "thread_registry.h"
#include "timer.h"

namespace sfprof {

// Bounds of the options start() takes. src/options.ts is the one validator (its errors name the
// option, the value and what is allowed); these are its numbers, so addon.cc only rejects what
// options.ts would never send. The addon reports them as `optionBounds`, and
// test/wire-format.test.mjs checks that options.ts agrees.
constexpr uint64_t kIntervalUsMin = 100;
constexpr uint64_t kIntervalUsMax = 1000000;
constexpr uint64_t kRingSlotsMin = 16;  // and a power of two (SampleRing::Init refuses others)
constexpr uint64_t kRingSlotsMax = 1u << 20;
constexpr uint64_t kMaxFramesMin = 1;
constexpr uint64_t kMaxFramesMax = 255;

struct SamplerOptions {
  uint64_t interval_us = 10000;
  size_t ring_slots = 4096;
  size_t max_frames = 128;
  // V8's own CPU profiler restores the default SIGPROF disposition when it stops; with our timer
  // still armed that kills the process. Only chain to it when it is known to stop after us
  // (node --cpu-prof writes its profile after the exit event).
  bool allow_v8_profiler = false;
  // "itimer", "perf", "thread-cpu" or "pacer"; the JS side resolves "auto".
  std::string engine = "itimer";
  bool simulate_perf_failure = false;
  // Record the JS stack at each GC's begin on every sampled thread (gc_cause.h).
  bool gc_cause = false;
  // Report the main thread away from its event loop for longer than this (stall_watch.h); 0: off.
  uint64_t stall_threshold_us = 0;
};

class Session {
 public:
  static Session& Get();

  // Main JS thread of `isolate`. Fails (with a code and a reason) when already running, when another
  // copy of sfprof owns the signal, or when the timer cannot be armed.
  bool Start(v8::Isolate* isolate, const SamplerOptions& options, Failure* failure);
  // Owner's JS thread. Disarms the timers, restores the previous disposition, stops code events on
  // the main thread and closes the workers' logs. Rings stay readable until Release().
  void Stop();
  void Release();

  // A worker's JS thread: samples it into the running session (its own ring, code log and, for
  // per-thread engines, timer). Fails when no session runs or the thread is already attached to
  // it; an attachment to an earlier session (a worker kept across stop()/start()) is replaced.
  bool AttachThread(v8::Isolate* isolate, int thread_id, Failure* failure);
  // That worker's thread (explicitly, or its environment teardown): stops sampling it. What it
  // sampled stays for the main thread's next drain.
  void DetachThread(v8::Isolate* isolate);
  void NameThread(v8::Isolate* isolate, const std::string& name);

  // Owner's JS thread: moves published samples out of every thread's ring (see drain.h), and the
  // code events logged so far. Threads that finished are dropped from the registry afterwards.
  void Drain(std::vector<DrainedThread>* out);
  // ---- the main thread's existing code, listed at its first sample (session_listing.cc) ----
  // Owner's JS thread: lists the code that existed before the session (CodeEventLog::ListExisting)
  // once a sample is recorded; a session that never samples never pays for the listing.
  void ListExistingCodeOnceSampled();
  // The watcher: the main thread has samples and its code is not listed yet.
  bool ListingWanted() const;
  // The watcher's interrupt, on the owner's JS thread: lists within ~20 ms of the first sample, so
  // little code can move or be freed before the listing (a no-op once stopped).
  void ListFromInterrupt(v8::Isolate* isolate);
  // Summed over the session's threads; false before the first Start.
  bool Totals(ThreadTotals* totals);

  // Any thread (the watcher every 20 ms, the JS thread when a JS SIGPROF listener goes away): see
  // SignalChain::Ensure.
  void EnsureHandler();
  // JS thread, around the removal of the app's last JS SIGPROF listener: libuv then restores the
  // default disposition, and a tick in between would kill the app. Pause disarms the timer;
  // Resume reinstalls our handler and re-arms.
  void PauseTimer();
  void ResumeTimer();
  // Tests only: the watcher's handler check skips, as while it is inside it (see ResumeTimer).
  void HoldHandlerCheckForTests(bool hold) { chain_.HoldEnsureForTests(hold); }
  // Tests only: the watcher does not spill, as when a drain holds the registry all along.
  void HoldSpillsForTests(bool hold) { spills_held_.store(hold); }

  // ---- for the ring watcher ----
  // On the watcher thread: when a ring is half full, moves what the rings hold into their spills,
  // so a long synchronous stretch of JS (or a long call into C++ or a GC, which no interrupt would
  // enter) never fills a ring. Skipped, without waiting, while the registry is held (a drain is
  // reading the rings).
  void SpillFromWatcher();

  // The stall watch (stall_watch.h): the watcher polls it, addon.cc takes its ended stalls.
  StallWatch& stall() { return stall_; }

  // ---- process hooks (session_process.cc) ----
  // atexit and Node's AtExit: stops signals and the watcher without touching anything that may
  // already be destroyed. Safe to call from any thread, more than once.
  static void DisarmAtExit();
  // pthread_atfork child: a forked child has no timer and no watcher thread.
  static void ForgetAfterFork();

  // In a process forked from the profiled one (nothing of the session runs there).
  bool forked_child() const { return forked_child_.load(); }
  bool running() const { return running_.load(); }
  v8::Isolate* owner() const { return owner_; }
  const char* engine_name() const { return engine_ ? engine_->name() : "none"; }
  int signal_number() const { return signal_; }
  uint64_t interval_us() const { return options_.interval_us; }
  uint64_t start_ns() const { return start_ns_; }
  double thread_cpu_start_ns() const { return thread_cpu_start_ns_; }
  double process_cpu_start_ns() const { return process_cpu_start_ns_; }
  uint64_t handler_reinstalls() const { return chain_.reinstalls(); }
  uint64_t handler_displaced() const { return chain_.displaced(); }
  uint64_t spills() const { return spills_.load(std::memory_order_relaxed); }

 private:
  // With the registry locked: whether a sample or GC ring, or the other threads' ring, is half full.
  bool AnyRingHalfFullLocked();
  // Picks the signal for `engine` into signal_ (a free real-time one for per-thread engines).
  bool PickSignal(const TimerEngine& engine, Failure* failure);
  // Arms `engine` for the calling thread: its own timer, or the process-wide one.
  bool ArmTimer(TimerEngine* engine, ThreadSampler* sampler, Failure* failure);
  // A failed Start() after the handler was installed: put everything back as it was.
  void UndoStart(bool timer_armed);
  // Stops the per-thread timer of an entry and keeps the handler from sampling it. Registry locked.
  static void QuietEntry(ThreadEntry* entry);
  // On `entry`'s own thread, registry locked: stops sampling it and removes it, undrained (a worker
  // attaching again after its session ended).
  void ForgetStaleEntry(ThreadEntry* entry);
  static void RegisterProcessHooks();
  DrainScope Scope() const;

  // ---- the owner's JS thread (read by any thread once running_ is set) ----
  std::atomic<bool> running_{false};
  bool timer_paused_ = false;
  v8::Isolate* owner_ = nullptr;
  SamplerOptions options_;
  std::shared_ptr<TimerEngine> engine_;  // assigned with the registry locked
  uint64_t session_ = 0;
  int signal_ = SIGPROF;
  uint64_t start_ns_ = 0;
  double thread_cpu_start_ns_ = 0;
  double process_cpu_start_ns_ = 0;
  std::atomic<uint64_t> spills_{0};  // written by the watcher, read by stats()
  std::atomic<bool> spills_held_{false};  // tests only
  std::atomic<bool> code_listed_{false};  // the main thread's existing code was listed
  size_t spill_words_ = 0;  // across all spills since the last drain; with the registry held
  // V8's embedded builtins: the same code at the same addresses in every isolate of the process.
  uint64_t embedded_start_ = 0;
  uint64_t embedded_size_ = 0;
  ThreadEntry* main_entry_ = nullptr;

  SignalChain chain_;
  SignalChain io_chain_;  // SIGIO, for the perf engine (see Start)
  RingWatcher watcher_;
  StallWatch stall_;  // started and stopped on the owner's JS thread, polled by the watcher
  // A forked child never locks the registry (the parent may have held it at fork): forked_child_ is
  // checked first.
  ThreadRegistry registry_;
  std::atomic<bool> forked_child_{false};
};

}  // namespace sfprof

#endif  // SFPROF_SESSION_H_
