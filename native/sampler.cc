#include "sampler.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
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

// True when `action` is V8's own sampler handler (the CPU profiler behind --cpu-prof, the
// inspector's Profiler domain and libraries built on it), recognised by its exported symbol.
bool IsV8ProfilerHandler(const struct sigaction& action) {
  void* address = HandlerAddress(action);
  if (address == nullptr) return false;
  Dl_info info;
  if (dladdr(address, &info) == 0 || info.dli_sname == nullptr) return false;
  return strstr(info.dli_sname, "sampler13SignalHandler20HandleProfilerSignal") != nullptr;
}

// True while V8's CPU profiler runs in this process: it runs a thread named "v8:ProfEvntProc" only
// then. This also catches a profiler whose SIGPROF handler is hidden under another library's own
// (@datadog/pprof installs its handler over V8's and later puts V8's back, which then restores the
// default disposition when V8's profiler stops).
bool V8ProfilerThreadRunning() {
#if defined(__linux__)
  DIR* tasks = opendir("/proc/self/task");
  if (tasks == nullptr) return false;
  bool found = false;
  while (!found) {
    struct dirent* task = readdir(tasks);
    if (task == nullptr) break;
    if (task->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + task->d_name + "/comm";
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char name[32];
    const ssize_t length = read(fd, name, sizeof(name) - 1);
    close(fd);
    if (length <= 0) continue;
    name[length] = '\0';
    found = strncmp(name, "v8:ProfEvntProc", 15) == 0;
  }
  closedir(tasks);
  return found;
#else
  return false;
#endif
}

constexpr char kV8ProfilerRunning[] =
    "V8's CPU profiler (inspector Profiler.start or a library built on it) is running and "
    "owns SIGPROF; it restores the default disposition when it stops, which would kill the "
    "process while sfprof's timer is armed. Start sfprof before it, or stop it first";

bool IsDefaultOrIgnore(const struct sigaction& action) {
  return !(action.sa_flags & SA_SIGINFO) &&
         (action.sa_handler == SIG_DFL || action.sa_handler == SIG_IGN);
}

constexpr size_t kSpillLimitWords = 8u << 20;  // 64 MiB of encoded samples, then the ring drops
constexpr long kWatcherPeriodNs = 20 * 1000 * 1000;

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

int Sampler::PickRealtimeSignal() {
#if defined(SIGRTMIN)
  // Skip the lowest few, which threading and tracing libraries tend to take first.
  for (int signo = SIGRTMIN + 6; signo <= SIGRTMAX - 2; ++signo) {
    struct sigaction current;
    if (sigaction(signo, nullptr, &current) != 0) continue;
    if (IsOurHandler(current) || IsDefaultOrIgnore(current)) {
      if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) continue;
      return signo;
    }
  }
#endif
  return 0;
}

bool Sampler::InstallHandler(std::string* error) {
  const int signo = signal_;
  const std::string signal_name = signo == SIGPROF ? "SIGPROF" : "signal " + std::to_string(signo);
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) != 0) {
    *error = "sigaction(" + signal_name + ") query failed: " + strerror(errno);
    return false;
  }
  if (signo != SIGPROF && !IsOurHandler(current)) {
    GetPreviousAction(signo).action = current;
    GetPreviousAction(signo).valid = true;
  } else if (!IsOurHandler(current)) {
    std::string other;
    if (IsAnotherSfprof(current, &other)) {
      *error = "SIGPROF is already handled by another copy of sfprof (" + other +
               "); this copy will not profile";
      return false;
    }
    if (!options_.allow_v8_profiler && IsV8ProfilerHandler(current)) {
      *error = kV8ProfilerRunning;
      return false;
    }
    // Only ever written while our handler is not installed, so the handler never sees it torn.
    GetPreviousAction(signo).action = current;
    GetPreviousAction(signo).valid = true;
  }
  struct sigaction ours;
  memset(&ours, 0, sizeof(ours));
  ours.sa_sigaction = HandleTimerSignal;
  // SA_RESTART: without it a sample during a slow read surfaced EINTR in fs.readSync.
  // SA_ONSTACK: run on the thread's alternate stack when it has one (Node installs one).
  ours.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&ours.sa_mask);
  if (sigaction(signo, &ours, nullptr) != 0) {
    *error = "sigaction(" + signal_name + ") install failed: " + strerror(errno);
    return false;
  }
  handler_installed_ = true;
  return true;
}

