// The talk's engine: setitimer(ITIMER_PROF) sends SIGPROF to the process every `interval` of CPU
// time consumed by any of its threads. The kernel checks CPU timers on its tick, so it cannot deliver
// more than ~CONFIG_HZ signals per second, and the signal lands on whichever thread is running.
#include <errno.h>
#include <string.h>
#include <sys/time.h>

#include "timer.h"

namespace sfprof {
namespace {

class ItimerEngine : public TimerEngine {
 public:
  const char* name() const override { return "itimer"; }
  bool per_thread() const override { return false; }

  bool Arm(uint64_t interval_us, std::string* error) override {
    // ITIMER_PROF is one per process: taking it over would silently stop someone else's profiler.
    struct itimerval current;
    if (getitimer(ITIMER_PROF, &current) == 0 &&
        (current.it_value.tv_sec != 0 || current.it_value.tv_usec != 0)) {
      *error = "ITIMER_PROF is already armed by another component of this process";
      return false;
    }
    struct itimerval value;
    value.it_interval.tv_sec = static_cast<time_t>(interval_us / 1000000);
    value.it_interval.tv_usec = static_cast<suseconds_t>(interval_us % 1000000);
    value.it_value = value.it_interval;
    if (setitimer(ITIMER_PROF, &value, nullptr) != 0) {
      *error = std::string("setitimer(ITIMER_PROF) failed: ") + strerror(errno);
      return false;
    }
    return true;
  }

  void Disarm() override {
    struct itimerval zero;
    memset(&zero, 0, sizeof(zero));
    setitimer(ITIMER_PROF, &zero, nullptr);
  }
};

}  // namespace

std::unique_ptr<TimerEngine> CreateItimerEngine() { return std::make_unique<ItimerEngine>(); }

}  // namespace sfprof
