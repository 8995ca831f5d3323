// Standalone tests for sfprof::SampleRing (native/ring_buffer.h).
//
// Build: c++ -std=c++17 -O2 -Wall -Wextra -pthread -I native test/native/ring_buffer_test.cc
// Exit status 0 and a one-line summary on success; on the first failed check it prints
// file:line and the expression, then exits 1.
//
// The last test drives the ring the way the profiler does: a real SIGPROF handler (armed with
// setitimer(ITIMER_PROF)) writes records while the interrupted main thread drains them, so the
// writer can land at any instruction of the reader.

#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "ring_buffer.h"

#define CHECK(expr)                                                                  \
  do {                                                                               \
    if (!(expr)) {                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
      std::exit(1);                                                                  \
    }                                                                                \
  } while (0)

namespace {

using sfprof::SampleHeader;
using sfprof::SampleRing;

// ---- record pattern shared by the single-threaded tests and the signal test ----

uint64_t Mix(uint64_t x) {
  // A cheap bijective scramble so neighbouring sequence numbers give unrelated bit patterns.
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ULL;
  x ^= x >> 27;
  x *= 0x81dadef4bc2dd44dULL;
  x ^= x >> 33;
  return x;
}

void* FrameFor(uint64_t seq, size_t index) {
  return reinterpret_cast<void*>(
      static_cast<uintptr_t>(Mix(seq * 131 + index + 1) | 1u));
}

uint32_t FrameCountFor(uint64_t seq, size_t max_frames) {
  return static_cast<uint32_t>(1 + seq % max_frames);
}

// Writes record `seq` into a slot. Async-signal-safe: plain stores only.
void FillRecord(SampleRing& ring, SampleHeader* slot, uint64_t seq) {
  const size_t max_frames = ring.max_frames();
  const uint32_t count = FrameCountFor(seq, max_frames);
  slot->timestamp_ns = seq;
  slot->code_seq = ~seq;
  slot->vm_state = static_cast<uint32_t>(seq % 7);
  slot->frame_count = count;
  slot->flags = count == max_frames ? sfprof::kSampleTruncated : 0u;
  slot->weight_us = static_cast<uint32_t>(Mix(seq));
  void** frames = ring.FramesOf(slot);
  for (uint32_t i = 0; i < count; ++i) frames[i] = FrameFor(seq, i);
}

// True when `slot` holds exactly what FillRecord(.., seq) wrote.
bool RecordMatches(const SampleRing& ring, const SampleHeader* slot, uint64_t seq) {
  const size_t max_frames = ring.max_frames();
  const uint32_t count = FrameCountFor(seq, max_frames);
  if (slot->timestamp_ns != seq) return false;
  if (slot->code_seq != ~seq) return false;
  if (slot->vm_state != seq % 7) return false;
  if (slot->frame_count != count) return false;
  if (slot->flags != (count == max_frames ? sfprof::kSampleTruncated : 0u)) return false;
  if (slot->weight_us != static_cast<uint32_t>(Mix(seq))) return false;
  void* const* frames = reinterpret_cast<void* const*>(slot + 1);
  for (uint32_t i = 0; i < count; ++i) {
    if (frames[i] != FrameFor(seq, i)) return false;
  }
  return true;
}

size_t Unread(const SampleRing& ring) {
  return static_cast<size_t>(ring.ReadEnd() - ring.ReadBegin());
}

// ---- Init ----

void TestInit() {
  {
    SampleRing ring;
    CHECK(!ring.Init(0, 8));
  }
  const size_t bad[] = {3, 5, 6, 7, 12, 100, 1000, 1023, 1025};
  for (size_t slots : bad) {
    SampleRing ring;
    CHECK(!ring.Init(slots, 8));
  }
  const size_t good[] = {1, 2, 4, 8, 64, 1024};
  for (size_t slots : good) {
    SampleRing ring;
    CHECK(ring.Init(slots, 8));
    CHECK(ring.slots() == slots);
    CHECK(ring.max_frames() == 8);
    CHECK(ring.ReadBegin() == 0);
    CHECK(ring.ReadEnd() == 0);
  }
  {
    SampleRing ring;
    CHECK(!ring.Init(8, 0));  // a slot must hold at least the interrupted pc
  }
}

// ---- fill and drain, wraparound ----

void TestFillDrainOrder() {
  SampleRing ring;
  CHECK(ring.Init(8, 5));
  for (uint64_t seq = 0; seq < 8; ++seq) {
    SampleHeader* slot = ring.BeginWrite();
    CHECK(slot != nullptr);
    CHECK(slot == ring.SlotAt(seq));  // the writer fills the slot the reader will read
    FillRecord(ring, slot, seq);
    // Nothing is visible to the reader until the commit.
    CHECK(ring.ReadEnd() == seq);
    ring.CommitWrite();
    CHECK(ring.ReadEnd() == seq + 1);
  }
  CHECK(ring.ReadBegin() == 0);
  for (uint64_t pos = ring.ReadBegin(); pos < ring.ReadEnd(); ++pos) {
    CHECK(RecordMatches(ring, ring.SlotAt(pos), pos));
  }
  ring.Release(ring.ReadEnd());
  CHECK(ring.ReadBegin() == 8);
  CHECK(Unread(ring) == 0);
}

void TestWraparound() {
  const size_t kSlots = 8;
  const size_t kLaps = 1000;
  SampleRing ring;
  CHECK(ring.Init(kSlots, 7));

  uint64_t next_write = 0;
  uint64_t next_read = 0;
  const uint64_t total = kSlots * kLaps;
  unsigned step = 0;
  while (next_read < total) {
    // Write a varying batch (1..slots, bounded by free space), then read a varying part of what
    // is unread, so head and tail cross the wrap point at every offset.
    size_t batch = 1 + (step * 5) % kSlots;
    for (size_t i = 0; i < batch && next_write < total; ++i) {
      SampleHeader* slot = ring.BeginWrite();
      if (slot == nullptr) {
        CHECK(Unread(ring) == kSlots);
        break;
      }
      FillRecord(ring, slot, next_write);
      ring.CommitWrite();
      ++next_write;
    }
    const uint64_t begin = ring.ReadBegin();
    const uint64_t end = ring.ReadEnd();
    CHECK(begin == next_read);
    CHECK(end == next_write);
    CHECK(end - begin <= kSlots);
    uint64_t take = (step % 3 == 0) ? (end - begin) : (end - begin + 1) / 2;
    if (next_write == total) take = end - begin;
    for (uint64_t pos = begin; pos < begin + take; ++pos) {
      CHECK(RecordMatches(ring, ring.SlotAt(pos), next_read));
      ++next_read;
    }
    ring.Release(begin + take);
    ++step;
  }
  CHECK(next_write == total);
  CHECK(ring.ReadBegin() == total);
  CHECK(ring.ReadEnd() == total);
}

// ---- full ring ----

void CheckFullAt(SampleRing& ring, uint64_t* next_write, uint64_t* next_read) {
  const size_t slots = ring.slots();
  // Fill what is free; BeginWrite must succeed until exactly `slots` records are unread.
  while (Unread(ring) < slots) {
    SampleHeader* slot = ring.BeginWrite();
    CHECK(slot != nullptr);
    FillRecord(ring, slot, *next_write);
    ring.CommitWrite();
    ++*next_write;
  }
  CHECK(Unread(ring) == slots);
  CHECK(ring.BeginWrite() == nullptr);
  CHECK(ring.BeginWrite() == nullptr);  // a refused write has no side effect
  CHECK(Unread(ring) == slots);

  // Release one record: exactly one write fits again.
  CHECK(RecordMatches(ring, ring.SlotAt(ring.ReadBegin()), *next_read));
  ring.Release(ring.ReadBegin() + 1);
  ++*next_read;
  SampleHeader* slot = ring.BeginWrite();
  CHECK(slot != nullptr);
  // BeginWrite without a commit does not advance: it hands out the same slot again.
  CHECK(ring.BeginWrite() == slot);
  FillRecord(ring, slot, *next_write);
  ring.CommitWrite();
  ++*next_write;
  CHECK(ring.BeginWrite() == nullptr);

  // Partial release of a few records: that many writes fit, then full again.
  const size_t freed = slots / 2 == 0 ? 1 : slots / 2;
  for (size_t i = 0; i < freed; ++i) {
    CHECK(RecordMatches(ring, ring.SlotAt(ring.ReadBegin() + i), *next_read + i));
  }
  ring.Release(ring.ReadBegin() + freed);
  *next_read += freed;
  for (size_t i = 0; i < freed; ++i) {
    slot = ring.BeginWrite();
    CHECK(slot != nullptr);
    FillRecord(ring, slot, *next_write);
    ring.CommitWrite();
    ++*next_write;
  }
  CHECK(ring.BeginWrite() == nullptr);
  CHECK(Unread(ring) == slots);

  // Everything still unread is intact and in order.
  for (uint64_t pos = ring.ReadBegin(); pos < ring.ReadEnd(); ++pos) {
    CHECK(RecordMatches(ring, ring.SlotAt(pos), *next_read + (pos - ring.ReadBegin())));
  }
}

void TestFull() {
  const size_t sizes[] = {1, 2, 8, 16};
  for (size_t slots : sizes) {
    SampleRing ring;
    CHECK(ring.Init(slots, 4));
    uint64_t next_write = 0;
    uint64_t next_read = 0;
    // Hit "full" at several head offsets, including across the wrap point.
    for (int round = 0; round < 5; ++round) {
      CheckFullAt(ring, &next_write, &next_read);
      // Drain a varying amount before the next round.
      const uint64_t drain = (round % 2 == 0) ? Unread(ring) : Unread(ring) / 3;
      for (uint64_t i = 0; i < drain; ++i) {
        CHECK(RecordMatches(ring, ring.SlotAt(ring.ReadBegin() + i), next_read + i));
      }
      ring.Release(ring.ReadBegin() + drain);
      next_read += drain;
    }
    CHECK(ring.ReadEnd() == next_write);
    CHECK(ring.ReadBegin() == next_read);
  }
}

// ---- real SIGPROF stress ----

// Shared with the handler. Lock-free atomics are async-signal-safe; writer and reader are on one
// thread, so relaxed accesses plus the ring's own acquire/release are enough.
SampleRing* g_ring = nullptr;
std::atomic<uint64_t> g_signals{0};  // handler invocations
std::atomic<uint64_t> g_written{0};  // records committed; also the next record's sequence number
std::atomic<uint64_t> g_dropped{0};  // ring full

static_assert(std::atomic<uint64_t>::is_always_lock_free, "handler counters must be lock-free");

void OnSigprof(int, siginfo_t*, void*) {
  const int saved_errno = errno;
  g_signals.fetch_add(1, std::memory_order_relaxed);
  SampleRing* ring = g_ring;
  if (ring != nullptr) {
    SampleHeader* slot = ring->BeginWrite();
    if (slot == nullptr) {
      g_dropped.fetch_add(1, std::memory_order_relaxed);
    } else {
      const uint64_t seq = g_written.load(std::memory_order_relaxed);
      FillRecord(*ring, slot, seq);
      ring->CommitWrite();
      g_written.store(seq + 1, std::memory_order_relaxed);
    }
  }
  errno = saved_errno;
}

uint64_t CpuNanos() {
  timespec ts;
  CHECK(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

volatile uint64_t g_sink = 0;

void Burn(unsigned rounds) {
  uint64_t x = g_sink;
  for (unsigned i = 0; i < rounds; ++i) x = Mix(x + i);
  g_sink = x;
}

struct Reader {
  SampleRing* ring;
  uint64_t next_seq = 0;  // the sequence number the next record must carry
  uint64_t read = 0;
  uint64_t batches = 0;

  // Reads up to `limit` published records, checking each, then releases them.
  void Drain(uint64_t limit) {
    const uint64_t begin = ring->ReadBegin();
    const uint64_t end = ring->ReadEnd();
    CHECK(end - begin <= ring->slots());
    uint64_t pos = begin;
    for (; pos < end && pos - begin < limit; ++pos) {
      const SampleHeader* slot = ring->SlotAt(pos);
      // Sequence numbers strictly increase, without gaps: the writer numbers only what it
      // commits, so a gap would mean a lost record and a repeat an overwritten one.
      CHECK(slot->timestamp_ns == next_seq);
      // Every field and frame matches its pattern: no record was torn by a concurrent write.
      CHECK(RecordMatches(*ring, slot, next_seq));
      Burn(8);  // widen the window in which a signal lands mid-record
      CHECK(RecordMatches(*ring, slot, next_seq));
      ++next_seq;
      ++read;
    }
    ring->Release(pos);
    if (pos != begin) ++batches;
  }
};

void TestSignalStress() {
  const size_t kSlots = 16;
  const size_t kMaxFrames = 12;
  const uint64_t kCpuBudgetNs = 1500ull * 1000 * 1000;

  SampleRing ring;
  CHECK(ring.Init(kSlots, kMaxFrames));
  g_ring = &ring;

  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnSigprof;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  CHECK(sigaction(SIGPROF, &action, nullptr) == 0);

  itimerval timer;
  std::memset(&timer, 0, sizeof(timer));
  timer.it_interval.tv_usec = 100;
  timer.it_value.tv_usec = 100;
  CHECK(setitimer(ITIMER_PROF, &timer, nullptr) == 0);

  Reader reader{&ring};
  const uint64_t start = CpuNanos();
  unsigned phase = 0;
  while (CpuNanos() - start < kCpuBudgetNs) {
    if (phase % 2 == 0) {
      // Drain continuously for ~40 ms of CPU, in batches of varying size.
      const uint64_t phase_end = CpuNanos() + 40ull * 1000 * 1000;
      unsigned i = 0;
      while (CpuNanos() < phase_end) {
        Burn(50 + (i * 37) % 400);
        reader.Drain(1 + (i % 5 == 0 ? kSlots : i % 4));
        ++i;
      }
    } else {
      // Stop draining until the ring overflows (or ~200 ms of CPU pass), so the writer meets a
      // full ring and has to drop.
      const uint64_t dropped_before = g_dropped.load(std::memory_order_relaxed);
      const uint64_t phase_end = CpuNanos() + 200ull * 1000 * 1000;
      while (g_dropped.load(std::memory_order_relaxed) == dropped_before &&
             CpuNanos() < phase_end) {
        Burn(500);
      }
      // Release part of the full ring first, so a write can land right after a partial release.
      reader.Drain(kSlots / 4);
    }
    ++phase;
  }

  // Stop sampling: disarm the timer, then discard a pending SIGPROF (setting SIG_IGN drops it)
  // before restoring the default action, which would terminate the process.
  std::memset(&timer, 0, sizeof(timer));
  CHECK(setitimer(ITIMER_PROF, &timer, nullptr) == 0);
  struct sigaction ignore;
  std::memset(&ignore, 0, sizeof(ignore));
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  CHECK(sigaction(SIGPROF, &ignore, nullptr) == 0);
  struct sigaction dfl = ignore;
  dfl.sa_handler = SIG_DFL;
  CHECK(sigaction(SIGPROF, &dfl, nullptr) == 0);

  reader.Drain(UINT64_MAX);
  CHECK(ring.ReadBegin() == ring.ReadEnd());
  g_ring = nullptr;

  const uint64_t signals = g_signals.load(std::memory_order_relaxed);
  const uint64_t written = g_written.load(std::memory_order_relaxed);
  const uint64_t dropped = g_dropped.load(std::memory_order_relaxed);
  CHECK(written == reader.read);
  CHECK(written + dropped == signals);
  CHECK(signals >= 100);
  CHECK(written > 0);
  CHECK(dropped > 0);
  CHECK(reader.read > 0);
  CHECK(reader.batches > 0);

  std::printf("ring_buffer_test: ok signals=%" PRIu64 " written=%" PRIu64 " dropped=%" PRIu64
              " read=%" PRIu64 "\n",
              signals, written, dropped, reader.read);
}

}  // namespace

int main() {
  TestInit();
  TestFillDrainOrder();
  TestWraparound();
  TestFull();
  TestSignalStress();
  return 0;
}
