// See thread_cpu_clock.h. macOS (not built or run by this project's CI): there is no
// pthread_getcpuclockid, and clock_gettime(CLOCK_THREAD_CPUTIME_ID) reads only the calling thread.
// thread_info(THREAD_BASIC_INFO) on the thread's mach port gives its user and system time (microsecond
// resolution) from any thread. The port is taken with mach_thread_self(), which adds a reference of
// our own: after the thread exits, the name stays a dead name (thread_info fails, ReadNs gives 0)
// instead of being reused for another port, as the unreferenced pthread_mach_thread_np() name could be.
#include "thread_cpu_clock.h"

#include <mach/mach.h>

namespace sfprof {

ThreadCpuClock::~ThreadCpuClock() {
  if (open_) mach_port_deallocate(mach_task_self(), thread_);
}

bool ThreadCpuClock::OpenForCurrentThread() {
  if (open_) mach_port_deallocate(mach_task_self(), thread_);
  thread_ = mach_thread_self();
  open_ = thread_ != MACH_PORT_NULL;
  return open_;
}

double ThreadCpuClock::ReadNs() const {
  if (!open_) return 0;
  thread_basic_info_data_t info;
  mach_msg_type_number_t count = THREAD_BASIC_INFO_COUNT;
  if (thread_info(thread_, THREAD_BASIC_INFO, reinterpret_cast<thread_info_t>(&info), &count) != KERN_SUCCESS) {
    return 0;
  }
  const double seconds = static_cast<double>(info.user_time.seconds) + static_cast<double>(info.system_time.seconds);
  const double microseconds =
      static_cast<double>(info.user_time.microseconds) + static_cast<double>(info.system_time.microseconds);
  return seconds * 1e9 + microseconds * 1e3;
}

}  // namespace sfprof
