// See gc_cause.h. Outside GC: allocation of the log and its reading by the drain.
#include "gc_cause.h"

#include <v8-isolate.h>

#include "thread_registry.h"
#include "wire_format.h"

namespace sfprof {

bool InitGcCauseLog(GcCauseLog* log, ThreadSampler* sampler, size_t max_frames) {
  log->sampler = sampler;
  // One extra frame for the callback's pc, as for samples.
  return log->ring.Init(kGcCauseSlots, max_frames + 1);
}

void AddGcCallbacks(v8::Isolate* isolate, GcCauseLog* log) {
  if (log->registered) return;
  isolate->AddGCPrologueCallback(OnGcPrologue, log);
  isolate->AddGCEpilogueCallback(OnGcEpilogue, log);
  log->registered = true;
}

void RemoveGcCallbacks(v8::Isolate* isolate, GcCauseLog* log) {
  if (!log->registered) return;
  isolate->RemoveGCPrologueCallback(OnGcPrologue, log);
  isolate->RemoveGCEpilogueCallback(OnGcEpilogue, log);
  log->registered = false;
}

void StartGcCauses(ThreadEntry* entry, bool enabled, size_t max_frames) {
  if (!enabled) return;
  auto log = std::make_unique<GcCauseLog>();
  if (!InitGcCauseLog(log.get(), entry->sampler.get(), max_frames)) return;
  entry->gc = std::move(log);
  AddGcCallbacks(entry->isolate, entry->gc.get());
}

void StopGcCauses(ThreadEntry* entry) {
  if (entry->gc) RemoveGcCallbacks(entry->isolate, entry->gc.get());
}

void ReadGcCauses(GcCauseLog* log, uint64_t start_ns, std::vector<double>* records) {
  SampleRing& ring = log->ring;
  const uint64_t end = ring.ReadEnd();
  uint64_t position = ring.ReadBegin();
  const auto since_start = [start_ns](uint64_t ns) { return ns >= start_ns ? static_cast<double>(ns - start_ns) : 0; };
  for (; position < end; ++position) {
    const SampleHeader* slot = ring.SlotAt(position);
    const bool begin = (slot->flags & kGcKindMask) == kGcBegin;
    const uint32_t frames = begin ? slot->frame_count : 0;
    const size_t at = records->size();
    records->resize(at + wire::kGcHeaderWords + frames);
    double* record = records->data() + at;
    record[wire::kGcKind] = slot->flags & kGcKindMask;
    record[wire::kGcFlags] = (slot->flags & kGcTruncated) != 0 ? kSampleTruncated : 0;
    record[wire::kGcType] = slot->vm_state;
    record[wire::kGcTimeNs] = since_start(slot->timestamp_ns);
    record[wire::kGcBeginNs] = since_start(begin ? slot->timestamp_ns : slot->code_seq);
    record[wire::kGcCodeSeq] = begin ? static_cast<double>(slot->code_seq) : 0;
    record[wire::kGcFrameCount] = frames;
    void* const* addresses = reinterpret_cast<void* const*>(slot + 1);
    for (uint32_t i = 0; i < frames; ++i) {
      record[wire::kGcHeaderWords + i] = static_cast<double>(reinterpret_cast<uintptr_t>(addresses[i]));
    }
  }
  ring.Release(position);
}

}  // namespace sfprof
