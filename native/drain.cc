// See drain.h. Outside signal context: allocates, and callers hold the registry's lock.
#include "drain.h"

#include <cstdint>

#include "wire_format.h"

namespace sfprof {
namespace {

constexpr size_t kSpillLimitWords = 8u << 20;  // 64 MiB of encoded samples, then the ring drops
constexpr size_t kGcSpillLimitWords = 1u << 20;  // 8 MiB of GC records a thread, then its GC log drops

// Appends the ring's published samples to `records` as wire_format.h lays them out and releases
// their slots. Stops before `records` would pass `limit_words`: the rest stays in the ring, which
// counts what it then drops.
void ReadRing(SampleRing& ring, uint64_t start_ns, std::vector<double>* records, uint64_t* count,
              size_t limit_words) {
  const uint64_t begin = ring.ReadBegin();
  const uint64_t end = ring.ReadEnd();
  uint64_t position = begin;
  for (; position < end; ++position) {
    const SampleHeader* slot = ring.SlotAt(position);
    const uint32_t frames = slot->frame_count;
    if (records->size() + wire::kRecordHeaderWords + frames > limit_words) break;
    const size_t at = records->size();
    records->resize(at + wire::kRecordHeaderWords + frames);
    double* record = records->data() + at;
    record[wire::kRecordTimeNs] =
        slot->timestamp_ns >= start_ns ? static_cast<double>(slot->timestamp_ns - start_ns) : 0;
    record[wire::kRecordCodeSeq] = static_cast<double>(slot->code_seq);
    record[wire::kRecordVmState] = slot->vm_state;
    record[wire::kRecordFlags] = slot->flags;
    record[wire::kRecordWeightUs] = slot->weight_us;
    record[wire::kRecordLabels] = slot->labels;
    record[wire::kRecordFrameCount] = frames;
    void* const* addresses = reinterpret_cast<void* const*>(slot + 1);
    for (uint32_t i = 0; i < frames; ++i) {
      record[wire::kRecordHeaderWords + i] = static_cast<double>(reinterpret_cast<uintptr_t>(addresses[i]));
    }
    (*count)++;
  }
  ring.Release(position);
}

// A worker's enumeration repeats every builtin the main thread's log already has: the main thread's
// code map resolves those (half of a new worker's events).
void DropEmbeddedBuiltins(const DrainScope& scope, std::vector<CodeEvent>* events) {
  size_t kept = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    const CodeEvent& event = (*events)[i];
    const bool builtin = event.type == CodeEventType::kAdded && event.start >= scope.embedded_start &&
                         event.start < scope.embedded_start + scope.embedded_size;
    if (!builtin) {
      if (kept != i) (*events)[kept] = std::move((*events)[i]);
      kept++;
    }
  }
  events->resize(kept);
}

}  // namespace

size_t SpillRings(ThreadRegistry* registry, const DrainScope& scope, size_t* spill_words) {
  size_t moved = 0;
  for (auto& entry : registry->entries()) {
    if (entry->session != scope.session) continue;
    const size_t before = entry->spill.size();
    const size_t room = kSpillLimitWords > *spill_words ? kSpillLimitWords - *spill_words : 0;
    ReadRing(entry->sampler->ring, scope.start_ns, &entry->spill, &entry->spill_count, before + room);
    *spill_words += entry->spill.size() - before;
    moved += entry->spill.size() - before;
    if (entry->gc && entry->gc->spill.size() < kGcSpillLimitWords) {
      const size_t gc_before = entry->gc->spill.size();
      ReadGcCauses(entry->gc.get(), scope.start_ns, &entry->gc->spill);
      moved += entry->gc->spill.size() - gc_before;
    }
  }
  return moved;
}

void DrainThreads(ThreadRegistry* registry, const DrainScope& scope, std::vector<DrainedThread>* out) {
  auto& entries = registry->entries();
  for (auto it = entries.begin(); it != entries.end();) {
    ThreadEntry* entry = it->get();
    if (entry->session != scope.session) {
      ++it;
      continue;
    }
    DrainedThread drained;
    drained.thread_id = entry->thread_id;
    drained.name = entry->name;
    drained.finished = entry->finished;
    // Spilled samples are older than anything still in the ring.
    drained.records.swap(entry->spill);
    drained.count = entry->spill_count;
    entry->spill_count = 0;
    ReadRing(entry->sampler->ring, scope.start_ns, &drained.records, &drained.count, SIZE_MAX);
    // After the samples: a GC's begin is published before any sample taken during it.
    if (entry->gc) {
      drained.gc.swap(entry->gc->spill);
      ReadGcCauses(entry->gc.get(), scope.start_ns, &drained.gc);
      drained.gc_dropped = entry->gc->dropped.exchange(0, std::memory_order_relaxed);
    }
    // Samples first, then events: every event a drained sample refers to was appended before the
    // sample was taken, so it is in this batch or an earlier one.
    drained.events = entry->log->Take();
    if (entry != scope.main && scope.embedded_size > 0) DropEmbeddedBuiltins(scope, &drained.events);
    out->push_back(std::move(drained));
    if (entry->finished) {
      CodeEventLog::Unregister(entry->isolate, entry->log.get());
      it = registry->Retire(it);
    } else {
      ++it;
    }
  }
}

}  // namespace sfprof