void Sampler::RestoreHandler() {
  if (!handler_installed_) return;
  handler_installed_ = false;
  const int signo = signal_;
  // The real-time signal keeps our handler. A perf overflow can still send one after its event was
  // disabled or closed (the kernel delivers it from deferred work), and under the default
  // disposition that signal would terminate the process. Our handler, with no sampler on the
  // thread, counts it and returns. The signal was unused when we picked it.
  if (signo != SIGPROF) return;
  struct sigaction current;
  if (sigaction(signo, nullptr, &current) != 0 || !IsOurHandler(current)) {
    // Someone installed over us; putting our predecessor back would break them. Leave theirs.
    return;
  }
  const struct sigaction& previous = GetPreviousAction(signo).action;
  if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler == SIG_DFL) {
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

void Sampler::EnsureHandler() {
  if (!running_.load() || ensuring_.exchange(true)) return;
  struct sigaction current;
  if (sigaction(signal_, nullptr, &current) == 0 && !IsOurHandler(current)) {
    if (!IsDefaultOrIgnore(current)) {
      handler_displaced_++;
    } else {
      std::string ignored;
      handler_installed_ = false;
      if (InstallHandler(&ignored)) handler_reinstalls_++;
    }
  }
  ensuring_.store(false);
}

// Only SIGPROF is shared with JS listeners: per-thread engines use their own signal.
void Sampler::PauseTimer() {
  if (!running_.load() || timer_paused_ || engine_->per_thread()) return;
  engine_->Disarm();
  timer_paused_ = true;
}

void Sampler::ResumeTimer() {
  EnsureHandler();
  if (!timer_paused_) return;
  timer_paused_ = false;
  std::string ignored;
  if (running_.load()) engine_->Arm(options_.interval_us, &ignored);
}

namespace {

class RegistryLock {
 public:
  explicit RegistryLock(pthread_mutex_t* mutex) : mutex_(mutex) { pthread_mutex_lock(mutex_); }
  ~RegistryLock() { pthread_mutex_unlock(mutex_); }
  RegistryLock(const RegistryLock&) = delete;
  RegistryLock& operator=(const RegistryLock&) = delete;

 private:
  pthread_mutex_t* mutex_;
};

std::unique_ptr<ThreadEntry> NewEntry(v8::Isolate* isolate, int thread_id, uint64_t session,
                                      const SamplerOptions& options) {
  auto entry = std::make_unique<ThreadEntry>();
  entry->isolate = isolate;
  entry->thread_id = thread_id;
  entry->session = session;
  entry->sampler = std::make_unique<ThreadSampler>();
  // One extra slot per sample for the interrupted pc (frame 0).
  if (!entry->sampler->ring.Init(options.ring_slots, options.max_frames + 1)) return nullptr;
  entry->log = std::make_unique<CodeEventLog>();
  entry->sampler->isolate = isolate;
  entry->sampler->code_seq = entry->log->sequence();
  return entry;
}

}  // namespace

void Sampler::StartThreadClock(ThreadEntry* entry) {
  entry->has_cpu_clock = pthread_getcpuclockid(pthread_self(), &entry->cpu_clock) == 0;
  entry->cpu_start_ns = entry->has_cpu_clock ? ClockNs(entry->cpu_clock) : 0;
  entry->cpu_end_ns = -1;
}

double Sampler::ThreadCpuNs(const ThreadEntry* entry) {
  if (!entry->has_cpu_clock) return 0;
  const double end = entry->cpu_end_ns >= 0 ? entry->cpu_end_ns : ClockNs(entry->cpu_clock);
  return end > entry->cpu_start_ns ? end - entry->cpu_start_ns : 0;
}

// The one place a thread's counters are summed: for live threads by Totals, and into retired_ when
// the drain frees a finished thread (so the session's totals never lose it).
void Sampler::AddThreadCounters(const ThreadEntry& entry, ThreadTotals* totals) {
  const ThreadSampler& sampler = *entry.sampler;
  totals->threads++;
  totals->thread_cpu_ns += ThreadCpuNs(&entry);
  totals->samples_recorded += sampler.samples_recorded.load();
  totals->dropped_ring_full += sampler.dropped_ring_full.load();
  totals->dropped_busy += sampler.dropped_busy.load();
  totals->truncated += sampler.truncated.load();
  for (size_t i = 0; i < kHandlerBuckets; ++i) totals->handler_time[i] += sampler.handler_time[i].load();
}

ThreadEntry* Sampler::FindEntry(v8::Isolate* isolate) {
  for (auto& entry : entries_) {
    if (entry->isolate == isolate && !entry->finished) return entry.get();
  }
  return nullptr;
}

bool Sampler::Start(v8::Isolate* isolate, const SamplerOptions& options, std::string* error) {
  if (running_) {
    *error = "sfprof is already running in this process";
    return false;
  }
  if (forked_child_.load()) {
    *error = "sfprof cannot start in a forked child that did not exec";
    return false;
  }
  Release();
  options_ = options;
  std::shared_ptr<TimerEngine> engine;
  if (options.engine == "itimer") engine = CreateItimerEngine();
  else if (options.engine == "perf") engine = CreatePerfEngine(options.simulate_perf_failure);
  else if (options.engine == "thread-cpu") engine = CreateThreadCpuEngine();
  if (!engine) {
    *error = "the " + options.engine + " timer engine is not available on this platform";
    return false;
  }
  signal_ = SIGPROF;
  if (engine->per_thread()) {
    signal_ = PickRealtimeSignal();
    if (signal_ == 0) {
      *error = "no free real-time signal for the " + options.engine + " timer engine";
      return false;
    }
    RealtimeSignal().store(signal_);
  }
  std::unique_ptr<ThreadEntry> entry = NewEntry(isolate, 0, session_ + 1, options);
  if (!entry) {
    *error = "could not allocate the sample ring";
    return false;
  }

  // Checked here, not in InstallHandler: putting our handler back must never be refused.
  if (!engine->per_thread() && !options.allow_v8_profiler && V8ProfilerThreadRunning()) {
    *error = kV8ProfilerRunning;
    return false;
  }
  GetProcessCounters().Reset();
  if (!InstallHandler(error)) return false;
  ThreadEntry* main = entry.get();
  main->engine = engine;
  StartThreadClock(main);
  {
    RegistryLock lock(&registry_mutex_);
    session_++;
    main->session = session_;
    entries_.push_back(std::move(entry));
    main_entry_ = main;
    engine_ = engine;
  }
  // Code events first: existing code is enumerated now, and samples must never refer to code the
  // log has not seen.
  CodeEventLog::Enable(isolate, main->log.get());
  const void* embedded = nullptr;
  size_t embedded_size = 0;
  isolate->GetEmbeddedCodeRange(&embedded, &embedded_size);
  embedded_start_ = reinterpret_cast<uint64_t>(embedded);
  embedded_size_ = embedded_size;
  owner_ = isolate;
  start_ns_ = static_cast<uint64_t>(ClockNs(CLOCK_MONOTONIC));
  thread_cpu_start_ns_ = ClockNs(CLOCK_THREAD_CPUTIME_ID);
  process_cpu_start_ns_ = ClockNs(CLOCK_PROCESS_CPUTIME_ID);
  SetCurrentThreadSampler(main->sampler.get());

  const bool armed = engine->per_thread()
                         ? engine->AttachThread(main->sampler.get(), signal_, options.interval_us, error)
                         : engine->Arm(options.interval_us, error);
  if (!armed) {
    // Not armed by us (it may be someone else's timer): nothing to disarm.
    UndoStart(/*timer_armed=*/false);
    return false;
  }
  main->timer_attached = engine_->per_thread();
  static bool process_hooks_registered = false;
  if (!process_hooks_registered) {
    process_hooks_registered = true;
    std::atexit(DisarmAtExit);
    pthread_atfork(nullptr, nullptr, ForgetAfterFork);
  }
  handler_reinstalls_ = 0;
  handler_displaced_ = 0;
  timer_paused_ = false;
  spill_interrupts_ = 0;
  spill_words_ = 0;
  {
    // Workers attach only while this is set, and check it with the registry locked.
    RegistryLock lock(&registry_mutex_);
    retired_ = ThreadTotals();
    running_ = true;
  }
  if (!StartWatcher(error)) {
    UndoStart(/*timer_armed=*/true);
    return false;
  }
  return true;
}

void Sampler::UndoStart(bool timer_armed) {
  {
    RegistryLock lock(&registry_mutex_);
    running_ = false;
    // A worker that attached in the meantime goes quiet like at Stop().
    for (auto& entry : entries_) {
      if (entry.get() != main_entry_ && entry->session == session_) QuietEntry(entry.get());
    }
  }
  ThreadEntry* main = main_entry_;
  main->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  if (timer_armed) {
    if (main->engine->per_thread()) main->engine->DetachThread(main->sampler.get());
    else main->engine->Disarm();
  }
  RestoreHandler();
  CodeEventLog::Disable(owner_);
  CodeEventLog::Unregister(owner_, main->log.get());
  {
    RegistryLock lock(&registry_mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->get() == main) {
        entries_.erase(it);
        break;
      }
    }
    main_entry_ = nullptr;
    engine_.reset();
  }
  owner_ = nullptr;
}

