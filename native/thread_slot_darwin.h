// macOS: the slots are pthread keys, not thread_local. A thread_local in a dlopen'd Mach-O image is
// reached through its TLV descriptor, whose first use on each thread (_tlv_bootstrap, then
// tlv_get_addr) allocates that thread's block with malloc; an ITIMER_PROF signal can land on any
// thread, fresh ones included, so the handler must never touch one. libpthread's
// pthread_getspecific is a single load from the TSD array inside the thread's own pthread structure
// (allocated with the thread), and pthread_setspecific on a created key stores into that array and
// updates the thread's highest-key mark: neither allocates nor locks (darwin-libpthread,
// src/pthread_tsd.c). POSIX does not list them as async-signal-safe; this relies on that
// implementation. Not built or run by this project's CI. Included by thread_slot.h and
// thread_slot_darwin.cc.
#ifndef SFPROF_THREAD_SLOT_DARWIN_H_
#define SFPROF_THREAD_SLOT_DARWIN_H_

#include <pthread.h>

#include <atomic>

#include "sampler_state.h"

namespace sfprof {

// Defined in thread_slot_darwin.cc. The keys are written once, by CreateThreadSlots on the main JS
// thread before the handler is first installed, and kept for the life of the process (two of the
// 512 a process has).
extern pthread_key_t g_sampler_key;
extern pthread_key_t g_forwarding_key;
extern std::atomic<bool> g_slots_created;

// Outside signal context: pthread_key_create takes libpthread's key lock, so it lives in
// thread_slot_darwin.cc, out of the signal-context object that scripts/check-signal-safety.mjs reads.
bool CreateThreadSlots();

// Signal-safe (see the file header).
inline ThreadSampler* LoadThreadSampler() {
  if (!g_slots_created.load(std::memory_order_acquire)) return nullptr;
  return static_cast<ThreadSampler*>(pthread_getspecific(g_sampler_key));
}

inline void StoreThreadSampler(ThreadSampler* sampler) {
  // Before the keys exist nothing can have been stored; clearing is then a no-op.
  if (!g_slots_created.load(std::memory_order_acquire)) return;
  pthread_setspecific(g_sampler_key, sampler);
}

// Signal-safe (see the file header).
inline bool LoadForwarding() {
  if (!g_slots_created.load(std::memory_order_acquire)) return false;
  return pthread_getspecific(g_forwarding_key) != nullptr;
}

// Signal-safe (see the file header). Any non-null value marks the thread.
inline void StoreForwarding(bool forwarding) {
  if (!g_slots_created.load(std::memory_order_acquire)) return;
  pthread_setspecific(g_forwarding_key, forwarding ? &g_forwarding_key : nullptr);
}

}  // namespace sfprof

#endif  // SFPROF_THREAD_SLOT_DARWIN_H_
