// The session's hooks into the process's exit and fork. They may run on any thread and late in
// exit, so they touch only what is never destroyed (the Session is leaked) and never wait on a lock.
#include <pthread.h>
#include <unistd.h>

#include <cstdlib>

#include "session.h"

namespace sfprof {

void Session::RegisterProcessHooks() {
  static bool registered = false;  // the owner's JS thread only
  if (registered) return;
  registered = true;
  std::atexit(DisarmAtExit);
  pthread_atfork(nullptr, nullptr, ForgetAfterFork);
}

void Session::DisarmAtExit() {
  // Static destructors and exit handlers run after this; no timer signal may reach them. The
  // session and its engine are never destroyed, so this is safe at any point of exit. Per-thread
  // timers only go quiet: their threads may still be running their handler. The pacer's thread stops
  // whether or not the registry is free (QuietAll).
  Session& session = Get();
  const bool was_running = session.running_.exchange(false);
  if (was_running) {
    if (!session.engine_->per_thread()) {
      session.engine_->Disarm();
    } else if (!session.forked_child_.load()) {
      session.engine_->QuietAll();
    }
  }
  // Joined before the registry is tried: a spill holds it, and would leave the per-thread timers on.
  session.watcher_.Stop();
  if (was_running && session.engine_->per_thread() && !session.forked_child_.load() && session.registry_.TryLock()) {
    for (auto& entry : session.registry_.entries()) {
      if (entry->timer_attached) entry->engine->QuietThread(entry->sampler.get());
    }
    session.registry_.Unlock();
  }
}

void Session::ForgetAfterFork() {
  // Only the forking thread exists in the child: no watcher to join, no timer (setitimer timers and
  // POSIX timers are not inherited). The registry may have been locked by another thread at fork:
  // the child never touches it. Its samplers stay allocated; the child simply is not profiled.
  Session& session = Get();
  session.forked_child_.store(true);
  session.watcher_.ForgetAfterFork();
  session.stall_.ForgetAfterFork();
  session.running_.store(false);
  ThreadSampler* current = CurrentThreadSampler();
  SetCurrentThreadSampler(nullptr);
  // A perf event descriptor is inherited but counts the parent's thread: let it go.
  if (current != nullptr && current->perf_fd >= 0) {
    close(current->perf_fd);
    current->perf_fd = -1;
  }
}

}  // namespace sfprof
