// See thread_registry.h. Outside signal context: allocates, and callers hold the registry's lock.
#include "thread_registry.h"

#include "labels.h"

namespace sfprof {
namespace {

double ThreadCpuNs(const ThreadEntry& entry) {
  if (!entry.cpu_clock.open()) return 0;
  const double end = entry.cpu_end_ns >= 0 ? entry.cpu_end_ns : entry.cpu_clock.ReadNs();
  return end > entry.cpu_start_ns ? end - entry.cpu_start_ns : 0;
}

// The one place a thread's counters are summed: for live threads by Totals, and into the retired
// totals when the drain frees a finished thread (so the session's totals never lose it).
void AddThreadCounters(const ThreadEntry& entry, ThreadTotals* totals) {
  const ThreadSampler& sampler = *entry.sampler;
  totals->threads++;
  totals->thread_cpu_ns += ThreadCpuNs(entry);
  totals->samples_recorded += sampler.samples_recorded.load();
  totals->dropped_ring_full += sampler.dropped_ring_full.load();
  totals->dropped_busy += sampler.dropped_busy.load();
  totals->dropped_queue_full += sampler.dropped_queue_full.load();
  totals->signals_coalesced += sampler.pacer_coalesced.load();
  totals->truncated += sampler.truncated.load();
  totals->samples_labelled += sampler.samples_labelled.load();
  totals->label_read_ns += sampler.label_read_ns.load();
  totals->label_clock_ns += sampler.label_clock_ns.load();
  totals->label_reads_timed += sampler.label_reads_timed.load();
  for (size_t i = 0; i < kHandlerBuckets; ++i) totals->handler_time[i] += sampler.handler_time[i].load();
}

}  // namespace

std::unique_ptr<ThreadEntry> NewThreadEntry(v8::Isolate* isolate, int thread_id, uint64_t session,
                                            size_t ring_slots, size_t max_frames) {
  auto entry = std::make_unique<ThreadEntry>();
  entry->isolate = isolate;
  entry->thread_id = thread_id;
  entry->session = session;
  entry->sampler = std::make_unique<ThreadSampler>();
  // Two extra frames per sample: the interrupted pc (frame 0), and one past max_frames that tells a
  // stack of exactly max_frames from a deeper one (signal_handler.cc).
  if (!entry->sampler->ring.Init(ring_slots, max_frames + 2)) return nullptr;
  entry->log = std::make_unique<CodeEventLog>();
  entry->sampler->isolate = isolate;
  entry->sampler->session = session;
  entry->sampler->code_seq = entry->log->sequence();
  // Labels registered on this thread before (or in an earlier session) label its samples now.
  entry->sampler->labels.store(FindLabelReader(isolate), std::memory_order_relaxed);
  return entry;
}

void StartThreadClock(ThreadEntry* entry) {
  entry->cpu_start_ns = entry->cpu_clock.OpenForCurrentThread() ? entry->cpu_clock.ReadNs() : 0;
  entry->cpu_end_ns = -1;
}

void StopThreadClock(ThreadEntry* entry) {
  entry->cpu_end_ns = entry->cpu_clock.ReadNs();
}

ThreadEntry* ThreadRegistry::Find(v8::Isolate* isolate) {
  for (auto& entry : entries_) {
    if (entry->isolate == isolate && !entry->finished) return entry.get();
  }
  return nullptr;
}

void ThreadRegistry::Remove(const ThreadEntry* entry) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->get() == entry) {
      entries_.erase(it);
      return;
    }
  }
}

ThreadRegistry::Entries::iterator ThreadRegistry::Retire(Entries::iterator it) {
  AddThreadCounters(**it, &retired_);
  return entries_.erase(it);
}

void ThreadRegistry::Totals(uint64_t session, ThreadTotals* totals) {
  *totals = retired_;
  for (auto& entry : entries_) {
    if (entry->session == session) AddThreadCounters(*entry, totals);
  }
}

}  // namespace sfprof
