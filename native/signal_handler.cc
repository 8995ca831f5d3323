// THE signal-context file. Everything here runs inside the timer signal's handler (SIGPROF, or the
// real-time signal of the per-thread engines), which can interrupt any instruction of any thread,
// including malloc, a held lock, or V8 itself. The only other code the handler runs is an engine's
// sample-weight function (timer.h), kept apart in timer_linux_weight.cc under this same rule.
//
// Rule: code in this file may only do async-signal-safe work: atomics, reads and writes of memory
// preallocated before the timer was armed, clock_gettime, errno save/restore,
// v8::Isolate::GetStackSample, calling the previous handler, calling the engine's sample-weight
// function, and reading or writing the thread's slots (thread_slot.h: TLS on Linux, pthread keys on
// macOS). It must never allocate (malloc, new), take a lock (pthread mutexes, std::mutex,
// function-local statics), print, throw, touch V8 handles, or touch a thread_local on macOS.
// scripts/check-signal-safety.mjs enforces this on the signal-context object files (ring_buffer.h,
// other_thread_ring.h, registers.h and thread_slot.h inline into this one); keep anything else out.
//
// A timer signal on a thread without a sampler (the itimer's SIGPROF goes to whichever thread uses
// CPU) is counted in non_js_thread, then recorded as (kernel tid from a raw gettid syscall,
// interrupted pc) in the process-wide OtherThreadRing: a slot claimed by compare-and-swap, filled,
// published by a release store of its sequence; when full, counted as dropped instead. So every such
// signal is a record or a drop, and the drain (other_threads.h) names the thread and the function.
//
// The GC cause callbacks (gc_cause.h) hand nothing to this handler and read nothing it writes: their
// own ring has the JS thread as its one writer. A signal that interrupts one samples the same stack.
#include <errno.h>
#include <signal.h>
#include <time.h>

#include <cstdint>

#include <v8-isolate.h>
#include <v8-unwinder.h>

#include "registers.h"
#include "sampler_state.h"
#include "thread_slot.h"

