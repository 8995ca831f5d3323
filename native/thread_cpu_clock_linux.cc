// See thread_cpu_clock.h. Linux: the thread's CPU clock, read with clock_gettime from any thread.
#include "thread_cpu_clock.h"

#include <pthread.h>

namespace sfprof {

ThreadCpuClock::~ThreadCpuClock() = default;

bool ThreadCpuClock::OpenForCurrentThread() {
  open_ = pthread_getcpuclockid(pthread_self(), &clock_) == 0;
  return open_;
}

double ThreadCpuClock::ReadNs() const { return open_ ? ClockNs(clock_) : 0; }

}  // namespace sfprof
