// Why start() or attachThread() failed: a stable code, which addon.cc sets as the JS error's `code`
// and src/profiler.ts decides on, and a message for people, which may be reworded at will.
#ifndef SFPROF_FAILURE_H_
#define SFPROF_FAILURE_H_

#include <string>
#include <utility>

namespace sfprof {

namespace failure_code {
constexpr char kAlreadyRunning[] = "SFPROF_ALREADY_RUNNING";    // start() while a session runs
constexpr char kAlreadyAttached[] = "SFPROF_ALREADY_ATTACHED";  // the thread is sampled already
constexpr char kNoSession[] = "SFPROF_NO_SESSION";              // a worker attaching with none running
constexpr char kForkedChild[] = "SFPROF_FORKED_CHILD";          // a forked child that did not exec
// The engine does not exist on this platform.
constexpr char kEngineUnavailable[] = "SFPROF_ENGINE_UNAVAILABLE";
// A per-thread engine the kernel refused (no free real-time signal, perf_event_open, timer_create...):
// the only failure after which start() tries the next engine.
constexpr char kEngineRefused[] = "SFPROF_ENGINE_REFUSED";
// The process-wide timer (ITIMER_PROF) is armed by someone else, or setitimer failed.
constexpr char kTimerUnavailable[] = "SFPROF_TIMER_UNAVAILABLE";
// Another copy of sfprof, or V8's CPU profiler, owns SIGPROF.
constexpr char kSignalOwned[] = "SFPROF_SIGNAL_OWNED";
constexpr char kSignalFailed[] = "SFPROF_SIGNAL_FAILED";  // sigaction itself failed
// The ring could not be allocated, or the watcher thread not started.
constexpr char kOutOfResources[] = "SFPROF_OUT_OF_RESOURCES";
}  // namespace failure_code

struct Failure {
  const char* code = "";
  std::string message;
};

// Fills `failure` and returns false, for `return Fail(...)`.
inline bool Fail(Failure* failure, const char* code, std::string message) {
  failure->code = code;
  failure->message = std::move(message);
  return false;
}

}  // namespace sfprof

#endif  // SFPROF_FAILURE_H_
