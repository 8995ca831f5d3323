// The GC prologue and epilogue callbacks of gc_cause.h, and those of the labels (label_reader.h,
// labels.h). They run on the JS thread inside a GC: no
// JS heap allocation, no calls into JS, and (held to the signal-context rule by
// scripts/check-signal-safety.mjs) no malloc, locks or stdio: a GC may begin inside malloc's caller.
#include <time.h>

#include <v8-isolate.h>
#include <v8-unwinder.h>

#include "gc_cause.h"
#include "label_reader.h"
#include "labels.h"
#include "sampler_state.h"

namespace sfprof {
namespace {

inline uint64_t MonotonicNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

// Inside a GC, on the log's thread. Records when the GC began, its type and the JS stack that was
// running: the VM state in a GC callback is EXTERNAL, so GetStackSample walks from V8's exit frame
// (the runtime call that allocated) through every JS frame. Not inlined: its own frame is the
// walk's starting point.
__attribute__((noinline)) void OnGcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags, void* data) {
  GcCauseLog* log = static_cast<GcCauseLog*>(data);
  const uint64_t began = MonotonicNs();
  const int depth = log->open;
  if (depth >= kGcMaxOpen) {
    log->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  log->open = depth + 1;
  log->open_begin_ns[depth] = began;
  log->open_recorded[depth] = false;
  if (log->sampler->paused.load(std::memory_order_acquire)) return;
  SampleRing& ring = log->ring;
  // Room for this begin and for the end of every open GC, this one's included.
  if (ring.Unread() + static_cast<uint64_t>(depth) + 2 > ring.slots()) {
    log->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  SampleHeader* slot = ring.BeginWrite();
  if (slot == nullptr) {
    log->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  v8::RegisterState registers;
  registers.pc = __builtin_return_address(0);
  registers.fp = __builtin_frame_address(0);
  registers.sp = __builtin_frame_address(0);
  void** frames = ring.FramesOf(slot);
  frames[0] = registers.pc;
  v8::SampleInfo info{};
  const size_t limit = ring.max_frames() - 1;
  isolate->GetStackSample(registers, frames + 1, limit, &info);
  slot->timestamp_ns = began;
  slot->code_seq = log->sampler->code_seq->load(std::memory_order_acquire);
  slot->vm_state = static_cast<uint32_t>(type);
  slot->flags = kGcBegin | (info.frames_count >= limit ? kGcTruncated : 0u);
  slot->weight_us = 0;
  slot->labels = 0;
  slot->frame_count = static_cast<uint32_t>(info.frames_count + 1);
  ring.CommitWrite();
  log->open_recorded[depth] = true;
}

// Inside a GC, on the log's thread: the end of the innermost open GC.
void OnGcEpilogue(v8::Isolate*, v8::GCType type, v8::GCCallbackFlags, void* data) {
  GcCauseLog* log = static_cast<GcCauseLog*>(data);
  if (log->open == 0) return;  // callbacks added while a GC ran
  const int depth = --log->open;
  if (!log->open_recorded[depth]) return;
  SampleRing& ring = log->ring;
  SampleHeader* slot = ring.BeginWrite();  // reserved by the begin: never null
  if (slot == nullptr) {
    log->dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  slot->timestamp_ns = MonotonicNs();
  slot->code_seq = log->open_begin_ns[depth];
  slot->vm_state = static_cast<uint32_t>(type);
  slot->flags = kGcEnd;
  slot->weight_us = 0;
  slot->labels = 0;
  slot->frame_count = 0;
  ring.CommitWrite();
}

// ---- labels ----
// Before anything moves: the label of the code whose allocation began this GC, for the samples
// taken inside it. The read is the handler's own, safe here for the same reason.
void OnLabelsGcPrologue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  LabelReader* reader = static_cast<LabelReader*>(data);
  const int32_t depth = reader->gc_depth.load(std::memory_order_relaxed);
  if (depth == 0) {
    const bool cped = reader->mode.load(std::memory_order_relaxed) == kLabelsCped;
    reader->gc_label.store(cped ? ReadCpedLabel(reader) : 0, std::memory_order_relaxed);
  }
  // The label is in place before a sample can see the GC as begun.
  std::atomic_signal_fence(std::memory_order_release);
  reader->gc_depth.store(depth + 1, std::memory_order_relaxed);
}

// After everything moved: the frame map is read again from the retained frame (maps are heap
// objects a compaction may move; a stale one would only fail the comparison, never be followed).
void OnLabelsGcEpilogue(v8::Isolate*, v8::GCType, v8::GCCallbackFlags, void* data) {
  LabelReader* reader = static_cast<LabelReader*>(data);
  if (reader->frame_slot != nullptr) {
    const uintptr_t frame = *reinterpret_cast<const volatile uintptr_t*>(reader->frame_slot);
    if (label_layout::IsHeapObject(frame)) {
      reader->frame_map.store(label_layout::Field(frame, 0), std::memory_order_relaxed);
    }
  }
  std::atomic_signal_fence(std::memory_order_release);
  const int32_t depth = reader->gc_depth.load(std::memory_order_relaxed);
  if (depth > 0) reader->gc_depth.store(depth - 1, std::memory_order_relaxed);  // 0: added mid-GC
}

}  // namespace sfprof