void Sampler::QuietEntry(ThreadEntry* entry) {
  entry->sampler->paused.store(true, std::memory_order_release);
  if (entry->timer_attached) entry->engine->QuietThread(entry->sampler.get());
}

void Sampler::Stop() {
  {
    // With the registry locked: a worker attaching now either finished arming (and is quieted
    // below) or sees the session gone and does not arm at all.
    RegistryLock lock(&registry_mutex_);
    if (!running_.exchange(false)) return;
  }
  StopWatcher();
  // Order matters: no new signals, then no sampling on this thread, then the old disposition.
  ThreadEntry* main = main_entry_;
  main->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  main->cpu_end_ns = main->has_cpu_clock ? ClockNs(main->cpu_clock) : 0;
  if (main->engine->per_thread()) {
    main->engine->DetachThread(main->sampler.get());
    main->timer_attached = false;
  } else {
    main->engine->Disarm();
  }
  {
    // Workers still running keep their TLS pointer (only their own thread may clear it): their
    // timers go quiet, the handler skips them, and their logs take no more events.
    RegistryLock lock(&registry_mutex_);
    for (auto& entry : entries_) {
      if (entry.get() == main || entry->session != session_) continue;
      QuietEntry(entry.get());
      entry->log->Close();
    }
  }
  RestoreHandler();
  CodeEventLog::Disable(owner_);
}

