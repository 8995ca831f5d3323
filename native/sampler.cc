#include "sampler.h"

#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include <cstdlib>

#include <v8.h>

namespace sfprof {

// Exported so that a second copy of sfprof loaded from another path can recognise our handler and
// refuse to chain to it (two copies forwarding to each other would recurse forever).
extern "C" __attribute__((visibility("default"))) const char sfprof_signal_handler_marker[] =
    "sfprof";

namespace {

bool IsOurHandler(const struct sigaction& action) {
  return (action.sa_flags & SA_SIGINFO) && action.sa_sigaction == HandleTimerSignal;
}

void* HandlerAddress(const struct sigaction& action) {
  if (action.sa_flags & SA_SIGINFO) return reinterpret_cast<void*>(action.sa_sigaction);
  if (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN) return nullptr;
  return reinterpret_cast<void*>(action.sa_handler);
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

}  // namespace

double ClockNs(int clock_id) {
  struct timespec ts;
  if (clock_gettime(clock_id, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

Sampler& Sampler::Get() {
  static Sampler* sampler = new Sampler();  // leaked: atexit and cleanup hooks may run late
  return *sampler;
}

bool Sampler::InstallHandler(std::string* error) {
  struct sigaction current;
  if (sigaction(SIGPROF, nullptr, &current) != 0) {
    *error = std::string("sigaction(SIGPROF) query failed: ") + strerror(errno);
    return false;
  }
  if (!IsOurHandler(current)) {
    std::string other;
    if (IsAnotherSfprof(current, &other)) {
      *error = "SIGPROF is already handled by another copy of sfprof (" + other +
               "); this copy will not profile";
      return false;
    }
    // Only ever written while our handler is not installed, so the handler never sees it torn.
    GetPreviousAction().action = current;
    GetPreviousAction().valid = true;
  }
  struct sigaction ours;
  memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = HandleTimerSignal;
  // SA_RESTART: without it a sample during a slow read surfaced EINTR in fs.readSync.
  // SA_ONSTACK: run on the thread's alternate stack when it has one (Node installs one).
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  if (sigaction(SIGPROF, &ours, nullptr) != 0) {
    *error = std::string("sigaction(SIGPROF) install failed: ") + strerror(errno);
    return false;
  }
  handler_installed_ = true;
  return true;
}

void Sampler::RestoreHandler() {
  if (!handler_installed_) return;
  handler_installed_ = false;
  struct sigaction current;
  if (sigaction(SIGPROF, nullptr, &current) != 0 || !IsOurHandler(current)) {
    // Someone installed over us; putting our predecessor back would break them. Leave theirs.
    return;
  }
  const struct sigaction& previous = GetPreviousAction().action;
  if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler == SIG_DFL) {
    // A SIGPROF still pending from the disarmed timer would terminate the process under the
    // default disposition. Ignoring the signal discards pending instances (POSIX) first.
    struct sigaction ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPROF, &ignore, nullptr);
  }
  sigaction(SIGPROF, &previous, nullptr);
}

void Sampler::EnsureHandler() {
  if (!running_) return;
  struct sigaction current;
  if (sigaction(SIGPROF, nullptr, &current) != 0 || IsOurHandler(current)) return;
  std::string ignored;
  handler_installed_ = false;
  if (InstallHandler(&ignored)) handler_reinstalls_++;
}

bool Sampler::Start(v8::Isolate* isolate, const SamplerOptions& options, std::string* error) {
  if (running_) {
    *error = "sfprof is already running in this process";
    return false;
  }
  Release();
  auto thread = std::make_unique<ThreadSampler>();
  // One extra slot per sample for the interrupted pc (frame 0).
  if (!thread->ring.Init(options.ring_slots, options.max_frames + 1)) {
    *error = "could not allocate the sample ring";
    return false;
  }
  thread->isolate = isolate;
  thread->code_seq = CodeEventLog::Get().sequence();

  if (!InstallHandler(error)) return false;
  // Code events first: existing code is enumerated now, and samples must never refer to code the
  // log has not seen.
  CodeEventLog::Get().Enable(isolate);
  options_ = options;
  thread_ = std::move(thread);
  owner_ = isolate;
  start_ns_ = static_cast<uint64_t>(ClockNs(CLOCK_MONOTONIC));
  thread_cpu_start_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  process_cpu_start_ns_ = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  SetCurrentThreadSampler(thread_.get());

  engine_ = CreateItimerEngine();
  if (!engine_->Arm(options.interval_us, error)) {
    SetCurrentThreadSampler(nullptr);
    CodeEventLog::Get().Disable(isolate);
    RestoreHandler();
    thread_.reset();
    engine_.reset();
    owner_ = nullptr;
    return false;
  }
  static bool atexit_registered = false;
  if (!atexit_registered) {
    atexit_registered = true;
    std::atexit(DisarmAtExit);
  }
  handler_reinstalls_ = 0;
  running_ = true;
  return true;
}

void Sampler::Stop() {
  if (!running_) return;
  running_ = false;
  // Order matters: no new signals, then no sampling on this thread, then the old disposition.
  engine_->Disarm();
  thread_->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  RestoreHandler();
  CodeEventLog::Get().Disable(owner_);
}

void Sampler::Release() {
  if (running_) return;
  thread_.reset();
  owner_ = nullptr;
}

void Sampler::DrainSamples(DrainedSamples* out) {
  if (!thread_) return;
  SampleRing& ring = thread_->ring;
  const uint64_t begin = ring.ReadBegin();
  const uint64_t end = ring.ReadEnd();
  for (uint64_t position = begin; position < end; ++position) {
    const SampleHeader* slot = ring.SlotAt(position);
    const double relative_ns =
        slot->timestamp_ns >= start_ns_ ? static_cast<double>(slot->timestamp_ns - start_ns_) : 0;
    out->records.push_back(relative_ns);
    out->records.push_back(static_cast<double>(slot->code_seq));
    out->records.push_back(slot->vm_state);
    out->records.push_back(slot->flags);
    const uint32_t frames = slot->frame_count;
    out->records.push_back(frames);
    void* const* addresses = reinterpret_cast<void* const*>(slot + 1);
    for (uint32_t i = 0; i < frames; ++i) {
      out->records.push_back(static_cast<double>(reinterpret_cast<uintptr_t>(addresses[i])));
    }
    out->count++;
  }
  ring.Release(end);
}

void Sampler::DisarmAtExit() {
  // Static destructors and exit handlers run after this; no SIGPROF may reach them. The sampler and
  // its engine are never destroyed, so this is safe at any point of exit.
  Sampler& sampler = Get();
  if (sampler.running_) sampler.engine_->Disarm();
}

}  // namespace sfprof
