// A tiny Node-API addon for tests that force rare signal set-ups: dispositions other libraries leave
// behind, signals blocked or queued on the calling thread, a perf-like signal sent by hand. Built by
// test/lib/signal-tools.mjs with the system's C compiler; never part of the package.
#define _GNU_SOURCE
#include <node_api.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int32_t ArgInt(napi_env env, napi_callback_info info, size_t index) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t value = 0;
  if (index < argc) napi_get_value_int32(env, argv[index], &value);
  return value;
}

static napi_value Int(napi_env env, int32_t value) {
  napi_value result;
  napi_create_int32(env, value, &result);
  return result;
}

// setDisposition(signo, handler): SIG_DFL (0) or SIG_IGN (1), with SA_SIGINFO set, as some
// libraries leave it (sa_sigaction and sa_handler share their storage).
static napi_value SetDisposition(napi_env env, napi_callback_info info) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = ArgInt(env, info, 1) == 1 ? SIG_IGN : SIG_DFL;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  return Int(env, sigaction(ArgInt(env, info, 0), &action, NULL));
}

// blockSignals(first, last, block): blocks or unblocks signals first..last on the calling thread.
static napi_value BlockSignals(napi_env env, napi_callback_info info) {
  sigset_t set;
  sigemptyset(&set);
  for (int signo = ArgInt(env, info, 0); signo <= ArgInt(env, info, 1); ++signo) sigaddset(&set, signo);
  return Int(env, pthread_sigmask(ArgInt(env, info, 2) ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL));
}

// raiseOnThread(signo): tgkill to the calling thread (si_code SI_TKILL).
static napi_value RaiseOnThread(napi_env env, napi_callback_info info) {
  return Int(env, (int32_t)syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), ArgInt(env, info, 0)));
}

// queuePollSignal(signo, fd): the calling thread gets `signo` with si_code POLL_IN and si_fd `fd`,
// as a perf event's overflow sends it (a process may queue such a siginfo to itself).
static napi_value QueuePollSignal(napi_env env, napi_callback_info info) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  si.si_signo = ArgInt(env, info, 0);
  si.si_code = POLL_IN;
  si.si_fd = ArgInt(env, info, 1);
  return Int(env, (int32_t)syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), si.si_signo, &si));
}

// queueValueSignal(signo, value): the calling thread gets `signo` with si_code SI_QUEUE, our pid and
// si_value `value`, as the pacer engine's thread sends it.
static napi_value QueueValueSignal(napi_env env, napi_callback_info info) {
  siginfo_t si;
  memset(&si, 0, sizeof(si));
  si.si_signo = ArgInt(env, info, 0);
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_ptr = (void*)(intptr_t)ArgInt(env, info, 1);
  return Int(env, (int32_t)syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), si.si_signo, &si));
}

static napi_value RealtimeRange(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value range;
  napi_create_array_with_length(env, 2, &range);
  napi_set_element(env, range, 0, Int(env, SIGRTMIN));
  napi_set_element(env, range, 1, Int(env, SIGRTMAX));
  return range;
}

NAPI_MODULE_INIT() {
  const struct { const char* name; napi_callback fn; } functions[] = {
      {"setDisposition", SetDisposition}, {"blockSignals", BlockSignals}, {"raiseOnThread", RaiseOnThread},
      {"queuePollSignal", QueuePollSignal}, {"queueValueSignal", QueueValueSignal},
      {"realtimeRange", RealtimeRange}};
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); ++i) {
    napi_value fn;
    napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].fn, NULL, &fn);
    napi_set_named_property(env, exports, functions[i].name, fn);
  }
  return exports;
}