void Sampler::Release() {
  if (running_ || forked_child_.load()) return;
  RegistryLock lock(&registry_mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    ThreadEntry* entry = it->get();
    // A live worker's sampler stays until that worker detaches: its TLS still points at it.
    if (entry == main_entry_ || entry->finished) {
      CodeEventLog::Unregister(entry->isolate, entry->log.get());
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  main_entry_ = nullptr;
  owner_ = nullptr;
}

bool Sampler::AttachThread(v8::Isolate* isolate, int thread_id, std::string* error) {
  if (forked_child_.load()) {
    *error = "sfprof cannot run in a forked child that did not exec";
    return false;
  }
  // All of it with the registry locked, so Stop() cannot slip in between the check and the timer:
  // a timer armed after the handler was restored would kill the process with its first signal.
  RegistryLock lock(&registry_mutex_);
  if (!running_.load()) {
    *error = "no sfprof session is running in this process; start one on the main thread first";
    return false;
  }
  if (isolate == owner_) {
    *error = "the main thread is sampled by start() itself";
    return false;
  }
  if (FindEntry(isolate) != nullptr) {
    *error = "this thread is already being sampled";
    return false;
  }
  std::unique_ptr<ThreadEntry> entry = NewEntry(isolate, thread_id, session_, options_);
  if (!entry) {
    *error = "could not allocate the sample ring";
    return false;
  }
  ThreadEntry* added = entry.get();
  added->engine = engine_;
  StartThreadClock(added);
  entries_.push_back(std::move(entry));
  CodeEventLog::Enable(isolate, added->log.get());
  SetCurrentThreadSampler(added->sampler.get());
  if (added->engine->per_thread()) {
    if (!added->engine->AttachThread(added->sampler.get(), signal_, options_.interval_us, error)) {
      added->sampler->paused.store(true, std::memory_order_release);
      SetCurrentThreadSampler(nullptr);
      CodeEventLog::Disable(isolate);
      CodeEventLog::Unregister(isolate, added->log.get());
      entries_.pop_back();
      return false;
    }
    added->timer_attached = true;
  }
  return true;
}

void Sampler::DetachThread(v8::Isolate* isolate) {
  if (forked_child_.load()) return;
  RegistryLock lock(&registry_mutex_);
  ThreadEntry* entry = FindEntry(isolate);
  if (entry == nullptr || entry == main_entry_) return;
  // On the worker's own thread: nothing interrupts this but our handler, which sees `paused` or a
  // null TLS pointer from here on, so the descriptor or timer can go.
  entry->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  CodeEventLog::Disable(isolate);
  entry->cpu_end_ns = entry->has_cpu_clock ? ClockNs(entry->cpu_clock) : 0;
  if (entry->timer_attached) entry->engine->DetachThread(entry->sampler.get());
  entry->timer_attached = false;
  entry->finished = true;
  if (!running_.load() || entry->session != session_) {
    // Nobody will drain it.
    CodeEventLog::Unregister(isolate, entry->log.get());
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->get() == entry) {
        entries_.erase(it);
        break;
      }
    }
  }
}

