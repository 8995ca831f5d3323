// Linux: the slots are initial-exec TLS. Reading one is a plain load relative to the thread pointer:
// no __tls_get_addr call and no lock (a gettid() syscall per signal cost ~0.5 µs). glibc allows
// initial-exec in dlopen'd objects (from its static TLS reserve). Included by thread_slot.h only.
#ifndef SFPROF_THREAD_SLOT_LINUX_H_
#define SFPROF_THREAD_SLOT_LINUX_H_

#include "sampler_state.h"

namespace sfprof {
namespace {

thread_local ThreadSampler* tls_sampler __attribute__((tls_model("initial-exec"))) = nullptr;
// Set while this thread runs the previous handler: a handler that forwards back to us (it saved us
// as its own previous one) would otherwise recurse until the stack overflows.
thread_local bool tls_forwarding __attribute__((tls_model("initial-exec"))) = false;

// Nothing to create: the TLS block exists for every thread.
inline bool CreateThreadSlots() { return true; }
inline ThreadSampler* LoadThreadSampler() { return tls_sampler; }
inline void StoreThreadSampler(ThreadSampler* sampler) { tls_sampler = sampler; }
inline bool LoadForwarding() { return tls_forwarding; }
inline void StoreForwarding(bool forwarding) { tls_forwarding = forwarding; }

}  // namespace
}  // namespace sfprof

#endif  // SFPROF_THREAD_SLOT_LINUX_H_
