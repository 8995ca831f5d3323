// The two per-thread values the signal handler reads: the thread's ThreadSampler and its
// "forwarding to the previous handler" flag. Included by signal_handler.cc only (Linux defines its
// TLS slots in the header, so they must have one including file; macOS's keys are created in
// thread_slot_darwin.cc); everything else goes through SetCurrentThreadSampler and
// CurrentThreadSampler (sampler_state.h).
//
// Each platform header defines, in namespace sfprof:
//   bool CreateThreadSlots()                    outside signal context, before the handler is installed
//   ThreadSampler* LoadThreadSampler()          signal-safe
//   void StoreThreadSampler(ThreadSampler*)     the thread itself, outside signal context
//   bool LoadForwarding(), StoreForwarding(b)   signal-safe
#ifndef SFPROF_THREAD_SLOT_H_
#define SFPROF_THREAD_SLOT_H_

#if defined(__linux__)
#include "thread_slot_linux.h"
#elif defined(__APPLE__)
#include "thread_slot_darwin.h"
#else
#error "sfprof: unsupported platform (Linux/macOS only)"
#endif

#endif  // SFPROF_THREAD_SLOT_H_
