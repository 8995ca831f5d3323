// See signal_chain.h. Runs on the JS thread (install, restore) and on the watcher (Ensure); the
// handler itself, and the forwarding to the previous disposition, are in signal_handler.cc. Looking
// for V8's profiler thread is per platform: signal_chain_linux.cc, signal_chain_darwin.cc.
#include "signal_chain.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "sampler_state.h"

namespace sfprof {

// Exported so that a second copy of sfprof loaded from another path can recognise our handler and
// refuse to chain to it (two copies forwarding to each other would recurse forever).
extern "C" __attribute__((visibility("default"))) const char sfprof_signal_handler_marker[] =
    "sfprof";

namespace {

// Whatever the flags say: sa_handler and sa_sigaction share their storage, so SIG_DFL or SIG_IGN
// installed with SA_SIGINFO reads as a handler at address 0 or 1.
bool IsDefault(const struct sigaction& action) { return action.sa_handler == SIG_DFL; }
bool IsIgnore(const struct sigaction& action) { return action.sa_handler == SIG_IGN; }
bool IsDefaultOrIgnore(const struct sigaction& action) { return IsDefault(action) || IsIgnore(action); }

bool IsOurHandler(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == HandleTimerSignal;
}

void* HandlerAddress(const struct sigaction& action) {
  if (IsDefaultOrIgnore(action)) return nullptr;
  if (action.sa_flags & SA_SIGINFO) return reinterpret_cast<void*>(action.sa_sigaction);
  return reinterpret_cast<void*>(action.sa_handler);
}

struct sigaction OurAction() {
  struct sigaction ours;
  memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = HandleTimerSignal;
  // SA_RESTART: without it a sample during a slow read surfaced EINTR in fs.readSync.
  // SA_ONSTACK: run on the thread's alternate stack when it has one (Node installs one).
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  return ours;
}

// Returns the path of the shared object that installed `action` if it is another copy of sfprof.
bool IsAnotherSfprof(const struct sigaction& action, std::string* path) {
  void* address = HandlerAddress(action);
  if (address == nullptr) return false;
  Dl_info info;
  if (dladdr(address, &info) == 0 || info.dli_fname == nullptr) return false;
  void* handle = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (handle == nullptr) return false;
  const bool marked = dlsym(handle, "sfprof_signal_handler_marker") != nullptr;
  dlclose(handle);
  if (marked) *path = info.dli_fname;
  return marked;
}

// True when `action` is V8's own sampler handler (the CPU profiler behind --cpu-prof, the
// inspector's Profiler domain and libraries built on it), recognised by its exported symbol.
bool IsV8ProfilerHandler(const struct sigaction& action) {
  void* address = HandlerAddress(action);
  if (address == nullptr) return false;
  Dl_info info;
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr) return false;
  return strstr(info.dli_sname, "sampler13SignalHandler20HandleProfilerSignal") != nullptr;
}

}  // namespace

const char kV8ProfilerRunning[] =
    "V8's CPU profiler (inspector Profiler.start or a library built on it) is running and "
    "owns SIGPROF; it restores the default disposition when it stops, which would kill the "
    "process while sfprof's timer is armed. Start sfprof before it, or stop it first";

int SignalChain::PickRealtimeSignal() {
#if defined(SIGRTMIN)
  // Skip the lowest few, which threading and tracing libraries tend to take first.
  for (int signo = SIGRTMIN + 6; signo <= SIGRTMAX - 2; ++signo) {
    struct sigaction current;
    if (sigaction(signo, nullptr, &current) != 0) continue;
    if (IsOurHandler(current) || IsDefault(current)) return signo;
  }
#endif
  return 0;
}

bool SignalChain::Install(int signo, bool allow_v8_profiler, Failure* failure) {
  signo_ = signo;
  allow_v8_profiler_ = allow_v8_profiler;
  return InstallCurrent(failure);
}

