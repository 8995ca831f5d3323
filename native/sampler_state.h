// State shared between the signal handler and the rest of the addon. Every field says who writes it.
#ifndef SFPROF_SAMPLER_STATE_H_
#define SFPROF_SAMPLER_STATE_H_

#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "other_thread_ring.h"
#include "ring_buffer.h"

namespace v8 {
class Isolate;
}

namespace sfprof {

struct LabelReader;

// Handler-time histogram: 250 ns buckets up to 2.048 ms, then one overflow bucket (32 KiB).
constexpr size_t kHandlerBucketNs = 250;
constexpr size_t kHandlerBuckets = 8193;

// Everything the handler needs for one sampled JS thread. Created and destroyed outside signal
// context; reached from the handler only through the thread's slot (thread_slot.h).
struct ThreadSampler {
  // ---- immutable while the TLS pointer is set ----
  v8::Isolate* isolate = nullptr;
  // The session this sampler belongs to: the handler samples only while it is the running one
  // (RunningSession), so a worker kept across stop()/start() is never sampled into a stale ring.
  uint64_t session = 0;
  SampleRing ring;
  // Read by the drain to stamp samples; incremented by code-event listeners (any thread).
  const std::atomic<uint64_t>* code_seq = nullptr;

  // ---- written by the signal handler, read by the drain (relaxed: counters only) ----
  std::atomic<uint64_t> samples_recorded{0};
  std::atomic<uint64_t> dropped_ring_full{0};
  std::atomic<uint64_t> truncated{0};
  std::atomic<uint64_t> dropped_busy{0};  // signal arrived while sampling was paused on this thread
  std::atomic<uint64_t> stall_probes{0};  // stall probes sampled (not in samples_recorded)
  // perf: the kernel could not queue the real-time signal (RLIMIT_SIGPENDING) and sent SIGIO instead;
  // pacer: the pacer thread's rt_tgsigqueueinfo was refused for the same reason (written by it)
  std::atomic<uint64_t> dropped_queue_full{0};
  std::atomic<uint32_t> handler_time[kHandlerBuckets] = {};

  // ---- written by the owner thread outside signal context, read by the handler ----
  std::atomic<bool> paused{false};
  // The thread's label reader (label_reader.h, labels.h), or null: this thread never used labels.
  std::atomic<LabelReader*> labels{nullptr};

  // ---- labels: written by the handler, read by the drain (relaxed: counters only) ----
  std::atomic<uint64_t> samples_labelled{0};  // samples that carried a label id
  // One read in 16 is timed: its time, the time of a clock read alone (to subtract), and how many.
  std::atomic<uint64_t> label_read_ns{0};
  std::atomic<uint64_t> label_clock_ns{0};
  std::atomic<uint64_t> label_reads_timed{0};
  uint64_t label_reads = 0;  // the handler's own

  // ---- per-thread engines: set by AttachThread before the timer runs, cleared by DetachThread ----
  // The engine's own weight for each sample (timer.h), called by the handler in signal context;
  // null when the engine cannot say (itimer): the sample's weight is then 0, "unknown".
  uint64_t (*sample_weight_ns)(ThreadSampler* sampler, const siginfo_t* info) = nullptr;
  uint64_t interval_ns = 0;
  int perf_fd = -1;                 // perf: the task-clock event (read for weights)
#if defined(__linux__)
  timer_t cpu_timer{};              // thread-cpu: the POSIX timer; its signals carry this sampler
#endif
  bool has_cpu_timer = false;
  uint64_t first_period_ns = 0;     // the random first expiry, at most one interval
  // pacer: which attachment a signal belongs to. Each signal carries the token in si_value and our
  // pid in si_pid; tokens are never reused in a process, so a signal queued for an earlier
  // attachment (an earlier session, or a sampler at a reused address) never matches.
  uint64_t pacer_token = 0;         // 0: not attached to the pacer
  int pacer_pid = 0;
  // ---- written only by the handler on this thread (after AttachThread set them) ----
  uint64_t perf_last_count = 0;     // task-clock ns at the previous sample
  bool first_pending = false;       // the next signal ends the random first period

