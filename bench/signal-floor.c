/* The floor under any signal-based sampler: a fixed CPU-bound loop on the main thread, interrupted
 * by a signal whose handler does nothing but count. Nothing of sfprof or Node is in the process.
 * Built and run by bench/signal-floor.mjs (cc -O2 -pthread); Linux only.
 *
 *   signal-floor MODE INTERVAL_US [ITERATIONS]
 *
 * MODE none:       the loop alone.
 * MODE thread:     a second thread sleeps to absolute CLOCK_MONOTONIC deadlines (clock_nanosleep,
 *                  TIMER_ABSTIME) every INTERVAL_US and sends SIGPROF to the main thread with
 *                  pthread_kill: a wall-clock pace from another thread, the way V8's sampler
 *                  thread paces. A deadline already missed by a whole interval is moved to now, so
 *                  a late wake sends one signal, not a burst.
 * MODE thread-cpu: a POSIX timer on the main thread's CPU-time clock (CLOCK_THREAD_CPUTIME_ID),
 *                  delivered to that thread (SIGEV_THREAD_ID). Where it is missing, the program
 *                  prints {"mode":"thread-cpu","skipped":REASON} and exits 0.
 *
 * Output, one JSON line: the loop's wall time (CLOCK_MONOTONIC), the main thread's CPU time over
 * the loop, the process's CPU time (every thread, getrusage at the end), the signals the handler
 * saw during the loop and, in thread mode, the signals sent. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* About 2.5 s unsignalled on a 2-vCPU Xeon VM at -O2. */
#define DEFAULT_ITERATIONS 1500000000ULL

static volatile sig_atomic_t seen;
static volatile sig_atomic_t stopping;
static volatile uint64_t sink;
static pthread_t main_thread;
static long interval_us;
static uint64_t sent;

static void on_signal(int signo) {
  (void)signo;
  seen++;
}

static int64_t ns_of(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec; }

static int64_t now_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return ns_of(&t);
}

static void add_ns(struct timespec *t, int64_t ns) {
  int64_t total = ns_of(t) + ns;
  t->tv_sec = (time_t)(total / 1000000000LL);
  t->tv_nsec = (long)(total % 1000000000LL);
}

static void *pace(void *unused) {
  (void)unused;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  const int64_t step = (int64_t)interval_us * 1000;
  while (!stopping) {
    add_ns(&next, step);
    int64_t late = now_ns(CLOCK_MONOTONIC) - ns_of(&next);
    if (late > step) clock_gettime(CLOCK_MONOTONIC, &next);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
    }
    if (stopping) break;
    if (pthread_kill(main_thread, SIGPROF) == 0) sent++;
  }
  return NULL;
}

/* A serial chain of multiply, shift and xor: no iteration can start before the one before it ends,
 * and the compiler can neither vectorize nor fold it. */
static uint64_t burn(uint64_t iterations, uint64_t seed) {
  uint64_t h = seed;
  for (uint64_t i = 0; i < iterations; i++) {
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h += i;
  }
  return h;
}

static void skip(const char *mode, const char *reason) {
  printf("{\"mode\":\"%s\",\"skipped\":\"%s\"}\n", mode, reason);
  exit(0);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s none|thread|thread-cpu INTERVAL_US [ITERATIONS]\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  interval_us = strtol(argv[2], NULL, 10);
  uint64_t iterations = argc > 3 ? strtoull(argv[3], NULL, 10) : DEFAULT_ITERATIONS;
  int paced = strcmp(mode, "thread") == 0;
  int cpu_timer = strcmp(mode, "thread-cpu") == 0;
  if (!paced && !cpu_timer && strcmp(mode, "none") != 0) {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  if ((paced || cpu_timer) && interval_us <= 0) {
    fprintf(stderr, "INTERVAL_US must be positive\n");
    return 2;
  }

  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGPROF, &action, NULL);

  main_thread = pthread_self();
  pthread_t pacer;
  if (paced && pthread_create(&pacer, NULL, pace, NULL) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    return 1;
  }
#ifdef SIGEV_THREAD_ID
  timer_t timer;
  if (cpu_timer) {
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_THREAD_ID;
    event.sigev_signo = SIGPROF;
#ifdef sigev_notify_thread_id
    event.sigev_notify_thread_id = (pid_t)syscall(SYS_gettid);
#else
    event._sigev_un._tid = (pid_t)syscall(SYS_gettid);
#endif
    if (timer_create(CLOCK_THREAD_CPUTIME_ID, &event, &timer) != 0) skip(mode, strerror(errno));
    struct itimerspec spec;
    spec.it_interval.tv_sec = interval_us / 1000000;
    spec.it_interval.tv_nsec = (interval_us % 1000000) * 1000;
    spec.it_value = spec.it_interval;
    if (timer_settime(timer, 0, &spec, NULL) != 0) skip(mode, strerror(errno));
  }
#else
  if (cpu_timer) skip(mode, "SIGEV_THREAD_ID is not defined on this system");
#endif

  int64_t cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
  int64_t wall0 = now_ns(CLOCK_MONOTONIC);
  sink = burn(iterations, (uint64_t)argc);
  int64_t wall1 = now_ns(CLOCK_MONOTONIC);
  int64_t cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
  long signals = seen;

#ifdef SIGEV_THREAD_ID
  if (cpu_timer) timer_delete(timer);
#endif
  if (paced) {
    stopping = 1;
    pthread_join(pacer, NULL);
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double process_cpu_ms = (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e3 + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e3;

  printf("{\"mode\":\"%s\",\"intervalUs\":%ld,\"iterations\":%llu,\"wallMs\":%.3f,\"threadCpuMs\":%.3f,\"processCpuMs\":%.3f,\"signals\":%ld",
         mode, paced || cpu_timer ? interval_us : 0L, (unsigned long long)iterations, (wall1 - wall0) / 1e6, (cpu1 - cpu0) / 1e6, process_cpu_ms, signals);
  if (paced) printf(",\"sent\":%llu", (unsigned long long)sent);
  printf(",\"checksum\":%llu}\n", (unsigned long long)(sink & 0xffff));
  return 0;
}