bool SignalChain::InstallCurrent(Failure* failure, bool* displaced) {
  const int signo = signo_;
  const std::string signal_name = signo == SIGPROF ? "SIGPROF" : "signal " + std::to_string(signo);
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) != 0) {
    return Fail(failure, failure_code::kSignalFailed,
                "sigaction(" + signal_name + ") query failed: " + strerror(errno));
  }
  if (signo != SIGPROF && !IsOurHandler(current)) {
    GetPreviousAction(signo).action = current;
    GetPreviousAction(signo).valid = true;
  } else if (!IsOurHandler(current)) {
    std::string other;
    if (IsAnotherSfprof(current, &other)) {
      return Fail(failure, failure_code::kSignalOwned,
                  "SIGPROF is already handled by another copy of sfprof (" + other + "); this copy will not profile");
    }
    if (!allow_v8_profiler_ && IsV8ProfilerHandler(current)) {
      return Fail(failure, failure_code::kSignalOwned, kV8ProfilerRunning);
    }
    // Only ever written while our handler is not installed, so the handler never sees it torn.
    GetPreviousAction(signo).action = current;
    GetPreviousAction(signo).valid = true;
  }
  const struct sigaction ours = OurAction();
  struct sigaction replaced;
  if (sigaction(signo, &ours, &replaced) != 0) {
    return Fail(failure, failure_code::kSignalFailed,
                "sigaction(" + signal_name + ") install failed: " + strerror(errno));
  }
  if (displaced != nullptr) *displaced = !IsOurHandler(replaced);
  installed_ = true;
  return true;
}

void SignalChain::Restore() {
  if (!installed_) return;
  installed_ = false;
  const int signo = signo_;
  // The real-time signal and SIGIO keep our handler. A perf overflow can still send one after its
  // event was disabled or closed (the kernel delivers it from deferred work), and under the default
  // disposition that signal would terminate the process. Our handler, with no sampler on the
  // thread, counts it (or hands a SIGIO to the previous handler) and returns. The real-time signal
  // was unused when we picked it.
  if (signo != SIGPROF) return;
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) != 0 || !IsOurHandler(current)) {
    // Someone installed over us; putting our predecessor back would break them. Leave theirs.
    return;
  }
  const struct sigaction& previous = GetPreviousAction(signo).action;
  if (IsDefault(previous)) {
    // A signal still pending from the stopped timer would terminate the process under the default
    // disposition (for SIGPROF and real-time signals alike). Ignoring the signal discards pending
    // instances (POSIX) first.
    struct sigaction ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(signo, &ignore, nullptr);
  }
  sigaction(signo, &previous, nullptr);
}

bool SignalChain::EnsureBeforeArming() {
  struct sigaction current;
  if (sigaction(signo_, nullptr, &current) != 0) return false;
  if (IsOurHandler(current)) return true;
  if (!IsDefaultOrIgnore(current)) {
    displaced_++;
    return true;  // a live handler: a tick reaches it, and it does not kill
  }
  // The previous disposition stays as Install recorded it: the watcher may be writing it (Ensure),
  // and the disposition found here is the default anyway, which ForwardToPrevious never calls.
  // Counted only when this call replaced the default: the watcher (Ensure) may have put ours back
  // between the check above and here, and one restoration is one reinstall.
  const struct sigaction ours = OurAction();
  struct sigaction replaced;
  if (sigaction(signo_, &ours, &replaced) != 0) return false;
  if (!IsOurHandler(replaced)) reinstalls_++;
  return true;
}

void SignalChain::Ensure() {
  if (ensuring_.exchange(true)) return;
  struct sigaction current;
  if (sigaction(signo_, nullptr, &current) == 0 && !IsOurHandler(current)) {
    if (!IsDefaultOrIgnore(current)) {
      displaced_++;
    } else {
      Failure ignored;
      installed_ = false;
      bool displaced = false;
      if (InstallCurrent(&ignored, &displaced) && displaced) reinstalls_++;
    }
  }
  ensuring_.store(false);
}

}  // namespace sfprof
