// The per-thread Linux engines. Both signal one JS thread with a real-time signal, so they give exact
// thread attribution and never collide with SIGPROF users such as V8's own profiler.
//
// perf: a software task-clock event counting the thread's user-mode CPU time (exclude_kernel, which
// perf_event_paranoid=2 allows without privileges); every `sample_period` ns of it the kernel sends
// the signal. It is not tied to the scheduler tick, so it delivers intervals below it.
// thread-cpu: a POSIX CPU-time timer on the thread's clock; checked on the tick like setitimer.
// Linux only (binding.gyp compiles it there; timer_darwin.cc stands in on macOS): perf_event_open,
// F_SETSIG/F_SETOWN_EX, SIGEV_THREAD_ID and gettid have no macOS equivalent.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include <linux/perf_event.h>

#include "sampler_state.h"
#include "timer.h"

namespace sfprof {
namespace {

pid_t CurrentTid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

}  // namespace

// A first expiry uniform in [min(interval, 100 us), interval]: threads that start together or run
// briefly are not all sampled at the same phase (Go's per-thread timers do the same).
constexpr uint64_t kMinFirstPeriodNs = 100 * 1000;

uint64_t RandomFirstNs(uint64_t interval_ns) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t x = static_cast<uint64_t>(now.tv_nsec) ^ (static_cast<uint64_t>(CurrentTid()) << 32) ^
               reinterpret_cast<uintptr_t>(&now);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  // Not below 100 us: a perf event armed with a period of ~10 us flooded its thread with queued
  // signals (hundreds in the first milliseconds) before the real period took over.
  const uint64_t floor = interval_ns < kMinFirstPeriodNs ? interval_ns : kMinFirstPeriodNs;
  return floor + x % (interval_ns - floor + 1);
}

namespace {

class PerfEngine : public TimerEngine {
 public:
  explicit PerfEngine(bool simulate_failure) : simulate_failure_(simulate_failure) {}
  const char* name() const override { return "perf"; }
  bool per_thread() const override { return true; }

  bool AttachThread(ThreadSampler* sampler, int signo, uint64_t interval_us, std::string* error) override {
    const uint64_t interval_ns = interval_us * 1000;
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_TASK_CLOCK;
    const uint64_t first = RandomFirstNs(interval_ns);
    attr.sample_period = first;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    attr.disabled = 1;
    attr.wakeup_events = 1;
    int fd = -1;
    if (simulate_failure_) {
      errno = EACCES;
    } else {
      fd = static_cast<int>(syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC));
    }
    if (fd < 0) {
      const int failed = errno;
      *error = std::string("perf_event_open(task-clock) refused: ") + strerror(failed) +
               (failed == EACCES || failed == EPERM
                    ? " (see /proc/sys/kernel/perf_event_paranoid; seccomp filters, as in many containers, also refuse it)"
                    : "");
      return false;
    }
    struct f_owner_ex owner;
    owner.type = F_OWNER_TID;
    owner.pid = CurrentTid();
    if (fcntl(fd, F_SETFL, O_ASYNC) != 0 || fcntl(fd, F_SETSIG, signo) != 0 ||
        fcntl(fd, F_SETOWN_EX, &owner) != 0) {
      *error = std::string("could not route perf signals to the thread: ") + strerror(errno);
      close(fd);
      return false;
    }
    sampler->sample_weight_ns = PerfSampleWeightNs;
    sampler->interval_ns = interval_ns;
    sampler->first_period_ns = first;
    sampler->perf_last_count = 0;
    sampler->first_pending = true;
    sampler->perf_fd = fd;
    if (ioctl(fd, PERF_EVENT_IOC_RESET, 0) != 0 || ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) != 0) {
      *error = std::string("could not enable the perf event: ") + strerror(errno);
      sampler->perf_fd = -1;
      close(fd);
      return false;
    }
    return true;
  }

  void QuietThread(ThreadSampler* sampler) override {
    if (sampler->perf_fd >= 0) ioctl(sampler->perf_fd, PERF_EVENT_IOC_DISABLE, 0);
  }

  void DetachThread(ThreadSampler* sampler) override {
    const int fd = sampler->perf_fd;
    if (fd < 0) return;
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    sampler->perf_fd = -1;
    close(fd);
  }

 private:
  const bool simulate_failure_;
};

class ThreadCpuEngine : public TimerEngine {
 public:
  const char* name() const override { return "thread-cpu"; }
  bool per_thread() const override { return true; }

  bool AttachThread(ThreadSampler* sampler, int signo, uint64_t interval_us, std::string* error) override {
    const uint64_t interval_ns = interval_us * 1000;
    struct sigevent event;
    memset(&event, 0, sizeof(event));
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = signo;
    event._sigev_un._tid = CurrentTid();
    // Each signal carries its sampler: the handler takes only its thread's current timer's signals.
    event.sigev_value.sival_ptr = sampler;
    timer_t timer;
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &timer) != 0) {
      *error = std::string("timer_create(CLOCK_THREAD_CPUTIME_ID) failed: ") + strerror(errno);
      return false;
    }
    const uint64_t first = RandomFirstNs(interval_ns);
    sampler->sample_weight_ns = ThreadCpuSampleWeightNs;
    sampler->interval_ns = interval_ns;
    sampler->first_period_ns = first;
    sampler->first_pending = true;
    sampler->cpu_timer = timer;
    sampler->has_cpu_timer = true;
    struct itimerspec spec;
    spec.it_value.tv_sec = static_cast<time_t>(first / 1000000000u);
    spec.it_value.tv_nsec = static_cast<long>(first % 1000000000u);
    spec.it_interval.tv_sec = static_cast<time_t>(interval_ns / 1000000000u);
    spec.it_interval.tv_nsec = static_cast<long>(interval_ns % 1000000000u);
    if (timer_settime(timer, 0, &spec, nullptr) != 0) {
      *error = std::string("timer_settime failed: ") + strerror(errno);
      sampler->has_cpu_timer = false;
      timer_delete(timer);
      return false;
    }
    return true;
  }

  void QuietThread(ThreadSampler* sampler) override {
    if (!sampler->has_cpu_timer) return;
    struct itimerspec zero;
    memset(&zero, 0, sizeof(zero));
    timer_settime(sampler->cpu_timer, 0, &zero, nullptr);
  }

  void DetachThread(ThreadSampler* sampler) override {
    if (!sampler->has_cpu_timer) return;
    sampler->has_cpu_timer = false;
    timer_delete(sampler->cpu_timer);
  }
};

}  // namespace

std::unique_ptr<TimerEngine> CreatePerfEngine(bool simulate_failure) {
  return std::make_unique<PerfEngine>(simulate_failure);
}
std::unique_ptr<TimerEngine> CreateThreadCpuEngine() { return std::make_unique<ThreadCpuEngine>(); }

}  // namespace sfprof
