// The pacer engine: one sampler thread for the process paces every attached JS thread by its CPU time,
// as V8's own profiler paces from a thread of its own, but in CPU time rather than wall time.
// Longer than the ~350 lines other files keep to: the table, its two locks and the thread that reads
// them are one unit, and their ordering rules read best side by side. In a VM,
// a timer that fires and signals on the sampled thread's own core (perf, thread-cpu) costs that thread
// the timer interrupt as well as the signal; here the timer runs on the pacer's core and the sampled
// thread pays for the signal alone.
//
// The pacer thread reads each attached thread's CPU clock (pthread_getcpuclockid, taken on that
// thread at attach). When a thread's CPU time passes its deadline, it stores the CPU time since the
// thread's previous signal in the thread's ThreadSampler (the sample's weight) and sends the session's
// real-time signal to exactly that thread with rt_tgsigqueueinfo (SI_QUEUE, the attachment's token in
// si_value). It then sleeps until the earliest moment any thread could reach its deadline: a thread
// cannot gain CPU time faster than wall time, so its remaining CPU time is a safe wall-time sleep. A
// thread that does not run costs one clock read per wake and no signal. Like perf, it is not held to
// the scheduler tick.
//
// While a thread's signal is still pending (not yet handled), it gets no second one: each deadline
// that passes meanwhile is counted (ThreadSampler::pacer_coalesced) and its CPU time is added to the
// pending signal's weight (or the next one's, if the handler took the weight first). A signal the kernel refuses to queue (RLIMIT_SIGPENDING) is a lost sample, counted
// in dropped_queue_full like perf's.
//
// Threads and locks. The table of attached threads is fixed and preallocated (kPacerSlots). `mutex_`
// guards it; the pacer holds it for each pass over the table (clock reads and sends) and never while
// it sleeps, so a Detach that took it knows no send to its tid is under way and none will follow:
// tids are reused once a thread exits. `lifecycle_` orders attach, detach, quiet and the thread's
// start and join; callers may hold the session's registry lock, which the pacer thread never takes.
// Nothing here runs in signal context (the weight the handler reads is in timer_linux_weight.cc).
// Linux only (binding.gyp; timer_darwin.cc stands in on macOS).
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>

#include "sampler_state.h"
#include "timer.h"

namespace sfprof {
namespace {

// JS threads one pacer can sample at once (the main thread and workers); more are refused at attach.
constexpr int kPacerSlots = 256;
// The longest sleep, when no attached thread is runnable towards a deadline (all quiet or gone).
constexpr uint64_t kIdleSleepNs = 100 * 1000 * 1000;

uint64_t ToNs(const struct timespec& ts) {
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ToNs(ts);
}

enum class SlotState : uint8_t {
  kFree,
  kLive,   // signalled at its deadlines
  kQuiet,  // attached, never signalled again (QuietThread, or its clock could not be read)
};

struct PacerSlot {
  // ---- mutex_ held ----
  SlotState state = SlotState::kFree;
  pid_t tid = 0;
  clockid_t clock{};
  int signo = 0;
  ThreadSampler* sampler = nullptr;
  uint64_t token = 0;
  uint64_t interval_ns = 0;
  uint64_t last_signal_cpu_ns = 0;  // the thread's CPU time at its previous signal (or at attach)
  uint64_t deadline_cpu_ns = 0;     // its CPU time at which the next signal is due
};

// EEVDF (Linux 6.12+) lets a SCHED_OTHER thread ask for a shorter slice, with no privilege: a waking
// thread with a short slice preempts the running one sooner. When every core is busy (the sampled
// threads themselves), the pacer would otherwise wait for its turn and its signals come late. Older
// kernels ignore or refuse it; either way the pacer runs.
void AskShortSlice() {
  struct {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
  } attr;
  memset(&attr, 0, sizeof(attr));
  attr.size = sizeof(attr);
  attr.sched_policy = SCHED_OTHER;
  attr.sched_runtime = 100 * 1000;  // the shortest slice the kernel accepts
  syscall(SYS_sched_setattr, 0, &attr, 0);
}

class Pacer {
 public:
  static Pacer& Get() {
    static Pacer* pacer = new Pacer();  // leaked: exit hooks may use it late
    return *pacer;
  }