namespace sfprof {
namespace {

ProcessCounters g_counters;
OtherThreadRing g_other_threads;  // static storage: constant-initialised, never freed
PreviousAction g_previous_prof;
PreviousAction g_previous_realtime;
std::atomic<int> g_realtime_signal{0};

// Signal-safe: vDSO clock read.
inline uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Signal-safe: the kernel's interval timer sends SIGPROF with SI_KERNEL, a perf event its signal
// with POLL_IN and a POSIX timer with SI_TIMER; V8's own sampler thread and kill(2) send
// SI_TKILL/SI_USER, and those belong to whoever installed a handler before us.
inline bool IsTimerSignal(int signo, const siginfo_t* info) {
#if defined(__linux__)
  if (info == nullptr) return false;
  if (signo == SIGPROF) return info->si_code == SI_KERNEL;
  return info->si_code == POLL_IN || info->si_code == SI_TIMER;
#else
  // macOS (untested): the siginfo of a SIGPROF is not relied on to tell the interval timer from a
  // thread-directed kill, so every SIGPROF is taken as ours. V8's own sampler does signal threads
  // with SIGPROF here too: start() refuses while V8's profiler runs (V8ProfilerThreadRunning), and
  // with allowV8Profiler its signals are sampled as ours (docs/limitations.md).
  (void)signo;
  (void)info;
  return true;
#endif
}

// Signal-safe: calls the handler we replaced, exactly as the kernel would have.
void ForwardToPrevious(int signo, siginfo_t* info, void* ucontext) {
  if (LoadForwarding()) {
    g_counters.forward_loops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const PreviousAction& previous = signo == SIGPROF ? g_previous_prof : g_previous_realtime;
  if (!previous.valid) {
    g_counters.foreign_ignored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const struct sigaction& action = previous.action;
  if (action.sa_flags & SA_SIGINFO) {
    if (action.sa_sigaction != nullptr) {
      g_counters.forwarded.fetch_add(1, std::memory_order_relaxed);
      StoreForwarding(true);
      action.sa_sigaction(signo, info, ucontext);
      StoreForwarding(false);
      return;
    }
  } else if (action.sa_handler != SIG_DFL && action.sa_handler != SIG_IGN &&
             action.sa_handler != nullptr) {
    g_counters.forwarded.fetch_add(1, std::memory_order_relaxed);
    StoreForwarding(true);
    action.sa_handler(signo);
    StoreForwarding(false);
    return;
  }
  // The previous disposition was default (terminate) or ignore. A stray signal that is not from our
  // timer must not kill a profiled app, so it is counted and ignored.
  g_counters.foreign_ignored.fetch_add(1, std::memory_order_relaxed);
}

// Signal-safe: one sample into the calling thread's ring.
void TakeSample(ThreadSampler* sampler, void* ucontext) {
  const uint64_t started = MonotonicNs();
  // The engine's weight (timer.h): the handler knows no engine.
  const uint64_t weight_ns = sampler->sample_weight_ns != nullptr ? sampler->sample_weight_ns(sampler) : 0;
  SampleHeader* slot = sampler->ring.BeginWrite();
  if (slot == nullptr) {
    sampler->dropped_ring_full.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  v8::RegisterState registers;
  RegistersFromUcontext(ucontext, &registers);
  // Frame 0 is the interrupted pc: V8 leaves a JIT-compiled top frame out of its walk (its own
  // profiler resolves the pc separately), so without it optimized leaf functions would vanish.
  void** frames = sampler->ring.FramesOf(slot);
  frames[0] = registers.pc;
  v8::SampleInfo info{};
  const size_t limit = sampler->ring.max_frames() - 1;
  sampler->isolate->GetStackSample(registers, frames + 1, limit, &info);
  slot->timestamp_ns = started;
  slot->code_seq = sampler->code_seq->load(std::memory_order_acquire);
  slot->vm_state = static_cast<uint32_t>(info.vm_state);
  slot->frame_count = static_cast<uint32_t>(info.frames_count + 1);
  slot->flags = 0;
  const uint64_t weight_us = (weight_ns + 500) / 1000;
  slot->weight_us = weight_us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(weight_us);
  if (info.frames_count >= limit) {
    slot->flags |= kSampleTruncated;
    sampler->truncated.fetch_add(1, std::memory_order_relaxed);
  }
  sampler->ring.CommitWrite();
  sampler->samples_recorded.fetch_add(1, std::memory_order_relaxed);

  const uint64_t elapsed = MonotonicNs() - started;
  size_t bucket = static_cast<size_t>(elapsed / kHandlerBucketNs);
  if (bucket >= kHandlerBuckets) bucket = kHandlerBuckets - 1;
  sampler->handler_time[bucket].fetch_add(1, std::memory_order_relaxed);
}

// Signal-safe: the thread and pc of a signal that found no sampler; a raw syscall and atomics.
void RecordOtherThread(void* ucontext) {
  v8::RegisterState registers;
  if (ucontext != nullptr) RegistersFromUcontext(ucontext, &registers);
  g_other_threads.Record(KernelThreadId(), reinterpret_cast<uintptr_t>(registers.pc));
}

}  // namespace

// Signal-safe entry point; see the file header.
void HandleTimerSignal(int signo, siginfo_t* info, void* ucontext) {
  const int saved_errno = errno;
  if (!IsTimerSignal(signo, info)) {
    ForwardToPrevious(signo, info, ucontext);
    errno = saved_errno;
    return;
  }
  g_counters.timer_signals.fetch_add(1, std::memory_order_relaxed);
  ThreadSampler* sampler = LoadThreadSampler();
  if (sampler == nullptr && signo != SIGPROF) {
    // A per-thread timer's signal still queued when the thread stopped sampling.
    g_counters.after_stop.fetch_add(1, std::memory_order_relaxed);
  } else if (sampler == nullptr) {
    g_counters.non_js_thread.fetch_add(1, std::memory_order_relaxed);
    RecordOtherThread(ucontext);
  } else if (sampler->paused.load(std::memory_order_acquire)) {
    sampler->dropped_busy.fetch_add(1, std::memory_order_relaxed);
  } else {
    TakeSample(sampler, ucontext);
  }
  errno = saved_errno;
}

// Outside signal context (the owner thread). The signal fence orders the store against a handler
// that interrupts this same thread.
void SetCurrentThreadSampler(ThreadSampler* sampler) {
  StoreThreadSampler(sampler);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

ThreadSampler* CurrentThreadSampler() { return LoadThreadSampler(); }
// Outside signal context, before the handler is installed.
bool PrepareThreadSlots() { return CreateThreadSlots(); }
ProcessCounters& GetProcessCounters() { return g_counters; }
OtherThreadRing& GetOtherThreadRing() { return g_other_threads; }
PreviousAction& GetPreviousAction(int signo) { return signo == SIGPROF ? g_previous_prof : g_previous_realtime; }
std::atomic<int>& RealtimeSignal() { return g_realtime_signal; }

}  // namespace sfprof
