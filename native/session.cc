// See session.h. The lifecycle of a session; workers joining and leaving it are in
// session_workers.cc, the process's exit and fork hooks in session_process.cc. Order matters throughout: a timer signal must never find our handler gone.
#include "session.h"

#include <time.h>

#include <v8.h>

#include "other_threads.h"

namespace sfprof {
namespace {

std::shared_ptr<TimerEngine> CreateEngine(const SamplerOptions& options) {
  if (options.engine == "itimer") return CreateItimerEngine();
  if (options.engine == "perf") return CreatePerfEngine(options.simulate_perf_failure);
  if (options.engine == "thread-cpu") return CreateThreadCpuEngine();
  if (options.engine == "pacer") return CreatePacerEngine();
  return nullptr;
}

}  // namespace

Session& Session::Get() {
  static Session* session = new Session();  // leaked: atexit and cleanup hooks may run late
  return *session;
}

bool Session::PickSignal(const TimerEngine& engine, Failure* failure) {
  signal_ = SIGPROF;
  if (!engine.per_thread()) return true;
  signal_ = SignalChain::PickRealtimeSignal();
  if (signal_ == 0) {
    return Fail(failure, failure_code::kEngineRefused,
                "no free real-time signal for the " + options_.engine + " timer engine");
  }
  return true;
}

bool Session::ArmTimer(TimerEngine* engine, ThreadSampler* sampler, Failure* failure) {
  std::string error;
  if (engine->per_thread()) {
    if (engine->AttachThread(sampler, signal_, options_.interval_us, &error)) return true;
    return Fail(failure, failure_code::kEngineRefused, error);
  }
  if (engine->Arm(options_.interval_us, &error)) return true;
  return Fail(failure, failure_code::kTimerUnavailable, error);
}

DrainScope Session::Scope() const {
  DrainScope scope;
  scope.session = session_;
  scope.start_ns = start_ns_;
  scope.main = main_entry_;
  scope.embedded_start = embedded_start_;
  scope.embedded_size = embedded_size_;
  return scope;
}

bool Session::Start(v8::Isolate* isolate, const SamplerOptions& options, Failure* failure) {
  if (running_) return Fail(failure, failure_code::kAlreadyRunning, "sfprof is already running in this process");
  if (forked_child_.load()) {
    return Fail(failure, failure_code::kForkedChild, "sfprof cannot start in a forked child that did not exec");
  }
  Release();
  options_ = options;
  std::shared_ptr<TimerEngine> engine = CreateEngine(options);
  if (!engine) {
    return Fail(failure, failure_code::kEngineUnavailable,
                "the " + options.engine + " timer engine is not available on this platform");
  }
  if (!PickSignal(*engine, failure)) return false;
  std::unique_ptr<ThreadEntry> entry =
      NewThreadEntry(isolate, 0, session_ + 1, options.ring_slots, options.max_frames);
  if (!entry) return Fail(failure, failure_code::kOutOfResources, "could not allocate the sample ring");
  // Checked here, not in SignalChain::Install: putting our handler back must never be refused.
  if (!engine->per_thread() && !options.allow_v8_profiler && V8ProfilerThreadRunning()) {
    return Fail(failure, failure_code::kSignalOwned, kV8ProfilerRunning);
  }
  if (!PrepareThreadSlots()) {
    return Fail(failure, failure_code::kOutOfResources,
                "could not create the thread-specific keys the signal handler reads");
  }
  GetProcessCounters().Reset();
  ResetOtherThreads();
  // perf: when the kernel cannot queue the real-time signal (RLIMIT_SIGPENDING) it sends SIGIO, which
  // would end the process. Ours counts it, and stays installed like the real-time signal's.
  if (options.engine == "perf" && !io_chain_.Install(SIGIO, false, failure)) return false;
  if (!chain_.Install(signal_, options.allow_v8_profiler, failure)) return false;

  ThreadEntry* main = entry.get();
  main->engine = engine;
  StartThreadClock(main);
  {
    ThreadRegistry::Lock lock(&registry_);
    session_++;
    main->session = session_;
    // Before any timer of this session runs: the handler samples only this session's threads.
    RunningSession().store(session_);
    registry_.Add(std::move(entry));
    main_entry_ = main;
    engine_ = engine;
  }
  // Code events first: samples must never refer to code the log has not seen. Existing code is
  // listed at the first sample (ListExistingCodeOnceSampled), not now.
  CodeEventLog::Enable(isolate, main->log.get(), /*list_existing=*/false);
  StartGcCauses(main, options_.gc_cause, options_.max_frames);
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

  if (!ArmTimer(engine.get(), main->sampler.get(), failure)) {
    // Not armed by us (it may be someone else's timer): nothing to disarm.
    UndoStart(/*timer_armed=*/false);
    return false;
  }
  main->timer_attached = engine->per_thread();
  RegisterProcessHooks();
  chain_.ResetCounters();
  timer_paused_ = false;
  spills_.store(0, std::memory_order_relaxed);
  spill_words_ = 0;
  code_listed_ = false;
  {
    // Workers attach only while this is set, and check it with the registry locked.
    ThreadRegistry::Lock lock(&registry_);
    registry_.ForgetRetired();
    running_ = true;
  }
  std::string error;
  // Before the watcher: its first poll sees the stall watch running.
  if (!stall_.Start(isolate, options.stall_threshold_us * 1000, signal_, &error)) {
    UndoStart(/*timer_armed=*/true);
    return Fail(failure, failure_code::kOutOfResources, error);
  }
  if (!watcher_.Start(this, isolate, &error)) {
    stall_.Stop();
    UndoStart(/*timer_armed=*/true);
    return Fail(failure, failure_code::kOutOfResources, error);
  }
  return true;
}

void Session::UndoStart(bool timer_armed) {
  {
    ThreadRegistry::Lock lock(&registry_);
    running_ = false;
    // A worker that attached in the meantime goes quiet like at Stop().
    for (auto& entry : registry_.entries()) {
      if (entry.get() != main_entry_ && entry->session == session_) QuietEntry(entry.get());
    }
  }
  ThreadEntry* main = main_entry_;
  main->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  StopGcCauses(main);
  if (timer_armed) {
    if (main->engine->per_thread()) main->engine->DetachThread(main->sampler.get());
    else main->engine->Disarm();
  }
  RunningSession().store(0);
  chain_.Restore();
  CodeEventLog::Disable(owner_);
  CodeEventLog::Unregister(owner_, main->log.get());
  {
    ThreadRegistry::Lock lock(&registry_);
    registry_.Remove(main);
    main_entry_ = nullptr;
    engine_.reset();
  }
  owner_ = nullptr;
}

void Session::QuietEntry(ThreadEntry* entry) {
  entry->sampler->paused.store(true, std::memory_order_release);
  if (entry->timer_attached) entry->engine->QuietThread(entry->sampler.get());
}

void Session::Stop() {
  // A forked child never locks the registry (another thread may have held it at fork); nothing of
  // the session runs there (ForgetAfterFork).
  if (forked_child_.load()) return;
  {
    // With the registry locked: a worker attaching now either finished arming (and is quieted
    // below) or sees the session gone and does not arm at all.
    ThreadRegistry::Lock lock(&registry_);
    if (!running_.exchange(false)) return;
  }
  watcher_.Stop();
  stall_.Stop();  // no probe is sent after this
  // Order matters: no new signals, then no sampling on this thread, then the old disposition.
  ThreadEntry* main = main_entry_;
  main->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  StopGcCauses(main);
  StopThreadClock(main);
  if (main->engine->per_thread()) {
    main->engine->DetachThread(main->sampler.get());
    main->timer_attached = false;
  } else {
    main->engine->Disarm();
  }
  {
    // Workers still running keep their TLS pointer (only their own thread may clear it): their
    // timers go quiet, the handler skips them, and their logs take no more events.
    ThreadRegistry::Lock lock(&registry_);
    for (auto& entry : registry_.entries()) {
      if (entry.get() == main || entry->session != session_) continue;
      QuietEntry(entry.get());
      entry->log->Close();
    }
  }
  // Every timer is quiet: a signal still in flight is counted from here on, never sampled.
  RunningSession().store(0);
  chain_.Restore();
  ListExistingCodeOnceSampled();  // every timer is off: whether samples need it is final
  CodeEventLog::Disable(owner_);
}

void Session::Release() {
  if (running_ || forked_child_.load()) return;
  ThreadRegistry::Lock lock(&registry_);
  auto& entries = registry_.entries();
  for (auto it = entries.begin(); it != entries.end();) {
    ThreadEntry* entry = it->get();
    // A live worker's sampler stays until that worker detaches: its TLS still points at it.
    if (entry == main_entry_ || entry->finished) {
      if (entry == main_entry_) StopGcCauses(entry);  // the exit path may stop without Stop()
      CodeEventLog::Unregister(entry->isolate, entry->log.get());
      it = entries.erase(it);
    } else {
      ++it;
    }
  }
  main_entry_ = nullptr;
  owner_ = nullptr;
}

void Session::Drain(std::vector<DrainedThread>* out) {
  if (forked_child_.load()) return;
  if (running_.load()) ListExistingCodeOnceSampled();  // before the rings: in the first samples' drain
  ThreadRegistry::Lock lock(&registry_);
  DrainThreads(&registry_, Scope(), out);
  spill_words_ = 0;
}

bool Session::Totals(ThreadTotals* totals) {
  if (forked_child_.load()) return false;
  ThreadRegistry::Lock lock(&registry_);
  if (registry_.entries().empty()) return false;
  registry_.Totals(session_, totals);
  return true;
}

void Session::EnsureHandler() {
  if (running_.load()) chain_.Ensure();
}

// Only SIGPROF is shared with JS listeners: per-thread engines use their own signal.
void Session::PauseTimer() {
  if (!running_.load() || timer_paused_ || engine_->per_thread()) return;
  engine_->Disarm();
  timer_paused_ = true;
}

void Session::ResumeTimer() {
  if (!running_.load()) return;
  // Not EnsureHandler: the watcher may be inside Ensure, having seen our handler just before libuv
  // put the default back; the timer's next tick would then end the process.
  const bool handler_ready = chain_.EnsureBeforeArming();
  if (!timer_paused_ || !handler_ready) return;
  timer_paused_ = false;
  std::string ignored;
  engine_->Arm(options_.interval_us, &ignored);
}

bool Session::AnyRingHalfFullLocked() {
  for (auto& entry : registry_.entries()) {
    const SampleRing& ring = entry->sampler->ring;
    if (ring.Unread() * 2 >= ring.slots() || GcCausesHalfFull(entry->gc.get())) return true;
  }
  return OtherThreadsHalfFull();
}

void Session::SpillFromWatcher() {
  // The watcher runs only while the session does (Stop() joins it before the registry changes),
  // and never in a forked child.
  if (!running_.load() || forked_child_.load() || spills_held_.load()) return;
  if (!registry_.TryLock()) return;
  // One look at the rings and, when one is half full, the spill, under the same lock.
  const size_t moved = AnyRingHalfFullLocked() ? SpillRings(&registry_, Scope(), &spill_words_) + SpillOtherThreads() : 0;
  registry_.Unlock();
  if (moved > 0) spills_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace sfprof
