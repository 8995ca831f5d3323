// SampleRing: the lock-free hand-off between the SIGPROF handler and its reader (the drain, or the
// watcher thread's spill).
//
// Contract (read this before touching the code):
// - One writer: the signal handler running on the sampled JS thread. It may interrupt the reader at
//   any instruction, so the writer never waits for, or relies on progress of, the reader.
// - One reader at a time, outside signal context, with the registry locked (which orders them): the
//   drain on the main JS thread, or the watcher thread's spill (the sampled thread may be the main
//   thread or a worker). The writer publishes a slot with a release store of the head after
//   filling it, and the reader acquires the head before reading, so the reader sees each slot either
//   not yet published or fully written, whether the writer interrupted it or runs on another thread;
//   the writer sees a slot as free only after the reader published the new tail.
// - Memory is allocated once by Init() (outside signal context) and never resized while sampling.
//   The slot count is a power of two so an index is `position & mask`.
// - A slot is a SampleHeader followed by `max_frames` frame addresses: the interrupted pc, then the
//   frames v8::Isolate::GetStackSample returned, leaf first. Frames past `frame_count` are garbage.
//   Memory: slots x (40 + 8 x max_frames) bytes per sampled thread, touched as the ring wraps: with
//   128 frames (130 addresses with the pc and the truncation probe) about 1.1 KB a slot, so 70 KB at
//   10 ms (64 slots), 280 KB at 1 ms (256) and 2.2 MB at 100 µs (2,048), once it has wrapped.
// - When every slot is taken the writer drops the sample and returns false from BeginWrite(); the
//   caller counts the drop. Nothing is ever overwritten.
#ifndef SFPROF_RING_BUFFER_H_
#define SFPROF_RING_BUFFER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace sfprof {

enum SampleFlags : uint32_t {
  kSampleTruncated = 1u << 0,  // the stack had at least max_frames frames; deeper ones were cut
  // Sent by the stall watch (stall_watch.h) while the main thread has not returned to its event
  // loop: a wall-clock sample for the stall report, never part of the CPU profile.
  kSampleStallProbe = 1u << 1,
};

struct SampleHeader {
  uint64_t timestamp_ns;  // CLOCK_MONOTONIC at capture
  uint64_t code_seq;      // code-event sequence number visible at capture
  uint32_t vm_state;      // v8::StateTag: an int in V8 11 (Node 20), a uint16_t from V8 12 (Node 22); V8 13
                          // added LOGGING and V8 14 IDLE_EXTERNAL after the old values (src/native/records.ts)
  uint32_t frame_count;
  uint32_t flags;         // SampleFlags
  uint32_t weight_us;     // CPU time the sample stands for (per-thread engines); 0 when unknown
  uint32_t labels;        // the thread's label-set id at capture (label_reader.h); 0: none
  uint32_t reserved;      // keeps the frames that follow 8-byte aligned
};
static_assert(sizeof(SampleHeader) == 40, "SampleHeader layout is part of the drain format");

class SampleRing {
 public:
  SampleRing() = default;
  ~SampleRing() { std::free(memory_); }
  SampleRing(const SampleRing&) = delete;
  SampleRing& operator=(const SampleRing&) = delete;

  // Not signal-safe: allocates. `slots` must be a power of two.
  bool Init(size_t slots, size_t max_frames) {
    if (slots == 0 || (slots & (slots - 1)) != 0 || max_frames == 0) return false;
    stride_ = sizeof(SampleHeader) + max_frames * sizeof(void*);
    memory_ = static_cast<unsigned char*>(std::calloc(slots, stride_));
    if (memory_ == nullptr) return false;
    mask_ = slots - 1;
    max_frames_ = max_frames;
    return true;
  }

  // ---- writer side: signal handler only. No allocation, no locks, no waiting. ----

  // Returns the slot to fill, or nullptr when the ring is full (the caller counts the drop).
  SampleHeader* BeginWrite() {
    uint64_t head = head_.load(std::memory_order_relaxed);
    uint64_t tail = tail_.load(std::memory_order_acquire);
    if (head - tail > mask_) return nullptr;
    return WritableSlotAt(head);
  }
  void** FramesOf(SampleHeader* slot) const { return reinterpret_cast<void**>(slot + 1); }
  // Publishes the slot returned by the last BeginWrite().
  void CommitWrite() {
    head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // ---- reader side: the drain or the watcher's spill, one at a time (registry locked), outside
  // signal context. ----

  // Positions [tail, head) hold published samples; read them with SlotAt(), then Release().
  uint64_t ReadBegin() const { return tail_.load(std::memory_order_relaxed); }
  uint64_t ReadEnd() const { return head_.load(std::memory_order_acquire); }
  const SampleHeader* SlotAt(uint64_t position) const {
    return reinterpret_cast<const SampleHeader*>(memory_ + (position & mask_) * stride_);
  }
  void Release(uint64_t new_tail) { tail_.store(new_tail, std::memory_order_release); }

  // Any thread: how many published samples wait for the reader (a hint; may be stale at once).
  uint64_t Unread() const {
    return head_.load(std::memory_order_relaxed) - tail_.load(std::memory_order_relaxed);
  }

  size_t slots() const { return mask_ + 1; }
  size_t max_frames() const { return max_frames_; }

 private:
  SampleHeader* WritableSlotAt(uint64_t position) {
    return reinterpret_cast<SampleHeader*>(memory_ + (position & mask_) * stride_);
  }

  // Immutable after Init().
  unsigned char* memory_ = nullptr;
  size_t stride_ = 0;
  uint64_t mask_ = 0;
  size_t max_frames_ = 0;

  // Written by the signal handler (writer), read by the reader.
  std::atomic<uint64_t> head_{0};
  // Written by the reader, read by the signal handler.
  std::atomic<uint64_t> tail_{0};

  static_assert(std::atomic<uint64_t>::is_always_lock_free, "ring indices must be lock-free");
};

}  // namespace sfprof

#endif  // SFPROF_RING_BUFFER_H_