void Sampler::NameThread(v8::Isolate* isolate, const std::string& name) {
  if (forked_child_.load()) return;
  RegistryLock lock(&registry_mutex_);
  ThreadEntry* entry = FindEntry(isolate);
  if (entry != nullptr) entry->name = name;
}

bool Sampler::Totals(ThreadTotals* totals) {
  if (forked_child_.load()) return false;
  RegistryLock lock(&registry_mutex_);
  if (entries_.empty()) return false;
  *totals = retired_;
  for (auto& entry : entries_) {
    if (entry->session == session_) AddThreadCounters(*entry, totals);
  }
  return true;
}

bool Sampler::StartWatcher(std::string* error) {
  watcher_stop_.store(false);
  interrupt_pending_.store(false);
  // pthread rather than std::thread: a failure (a process at its thread limit) must become an
  // error from start(), not std::terminate in a build without exceptions.
  const int failed = pthread_create(&watcher_, nullptr, WatcherMain, this);
  if (failed != 0) {
    *error = std::string("could not start the sampler's watcher thread: ") + strerror(failed);
    return false;
  }
  watcher_running_.store(true);
  return true;
}

void* Sampler::WatcherMain(void* data) {
  Sampler* sampler = static_cast<Sampler*>(data);
  v8::Isolate* isolate = sampler->owner_;
  while (!sampler->watcher_stop_.load()) {
    struct timespec period = {0, kWatcherPeriodNs};
    nanosleep(&period, nullptr);
    if (sampler->watcher_stop_.load()) break;
    sampler->EnsureHandler();
    bool half_full = false;
    // try-lock: the watcher never waits on the registry (a fork taken while it held the lock
    // must not leave the child's copy locked for long, and the JS thread has priority).
    if (pthread_mutex_trylock(&sampler->registry_mutex_) == 0) {
      for (auto& entry : sampler->entries_) {
        const SampleRing& ring = entry->sampler->ring;
        if (ring.Unread() * 2 >= ring.slots()) half_full = true;
      }
      pthread_mutex_unlock(&sampler->registry_mutex_);
    }
    if (half_full && !sampler->interrupt_pending_.exchange(true)) {
      isolate->RequestInterrupt(OnInterrupt, sampler);
    }
  }
  return nullptr;
}

void Sampler::StopWatcher() {
  // Whoever clears the flag joins: Stop() on the JS thread and exit() on another cannot both join.
  if (!watcher_running_.exchange(false)) return;
  watcher_stop_.store(true);
  pthread_join(watcher_, nullptr);
}

void Sampler::ForgetAfterFork() {
  // Only the forking thread exists in the child: no watcher to join, no timer (setitimer timers and
  // POSIX timers are not inherited). The registry may have been locked by another thread at fork:
  // the child never touches it. Its samplers stay allocated; the child simply is not profiled.
  Sampler& sampler = Get();
  sampler.forked_child_.store(true);
  sampler.watcher_running_.store(false);
  sampler.running_.store(false);
  ThreadSampler* current = CurrentThreadSampler();
  SetCurrentThreadSampler(nullptr);
  // A perf event descriptor is inherited but counts the parent's thread: let it go.
  if (current != nullptr && current->perf_fd >= 0) {
    close(current->perf_fd);
    current->perf_fd = -1;
  }
}

// Main JS thread, at a V8 interrupt check. May run after Stop() (a request already queued): no-op.
void Sampler::OnInterrupt(v8::Isolate* isolate, void* data) {
  Sampler* sampler = static_cast<Sampler*>(data);
  sampler->interrupt_pending_.store(false);
  if (!sampler->running_ || sampler->owner_ != isolate || sampler->forked_child_.load()) return;
  sampler->spill_interrupts_++;
  RegistryLock lock(&sampler->registry_mutex_);
  sampler->SpillRings();
}

