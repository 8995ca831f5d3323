// The watcher thread: every 20 ms (or threshold / 4 with the stall watch on, which it polls: see
// stall_watch.h) it puts our signal handler back if someone reset it, moves the samples of any
// half-full ring into its spill (Session::SpillFromWatcher), and asks V8 to interrupt the owner's JS
// thread to list the existing code once the first sample is in (Session::ListingWanted): listing
// calls into V8, spilling does not. It waits on a condition variable, not a plain sleep, so Stop()
// wakes it at once: joining a sleeping watcher cost stop() (and every profiled process's exit) up to
// a whole period. A long synchronous stretch of JS, a long call into C++ or a GC never lets the drain
// run; the spill needs none of them, so a ring only has to hold what comes in between two of the
// watcher's checks. The watcher never waits on the registry: it skips a spill while a drain holds it.
// Holding it, the spill takes the other threads' lock (other_threads.cc), never the reverse.
#ifndef SFPROF_RING_WATCHER_H_
#define SFPROF_RING_WATCHER_H_

#include <pthread.h>

#include <atomic>
#include <string>

namespace v8 {
class Isolate;
}

namespace sfprof {

class Session;

class RingWatcher {
 public:
  // The owner's JS thread, once the session runs. Fails (with a reason) when no thread can start.
  bool Start(Session* session, v8::Isolate* isolate, std::string* error);
  // Any thread (Stop() on the JS thread, exit on another), more than once: whoever stops it joins.
  void Stop();
  // A forked child: only the forking thread exists there, so there is nothing to join.
  void ForgetAfterFork() { running_.store(false); }

 private:
  static void* Main(void* data);
  // The owner's JS thread, at a V8 interrupt check; may run after the session stopped.
  static void OnInterrupt(v8::Isolate* isolate, void* data);

  Session* session_ = nullptr;
  v8::Isolate* isolate_ = nullptr;
  pthread_t thread_{};
  std::atomic<bool> running_{false};            // a thread exists; whoever clears it joins it
  std::atomic<bool> stop_{false};
  pthread_mutex_t wake_mutex_ = PTHREAD_MUTEX_INITIALIZER;  // guards the wait on wake_ against Stop()
  pthread_cond_t wake_{};                                    // CLOCK_MONOTONIC; initialised in Start()
  bool wake_ready_ = false;
  std::atomic<bool> interrupt_pending_{false};  // set by the watcher, cleared on the JS thread
};

}  // namespace sfprof

#endif  // SFPROF_RING_WATCHER_H_
