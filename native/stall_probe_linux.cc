// Stall probes on Linux: a real signal queued to one thread with rt_tgsigqueueinfo (SI_QUEUE), so
// the handler tells it from the timer's signals and from anyone's tgkill (signal_handler.cc,
// IsStallProbe). The watcher thread sends it; nothing here runs in signal context.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "stall_watch.h"

namespace sfprof {

ProbeTarget CurrentThreadAsProbeTarget(int signo, uint64_t token) {
  ProbeTarget target;
  target.pid = static_cast<int>(getpid());
  target.tid = static_cast<int>(syscall(SYS_gettid));
  target.thread = pthread_self();
  target.signo = signo;
  target.token = token;
  return target;
}

bool SendStallProbe(const ProbeTarget& target) {
  siginfo_t info;
  memset(&info, 0, sizeof(info));
  info.si_signo = target.signo;
  info.si_code = SI_QUEUE;
  info.si_pid = target.pid;
  info.si_uid = getuid();
  info.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(target.token));
  return syscall(SYS_rt_tgsigqueueinfo, target.pid, target.tid, target.signo, &info) == 0;
}

}  // namespace sfprof