void Sampler::SpillRings() {
  for (auto& entry : entries_) {
    if (entry->session != session_) continue;
    const size_t before = entry->spill.size();
    const size_t room = kSpillLimitWords > spill_words_ ? kSpillLimitWords - spill_words_ : 0;
    ReadRing(entry.get(), &entry->spill, &entry->spill_count, before + room);
    spill_words_ += entry->spill.size() - before;
  }
}

void Sampler::Drain(std::vector<DrainedThread>* out) {
  if (forked_child_.load()) return;
  RegistryLock lock(&registry_mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    ThreadEntry* entry = it->get();
    if (entry->session != session_) {
      ++it;
      continue;
    }
    DrainedThread drained;
    drained.thread_id = entry->thread_id;
    drained.name = entry->name;
    drained.finished = entry->finished;
    // Spilled samples are older than anything still in the ring.
    drained.records.swap(entry->spill);
    drained.count = entry->spill_count;
    entry->spill_count = 0;
    ReadRing(entry, &drained.records, &drained.count, SIZE_MAX);
    // Samples first, then events: every event a drained sample refers to was appended before the
    // sample was taken, so it is in this batch or an earlier one.
    drained.events = entry->log->Take();
    if (entry != main_entry_ && embedded_size_ > 0) {
      // A worker's enumeration repeats every builtin the main thread's log already has: the main
      // thread's code map resolves those (half of a new worker's events).
      std::vector<CodeEvent>& events = drained.events;
      size_t kept = 0;
      for (size_t i = 0; i < events.size(); ++i) {
        const CodeEvent& event = events[i];
        const bool builtin = event.type == CodeEventType::kAdded && event.start >= embedded_start_ &&
                             event.start < embedded_start_ + embedded_size_;
        if (!builtin) {
          if (kept != i) events[kept] = std::move(events[i]);
          kept++;
        }
      }
      events.resize(kept);
    }
    out->push_back(std::move(drained));
    if (entry->finished) {
      CodeEventLog::Unregister(entry->isolate, entry->log.get());
      AddThreadCounters(*entry, &retired_);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  spill_words_ = 0;
}

void Sampler::ReadRing(ThreadEntry* entry, std::vector<double>* records, uint64_t* count, size_t limit_words) {
  SampleRing& ring = entry->sampler->ring;
  const uint64_t begin = ring.ReadBegin();
  const uint64_t end = ring.ReadEnd();
  uint64_t position = begin;
  for (; position < end; ++position) {
    const SampleHeader* slot = ring.SlotAt(position);
    // Leave the rest in the ring (it counts what it then drops) rather than pass the limit.
    if (records->size() + 6 + slot->frame_count > limit_words) break;
    const double relative_ns =
        slot->timestamp_ns >= start_ns_ ? static_cast<double>(slot->timestamp_ns - start_ns_) : 0;
    records->push_back(relative_ns);
    records->push_back(static_cast<double>(slot->code_seq));
    records->push_back(slot->vm_state);
    records->push_back(slot->flags);
    records->push_back(slot->weight_us);
    const uint32_t frames = slot->frame_count;
    records->push_back(frames);
    void* const* addresses = reinterpret_cast<void* const*>(slot + 1);
    for (uint32_t i = 0; i < frames; ++i) {
      records->push_back(static_cast<double>(reinterpret_cast<uintptr_t>(addresses[i])));
    }
    (*count)++;
  }
  ring.Release(position);
}

void Sampler::DisarmAtExit() {
  // Static destructors and exit handlers run after this; no timer signal may reach them. The
  // sampler and its engine are never destroyed, so this is safe at any point of exit. Per-thread
  // timers only go quiet: their threads may still be running their handler.
  Sampler& sampler = Get();
  if (sampler.running_.exchange(false)) {
    if (!sampler.engine_->per_thread()) {
      sampler.engine_->Disarm();
    } else if (!sampler.forked_child_.load() && pthread_mutex_trylock(&sampler.registry_mutex_) == 0) {
      for (auto& entry : sampler.entries_) {
        if (entry->timer_attached) entry->engine->QuietThread(entry->sampler.get());
      }
      pthread_mutex_unlock(&sampler.registry_mutex_);
    }
  }
  sampler.StopWatcher();
}

}  // namespace sfprof
