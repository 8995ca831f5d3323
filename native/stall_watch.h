// The stall watch: notices when the main JS thread has not returned to its event loop for longer
// than a threshold, samples it while it stays away, and says so on stderr while it lasts.
//
// - Where the loop is: three unref'd handles on the main thread's loop stamp `seen_ns_`, the last
//   moment the thread was known to be in the loop: a uv_prepare (just before the loop waits for
//   I/O; `waiting_` set), a uv_check (just after the wait and the I/O callbacks run inside it) and
//   a uv_timer every threshold / 4. The timer keeps an idle loop's stamp fresh; a callback that
//   does not return holds every stamp back. While `waiting_`, the thread may be asleep in the wait
//   (the timer ends that within threshold / 4) or in an I/O callback: the watcher allows threshold
//   / 4 more. When the stretch ends, libuv's idle-time metric (the time spent in the wait) moves the
//   start past the wait, so a stall in an I/O callback is measured from the callback's start.
//   Off (threshold 0), nothing is created: no handles, no wake-ups.
// - Who watches: the ring watcher's thread calls Poll() every min(20 ms, threshold / 4). Past the
//   threshold it sends the main thread a stall probe every threshold / 4 (sampler_state.h,
//   StallProbeMark): a thread asleep in a synchronous native call burns no CPU time, so the CPU
//   timer would leave the stall without samples. Probes are flagged kSampleStallProbe and never
//   counted in the CPU profile.
// - While it lasts: one stderr line at the threshold, then at 1 s, 2 s, 4 s ... The watcher asks V8
//   to interrupt the thread (RequestInterrupt); if JS runs, the interrupt names the top frames and
//   writes the line; if it does not answer in 50 ms, the watcher writes that the thread is in
//   native code. Whichever claims the line first writes it.
// - When it ends: the next stamp (or Stop(), in a stretch that lasts until the session stops)
//   queues (start, end); the JS side takes them at its drain
//   (TakeEnded) and writes the report from the samples in that span.
// Never runs in signal context.
#ifndef SFPROF_STALL_WATCH_H_
#define SFPROF_STALL_WATCH_H_

#include <pthread.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace v8 {
class Isolate;
}

namespace sfprof {

// Bounds of the threshold; src/config/options.ts checks the option against the same numbers.
constexpr uint64_t kStallThresholdUsMin = 10 * 1000;
constexpr uint64_t kStallThresholdUsMax = 60 * 1000 * 1000;

// Where a probe goes (stall_probe_linux.cc, stall_probe_darwin.cc).
struct ProbeTarget {
  int pid = 0;
  int tid = 0;           // Linux: the kernel's thread id
  pthread_t thread{};    // macOS: pthread_kill's target
  int signo = 0;
  uint64_t token = 0;
};
// On the thread to be probed: that thread as a target.
ProbeTarget CurrentThreadAsProbeTarget(int signo, uint64_t token);
// The watcher: sends one probe; false when the kernel refused it.
bool SendStallProbe(const ProbeTarget& target);

struct EndedStall {
  uint64_t start_ns;  // CLOCK_MONOTONIC
  uint64_t end_ns;
};

class StallWatch {
 public:
  // The owner's JS thread, once the handler is installed. `threshold_ns` 0: off.
  bool Start(v8::Isolate* isolate, uint64_t threshold_ns, int signo, std::string* error);
  // The owner's JS thread, after the watcher thread stopped: ends the current stretch, closes the
  // handles, no more probes.
  void Stop();
  // A forked child: no watcher, no probes.
  void ForgetAfterFork();

  bool enabled() const { return threshold_ns_ != 0; }
  uint64_t poll_period_ns() const { return threshold_ns_ / 4; }

  // ---- the watcher thread ----
  void Poll();

  // ---- the owner's JS thread ----
  // The stalls that ended since the last call, oldest first (at most kMaxQueued are kept).
  std::vector<EndedStall> TakeEnded();
  // The last moment the thread was seen in its loop (0 when the watch is off).
  uint64_t seen_ns() const { return seen_ns_.load(std::memory_order_acquire); }

  // ---- any thread ----
  uint64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }
  uint64_t longest_ns() const { return longest_ns_.load(std::memory_order_relaxed); }
  uint64_t probes_sent() const { return probes_sent_.load(std::memory_order_relaxed); }
  uint64_t not_queued() const { return not_queued_.load(std::memory_order_relaxed); }

 private:
  static constexpr size_t kMaxQueued = 64;
  enum LineState : int { kLineIdle = 0, kLineAsked = 1, kLineTaken = 2 };

  static void OnPrepare(uv_prepare_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnTick(uv_timer_t* handle);
  // The JS thread, at each stamp (and at Stop): the stretch since the previous stamp is over;
  // queued when it lasted longer than the threshold. Then stamps `now`.
  void Stamp(uint64_t now, bool waiting);
  // The watcher: how long the thread has been away from its loop, at most (see the header).
  uint64_t AwayNs(uint64_t now, uint64_t seen) const;
  // The owner's JS thread at a V8 interrupt check; may run after Stop() (then it does nothing).
  static void OnInterrupt(v8::Isolate* isolate, void* data);
  void WriteLine(uint64_t elapsed_ns, const std::string& where);

  // ---- immutable while running ----
  v8::Isolate* isolate_ = nullptr;
  uint64_t threshold_ns_ = 0;
  ProbeTarget target_;
  uv_prepare_t* prepare_ = nullptr;  // owned by the loop once started; freed by its close callback
  uv_check_t* check_ = nullptr;
  uv_timer_t* tick_ = nullptr;
  uv_loop_t* loop_ = nullptr;

  // ---- written by the JS thread (loop callbacks), read by the watcher ----
  std::atomic<uint64_t> seen_ns_{0};
  std::atomic<bool> waiting_{false};
  uint64_t idle_at_prepare_ns_ = 0;  // the JS thread only: libuv's idle time at the last prepare
  std::atomic<bool> running_{false};

  // ---- the watcher thread only ----
  uint64_t stall_since_ = 0;     // the stretch being reported on, 0 when none
  uint64_t next_probe_ns_ = 0;
  uint64_t next_line_after_ns_ = 0;  // elapsed time of the next stderr line
  uint64_t line_deadline_ns_ = 0;    // the interrupt must answer by then

  // ---- shared by the watcher and the interrupt ----
  std::atomic<int> line_state_{kLineIdle};
  std::atomic<uint64_t> line_since_{0};  // the stretch the asked line is about

  // ---- the JS thread writes, any thread reads ----
  std::atomic<uint64_t> stalls_{0};
  std::atomic<uint64_t> longest_ns_{0};
  std::atomic<uint64_t> not_queued_{0};
  std::atomic<uint64_t> probes_sent_{0};  // written by the watcher
  pthread_mutex_t ended_mutex_ = PTHREAD_MUTEX_INITIALIZER;
  std::vector<EndedStall> ended_;  // ended_mutex_
};

}  // namespace sfprof

#endif  // SFPROF_STALL_WATCH_H_
