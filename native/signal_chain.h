// The timer signal's disposition: install our handler in front of the previous one (which the handler
// forwards to), put the previous one back, and put ours back when someone resets it to the default.
// Also detects other profilers that own SIGPROF. Outside signal context; the state shared with the
// handler (the previous disposition) is written only while our handler is not installed.
#ifndef SFPROF_SIGNAL_CHAIN_H_
#define SFPROF_SIGNAL_CHAIN_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "failure.h"

namespace sfprof {

// Why start() refuses while V8's CPU profiler runs (checked by InstallHandler and by the session).
extern const char kV8ProfilerRunning[];

// True while V8's CPU profiler runs in this process, whoever's handler sits in front of it: it
// looks for V8's profiler thread by name (signal_chain_linux.cc, signal_chain_darwin.cc).
bool V8ProfilerThreadRunning();

class SignalChain {
 public:
  // A real-time signal nobody handles, for the per-thread engines; 0 when none is free.
  static int PickRealtimeSignal();

  // Installs our handler for `signo` and remembers what it replaces. Refuses SIGPROF when another copy
  // of sfprof owns it, or V8's profiler does (unless `allow_v8_profiler`: V8's CPU profiler restores
  // the default disposition when it stops, so chaining to it is safe only if it stops after us).
  bool Install(int signo, bool allow_v8_profiler, Failure* failure);
  // Puts the previous disposition back, unless someone installed over us since.
  void Restore();
  // Any thread, after Install and while the timer is armed: reinstalls our handler if the disposition went back to
  // default or ignore (the next tick would kill the app). A live foreign handler is left alone
  // (counted): it may forward to us, and replacing it could make two handlers loop.
  void Ensure();
  // The JS thread, just before it arms the timer: like Ensure, but never skipped because the watcher
  // is inside Ensure (it may have looked before the disposition went back to the default). False
  // when the disposition could not be read or set: the timer must then stay disarmed.
  bool EnsureBeforeArming();
  // Tests only: makes Ensure skip, as while the watcher is inside it.
  void HoldEnsureForTests(bool hold) { ensuring_.store(hold); }

  uint64_t reinstalls() const { return reinstalls_.load(); }
  uint64_t displaced() const { return displaced_.load(); }
  void ResetCounters() {
    reinstalls_ = 0;
    displaced_ = 0;
  }

 private:
  // `displaced`, when given, says whether the install replaced a disposition other than ours (read in
  // the same sigaction call, so a concurrent install of ours by another thread is not counted twice).
  bool InstallCurrent(Failure* failure, bool* displaced = nullptr);

  int signo_ = 0;
  bool allow_v8_profiler_ = false;
  bool installed_ = false;
  std::atomic<bool> ensuring_{false};  // Ensure in progress on some thread
  std::atomic<uint64_t> reinstalls_{0};
  std::atomic<uint64_t> displaced_{0};
};

}  // namespace sfprof

#endif  // SFPROF_SIGNAL_CHAIN_H_
