// See session.h. Workers joining and leaving the running session, on their own JS threads. Never in
// signal context; the registry's lock is held around every change, but not while V8 lists a new
// worker's code.
#include "session.h"

namespace sfprof {

bool Session::AttachThread(v8::Isolate* isolate, int thread_id, Failure* failure) {
  if (forked_child_.load()) {
    return Fail(failure, failure_code::kForkedChild, "sfprof cannot run in a forked child that did not exec");
  }
  uint64_t session = 0;
  size_t ring_slots = 0;
  size_t max_frames = 0;
  bool gc_cause = false;
  std::shared_ptr<TimerEngine> engine;
  {
    ThreadRegistry::Lock lock(&registry_);
    if (!running_.load()) {
      return Fail(failure, failure_code::kNoSession,
                  "no sfprof session is running in this process; start one on the main thread first");
    }
    if (isolate == owner_) {
      return Fail(failure, failure_code::kAlreadyAttached, "the main thread is sampled by start() itself");
    }
    if (ThreadEntry* stale = registry_.Find(isolate)) {
      if (stale->session == session_) {
        return Fail(failure, failure_code::kAlreadyAttached, "this thread is already being sampled");
      }
      // Attached to an earlier session and still running (kept across stop()/start()): on its own
      // thread now, so its timer and TLS pointer can go. Its samples were drained at that stop().
      ForgetStaleEntry(stale);
    }
    session = session_;
    ring_slots = options_.ring_slots;
    max_frames = options_.max_frames;
    gc_cause = options_.gc_cause;
    engine = engine_;
  }
  // The ring's allocation and V8's listing of the worker's existing code (14-30 ms for a new worker,
  // more for a big one) run with the registry unlocked: the main thread's drain, the watcher's spill and
  // stats() do not wait for them. The entry joins the registry only once its code is listed.
  std::unique_ptr<ThreadEntry> entry = NewThreadEntry(isolate, thread_id, session, ring_slots, max_frames);
  if (!entry) return Fail(failure, failure_code::kOutOfResources, "could not allocate the sample ring");
  ThreadEntry* added = entry.get();
  added->engine = engine;
  StartThreadClock(added);
  CodeEventLog::Enable(isolate, added->log.get(), /*list_existing=*/true);
  ThreadRegistry::Lock lock(&registry_);
  // All of the rest with the registry locked, so Stop() cannot slip in between the check and the
  // timer: a timer armed after the handler was restored would kill the process with its first signal.
  if (!running_.load() || session_ != session) {
    CodeEventLog::Disable(isolate);
    CodeEventLog::Unregister(isolate, added->log.get());
    return Fail(failure, failure_code::kNoSession, "the sfprof session stopped while this thread was attaching");
  }
  registry_.Add(std::move(entry));
  SetCurrentThreadSampler(added->sampler.get());
  if (added->engine->per_thread()) {
    if (!ArmTimer(added->engine.get(), added->sampler.get(), failure)) {
      added->sampler->paused.store(true, std::memory_order_release);
      SetCurrentThreadSampler(nullptr);
      CodeEventLog::Disable(isolate);
      CodeEventLog::Unregister(isolate, added->log.get());
      registry_.Remove(added);
      return false;
    }
    added->timer_attached = true;
  }
  StartGcCauses(added, gc_cause, max_frames);
  return true;
}

void Session::ForgetStaleEntry(ThreadEntry* entry) {
  entry->sampler->paused.store(true, std::memory_order_release);
  if (CurrentThreadSampler() == entry->sampler.get()) SetCurrentThreadSampler(nullptr);
  StopGcCauses(entry);
  CodeEventLog::Disable(entry->isolate);
  if (entry->timer_attached) entry->engine->DetachThread(entry->sampler.get());
  entry->timer_attached = false;
  CodeEventLog::Unregister(entry->isolate, entry->log.get());
  registry_.Remove(entry);
}

void Session::DetachThread(v8::Isolate* isolate) {
  if (forked_child_.load()) return;
  ThreadRegistry::Lock lock(&registry_);
  ThreadEntry* entry = registry_.Find(isolate);
  if (entry == nullptr || entry == main_entry_) return;
  // On the worker's own thread: nothing interrupts this but our handler, which sees `paused` or a
  // null TLS pointer from here on, so the descriptor or timer can go.
  entry->sampler->paused.store(true, std::memory_order_release);
  SetCurrentThreadSampler(nullptr);
  StopGcCauses(entry);
  CodeEventLog::Disable(isolate);
  StopThreadClock(entry);
  if (entry->timer_attached) entry->engine->DetachThread(entry->sampler.get());
  entry->timer_attached = false;
  entry->finished = true;
  if (!running_.load() || entry->session != session_) {
    // Nobody will drain it.
    CodeEventLog::Unregister(isolate, entry->log.get());
    registry_.Remove(entry);
  }
}

void Session::NameThread(v8::Isolate* isolate, const std::string& name) {
  if (forked_child_.load()) return;
  ThreadRegistry::Lock lock(&registry_);
  ThreadEntry* entry = registry_.Find(isolate);
  if (entry != nullptr) entry->name = name;
}

}  // namespace sfprof
