// ucontext → v8::RegisterState for each supported OS/architecture. Used from signal context: reads
// plain fields only. One header per OS; each covers x64 and arm64. Linux is built and exercised;
// macOS is written against the SDK's documented structures and has not been built.
#ifndef SFPROF_REGISTERS_H_
#define SFPROF_REGISTERS_H_

#if defined(__linux__)
#include "registers_linux.h"
#elif defined(__APPLE__)
#include "registers_darwin.h"
#else
#error "sfprof: unsupported platform (Linux/macOS on x64/arm64 only)"
#endif

#endif  // SFPROF_REGISTERS_H_
