// Standalone tests for sfprof::OtherThreadRing (native/other_thread_ring.h): many writers, one reader.
//
// Build: c++ -std=c++17 -O2 -Wall -Wextra -pthread -I native test/native/other_thread_ring_test.cc
// Exit status 0 and a one-line summary on success; on the first failed check it prints file:line and
// the expression, then exits 1.
//
// The stress tests write from several threads at once while the reader drains: first plain threads
// (the most contention on the claim), then a real SIGPROF handler armed with setitimer(ITIMER_PROF),
// landing on whichever of the busy threads the kernel picks, as in the profiler. Each writer numbers
// its records; the reader checks that each writer's records arrive once each, in order, and that
// written + dropped is every attempt.
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "other_thread_ring.h"

#define CHECK(expr)                                                                  \
  do {                                                                               \
    if (!(expr)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

namespace {

using sfprof::OtherThreadRing;
constexpr uint64_t kSlots = OtherThreadRing::kSlots;
constexpr int kWriters = 4;

void TestSingleThreaded() {
  auto ring = std::make_unique<OtherThreadRing>();
  std::vector<uint64_t> seen;
  auto take = [&](uint64_t tid, uint64_t pc) { seen.push_back(tid * 1000 + pc); };
  CHECK(ring->Read(UINT64_MAX, take) == 0);
  CHECK(ring->Record(1, 10) && ring->Record(2, 20) && ring->Record(3, 30));
  CHECK(ring->Unread() == 3);
  CHECK(ring->Read(2, take) == 2);
  CHECK(ring->Read(UINT64_MAX, take) == 1);
  CHECK((seen == std::vector<uint64_t>{1010, 2020, 3030}));
  // Full: the record past kSlots is dropped and counted, nothing overwritten.
  for (uint64_t i = 0; i < kSlots; i++) CHECK(ring->Record(7, i));
  CHECK(!ring->Record(7, 999999));
  CHECK(ring->Dropped() == 1);
  seen.clear();
  CHECK(ring->Read(UINT64_MAX, take) == kSlots);
  for (uint64_t i = 0; i < kSlots; i++) CHECK(seen[i] == 7000 + i);
  // Around the ring again: slots from the previous lap are not taken for new records.
  CHECK(ring->Record(8, 1));
  seen.clear();
  CHECK(ring->Read(UINT64_MAX, take) == 1 && seen[0] == 8001);
  // Reset forgets what was left unread and the drops.
  CHECK(ring->Record(9, 1));
  ring->Reset();
  CHECK(ring->Unread() == 0 && ring->Dropped() == 0);
  CHECK(ring->Read(UINT64_MAX, take) == 0);
}

// ---- the reader's check: per writer, every number once and in order ----
struct Checker {
  uint64_t next[kWriters + 1] = {};
  uint64_t read = 0;
  void Take(uint64_t writer, uint64_t number) {
    CHECK(writer >= 1 && writer <= kWriters);
    // A writer's numbers rise; a gap is a dropped record, never a repeat or a reordering.
    CHECK(number >= next[writer]);
    next[writer] = number + 1;
    read++;
  }
  void Drain(OtherThreadRing* ring) {
    ring->Read(UINT64_MAX, [this](uint64_t tid, uint64_t pc) { Take(tid, pc); });
  }
};

struct ThreadStress {
  OtherThreadRing* ring;
  std::atomic<uint64_t> written{0};
  std::atomic<int> done{0};
};

struct WriterArgs {
  ThreadStress* stress;
  uint64_t id;
};

void* Writer(void* data) {
  auto* args = static_cast<WriterArgs*>(data);
  uint64_t written = 0;
  for (uint64_t i = 0; i < 400000; i++) {
    written += args->stress->ring->Record(args->id, i) ? 1 : 0;
    // A little work between records, so the reader keeps up part of the time and the ring both
    // wraps many times and fills.
    for (volatile int spin = 0; spin < 200; spin = spin + 1) {
    }
  }
  args->stress->written.fetch_add(written);
  args->stress->done.fetch_add(1);
  return nullptr;
}

void TestThreads(uint64_t* attempts, uint64_t* written, uint64_t* dropped, uint64_t* read) {
  auto ring = std::make_unique<OtherThreadRing>();
  ThreadStress stress;
  stress.ring = ring.get();
  pthread_t threads[kWriters];
  WriterArgs args[kWriters];
  for (int i = 0; i < kWriters; i++) {
    args[i] = {&stress, static_cast<uint64_t>(i + 1)};
    CHECK(pthread_create(&threads[i], nullptr, Writer, &args[i]) == 0);
  }
  Checker checker;
  while (stress.done.load() < kWriters) checker.Drain(ring.get());
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  checker.Drain(ring.get());
  CHECK(checker.read == stress.written.load());
  CHECK(stress.written.load() + ring->Dropped() == 400000ull * kWriters);
  *attempts = 400000ull * kWriters;
  *written = stress.written.load();
  *dropped = ring->Dropped();
  *read = checker.read;
}

// ---- signals: the handler records (writer id, its signal count) on whichever thread it lands ----
OtherThreadRing* g_ring = nullptr;
std::atomic<uint64_t> g_signals{0};
std::atomic<uint64_t> g_written{0};
thread_local uint64_t t_writer = 0;
thread_local uint64_t t_count = 0;

void OnSignal(int) {
  g_signals.fetch_add(1, std::memory_order_relaxed);
  if (t_writer == 0) return;  // the reader's own signals are not records
  if (g_ring->Record(t_writer, t_count++)) g_written.fetch_add(1, std::memory_order_relaxed);
}

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_reader_signals{0};

void* Burner(void* data) {
  t_writer = reinterpret_cast<uint64_t>(data);
  volatile uint64_t x = 0;
  while (!g_stop.load(std::memory_order_relaxed)) x = x + 1;
  return nullptr;
}

void TestSignals(uint64_t* signals, uint64_t* written, uint64_t* dropped, uint64_t* read) {
  auto ring = std::make_unique<OtherThreadRing>();
  g_ring = ring.get();
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  CHECK(sigaction(SIGPROF, &action, nullptr) == 0);
  pthread_t threads[kWriters];
  for (int i = 0; i < kWriters; i++) {
    CHECK(pthread_create(&threads[i], nullptr, Burner, reinterpret_cast<void*>(static_cast<uintptr_t>(i + 1))) == 0);
  }
  struct itimerval timer = {{0, 100}, {0, 100}};
  CHECK(setitimer(ITIMER_PROF, &timer, nullptr) == 0);
  Checker checker;
  const uint64_t target = 1000;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    checker.Drain(ring.get());
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (g_signals.load() >= target || now.tv_sec - start.tv_sec > 20) break;
  }
  struct itimerval off = {};
  CHECK(setitimer(ITIMER_PROF, &off, nullptr) == 0);
  g_stop.store(true);
  for (pthread_t thread : threads) pthread_join(thread, nullptr);
  checker.Drain(ring.get());
  CHECK(g_signals.load() > 0);
  CHECK(checker.read == g_written.load());
  *signals = g_signals.load();
  *written = g_written.load();
  *dropped = ring->Dropped();
  *read = checker.read;
}

}  // namespace

int main() {
  TestSingleThreaded();
  uint64_t attempts, written, dropped, read;
  TestThreads(&attempts, &written, &dropped, &read);
  std::printf("other_thread_ring_test: threads attempts=%llu written=%llu dropped=%llu read=%llu\n",
              (unsigned long long)attempts, (unsigned long long)written, (unsigned long long)dropped,
              (unsigned long long)read);
  uint64_t signals;
  TestSignals(&signals, &written, &dropped, &read);
  std::printf("other_thread_ring_test: ok signals=%llu written=%llu dropped=%llu read=%llu\n",
              (unsigned long long)signals, (unsigned long long)written, (unsigned long long)dropped,
              (unsigned long long)read);
  return 0;
}
