// GC causes: the JS stack that was running when a garbage collection began, so samples taken in GC
// state can be charged to the code whose allocation triggered it (docs/how-it-works.md, issue 22).
//
// Contract of GcCauseLog (the model is ring_buffer.h's, whose SampleRing it reuses):
// - One writer: V8's GC prologue and epilogue callbacks, on the sampled thread's own JS thread,
//   inside a GC. Not signal context, but inside a GC nothing may allocate on the JS heap or call
//   into JS; they also avoid malloc and locks: everything is preallocated by Init(). They are held
//   to the signal-context rule by scripts/check-signal-safety.mjs (gc_cause_callbacks.cc).
// - One reader at a time, with the registry locked (drain.cc): the drain on the main JS thread, or
//   the watcher thread's spill, which may read a begin whose GC is still running (its end comes later).
// - The signal handler never touches a GcCauseLog. A timer signal may interrupt a callback: its
//   sample then walks the same stack (the VM state there is EXTERNAL, so it gets the JS frames).
// - A slot of the ring is a SampleHeader whose fields mean, for a GC cause:
//     timestamp_ns  CLOCK_MONOTONIC (the handler's clock) at the prologue (kind begin) or epilogue
//     code_seq      begin: the code-event sequence visible at the prologue; end: the begin's time
//     vm_state      the v8::GCType
//     flags         GcRecordKind, with kGcTruncated when the stack had max_frames frames or more
//     frame_count   begin: the callback's pc, then the frames GetStackSample returned; end: 0
//     labels        0 (a GC sample's labels come with the sample: label_reader.h)
// - A begin is recorded only while a slot stays free for the end of every GC still open, its own
//   included; otherwise it is dropped and counted. So an end always finds its slot, and the reader
//   never sees a begin without its end unless the GC is still running.
#ifndef SFPROF_GC_CAUSE_H_
#define SFPROF_GC_CAUSE_H_

#include <atomic>
#include <cstdint>
#include <vector>

#include <v8-callbacks.h>

#include "ring_buffer.h"

namespace sfprof {

struct ThreadSampler;
struct ThreadEntry;

enum GcRecordKind : uint32_t {
  kGcBegin = 1,
  kGcEnd = 2,
  kGcKindMask = 0xff,
  kGcTruncated = 1u << 8,
};

// Nested GCs (a GC begun from another's callbacks) deeper than this are not recorded.
constexpr int kGcMaxOpen = 8;
constexpr size_t kGcCauseSlots = 256;

struct GcCauseLog {
  // ---- immutable while the callbacks are registered ----
  SampleRing ring;
  ThreadSampler* sampler = nullptr;  // isolate, code_seq, paused

  // ---- written by the callbacks only (the thread's GCs) ----
  int open = 0;                        // GCs begun and not yet ended
  uint64_t open_begin_ns[kGcMaxOpen];  // their begin times
  bool open_recorded[kGcMaxOpen];      // whether their begin is in the ring

  // ---- written by the callbacks, read by the drain or the watcher's spill (registry locked) ----
  std::atomic<uint64_t> dropped{0};
  // ---- registry locked: records the watcher's spill moved out of the ring, for the drain ----
  std::vector<double> spill;
  bool registered = false;  // owner thread only
};

// The callbacks themselves (gc_cause_callbacks.cc), with the log as their data.
void OnGcPrologue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);
void OnGcEpilogue(v8::Isolate* isolate, v8::GCType type, v8::GCCallbackFlags flags, void* data);

// Outside GC: allocates the ring (false when it cannot).
bool InitGcCauseLog(GcCauseLog* log, ThreadSampler* sampler, size_t max_frames);
// On the isolate's own thread (V8 requires it): adds or removes the prologue and epilogue
// callbacks. Remove before the log is freed and before the isolate is torn down.
void AddGcCallbacks(v8::Isolate* isolate, GcCauseLog* log);
void RemoveGcCallbacks(v8::Isolate* isolate, GcCauseLog* log);
// On the entry's own thread (V8 adds GC callbacks only there), when `enabled`: gives the entry a log
// and adds its callbacks. Without memory for the log its GC stays at the root, as with the option off.
void StartGcCauses(ThreadEntry* entry, bool enabled, size_t max_frames);
// On the entry's own thread, before its isolate can go: removes the callbacks (the log lives as long
// as the entry).
void StopGcCauses(ThreadEntry* entry);

// Any thread, with the registry held: whether the watcher should empty the log (a hint).
inline bool GcCausesHalfFull(const GcCauseLog* log) {
  return log != nullptr && log->ring.Unread() * 2 >= log->ring.slots();
}

// The drain or the watcher's spill (registry locked): appends the published records as wire_format.h
// lays them out.
void ReadGcCauses(GcCauseLog* log, uint64_t start_ns, std::vector<double>* records);

}  // namespace sfprof

#endif  // SFPROF_GC_CAUSE_H_
