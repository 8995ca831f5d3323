// A timer engine makes the kernel deliver the sampling signal.
//
//   itimer      setitimer(ITIMER_PROF) + SIGPROF, process-wide; every platform (macOS has only this)
//   perf        perf_event_open task-clock per JS thread + a real-time signal (Linux)
//   thread-cpu  timer_create(CLOCK_THREAD_CPUTIME_ID) per JS thread + a real-time signal (Linux)
//   pacer       one sampler thread reads each JS thread's CPU clock and sends it a real-time signal
//               with rt_tgsigqueueinfo each interval of that thread's CPU time (Linux)
//
// Process-wide engines use Arm/Disarm; per-thread engines attach to the calling JS thread and keep
// their state in its ThreadSampler, where the signal handler reads it.
//
// Each engine weighs its own samples: the CPU time one sample stands for. A per-thread engine's
// AttachThread sets ThreadSampler::sample_weight_ns to a function of its own, which the handler calls
// for every sample; an engine that leaves it null (itimer, whose signals carry no count) gives weight
// 0, "unknown". A plain function pointer in the ThreadSampler rather than a virtual call on the
// engine: the handler reaches nothing but the ThreadSampler (the engine object is shared by registry
// entries, whose lifetime the handler cannot see), and the pointer is written before the timer runs,
// like every other field the handler reads. Those functions run in signal context, so they live apart
// from the engines' setup code, in timer_linux_weight.cc, under signal_handler.cc's rule and checked
// by scripts/check-signal-safety.mjs.
#ifndef SFPROF_TIMER_H_
#define SFPROF_TIMER_H_

#include <signal.h>

#include <cstdint>
#include <memory>
#include <string>

namespace sfprof {

struct ThreadSampler;

class TimerEngine {
 public:
  virtual ~TimerEngine() = default;
  virtual const char* name() const = 0;
  virtual bool per_thread() const = 0;
  // Process-wide engines: periodic signals every `interval_us` of CPU time. On failure returns false
  // and says why. Disarm is safe to call twice, and from an atexit handler.
  virtual bool Arm(uint64_t interval_us, std::string* error) { return true; }
  virtual void Disarm() {}
  // Per-thread engines, on the thread to sample: signal `signo` to this thread every `interval_us` of
  // its CPU time, the first one after a random part of an interval. Detach may run on any thread.
  virtual bool AttachThread(ThreadSampler* sampler, int signo, uint64_t interval_us, std::string* error) {
    return true;
  }
  virtual void DetachThread(ThreadSampler* sampler) {}
  // Any thread, while the sampled thread may run: stop its signals but release nothing the handler
  // might be using (the descriptor or timer goes with DetachThread on its own thread, or at exit).
  virtual void QuietThread(ThreadSampler* sampler) {}
  // Any thread, at exit, without the registry: no signal from this engine after it returns (the pacer
  // stops its thread; a kernel-driven engine has nothing process-wide to stop).
  virtual void QuietAll() {}
};

std::unique_ptr<TimerEngine> CreateItimerEngine();
// Null where the platform has no such engine. `simulate_failure` makes attaching fail as a
// refused perf_event_open would (tests of the fallback).
std::unique_ptr<TimerEngine> CreatePerfEngine(bool simulate_failure);
std::unique_ptr<TimerEngine> CreateThreadCpuEngine();
std::unique_ptr<TimerEngine> CreatePacerEngine();

#if defined(__linux__)
// Signal context (timer_linux_weight.cc): the per-thread Linux engines' sample weights, in ns.
uint64_t PerfSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info);
uint64_t ThreadCpuSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info);
uint64_t PacerSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info);
// Outside signal context, on the thread to sample (timer_linux.cc): the first period, uniform in
// [min(interval, 100 us), interval].
uint64_t RandomFirstNs(uint64_t interval_ns);
#endif

}  // namespace sfprof

#endif  // SFPROF_TIMER_H_
