// Linux: registers_linux.h is included by registers.h only. glibc's ucontext_t holds the machine
// context inline (uc_mcontext is a struct).
#ifndef SFPROF_REGISTERS_LINUX_H_
#define SFPROF_REGISTERS_LINUX_H_

#include <signal.h>
#include <ucontext.h>

#include <v8-unwinder.h>

namespace sfprof {

// Signal-safe: plain field reads.
inline void RegistersFromUcontext(void* context, v8::RegisterState* state) {
  ucontext_t* uc = static_cast<ucontext_t*>(context);
#if defined(__x86_64__)
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RIP]);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RSP]);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext.gregs[REG_RBP]);
#elif defined(__aarch64__)
  // mcontext_t holds x0..x30 in regs[], then sp and pc; AAPCS64 makes x29 the frame pointer and x30
  // the link register. test/e2e/stacks.test.mjs fails when pc, sp or fp is read from the wrong field
  // (a wrong lr goes unseen: V8 reads it only while optimized code sets up its frame).
  state->pc = reinterpret_cast<void*>(uc->uc_mcontext.pc);
  state->sp = reinterpret_cast<void*>(uc->uc_mcontext.sp);
  state->fp = reinterpret_cast<void*>(uc->uc_mcontext.regs[29]);
  state->lr = reinterpret_cast<void*>(uc->uc_mcontext.regs[30]);
#else
#error "sfprof: unsupported architecture (x64 and arm64 only)"
#endif
}

}  // namespace sfprof

#endif  // SFPROF_REGISTERS_LINUX_H_
