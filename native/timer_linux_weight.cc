// Signal context: the sample weights of the per-thread Linux engines (timer_linux.cc), called by the
// handler through ThreadSampler::sample_weight_ns. signal_handler.cc's rule applies: async-signal-safe
// work only (here: reads of the ThreadSampler and the siginfo, read/ioctl on its perf descriptor,
// atomics shared with the pacer thread);
// scripts/check-signal-safety.mjs checks this object file too. Keep the engines' setup out. Linux
// only, like timer_linux.cc (binding.gyp).
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>

#include "sampler_state.h"
#include "timer.h"

namespace sfprof {
namespace {

// Signal-safe: the period this sample ends. The first one ends the random first period, the rest a
// whole interval.
inline uint64_t TakePeriodNs(ThreadSampler* sampler, bool* first) {
  *first = sampler->first_pending;
  sampler->first_pending = false;
  return *first ? sampler->first_period_ns : sampler->interval_ns;
}

}  // namespace

// Signal-safe. perf: the counter's advance, at most one period. The counter also runs in the kernel,
// where exclude_kernel keeps it from firing: time in syscalls would otherwise land on whatever user
// stack comes next. Real-time signals queue, so perf samples do not coalesce.
uint64_t PerfSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info) {
  (void)info;
  bool first = false;
  const uint64_t period = TakePeriodNs(sampler, &first);
  if (sampler->perf_fd < 0) return 0;
  uint64_t count = 0;
  uint64_t weight = period;
  if (read(sampler->perf_fd, &count, sizeof(count)) == static_cast<ssize_t>(sizeof(count))) {
    const uint64_t advance = count - sampler->perf_last_count;
    sampler->perf_last_count = count;
    if (advance < weight) weight = advance;
  }
  if (first) {
    // From now on, whole intervals.
    uint64_t interval = sampler->interval_ns;
    ioctl(sampler->perf_fd, PERF_EVENT_IOC_PERIOD, &interval);
  }
  return weight;
}

// Signal-safe. thread-cpu: one interval per expiry the kernel folded into this signal (si_overrun),
// the first signal included: a thread that ran past several intervals before its first signal was
// delivered (blocked, or off the CPU at the tick) would otherwise lose them.
uint64_t ThreadCpuSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info) {
  bool first = false;
  const uint64_t period = TakePeriodNs(sampler, &first);
  if (!sampler->has_cpu_timer) return 0;
  const int overruns = info != nullptr && info->si_code == SI_TIMER ? info->si_overrun : 0;
  return period + static_cast<uint64_t>(overruns > 0 ? overruns : 0) * sampler->interval_ns;
}

// Signal-safe. pacer: the CPU time of this thread since the weight was last taken, which the pacer
// thread measured on the thread's CPU clock and added before sending this signal and at each
// deadline that passed while it was pending (user and system time, like thread-cpu). Taking it
// (an atomic exchange) hands the slot back: the pacer may signal again once pending is clear.
uint64_t PacerSampleWeightNs(ThreadSampler* sampler, const siginfo_t* info) {
  (void)info;
  const uint64_t weight = sampler->pacer_weight_ns.exchange(0, std::memory_order_acq_rel);
  sampler->pacer_pending.store(false, std::memory_order_release);
  return weight;
}

}  // namespace sfprof
