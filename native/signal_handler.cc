// THE signal-context file. Everything here runs inside the timer signal's handler (SIGPROF, or the
// real-time signal of the per-thread engines), which can interrupt any instruction of any thread,
// including malloc, a held lock, or V8 itself. The only other code the handler runs is an engine's
// sample-weight function (timer.h), kept apart in timer_linux_weight.cc under this same rule.
//
// Rule: code in this file may only do async-signal-safe work: atomics, reads and writes of memory
// preallocated before the timer was armed, clock_gettime, errno save/restore,
// v8::Isolate::GetStackSample, calling the previous handler, calling the engine's sample-weight
// function, reading or writing the thread's slots (thread_slot.h: TLS on Linux, pthread keys on
// macOS), and the label read of label_reader.h (plain loads, each inside a V8 object whose map it has
// just checked, never while a GC may move objects). It must never allocate (malloc, new), take a lock (pthread mutexes, std::mutex,
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
// Which signals are samples (every other outcome is counted, see ProcessCounters and ThreadSampler):
// - A timer signal is sampled only on a thread whose sampler belongs to the running session
//   (ThreadSampler::session == RunningSession()). A worker kept across stop()/start() still points at
//   its old sampler until it attaches again: its signals count as landing on an unsampled thread.
// - A real-time signal must come from the thread's own current timer: a perf signal carries the
//   event's descriptor (si_fd == perf_fd), a thread-cpu signal its sampler (si_value), a pacer
//   signal (SI_QUEUE, sent by our pacer thread) its attachment's token (si_value) and our pid. One
//   still in flight from an earlier session's timer counts as after-stop, never as a sample: it could
//   otherwise nest inside the SIGPROF handler of a later itimer session, two writers on one ring.
// - SIGIO with SI_KERNEL on a thread sampled by perf is the kernel's fallback when it cannot queue
//   the real-time signal (RLIMIT_SIGPENDING is per user): a lost sample, counted; it would end the
//   process under the default disposition. A real previous SIGIO handler still gets it.
// - A previous disposition of SIG_DFL or SIG_IGN is never called, with or without SA_SIGINFO (the
//   handler slots share their storage, so SIG_IGN with SA_SIGINFO reads as address 1).
//
// The GC cause callbacks (gc_cause.h) hand nothing to this handler and read nothing it writes: their
// own ring has the JS thread as its one writer. A signal that interrupts one samples the same stack.
// The labels' GC callbacks (same file) hand it the label at a GC's start and the depth of GCs under
// way (label_reader.h): written on the same thread, ordered by signal fences.
#include <errno.h>
#include <signal.h>
#include <time.h>

#include <cstdint>

#include <v8-isolate.h>
#include <v8-unwinder.h>

#include "label_reader.h"
#include "registers.h"
#include "sampler_state.h"
#include "thread_slot.h"

