// OtherThreadRing: where the timer signal leaves a trace when it lands on a thread without a sampler.
//
// The process-wide interval timer (itimer engine) sends SIGPROF to whichever thread is using CPU:
// V8's GC and compiler helpers, the libuv pool, Node's own threads. There is no JS stack to walk
// there, but the thread and the instruction it was at tell those apart.
//
// Contract (read this before touching the code):
// - Many writers: the signal handler on any thread of the process, several at once (each thread
//   takes its own SIGPROF). A writer claims a position with a compare-and-swap on `head_`, fills the
//   slot, then publishes it with a release store of the slot's `sequence` (position + 1). A writer
//   never waits for the reader or for another writer: a failed CAS means another writer claimed that
//   position, and it tries the next one.
// - One reader at a time, outside signal context: the drain on the owner's JS thread or the
//   watcher thread's spill, serialized by the reader side's mutex (other_threads.cc). It reads
//   positions from `tail_` while each slot's `sequence` says it was published for that position
//   (acquire), stops at the first claimed but unpublished one (its writer is between claim and
//   publish, a few instructions), and publishes the new tail (release).
// - A writer claims position p only when p - tail < kSlots: the slot's previous record (p - kSlots)
//   has been read. Nothing is ever overwritten; when every slot is taken the writer counts the record
//   in `dropped_` and returns false.
// - Memory is a fixed array inside the object, which lives for the whole process (static storage):
//   no allocation ever, and nothing a late handler could find freed.
// - Record: the thread's kernel id and the interrupted pc. Both fit a double exactly (wire_format.h).
#ifndef SFPROF_OTHER_THREAD_RING_H_
#define SFPROF_OTHER_THREAD_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <pthread.h>
#endif

namespace sfprof {

// Signal-safe: the calling thread's kernel id, by a raw syscall on Linux (glibc 2.28, the oldest
// supported, has no gettid() wrapper); on macOS the thread's system-wide id, read from its pthread.
inline uint64_t KernelThreadId() {
#if defined(__linux__)
  return static_cast<uint64_t>(syscall(SYS_gettid));
#else
  uint64_t id = 0;
  pthread_threadid_np(nullptr, &id);
  return id;
#endif
}

struct OtherThreadSlot {
  std::atomic<uint64_t> sequence{0};  // position + 1 once the record for that position is written
  uint64_t tid = 0;
  uint64_t pc = 0;
};

class OtherThreadRing {
 public:
  // 8,192 × 24 bytes (192 KiB, untouched pages until used): 16 s of the itimer's 2 CPUs × 250 Hz
  // tick here without a drain; the watcher spills it from half full.
  static constexpr uint64_t kSlots = 8192;

  // ---- writer side: the signal handler, on any thread. No allocation, no locks, no waiting. ----

  // Records one signal; false when full (the drop is counted).
  bool Record(uint64_t tid, uint64_t pc) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    do {
      if (head - tail_.load(std::memory_order_acquire) >= kSlots) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
    } while (!head_.compare_exchange_weak(head, head + 1, std::memory_order_relaxed, std::memory_order_relaxed));
    OtherThreadSlot& slot = slots_[head & (kSlots - 1)];
    slot.tid = tid;
    slot.pc = pc;
    slot.sequence.store(head + 1, std::memory_order_release);
    return true;
  }

  // ---- reader side: the drain or the watcher's spill, under other_threads.cc's lock, outside
  // signal context. ----

  // Calls `take(tid, pc)` for published records in order, at most `limit` of them; returns how many.
  template <typename Take>
  uint64_t Read(uint64_t limit, Take take) {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    uint64_t read = 0;
    for (; tail < head && read < limit; ++tail, ++read) {
      const OtherThreadSlot& slot = slots_[tail & (kSlots - 1)];
      if (slot.sequence.load(std::memory_order_acquire) != tail + 1) break;  // claimed, not yet written
      take(slot.tid, slot.pc);
    }
    tail_.store(tail, std::memory_order_release);
    return read;
  }

  // Before a session's handler is installed: forgets what an earlier session left unread.
  void Reset() {
    tail_.store(head_.load(std::memory_order_acquire), std::memory_order_release);
    dropped_.store(0, std::memory_order_relaxed);
  }

  // Any thread: hints, stale at once.
  uint64_t Unread() const { return head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_relaxed); }
  // Positions claimed so far (each one a record written or being written), and records dropped.
  uint64_t Claimed() const { return head_.load(std::memory_order_acquire); }
  uint64_t Dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  static_assert((kSlots & (kSlots - 1)) == 0, "a power of two: a slot is position & (kSlots - 1)");
  static_assert(std::atomic<uint64_t>::is_always_lock_free, "positions must be lock-free");

  // Claimed by writers (CAS), read by the reader.
  std::atomic<uint64_t> head_{0};
  // Written by the reader, read by writers.
  std::atomic<uint64_t> tail_{0};
  // Written by writers (records that found the ring full), read by the reader and stats.
  std::atomic<uint64_t> dropped_{0};
  OtherThreadSlot slots_[kSlots];
};

}  // namespace sfprof

#endif  // SFPROF_OTHER_THREAD_RING_H_
