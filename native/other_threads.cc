// See other_threads.h. Outside signal context: allocates and locks.
#include "other_threads.h"

#include <time.h>

#include <mutex>

#include "sampler_state.h"
#include "wire_format.h"

namespace sfprof {
namespace {

// 4 MiB of spilled records, then the ring fills and counts its drops.
constexpr size_t kSpillLimitRecords = 256u * 1024;
constexpr long kSettlePollNs = 100 * 1000;
constexpr int kSettlePolls = 200;

// The reader side's lock: the owner's JS thread (drain, start) and the watcher thread (its spill,
// with the registry held: the order is always registry, then this). A forked child never takes it
// (the watcher may have held it at fork): Session::forked_child().
std::mutex g_mutex;
std::vector<double>* g_spilled = new std::vector<double>();  // leaked: a late drain may run at teardown
uint64_t g_claimed_at_reset = 0;

void ReadInto(OtherThreadRing& ring, std::vector<double>* records, uint64_t limit) {
  ring.Read(limit, [records](uint64_t tid, uint64_t pc) {
    records->push_back(static_cast<double>(tid));
    records->push_back(static_cast<double>(pc));
  });
}

// Every signal counted on a thread without a sampler has claimed a slot or counted a drop.
bool Settled(OtherThreadRing& ring) {
  const uint64_t counted = GetProcessCounters().non_js_thread.load(std::memory_order_acquire);
  return counted <= ring.Claimed() - g_claimed_at_reset + ring.Dropped();
}

}  // namespace

void ResetOtherThreads() {
  std::lock_guard<std::mutex> lock(g_mutex);
  OtherThreadRing& ring = GetOtherThreadRing();
  ring.Reset();
  g_claimed_at_reset = ring.Claimed();
  g_spilled->clear();
}

bool OtherThreadsHalfFull() { return GetOtherThreadRing().Unread() * 2 >= OtherThreadRing::kSlots; }

size_t SpillOtherThreads() {
  std::lock_guard<std::mutex> lock(g_mutex);
  const size_t held = g_spilled->size() / wire::kOtherThreadWords;
  if (held >= kSpillLimitRecords) return 0;
  ReadInto(GetOtherThreadRing(), g_spilled, kSpillLimitRecords - held);
  return g_spilled->size() / wire::kOtherThreadWords - held;
}

void DrainOtherThreads(std::vector<double>* records, bool settle) {
  std::lock_guard<std::mutex> lock(g_mutex);
  OtherThreadRing& ring = GetOtherThreadRing();
  records->swap(*g_spilled);
  g_spilled->clear();
  ReadInto(ring, records, UINT64_MAX);
  if (!settle) return;
  for (int poll = 0; poll < kSettlePolls && !(Settled(ring) && ring.Unread() == 0); ++poll) {
    struct timespec pause = {0, kSettlePollNs};
    nanosleep(&pause, nullptr);
    ReadInto(ring, records, UINT64_MAX);
  }
}

uint64_t OtherThreadsUnrecorded() { return GetOtherThreadRing().Dropped(); }

}  // namespace sfprof
