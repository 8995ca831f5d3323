// One thread's CPU time (user + system), opened on that thread and readable from any thread while it
// lives: the sampled threads' CPU time in stats(). Never used in signal context. Linux reads the
// thread's CPU clock (pthread_getcpuclockid); macOS, which has no such call, asks the kernel for the
// thread's basic info through a reference to its mach thread port (thread_cpu_clock_darwin.cc).
#ifndef SFPROF_THREAD_CPU_CLOCK_H_
#define SFPROF_THREAD_CPU_CLOCK_H_

#include <time.h>

#if defined(__APPLE__)
#include <mach/mach_types.h>
#endif

namespace sfprof {

// clock_gettime in ns, 0 when the clock cannot be read. CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID and
// the calling thread's CLOCK_THREAD_CPUTIME_ID exist on both platforms (macOS since 10.12).
inline double ClockNs(clockid_t clock_id) {
  struct timespec ts;
  if (clock_gettime(clock_id, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

class ThreadCpuClock {
 public:
  ThreadCpuClock() = default;
  ~ThreadCpuClock();
  ThreadCpuClock(const ThreadCpuClock&) = delete;
  ThreadCpuClock& operator=(const ThreadCpuClock&) = delete;

  // On the thread to measure. False when its clock cannot be had; ReadNs then gives 0.
  bool OpenForCurrentThread();
  bool open() const { return open_; }
  // Any thread, while the measured thread lives: its CPU time in ns, 0 when it cannot be read.
  double ReadNs() const;

 private:
#if defined(__APPLE__)
  thread_act_t thread_ = 0;  // a send right of our own (mach_thread_self), released by the destructor
#else
  clockid_t clock_{};
#endif
  bool open_ = false;
};

}  // namespace sfprof

#endif  // SFPROF_THREAD_CPU_CLOCK_H_