  // On the thread to sample.
  bool Attach(ThreadSampler* sampler, int signo, uint64_t interval_ns, uint64_t first_ns, std::string* error) {
    clockid_t clock;
    const int failed = pthread_getcpuclockid(pthread_self(), &clock);
    if (failed != 0) {
      *error = std::string("pthread_getcpuclockid failed: ") + strerror(failed);
      return false;
    }
    struct timespec now;
    if (clock_gettime(clock, &now) != 0) {
      *error = std::string("could not read the thread's CPU clock: ") + strerror(errno);
      return false;
    }
    const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
    pthread_mutex_lock(&lifecycle_);
    if (closed_.load()) {
      pthread_mutex_unlock(&lifecycle_);
      *error = "the pacer was stopped for the process's exit";
      return false;
    }
    pthread_mutex_lock(&mutex_);
    PacerSlot* slot = nullptr;
    for (PacerSlot& candidate : slots_) {
      if (candidate.state == SlotState::kFree) {
        slot = &candidate;
        break;
      }
    }
    if (slot == nullptr) {
      pthread_mutex_unlock(&mutex_);
      pthread_mutex_unlock(&lifecycle_);
      *error = "the pacer engine samples at most " + std::to_string(kPacerSlots) + " threads at once";
      return false;
    }
    // The sampler's fields before the slot goes live: the pacer writes them from its first pass.
    sampler->pacer_token = ++last_token_;
    sampler->pacer_pid = static_cast<int>(getpid());
    sampler->pacer_weight_ns.store(0);
    sampler->pacer_pending.store(false);
    slot->tid = tid;
    slot->clock = clock;
    slot->signo = signo;
    slot->sampler = sampler;
    slot->token = sampler->pacer_token;
    slot->interval_ns = interval_ns;
    slot->last_signal_cpu_ns = ToNs(now);
    slot->deadline_cpu_ns = ToNs(now) + first_ns;
    slot->state = SlotState::kLive;
    live_++;
    bool ok = true;
    if (!running_) {
      ok = StartThread(error);
      if (!ok) {
        slot->state = SlotState::kFree;
        slot->sampler = nullptr;
        live_--;
        sampler->pacer_token = 0;
      }
    }
    pthread_mutex_unlock(&mutex_);
    if (ok) Wake();  // its first deadline may come before the pacer's current sleep ends
    pthread_mutex_unlock(&lifecycle_);
    return ok;
  }

  // Any thread: no signal to `sampler`'s thread once this returns; the slot stays taken.
  void Quiet(ThreadSampler* sampler) { Release(sampler, SlotState::kQuiet); }

  // On the sampled thread (or once it can no longer run JS): frees its slot. From here the pacer has
  // forgotten its tid.
  void Detach(ThreadSampler* sampler) { Release(sampler, SlotState::kFree); }

  // Any thread, at exit: no signal after this returns, whoever holds lifecycle_; the thread is joined
  // when nobody does.
  void QuietAll() {
    closed_.store(true);
    pthread_mutex_lock(&mutex_);  // a pass under way has ended; later passes see closed_
    pthread_mutex_unlock(&mutex_);
    if (pthread_mutex_trylock(&lifecycle_) != 0) return;
    StopThreadIfRunning();
    pthread_mutex_unlock(&lifecycle_);
  }

 private:
  Pacer() = default;

  void Release(ThreadSampler* sampler, SlotState to) {
    pthread_mutex_lock(&lifecycle_);
    pthread_mutex_lock(&mutex_);
    for (PacerSlot& slot : slots_) {
      if (slot.state == SlotState::kFree || slot.sampler != sampler) continue;
      if (slot.state == SlotState::kLive) live_--;
      slot.state = to;
      if (to == SlotState::kFree) slot.sampler = nullptr;
      break;
    }
    const bool idle = live_ == 0;
    pthread_mutex_unlock(&mutex_);
    // The last live thread gone: stop and join the pacer (a later attach starts it again).
    if (idle) StopThreadIfRunning();
    pthread_mutex_unlock(&lifecycle_);
  }

