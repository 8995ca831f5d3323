// See signal_chain.h: V8ProfilerThreadRunning on macOS (not built or run by this project's CI). There
// is no /proc: the task's threads come from task_threads(), and each one's name (the one
// pthread_setname_np gave it, which is how V8 names its threads here too) from
// thread_info(THREAD_EXTENDED_INFO). Outside signal context: task_threads allocates the list.
#include <mach/mach.h>
#include <string.h>

#include "signal_chain.h"

namespace sfprof {

// True while V8's CPU profiler runs in this process: it runs a thread named "v8:ProfEvntProc" only
// then. V8's sampler signals threads with SIGPROF on macOS as on Linux.
bool V8ProfilerThreadRunning() {
  const mach_port_t task = mach_task_self();
  thread_act_array_t threads = nullptr;
  mach_msg_type_number_t count = 0;
  if (task_threads(task, &threads, &count) != KERN_SUCCESS) return false;
  bool found = false;
  for (mach_msg_type_number_t i = 0; i < count; ++i) {
    if (!found) {
      thread_extended_info_data_t info;
      mach_msg_type_number_t info_count = THREAD_EXTENDED_INFO_COUNT;
      if (thread_info(threads[i], THREAD_EXTENDED_INFO, reinterpret_cast<thread_info_t>(&info), &info_count) ==
          KERN_SUCCESS) {
        found = strncmp(info.pth_name, "v8:ProfEvntProc", 15) == 0;
      }
    }
    // task_threads gave us a send right to every thread, and the array itself: both are ours to free.
    mach_port_deallocate(task, threads[i]);
  }
  vm_deallocate(task, reinterpret_cast<vm_address_t>(threads), count * sizeof(threads[0]));
  return found;
}

}  // namespace sfprof
