// A timer engine makes the kernel deliver the sampling signal. The itimer engine is the only one
// today; per-thread engines slot in behind the same interface.
#ifndef SFPROF_TIMER_H_
#define SFPROF_TIMER_H_

#include <cstdint>
#include <memory>
#include <string>

namespace sfprof {

class TimerEngine {
 public:
  virtual ~TimerEngine() = default;
  virtual const char* name() const = 0;
  // Starts periodic signals every `interval_us` of CPU time. On failure returns false and says why.
  virtual bool Arm(uint64_t interval_us, std::string* error) = 0;
  // Stops the signals. Safe to call twice, and from an atexit handler.
  virtual void Disarm() = 0;
};

// setitimer(ITIMER_PROF) + SIGPROF: process-wide CPU time, capped near the kernel tick rate.
std::unique_ptr<TimerEngine> CreateItimerEngine();

}  // namespace sfprof

#endif  // SFPROF_TIMER_H_
