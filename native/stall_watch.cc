// See stall_watch.h. Loop callbacks and the interrupt run on the owner's JS thread, Poll() on the
// ring watcher's thread; nothing here runs in signal context.
#include "stall_watch.h"

#include <node.h>
#include <time.h>
#include <unistd.h>
#include <v8.h>

#include <cstdio>
#include <cstring>

#include "sampler_state.h"

namespace sfprof {
namespace {

constexpr uint64_t kSecondNs = 1000000000ull;
constexpr uint64_t kLineAnswerNs = 50 * 1000 * 1000;  // how long the interrupt has to name the frames
constexpr int kLineFrames = 4;
// Probes carry this in si_value: far from the pacer's small attachment tokens.
constexpr uint64_t kProbeToken = 0x5354414c4c000001ull;

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * kSecondNs + static_cast<uint64_t>(ts.tv_nsec);
}

std::string Duration(uint64_t ns) {
  char text[32];
  if (ns < kSecondNs) snprintf(text, sizeof(text), "%llu ms", static_cast<unsigned long long>(ns / 1000000));
  else snprintf(text, sizeof(text), "%.1f s", static_cast<double>(ns) / 1e9);
  return text;
}

// The last path segment: a stderr line names the file, the report holds the path.
std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

bool StallWatch::Start(v8::Isolate* isolate, uint64_t threshold_ns, int signo, std::string* error) {
  threshold_ns_ = threshold_ns;
  if (threshold_ns == 0) return true;
  isolate_ = isolate;
  stall_since_ = 0;
  line_state_.store(kLineIdle);
  stalls_.store(0);
  longest_ns_.store(0);
  not_queued_.store(0);
  probes_sent_.store(0);
  pthread_mutex_lock(&ended_mutex_);
  ended_.clear();
  pthread_mutex_unlock(&ended_mutex_);
  uv_loop_t* loop = node::GetCurrentEventLoop(isolate);
  if (loop == nullptr) {
    *error = "the stall watch found no event loop on this thread";
    threshold_ns_ = 0;
    return false;
  }
  target_ = CurrentThreadAsProbeTarget(signo, kProbeToken);
  StallProbeMark& mark = GetStallProbeMark();
  mark.pid.store(target_.pid, std::memory_order_relaxed);
  mark.pending.store(false);
  mark.token.store(kProbeToken, std::memory_order_release);
  loop_ = loop;
  prepare_ = new uv_prepare_t;
  check_ = new uv_check_t;
  tick_ = new uv_timer_t;
  prepare_->data = this;
  check_->data = this;
  tick_->data = this;
  uv_prepare_init(loop, prepare_);
  uv_check_init(loop, check_);
  uv_timer_init(loop, tick_);
  uv_prepare_start(prepare_, OnPrepare);
  uv_check_start(check_, OnCheck);
  const uint64_t tick_ms = threshold_ns / 4 / 1000000 > 0 ? threshold_ns / 4 / 1000000 : 1;
  uv_timer_start(tick_, OnTick, tick_ms, tick_ms);
  uv_unref(reinterpret_cast<uv_handle_t*>(prepare_));
  uv_unref(reinterpret_cast<uv_handle_t*>(check_));
  uv_unref(reinterpret_cast<uv_handle_t*>(tick_));
  // start() runs inside a stretch of JS (the preload, or the app's own code): it counts from here.
  waiting_.store(false);
  seen_ns_.store(NowNs(), std::memory_order_release);
  running_.store(true);
  return true;
}

void StallWatch::Stop() {
  if (!running_.exchange(false)) return;
  // Stopping inside a long stretch (a script that blocks and then exits: the loop never waits
  // again): that stretch ends here and is a stall like any other.
  Stamp(NowNs(), false);
  GetStallProbeMark().token.store(0, std::memory_order_release);
  uv_prepare_stop(prepare_);
  uv_check_stop(check_);
  uv_timer_stop(tick_);
  uv_close(reinterpret_cast<uv_handle_t*>(prepare_), [](uv_handle_t* handle) {
    delete reinterpret_cast<uv_prepare_t*>(handle);
  });
  uv_close(reinterpret_cast<uv_handle_t*>(check_), [](uv_handle_t* handle) {
    delete reinterpret_cast<uv_check_t*>(handle);
  });
  uv_close(reinterpret_cast<uv_handle_t*>(tick_), [](uv_handle_t* handle) {
    delete reinterpret_cast<uv_timer_t*>(handle);
  });
  prepare_ = nullptr;
  check_ = nullptr;
  tick_ = nullptr;
  seen_ns_.store(0);
  threshold_ns_ = 0;
}

void StallWatch::ForgetAfterFork() {
  GetStallProbeMark().token.store(0);
  running_.store(false);
  threshold_ns_ = 0;
}

void StallWatch::OnPrepare(uv_prepare_t* handle) {
  StallWatch* watch = static_cast<StallWatch*>(handle->data);
  watch->Stamp(NowNs(), true);
  watch->idle_at_prepare_ns_ = uv_metrics_idle_time(watch->loop_);
}

void StallWatch::OnCheck(uv_check_t* handle) {
  static_cast<StallWatch*>(handle->data)->Stamp(NowNs(), false);
}

void StallWatch::OnTick(uv_timer_t* handle) {
  static_cast<StallWatch*>(handle->data)->Stamp(NowNs(), false);
}

void StallWatch::Stamp(uint64_t now, bool waiting) {
  uint64_t start = seen_ns_.load(std::memory_order_relaxed);
  if (start != 0 && waiting_.load(std::memory_order_relaxed)) {
    // Since the prepare the thread waited (libuv's idle time; 0 where the metric is off), then ran
    // I/O callbacks: the stretch began when the wait ended.
    start += uv_metrics_idle_time(loop_) - idle_at_prepare_ns_;
  }
  waiting_.store(waiting, std::memory_order_relaxed);
  seen_ns_.store(now, std::memory_order_release);
  if (start == 0 || now <= start || now - start <= threshold_ns_) return;
  stalls_.fetch_add(1, std::memory_order_relaxed);
  if (now - start > longest_ns_.load(std::memory_order_relaxed)) longest_ns_.store(now - start, std::memory_order_relaxed);
  pthread_mutex_lock(&ended_mutex_);
  if (ended_.size() < kMaxQueued) ended_.push_back({start, now});
  else not_queued_.fetch_add(1, std::memory_order_relaxed);
  pthread_mutex_unlock(&ended_mutex_);
}

uint64_t StallWatch::AwayNs(uint64_t now, uint64_t seen) const {
  if (seen == 0 || now <= seen) return 0;
  const uint64_t away = now - seen;
  // Waiting: asleep in the wait for up to a tick period is not being away.
  if (!waiting_.load(std::memory_order_relaxed)) return away;
  return away > poll_period_ns() ? away - poll_period_ns() : 0;
}

std::vector<EndedStall> StallWatch::TakeEnded() {
  std::vector<EndedStall> taken;
  pthread_mutex_lock(&ended_mutex_);
  taken.swap(ended_);
  pthread_mutex_unlock(&ended_mutex_);
  return taken;
}

void StallWatch::Poll() {
  if (!running_.load(std::memory_order_acquire)) return;
  const uint64_t since = seen_ns_.load(std::memory_order_acquire);
  const uint64_t now = NowNs();
  const uint64_t elapsed = AwayNs(now, since);
  if (elapsed <= threshold_ns_) {
    stall_since_ = 0;
    return;
  }
  if (since != stall_since_) {
    // A new stall: probes from now on, and its first line.
    stall_since_ = since;
    next_probe_ns_ = now;
    next_line_after_ns_ = threshold_ns_;
    // A line still asked of an earlier stall (its interrupt never ran): that stall is over.
    int asked = kLineAsked;
    line_state_.compare_exchange_strong(asked, kLineIdle);
  }
  if (now >= next_probe_ns_) {
    if (SendStallProbe(target_)) probes_sent_.fetch_add(1, std::memory_order_relaxed);
    next_probe_ns_ = now + poll_period_ns();
  }
  const int state = line_state_.load(std::memory_order_acquire);
  if (state == kLineAsked && now >= line_deadline_ns_) {
    int asked = kLineAsked;
    // The interrupt did not run: the thread is not executing JS (asleep or busy in native code).
    if (line_state_.compare_exchange_strong(asked, kLineTaken)) {
      WriteLine(elapsed, "; it is in native code (not running JS), so no JS frame can be named");
    }
  }
  if (elapsed >= next_line_after_ns_ && line_state_.load() != kLineAsked) {
    line_since_.store(since, std::memory_order_relaxed);
    line_state_.store(kLineAsked, std::memory_order_release);
    line_deadline_ns_ = now + kLineAnswerNs;
    isolate_->RequestInterrupt(OnInterrupt, this);
    next_line_after_ns_ = next_line_after_ns_ < kSecondNs ? kSecondNs : next_line_after_ns_ * 2;
  }
}

void StallWatch::OnInterrupt(v8::Isolate* isolate, void* data) {
  StallWatch* watch = static_cast<StallWatch*>(data);
  int asked = kLineAsked;
  if (!watch->line_state_.compare_exchange_strong(asked, kLineTaken)) return;
  const uint64_t since = watch->seen_ns_.load(std::memory_order_acquire);
  // The stall ended before JS ran again: nothing to say (the end report follows).
  if (!watch->running_.load() || since == 0 || since != watch->line_since_.load()) return;
  v8::HandleScope scope(isolate);
  v8::Local<v8::StackTrace> trace = v8::StackTrace::CurrentStackTrace(isolate, kLineFrames);
  std::string where;
  for (int i = 0; i < trace->GetFrameCount(); ++i) {
    v8::Local<v8::StackFrame> frame = trace->GetFrame(isolate, i);
    v8::String::Utf8Value name(isolate, frame->GetFunctionName());
    v8::String::Utf8Value script(isolate, frame->GetScriptName());
    where += i == 0 ? " in " : " < ";
    where += name.length() > 0 ? *name : "(anonymous)";
    if (script.length() > 0) {
      where += " (" + BaseName(*script) + ":" + std::to_string(frame->GetLineNumber()) + ")";
    }
  }
  if (where.empty()) where = "; JS runs but shows no frame";
  watch->WriteLine(watch->AwayNs(NowNs(), since), where);
}

void StallWatch::WriteLine(uint64_t elapsed_ns, const std::string& where) {
  const std::string line = "sfprof: stall: the main thread has not returned to the event loop for " +
                           Duration(elapsed_ns) + " (still blocked)" + where + "\n";
  // One write: lines from the watcher and the JS thread never interleave mid-line.
  ssize_t written = write(STDERR_FILENO, line.data(), line.size());
  (void)written;
}

}  // namespace sfprof
