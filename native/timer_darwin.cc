// macOS has only the itimer engine (timer_itimer.cc): no perf events, no per-thread CPU-time timers
// that signal one thread (timer_create does not exist, nor SIGEV_THREAD_ID or real-time signals), and
// no rt_tgsigqueueinfo for the pacer.
// Session::Start reports the per-thread engines as unavailable on this platform, and the JS side's
// auto choice never asks for them off Linux (src/config/engine.ts). Not built or run by this
// project's CI.
#include "timer.h"

namespace sfprof {

std::unique_ptr<TimerEngine> CreatePerfEngine(bool simulate_failure) { return nullptr; }
std::unique_ptr<TimerEngine> CreateThreadCpuEngine() { return nullptr; }
std::unique_ptr<TimerEngine> CreatePacerEngine() { return nullptr; }

}  // namespace sfprof