namespace sfprof {
namespace {

ProcessCounters g_counters;
OtherThreadRing g_other_threads;  // static storage: constant-initialised, never freed
PreviousAction g_previous_prof;
PreviousAction g_previous_io;
PreviousAction g_previous_realtime;
std::atomic<uint64_t> g_running_session{0};
StallProbeMark g_stall_probe;

// Signal-safe: the disposition we replaced for `signo`.
inline const PreviousAction& PreviousFor(int signo) {
  return signo == SIGPROF ? g_previous_prof : signo == SIGIO ? g_previous_io : g_previous_realtime;
}

// Signal-safe: SIG_DFL or SIG_IGN, whatever the flags say.
inline bool IsDefaultOrIgnore(const struct sigaction& action) {
  return action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN;
}

// Signal-safe: vDSO clock read.
inline uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// Signal-safe: the kernel's interval timer sends SIGPROF with SI_KERNEL, a perf event its signal
// with POLL_IN, a POSIX timer with SI_TIMER and the pacer thread (rt_tgsigqueueinfo) SI_QUEUE; V8's
// own sampler thread and kill(2) send SI_TKILL/SI_USER, and those belong to whoever installed a
// handler before us.
inline bool IsTimerSignal(int signo, const siginfo_t* info) {
#if defined(__linux__)
  if (info == nullptr) return false;
  if (signo == SIGPROF) return info->si_code == SI_KERNEL;
  return info->si_code == POLL_IN || info->si_code == SI_TIMER || info->si_code == SI_QUEUE;
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

// Signal-safe: a stall probe from our own stall watch (sampler_state.h, StallProbeMark). Checked
// before the timer test: on SIGPROF it is SI_QUEUE, which the timer test would hand to the
// previous handler.
inline bool IsStallProbe(int signo, const siginfo_t* info) {
  const uint64_t token = g_stall_probe.token.load(std::memory_order_acquire);
  if (token == 0) return false;
#if defined(__linux__)
  (void)signo;
  return info != nullptr && info->si_code == SI_QUEUE &&
         reinterpret_cast<uintptr_t>(info->si_value.sival_ptr) == token &&
         info->si_pid == g_stall_probe.pid.load(std::memory_order_relaxed);
#else
  (void)info;
  return signo == SIGPROF && g_stall_probe.pending.exchange(false, std::memory_order_acq_rel);
#endif
}

// Signal-safe: calls the handler we replaced, exactly as the kernel would have.
void ForwardToPrevious(int signo, siginfo_t* info, void* ucontext) {
  if (LoadForwarding()) {
    g_counters.forward_loops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const PreviousAction& previous = PreviousFor(signo);
  if (!previous.valid || IsDefaultOrIgnore(previous.action)) {
    // Default (terminate) or ignore: a stray signal that is not from our timer must not kill a
    // profiled app, so it is counted and ignored.
    g_counters.foreign_ignored.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const struct sigaction& action = previous.action;
  g_counters.forwarded.fetch_add(1, std::memory_order_relaxed);
  StoreForwarding(true);
  if (action.sa_flags & SA_SIGINFO) action.sa_sigaction(signo, info, ucontext);
  else action.sa_handler(signo);
  StoreForwarding(false);
}

// Signal-safe: true when a real-time signal comes from this thread's current timer (see the header).
inline bool FromCurrentTimer(const ThreadSampler* sampler, const siginfo_t* info) {
#if defined(__linux__)
  if (info->si_code == POLL_IN) return sampler->perf_fd >= 0 && info->si_fd == sampler->perf_fd;
  if (info->si_code == SI_TIMER) return sampler->has_cpu_timer && info->si_value.sival_ptr == sampler;
  if (info->si_code == SI_QUEUE) {
    return sampler->pacer_token != 0 &&
           reinterpret_cast<uintptr_t>(info->si_value.sival_ptr) == sampler->pacer_token &&
           info->si_pid == sampler->pacer_pid;
  }
#endif
  (void)sampler;
  (void)info;
  return false;
}

// Signal-safe: SIGIO. With SI_KERNEL on a thread perf samples, the kernel could not queue our
// real-time signal: a lost sample. Anything else belongs to whoever handled SIGIO before us.
void HandleIo(int signo, siginfo_t* info, void* ucontext) {
  ThreadSampler* sampler = LoadThreadSampler();
#if defined(__linux__)
  const bool ours = info != nullptr && info->si_code == SI_KERNEL && sampler != nullptr &&
                    sampler->perf_fd >= 0 && sampler->session == g_running_session.load(std::memory_order_relaxed);
#else
  const bool ours = false;  // no perf engine
#endif
  if (!ours) {
    ForwardToPrevious(signo, info, ucontext);
    return;
  }
  sampler->dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
  // The engine's bookkeeping as for a sample (the first signal sets the steady period).
  if (sampler->sample_weight_ns != nullptr) sampler->sample_weight_ns(sampler, info);
  // The app's own O_ASYNC descriptors send this same siginfo: a real SIGIO handler still gets it.
  const PreviousAction& previous = PreviousFor(signo);
  if (previous.valid && !IsDefaultOrIgnore(previous.action)) ForwardToPrevious(signo, info, ucontext);
}

// Signal-safe: the label-set id of the sample (label_reader.h), counted; one read in 16 is timed,
// with a clock read alone after it to subtract the clock's own cost.
inline uint32_t SampleLabels(ThreadSampler* sampler, LabelReader* reader, bool in_gc_state) {
  const bool timed = (sampler->label_reads++ & 15) == 0;
  const uint64_t before = timed ? MonotonicNs() : 0;
  bool read = false;
  const uint32_t id = LabelForSample(reader, in_gc_state, &read);
  if (timed && read) {
    const uint64_t after = MonotonicNs();
    const uint64_t clock_alone = MonotonicNs() - after;
    sampler->label_read_ns.fetch_add(after - before, std::memory_order_relaxed);
    sampler->label_clock_ns.fetch_add(clock_alone, std::memory_order_relaxed);
    sampler->label_reads_timed.fetch_add(1, std::memory_order_relaxed);
  }
  if (id != 0) sampler->samples_labelled.fetch_add(1, std::memory_order_relaxed);
  return id;
}

// Signal-safe: one sample into the calling thread's ring.
// A stall probe (`probe`) is a wall-clock sample: no engine weight (the engine's bookkeeping is
// for its own signals), not counted in samples_recorded, flagged for the drain.
void TakeSample(ThreadSampler* sampler, const siginfo_t* info, void* ucontext, bool probe) {
  const uint64_t started = MonotonicNs();
  // The engine's weight (timer.h): the handler knows no engine.
  const uint64_t weight_ns =
      !probe && sampler->sample_weight_ns != nullptr ? sampler->sample_weight_ns(sampler, info) : 0;
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
  // The slot holds the pc, maxFrames frames and one more: a walk that fills that last one was
  // deeper than maxFrames (truncated); one of exactly maxFrames frames is whole.
  v8::SampleInfo walk{};
  const size_t limit = sampler->ring.max_frames() - 2;
  sampler->isolate->GetStackSample(registers, frames + 1, limit + 1, &walk);
  const bool truncated = walk.frames_count > limit;
  slot->timestamp_ns = started;
  slot->code_seq = sampler->code_seq->load(std::memory_order_acquire);
  slot->vm_state = static_cast<uint32_t>(walk.vm_state);
  slot->frame_count = static_cast<uint32_t>((truncated ? limit : walk.frames_count) + 1);
  slot->flags = probe ? static_cast<uint32_t>(kSampleStallProbe) : 0u;
  LabelReader* reader = sampler->labels.load(std::memory_order_relaxed);
  slot->labels = reader != nullptr ? SampleLabels(sampler, reader, walk.vm_state == v8::GC) : 0;
  slot->reserved = 0;
  const uint64_t weight_us = (weight_ns + 500) / 1000;
  slot->weight_us = weight_us > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(weight_us);
  if (truncated) {
    slot->flags |= kSampleTruncated;
    sampler->truncated.fetch_add(1, std::memory_order_relaxed);
  }
  sampler->ring.CommitWrite();
  if (probe) {
    sampler->stall_probes.fetch_add(1, std::memory_order_relaxed);
    return;  // its handler time is not the sampling's cost either
  }
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
  if (signo == SIGIO) {
    HandleIo(signo, info, ucontext);
    errno = saved_errno;
    return;
  }
  if (IsStallProbe(signo, info)) {
    // Sent to the main thread only; a probe that lands after stop (or while sampling is paused)
    // is simply not taken.
    ThreadSampler* sampler = LoadThreadSampler();
    if (sampler != nullptr && sampler->session == g_running_session.load(std::memory_order_relaxed) &&
        !sampler->paused.load(std::memory_order_acquire)) {
      TakeSample(sampler, info, ucontext, /*probe=*/true);
    }
    errno = saved_errno;
    return;
  }
  if (!IsTimerSignal(signo, info)) {
    ForwardToPrevious(signo, info, ucontext);
    errno = saved_errno;
    return;
  }
  g_counters.timer_signals.fetch_add(1, std::memory_order_relaxed);
  ThreadSampler* sampler = LoadThreadSampler();
  const bool per_thread_signal = signo != SIGPROF;
  if (sampler != nullptr && sampler->session != g_running_session.load(std::memory_order_relaxed)) {
    sampler = nullptr;  // an earlier session's sampler: this thread is not sampled now
  }
  if (sampler == nullptr && per_thread_signal) {
    // A per-thread timer's signal still queued when the thread stopped sampling.
    g_counters.after_stop.fetch_add(1, std::memory_order_relaxed);
  } else if (sampler == nullptr) {
    g_counters.non_js_thread.fetch_add(1, std::memory_order_relaxed);
    RecordOtherThread(ucontext);
  } else if (per_thread_signal && !FromCurrentTimer(sampler, info)) {
    g_counters.after_stop.fetch_add(1, std::memory_order_relaxed);
  } else if (sampler->paused.load(std::memory_order_acquire)) {
    sampler->dropped_busy.fetch_add(1, std::memory_order_relaxed);
  } else {
    TakeSample(sampler, info, ucontext, /*probe=*/false);
  }
  errno = saved_errno;
}

// Outside signal context (the owner thread). The signal fences order the store against a handler
// that interrupts this same thread: the sampler's fields are written before it is published, and
// nothing after a clear touches what the handler might still read.
void SetCurrentThreadSampler(ThreadSampler* sampler) {
  std::atomic_signal_fence(std::memory_order_seq_cst);
  StoreThreadSampler(sampler);
  std::atomic_signal_fence(std::memory_order_seq_cst);
}

ThreadSampler* CurrentThreadSampler() { return LoadThreadSampler(); }
// Outside signal context, before the handler is installed.
bool PrepareThreadSlots() { return CreateThreadSlots(); }
ProcessCounters& GetProcessCounters() { return g_counters; }
StallProbeMark& GetStallProbeMark() { return g_stall_probe; }
OtherThreadRing& GetOtherThreadRing() { return g_other_threads; }
PreviousAction& GetPreviousAction(int signo) { return const_cast<PreviousAction&>(PreviousFor(signo)); }
std::atomic<uint64_t>& RunningSession() { return g_running_session; }

}  // namespace sfprof
