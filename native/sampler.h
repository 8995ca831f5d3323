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

// Samples moved out of the ring for JS, encoded as Sampler::DrainSamples describes.
struct DrainedSamples {
  std::vector<double> records;
  uint64_t count = 0;
};

class Sampler {
 public:
  static Sampler& Get();

  // JS thread of `isolate`. Fails (with a reason) when already running, when another copy of
  // sfprof owns the signal, or when the timer cannot be armed.
  bool Start(v8::Isolate* isolate, const SamplerOptions& options, std::string* error);
  // Owner's JS thread. Disarms the timer, restores the previous disposition, stops code events.
  // The ring stays readable until Release().
  void Stop();
  void Release();

  bool running() const { return running_.load(); }
  v8::Isolate* owner() const { return owner_; }
  const char* engine_name() const { return engine_ ? engine_->name() : "none"; }
  int signal_number() const { return signal_; }
  uint64_t interval_us() const { return options_.interval_us; }
  const ThreadSampler* thread() const { return thread_.get(); }
  uint64_t start_ns() const { return start_ns_; }
  double thread_cpu_start_ns() const { return thread_cpu_start_ns_; }
  double process_cpu_start_ns() const { return process_cpu_start_ns_; }
  double thread_user_start_ns() const { return thread_user_start_ns_; }
  uint64_t handler_reinstalls() const { return handler_reinstalls_.load(); }
  uint64_t handler_displaced() const { return handler_displaced_.load(); }
  uint64_t spill_interrupts() const { return spill_interrupts_; }

  // Owner's JS thread: moves published samples out of the ring, encoded as doubles:
  // [time since start (ns), code sequence, vm state, flags, weight (µs, 0 = unknown), frame count,
  //  frame 0 … frame n-1]...
  void DrainSamples(DrainedSamples* out);

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
  // The ring has one reader on the JS thread, but a long synchronous stretch of JS never lets the
  // drain run. A watcher thread asks V8 to interrupt the JS thread when the ring is half full; the
  // interrupt (on the JS thread, outside signal context) moves samples into a growable spill.
  bool StartWatcher(std::string* error);
  void StopWatcher();
  static void* WatcherMain(void* data);
  static void OnInterrupt(v8::Isolate* isolate, void* data);
  void SpillRing();
  void ReadRing(std::vector<double>* records, uint64_t* count, size_t limit_words);

  std::atomic<bool> running_{false};
  bool handler_installed_ = false;
  std::atomic<bool> ensuring_{false};  // EnsureHandler in progress on some thread
  bool timer_paused_ = false;          // JS thread only
  v8::Isolate* owner_ = nullptr;
  SamplerOptions options_;
  std::unique_ptr<ThreadSampler> thread_;
  std::unique_ptr<TimerEngine> engine_;
  uint64_t start_ns_ = 0;
  double thread_cpu_start_ns_ = 0;
  double process_cpu_start_ns_ = 0;
  double thread_user_start_ns_ = 0;
  int signal_ = SIGPROF;
  std::atomic<uint64_t> handler_reinstalls_{0};
  std::atomic<uint64_t> handler_displaced_{0};

  // Owned by the JS thread (drain and interrupt callback both run there).
  std::vector<double> spill_;
  uint64_t spill_count_ = 0;
  uint64_t spill_interrupts_ = 0;

  // Watcher thread state. No mutex: a child forked while the watcher held one would hang at exit.
  pthread_t watcher_{};
  std::atomic<bool> watcher_running_{false};    // a thread exists; whoever clears it joins it
  std::atomic<bool> watcher_stop_{false};
  std::atomic<bool> interrupt_pending_{false};  // set by the watcher, cleared on the JS thread
};

double ClockNs(int clock_id);
// User-mode CPU time of the calling thread (what the perf engine counts), ns.
double ThreadUserNs();

}  // namespace sfprof

#endif  // SFPROF_SAMPLER_H_
