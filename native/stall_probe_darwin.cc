// Stall probes on macOS (untested, compiled only): pthread_kill carries no payload, so the watcher
// marks the probe pending first and the handler takes the next SIGPROF on the main thread as it
// (signal_handler.cc, IsStallProbe). At worst one timer signal is taken as the probe instead.
#include <signal.h>
#include <unistd.h>

#include "sampler_state.h"
#include "stall_watch.h"

namespace sfprof {

ProbeTarget CurrentThreadAsProbeTarget(int signo, uint64_t token) {
  ProbeTarget target;
  target.pid = static_cast<int>(getpid());
  target.thread = pthread_self();
  target.signo = signo;
  target.token = token;
  return target;
}

bool SendStallProbe(const ProbeTarget& target) {
  GetStallProbeMark().pending.store(true, std::memory_order_release);
  if (pthread_kill(target.thread, target.signo) == 0) return true;
  GetStallProbeMark().pending.store(false, std::memory_order_relaxed);
  return false;
}

}  // namespace sfprof
