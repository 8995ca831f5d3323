// Force-included (binding.gyp: -include) into every native source on Linux with glibc, so that the
// addon loads wherever Node.js itself does: it needs no symbol newer than GLIBC_2.28 (Node's own
// baseline: Debian 10, Ubuntu 18.04, RHEL 8) while it is built on a newer glibc.
//
// glibc 2.34 moved the timer_*, pthread_* and dl* functions into libc.so.6 under a new version; a
// build on 2.34+ binds to that version, which older systems lack. The .symver lines bind the old
// versions instead, which libc.so.6 keeps as compatibility symbols on 2.34+ and librt, libpthread
// and libdl provide before it (binding.gyp links those three for that reason).
#ifndef SFPROF_GLIBC_COMPAT_H_
#define SFPROF_GLIBC_COMPAT_H_
#if defined(__linux__) && !defined(SFPROF_NO_GLIBC_COMPAT)
#include <features.h>
#if defined(__GLIBC__)

#if defined(__x86_64__)
// x86-64's timer_* have a 2.2.5 version too, for the old int timer_t: 2.3.3 is the current ABI.
#define SFPROF_TIMER_VERSION "GLIBC_2.3.3"
#define SFPROF_BASE_VERSION "GLIBC_2.2.5"
#elif defined(__aarch64__)
// arm64 glibc starts at 2.17: one version for all of them.
#define SFPROF_TIMER_VERSION "GLIBC_2.17"
#define SFPROF_BASE_VERSION "GLIBC_2.17"
#else
#error "sfprof: glibc_compat.h knows the old symbol versions of x86-64 and arm64 only (build with -DSFPROF_NO_GLIBC_COMPAT)"
#endif

__asm__(".symver timer_create,timer_create@" SFPROF_TIMER_VERSION);
__asm__(".symver timer_settime,timer_settime@" SFPROF_TIMER_VERSION);
__asm__(".symver timer_delete,timer_delete@" SFPROF_TIMER_VERSION);
__asm__(".symver timer_getoverrun,timer_getoverrun@" SFPROF_TIMER_VERSION);
__asm__(".symver pthread_create,pthread_create@" SFPROF_BASE_VERSION);
__asm__(".symver pthread_join,pthread_join@" SFPROF_BASE_VERSION);
__asm__(".symver pthread_mutex_trylock,pthread_mutex_trylock@" SFPROF_BASE_VERSION);
__asm__(".symver pthread_getcpuclockid,pthread_getcpuclockid@" SFPROF_BASE_VERSION);
// Added in 2.3.3 on x86-64 (2.17 on arm64): the same versions as the timer_* functions.
__asm__(".symver pthread_condattr_setclock,pthread_condattr_setclock@" SFPROF_TIMER_VERSION);
__asm__(".symver dladdr,dladdr@" SFPROF_BASE_VERSION);
__asm__(".symver dlopen,dlopen@" SFPROF_BASE_VERSION);
__asm__(".symver dlsym,dlsym@" SFPROF_BASE_VERSION);
__asm__(".symver dlclose,dlclose@" SFPROF_BASE_VERSION);

// GLIBC_2.32: libstdc++'s headers (GCC 11+) read __libc_single_threaded to skip atomic reference
// counts. Ours always says "not single-threaded": always atomic, always correct.
#define __libc_single_threaded sfprof_libc_single_threaded
#ifdef __cplusplus
extern "C" {
#endif
__attribute__((weak, visibility("hidden"))) char sfprof_libc_single_threaded = 0;
#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
// GLIBCXX_3.4.29: GCC 11+'s std::allocator calls this on an impossible size; older libstdc++
// lacks it. The addon builds without exceptions, so a throw would end the process anyway.
namespace std {
[[noreturn]] __attribute__((visibility("hidden"))) inline void __throw_bad_array_new_length() { __builtin_trap(); }
}  // namespace std
#endif

#endif  // __GLIBC__
#endif  // __linux__
#endif  // SFPROF_GLIBC_COMPAT_H_