  // ---- pacer: shared by the pacer thread (timer_pacer_linux.cc) and this thread's handler ----
  // The pacer adds the CPU time since it last measured to the weight, sets pending, then sends; at
  // each deadline that passes while the signal is pending it adds again. The handler exchanges the
  // weight for 0, then clears pending. Adds and the exchange are atomic, so each stretch of CPU time
  // is weighed by exactly one sample.
  std::atomic<uint64_t> pacer_weight_ns{0};  // CPU time of this thread not yet weighed by a sample
  std::atomic<bool> pacer_pending{false};
  // Written by the pacer thread: deadlines that passed while a signal was still pending. Nothing is
  // lost: the pending signal's weight covers that CPU time (as thread-cpu's si_overrun does).
  std::atomic<uint64_t> pacer_coalesced{0};
};

// Process-wide counters, written by the handler on whichever thread the signal lands.
struct ProcessCounters {
  std::atomic<uint64_t> timer_signals{0};   // signals from our timer, on any thread
  std::atomic<uint64_t> non_js_thread{0};   // ... of which landed on a thread with no sampler
  std::atomic<uint64_t> forwarded{0};       // not ours: handed to the previous handler
  std::atomic<uint64_t> foreign_ignored{0}; // not ours, and the previous disposition was default/ignore
  std::atomic<uint64_t> forward_loops{0};   // not ours, arrived while already forwarding: dropped
  // per-thread timer signals that arrived after the thread stopped, or from a timer that is not the
  // thread's current one (an earlier session's, still in flight)
  std::atomic<uint64_t> after_stop{0};

  void Reset() {
    timer_signals.store(0);
    non_js_thread.store(0);
    forwarded.store(0);
    foreign_ignored.store(0);
    forward_loops.store(0);
    after_stop.store(0);
  }
};

// The disposition we replaced, for forwarding. Written only while our handler is not installed.
struct PreviousAction {
  struct sigaction action;
  bool valid = false;
};

// The id of the running session, 0 when none runs. Set by Session::Start before any timer is armed,
// cleared by Stop after every timer is quiet; the handler samples a thread only when its sampler's
// `session` equals it.
std::atomic<uint64_t>& RunningSession();

// How the handler knows a stall probe (stall_watch.h) from a timer signal or someone else's. Written
// by the stall watch on the JS thread (token and pid, before its watcher sends any probe) and by the
// watcher (pending, macOS); read by the handler.
// - Linux: the probe is queued with rt_tgsigqueueinfo (SI_QUEUE), carrying the token in si_value
//   and our pid in si_pid. Token 0: no stall watch runs, nothing is a probe.
// - macOS (untested): pthread_kill carries nothing; the watcher sets `pending` before sending and
//   the handler takes the next signal on the main thread as the probe.
struct StallProbeMark {
  std::atomic<uint64_t> token{0};
  std::atomic<int> pid{0};
  std::atomic<bool> pending{false};
};

// ---- implemented in signal_handler.cc ----

// The SA_SIGINFO handler installed for the timer signal.
void HandleTimerSignal(int signo, siginfo_t* info, void* ucontext);
// Creates the per-thread slots the handler reads (thread_slot.h; nothing to do on Linux). Call
// outside signal context, before the handler is first installed; false when they cannot be made.
bool PrepareThreadSlots();
// Points the calling thread's slot at `sampler` (or nullptr). Call outside signal context.
void SetCurrentThreadSampler(ThreadSampler* sampler);
ThreadSampler* CurrentThreadSampler();
ProcessCounters& GetProcessCounters();
StallProbeMark& GetStallProbeMark();
// Where the handler records the signals counted in non_js_thread (other_threads.h reads it).
OtherThreadRing& GetOtherThreadRing();
// The previous disposition of SIGPROF, SIGIO or the real-time signal.
PreviousAction& GetPreviousAction(int signo);

}  // namespace sfprof

#endif  // SFPROF_SAMPLER_STATE_H_