  // lifecycle_ held, mutex_ not.
  void StopThreadIfRunning() {
    if (!running_) return;
    stop_.store(true);
    Wake();
    pthread_join(thread_, nullptr);
    running_ = false;
    stop_.store(false);
  }

  // lifecycle_ and mutex_ held.
  bool StartThread(std::string* error) {
    // Every signal blocked on the pacer: the itimer's SIGPROF or an app's signal must not land there.
    // sigprocmask is this thread's mask on Linux, as pthread_sigmask is, under a symbol version every
    // glibc has (pthread_sigmask's moved in 2.32); sigfillset leaves glibc's internal signals out.
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &previous);
    const int failed = pthread_create(&thread_, nullptr, Main, this);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (failed != 0) {
      *error = std::string("could not start the pacer thread: ") + strerror(failed);
      return false;
    }
    running_ = true;
    return true;
  }

  void Wake() {
    wake_word_.fetch_add(1);
    syscall(SYS_futex, &wake_word_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

  // An absolute CLOCK_MONOTONIC sleep, the same hrtimer as clock_nanosleep(TIMER_ABSTIME) and under
  // the same timer slack, that Attach and Stop can cut short (a futex wait on wake_word_).
  void SleepUntil(uint64_t wake_ns, uint32_t seen) {
    struct timespec until;
    until.tv_sec = static_cast<time_t>(wake_ns / 1000000000u);
    until.tv_nsec = static_cast<long>(wake_ns % 1000000000u);
    syscall(SYS_futex, &wake_word_, FUTEX_WAIT_BITSET_PRIVATE, seen, &until, nullptr, FUTEX_BITSET_MATCH_ANY);
  }

  static void* Main(void* data) {
    // The default slack (50 us) would add up to 50 us to every sleep: at 100 us a third of the rate.
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    AskShortSlice();
    prctl(PR_SET_NAME, "sfprof-pacer", 0, 0, 0);  // pthread_setname_np needs glibc 2.34's version
    static_cast<Pacer*>(data)->Loop();
    return nullptr;
  }

  void Loop() {
    const pid_t pid = getpid();
    const uid_t uid = getuid();
    while (!stop_.load()) {
      const uint32_t seen = wake_word_.load();
      const uint64_t now = MonotonicNs();
      uint64_t wake_ns = now + kIdleSleepNs;
      pthread_mutex_lock(&mutex_);
      for (PacerSlot& slot : slots_) {
        if (slot.state != SlotState::kLive || closed_.load(std::memory_order_relaxed)) continue;
        struct timespec cpu_ts;
        if (clock_gettime(slot.clock, &cpu_ts) != 0) {
          // The thread is gone without detaching: never signal its tid again.
          slot.state = SlotState::kQuiet;
          live_--;
          continue;
        }
        const uint64_t cpu = ToNs(cpu_ts);
        // A thread within a sixteenth of an interval of its deadline is due now: a thread that lost
        // a few microseconds of CPU to preemption or the kernel would otherwise cost a second wake
        // for every signal. The phase and the weights stay exact.
        if (cpu + slot.interval_ns / 16 >= slot.deadline_cpu_ns) Signal(&slot, cpu, pid, uid);
        const uint64_t until = now + (slot.deadline_cpu_ns - cpu);
        if (until < wake_ns) wake_ns = until;
      }
      pthread_mutex_unlock(&mutex_);
      SleepUntil(wake_ns, seen);
    }
  }

  // mutex_ held; `cpu` has reached the slot's deadline, or nearly. Moves the deadline past `cpu`.
  void Signal(PacerSlot* slot, uint64_t cpu, pid_t pid, uid_t uid) {
    ThreadSampler* sampler = slot->sampler;
    const uint64_t interval = slot->interval_ns;
    // The CPU time since the last signal or coalesced deadline is added to the weight, never stored
    // over it: the handler takes (exchanges) whatever has accumulated when it runs, so each stretch
    // is weighed once, by the pending signal or, when the handler has just taken that one, the next.
    const uint64_t delta = cpu - slot->last_signal_cpu_ns;
    slot->last_signal_cpu_ns = cpu;
    if (sampler->pacer_pending.load(std::memory_order_acquire)) {
      // The previous signal is not handled yet: no second one; the one pending weighs this too.
      const uint64_t passed = cpu >= slot->deadline_cpu_ns ? (cpu - slot->deadline_cpu_ns) / interval + 1 : 1;
      sampler->pacer_coalesced.fetch_add(passed, std::memory_order_relaxed);
      sampler->pacer_weight_ns.fetch_add(delta, std::memory_order_acq_rel);
      slot->deadline_cpu_ns += passed * interval;
      return;
    }
    sampler->pacer_weight_ns.fetch_add(delta, std::memory_order_acq_rel);
    sampler->pacer_pending.store(true, std::memory_order_release);
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = slot->signo;
    info.si_code = SI_QUEUE;
    info.si_pid = pid;
    info.si_uid = uid;
    info.si_value.sival_ptr = reinterpret_cast<void*>(static_cast<uintptr_t>(slot->token));
    if (syscall(SYS_rt_tgsigqueueinfo, pid, slot->tid, slot->signo, &info) != 0) {
      sampler->pacer_pending.store(false, std::memory_order_relaxed);
      if (errno == EAGAIN) {
        // The kernel's queue of pending signals is full: a lost sample, counted; the CPU time it
        // stood for goes with it (the drop's synthetic stack carries it), not into the next weight.
        sampler->pacer_weight_ns.fetch_sub(delta, std::memory_order_acq_rel);
        sampler->dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
      } else {
        slot->state = SlotState::kQuiet;  // ESRCH: the thread is gone without detaching
        live_--;
        return;
      }
    }
    // The deadlines keep their phase, so the rate is one per interval of CPU time however late the
    // pacer woke; a pacer late by a whole interval or more starts afresh rather than signalling in a
    // burst.
    slot->deadline_cpu_ns += interval;
    if (slot->deadline_cpu_ns <= cpu) slot->deadline_cpu_ns = cpu + interval;
  }

  // ---- lifecycle_ held ----
  pthread_mutex_t lifecycle_ = PTHREAD_MUTEX_INITIALIZER;
  pthread_t thread_{};
  bool running_ = false;
  uint64_t last_token_ = 0;
  // ---- mutex_ held ----
  pthread_mutex_t mutex_ = PTHREAD_MUTEX_INITIALIZER;
  PacerSlot slots_[kPacerSlots];
  int live_ = 0;
  // ---- any thread ----
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_{false};  // QuietAll ran: no signal ever again
  std::atomic<uint32_t> wake_word_{0};
};

class PacerEngine : public TimerEngine {
 public:
  const char* name() const override { return "pacer"; }
  bool per_thread() const override { return true; }

  bool AttachThread(ThreadSampler* sampler, int signo, uint64_t interval_us, std::string* error) override {
    const uint64_t interval_ns = interval_us * 1000;
    sampler->sample_weight_ns = PacerSampleWeightNs;
    sampler->interval_ns = interval_ns;
    return Pacer::Get().Attach(sampler, signo, interval_ns, RandomFirstNs(interval_ns), error);
  }

  void QuietThread(ThreadSampler* sampler) override { Pacer::Get().Quiet(sampler); }

  void DetachThread(ThreadSampler* sampler) override {
    Pacer::Get().Detach(sampler);
    sampler->pacer_token = 0;
  }

  void QuietAll() override { Pacer::Get().QuietAll(); }
};

}  // namespace

std::unique_ptr<TimerEngine> CreatePacerEngine() { return std::make_unique<PacerEngine>(); }

}  // namespace sfprof
