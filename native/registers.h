// ucontext → v8::RegisterState for each supported OS/architecture. Used from signal context: reads
// plain fields only. Linux x64 and arm64 are exercised; the darwin branches compile but are untested.
#ifndef SFPROF_REGISTERS_H_
#define SFPROF_REGISTERS_H_

#include <signal.h>
#include <ucontext.h>

#include <v8-unwinder.h>

namespace sfprof {

inline void RegistersFromUcontext(void* context, v8::RegisterState* state) {
  ucontext_t* uc = static_cast<ucontext_t*>(context);
#if defined(__linux__) && defined(__x86_64__)
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RIP]);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RSP]);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RBP]);
#elif defined(__linux__) && defined(__aarch64__)
  // mcontext_t holds x0..x30 in regs[], then sp and pc; AAPCS64 makes x29 the frame pointer and x30
  // the link register. test/e2e/stacks.test.mjs fails when one of these is read from the wrong field.
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext.pc);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext.sp);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext.regs[29]);
  state->lr = reinterpret_cast<void*>(uc->uc_mcontext.regs[30]);
#elif defined(__APPLE__) && defined(__x86_64__)
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rip);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rsp);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext->__ss.__rbp);
#elif defined(__APPLE__) && defined(__aarch64__)
  state->pc = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_pc(uc->uc_mcontext->__ss));
  state->sp = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_sp(uc->uc_mcontext->__ss));
  state->fp = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_fp(uc->uc_mcontext->__ss));
  state->lr = reinterpret_cast<void*>(__darwin_arm_thread_state64_get_lr(uc->uc_mcontext->__ss));
#else
#error "sfprof: unsupported platform (Linux/macOS on x64/arm64 only)"
#endif
}

}  // namespace sfprof

#endif  // SFPROF_REGISTERS_H_
