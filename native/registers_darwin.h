// macOS: included by registers.h only. Written against the SDK's <sys/_types/_ucontext.h> and
// <mach/{i386,arm}/_structs.h>; not built or run by this project's CI.
//
// <sys/ucontext.h>, not <ucontext.h>: the latter stops with #error unless _XOPEN_SOURCE is defined
// (its makecontext family is deprecated), and defining _XOPEN_SOURCE lowers __DARWIN_C_LEVEL, which
// hides the arm64 register accessors below and Darwin extensions used elsewhere
// (pthread_mach_thread_np, the mach thread calls). The ucontext_t type itself comes from here.
#ifndef SFPROF_REGISTERS_DARWIN_H_
#define SFPROF_REGISTERS_DARWIN_H_

#include <signal.h>
#include <sys/ucontext.h>

#include <cstdint>

#include <v8-unwinder.h>

namespace sfprof {

// Signal-safe: plain field reads. On macOS uc_mcontext is a pointer (to a __darwin_mcontext64),
// not an inline struct as on Linux.
inline void RegistersFromUcontext(void* context, v8::RegisterState* state) {
  ucontext_t* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rip);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rsp);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rbp);
#elif defined(__aarch64__)
#if defined(__darwin_arm_thread_state64_get_pc)
  // The SDK's accessors: where the thread state is opaque (pointer authentication), the fields are
  // named __opaque_pc and so on, and these strip the signature.
  const auto& thread_state = uc->uc_mcontext->__ss;
  state->pc = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_pc(thread_state));
  state->sp = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_sp(thread_state));
  state->fp = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_fp(thread_state));
  state->lr = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_lr(thread_state));
#else
  // SDKs before the accessors: plain fields (x29 is __fp, x30 is __lr).
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__pc);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__sp);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__fp);
  state->lr = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__lr);
#endif
#else
#error "sfprof: unsupported architecture (x64 and arm64 only)"
#endif
}

}  // namespace sfprof

#endif  // SFPROF_REGISTERS_DARWIN_H_
