// See ring_watcher.h. The watcher runs on its own thread, never in signal context.
#include "ring_watcher.h"

#include <string.h>
#include <time.h>

#include <v8.h>

#include "session.h"

namespace sfprof {
namespace {

constexpr long kWatcherPeriodNs = 20 * 1000 * 1000;

// With the stall watch on, the watcher also wakes every threshold / 4 (for its probes) when that
// is sooner; the ring checks below are cheap enough to run at each wake.
long PeriodNs(const StallWatch& stall) {
  if (!stall.enabled()) return kWatcherPeriodNs;
  const uint64_t probe = stall.poll_period_ns();
  return probe < static_cast<uint64_t>(kWatcherPeriodNs) ? static_cast<long>(probe) : kWatcherPeriodNs;
}

}  // namespace

bool RingWatcher::Start(Session* session, v8::Isolate* isolate, std::string* error) {
  session_ = session;
  isolate_ = isolate;
  stop_.store(false);
  interrupt_pending_.store(false);
  if (!wake_ready_) {
    // Timed waits on the monotonic clock: a wall-clock step must not stretch or skip a period.
    pthread_condattr_t attributes;
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&wake_, &attributes);
    pthread_condattr_destroy(&attributes);
    wake_ready_ = true;
  }
  // pthread rather than std::thread: a failure (a process at its thread limit) must become an
  // error from start(), not std::terminate in a build without exceptions.
  const int failed = pthread_create(&thread_, nullptr, Main, this);
  if (failed != 0) {
    *error = std::string("could not start the sampler's watcher thread: ") + strerror(failed);
    return false;
  }
  running_.store(true);
  return true;
}

void* RingWatcher::Main(void* data) {
  RingWatcher* watcher = static_cast<RingWatcher*>(data);
  StallWatch& stall = watcher->session_->stall();
  const long period_ns = PeriodNs(stall);
  while (!watcher->stop_.load()) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += period_ns;
    if (deadline.tv_nsec >= 1000000000L) {
      deadline.tv_sec++;
      deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&watcher->wake_mutex_);
    while (!watcher->stop_.load() &&
           pthread_cond_timedwait(&watcher->wake_, &watcher->wake_mutex_, &deadline) == 0) {
      // Woken without stop_ set (spuriously): wait out the rest of the period.
    }
    pthread_mutex_unlock(&watcher->wake_mutex_);
    if (watcher->stop_.load()) break;
    if (stall.enabled()) stall.Poll();
    watcher->session_->EnsureHandler();
    // Spilled here, not on the JS thread: no interrupt has to wait for the thread to reach JS.
    watcher->session_->SpillFromWatcher();
    // Listing calls into V8, so it runs on the JS thread, at its next interrupt check.
    if (watcher->session_->ListingWanted() && !watcher->interrupt_pending_.exchange(true)) {
      watcher->isolate_->RequestInterrupt(OnInterrupt, watcher);
    }
  }
  return nullptr;
}

void RingWatcher::Stop() {
  if (!running_.exchange(false)) return;
  pthread_mutex_lock(&wake_mutex_);
  stop_.store(true);
  pthread_cond_signal(&wake_);
  pthread_mutex_unlock(&wake_mutex_);
  pthread_join(thread_, nullptr);
}

void RingWatcher::OnInterrupt(v8::Isolate* isolate, void* data) {
  RingWatcher* watcher = static_cast<RingWatcher*>(data);
  watcher->interrupt_pending_.store(false);
  watcher->session_->ListFromInterrupt(isolate);
}

}  // namespace sfprof
