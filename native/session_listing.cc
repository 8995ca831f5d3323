// The main thread's existing code, listed at the first sample rather than at start (see
// CodeEventLog::ListExisting and src/pipeline/existing-code.ts): V8 takes milliseconds to list it,
// which every process that never takes a sample (`node -e 0`, a build's helpers) would pay at start.
// Never runs in signal context.
#include <v8.h>

#include "session.h"

namespace sfprof {

void Session::ListExistingCodeOnceSampled() {
  ThreadTotals totals;
  if (code_listed_.load() || main_entry_ == nullptr || !Totals(&totals)) return;
  // Stall probes need the listing as much as timer samples do.
  if (totals.samples_recorded == 0 && main_entry_->sampler->stall_probes.load(std::memory_order_relaxed) == 0) return;
  code_listed_.store(true);
  CodeEventLog::ListExisting(owner_, main_entry_->log.get());
}

bool Session::ListingWanted() const {
  // main_entry_ is set before the watcher starts and cleared only after it stopped.
  // Stall probes alone do not count: listing from the interrupt would run inside the stall they
  // sample and show up in its report. The drain after the stall lists for them.
  return running_.load() && !code_listed_.load() && main_entry_ != nullptr &&
         main_entry_->sampler->samples_recorded.load(std::memory_order_relaxed) > 0;
}

void Session::ListFromInterrupt(v8::Isolate* isolate) {
  if (!running_.load() || owner_ != isolate || forked_child_.load()) return;
  ListExistingCodeOnceSampled();
}

}  // namespace sfprof
