#!/usr/bin/env node
// Checks that the compiled signal-context code (the SIGPROF handler and what
// it calls) references no function that is unsafe to run inside a signal
// handler. It lists each object file's undefined symbols with `nm -u` and
// matches them against a table of forbidden patterns. The signal-context
// objects are SIGNAL_CONTEXT_OBJECTS: the handler (with the headers it
// inlines, ring_buffer.h, registers.h and thread_slot.h) and, on Linux, the
// per-thread engines' sample weights.
//
// ELF objects (Linux) and Mach-O objects (macOS) are both understood, by the
// file's magic number rather than by the platform the check runs on: Mach-O
// prefixes every symbol with an underscore, and nm lists its undefined
// symbols by name alone. On Mach-O a thread_local shows up as a reference to
// _tlv_bootstrap, which the rules forbid. NM=llvm-nm picks another nm (one
// that reads Mach-O, to check a cross-compiled object on Linux).
//
// Why: a signal can interrupt the thread anywhere, including inside malloc,
// inside printf, or while it holds a mutex. If the handler then calls malloc
// or takes that same lock, it deadlocks or corrupts the heap. So a handler may
// only do async-signal-safe work: no allocation, no locks, no stdio, no C++
// exceptions or function-local static initialisation (guarded by a lock),
// and no V8 handle or N-API calls (they allocate and touch isolate state).
//
// Usage:
//   node scripts/check-signal-safety.mjs [path/to/object.o ...]
//   node scripts/check-signal-safety.mjs --self-test
// Exit status: 0 if clean, 1 on a forbidden symbol or any error.

import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { elfArch } from './runtimes.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Every translation unit whose code runs in signal context (each says so at its top). A new one
// must be added here, or it goes unchecked. timer_linux_weight.cc is built on Linux only
// (binding.gyp). gc_cause_callbacks.o is not signal context but runs inside a GC, where it is held
// to the same rule (native/gc_cause.h).
export const SIGNAL_CONTEXT_OBJECTS =
  process.platform === 'linux'
    ? ['signal_handler.o', 'timer_linux_weight.o', 'gc_cause_callbacks.o']
    : ['signal_handler.o', 'gc_cause_callbacks.o'];
const BUILD_DIRS = ['build/Release/obj.target/sfprof/native', 'build/Debug/obj.target/sfprof/native'];

// Each rule is tested against both the raw (mangled) and the demangled name.
// Add a row to forbid something new.
export const RULES = [
  {
    pattern: /^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|strdup|strndup)$/,
    reason: 'heap allocation (malloc family) is not async-signal-safe',
  },
  {
    pattern: /^_Z(nw|na|dl|da)|^operator (new|delete)/,
    reason: 'C++ operator new/delete allocates from the heap',
  },
  {
    pattern: /^pthread_(mutex|rwlock|cond|spin)_/,
    reason: 'pthread locks/condition variables can deadlock in a signal handler',
  },
  {
    pattern: /^sem_(wait|timedwait|clockwait|trywait|post|init|destroy|open|close|unlink|getvalue)$/,
    reason: 'semaphores: the handler must not block or hand off through a semaphore',
  },
  {
    pattern: /^(printf|fprintf|sprintf|snprintf|dprintf|vprintf|vfprintf|vsprintf|vsnprintf|vdprintf|puts|fputs|putc|fputc|putchar|fwrite|fflush|perror)$/,
    reason: 'stdio/printf family takes the FILE lock and may allocate',
  },
  {
    pattern: /^__\w*printf_chk$/,
    reason: 'fortified printf family takes the FILE lock and may allocate',
  },
  {
    pattern: /^(fopen|fopen64|fdopen|freopen|fclose)$/,
    reason: 'stdio streams allocate and take locks',
  },
  {
    pattern: /^(v?syslog|__syslog_chk|__vsyslog_chk)$/,
    reason: 'syslog formats, allocates and takes locks',
  },
  {
    pattern: /^_ZSt4c(out|err|log)|^_ZNS[io]|std::(__1::)?(c(out|err|log)\b|(basic_)?[io]stream|ios_base)/,
    reason: 'iostreams allocate and take locks',
  },
  {
    pattern: /^__cxa_(allocate_exception|throw|rethrow)|^std::(__1::)?__throw_/,
    reason: 'throwing a C++ exception allocates and unwinds',
  },
  {
    pattern: /^__cxa_guard_(acquire|release|abort)$/,
    reason: 'function-local static initialisation takes a lock',
  },
  {
    pattern: /^_ZNSt(3__1)?5mutex|std::(__1::)?mutex::/,
    reason: 'std::mutex can deadlock in a signal handler',
  },
  {
    pattern: /HandleScope|GlobalizeReference|DisposeGlobal|CreateHandle/,
    reason: 'V8 handles allocate on the handle heap; not safe from a signal',
  },
  {
    pattern: /v8::String::|v8::Object::|v8::Local\b|\bUtils::|ToLocalChecked/,
    reason: 'V8 object/handle API may allocate or run GC; not safe from a signal',
  },
  {
    pattern: /^(__tls_get_addr|___tls_get_addr|__tls_get_addr_opt|_tlv_bootstrap)$/,
    reason: 'dynamic TLS access: the first touch in a dlopen\'d object may allocate; use the initial-exec model (Linux) or a pthread key (macOS, native/thread_slot_darwin.h)',
  },
  {
    pattern: /^pthread_key_(create|delete)$/,
    reason: 'creating or deleting a pthread key takes a lock; create keys before the handler is installed, in another file',
  },
  {
    pattern: /napi_|Napi::/,
    reason: 'N-API calls need the JS thread in a normal state; not safe from a signal',
  },
];

// Mach-O prefixes every symbol with an extra underscore; GNU nm may append
// a symbol version ("malloc@GLIBC_2.2.5"). `format` is 'elf' or 'macho'.
function normalize(name, format) {
  let n = name.replace(/@.*$/, '');
  if (format === 'macho' && n.startsWith('_')) n = n.slice(1);
  return n;
}

const MACHO_MAGICS = new Set([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe]);

// 'macho' for a Mach-O object (either word size, either byte order), else 'elf'.
export function objectFormat(file) {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    const read = readSync(fd, head, 0, 4, 0);
    return read === 4 && MACHO_MAGICS.has(head.readUInt32BE(0)) ? 'macho' : 'elf';
  } finally {
    closeSync(fd);
  }
}

export function judge(names, format = 'elf') {
  const hits = [];
  for (const name of names) {
    if (!name) continue;
    const n = normalize(name, format);
    for (const rule of RULES) {
      if (rule.pattern.test(n)) hits.push(rule);
    }
  }
  return hits;
}

// A cross-built object is read with its own toolchain's nm when there is one (aarch64-linux-gnu-nm
// for the linux-arm64 build on x64): the host's nm may not know the machine, or read it only as
// generic ELF.
const NM_PREFIX = { arm64: 'aarch64-linux-gnu-', x64: 'x86_64-linux-gnu-' };
const nmChosen = new Map();
export function nmFor(file) {
  const prefix = NM_PREFIX[elfArch(file)];
  if (!prefix) return 'nm';
  if (!nmChosen.has(prefix)) nmChosen.set(prefix, spawnSync(`${prefix}nm`, ['--version'], { stdio: 'ignore' }).status === 0 ? `${prefix}nm` : 'nm');
  return nmChosen.get(prefix);
}

function undefinedSymbols(file, format, demangle) {
  // Mach-O: -j asks for names alone, which is how nm lists undefined Mach-O symbols anyway.
  const args = format === 'macho' ? ['-u', '-j', '-p'] : ['-u', '-p'];
  if (demangle) args.push('-C');
  args.push(file);
  const out = execFileSync(process.env.NM || nmFor(file), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const names = [];
  for (const line of out.split('\n')) {
    // "                 U name" (or "w" for weak undefined); demangled names may contain spaces
    const m = /^\s*[Uuvw]\s+(.+?)\s*$/.exec(line);
    if (m) names.push(m[1]);
    // Mach-O: the bare name. Without this every line was skipped and a Mach-O object passed empty.
    else if (format === 'macho' && line.trim() !== '') names.push(line.trim());
  }
  return names;
}

// Returns [{ raw, demangled }] for every undefined symbol of the object file.
export function readSymbols(file, format = objectFormat(file)) {
  const raw = undefinedSymbols(file, format, false);
  let dem;
  try {
    dem = undefinedSymbols(file, format, true);
  } catch (err) {
    // An nm without -C (older cctools nm on macOS): the mangled names are checked alone.
    if (format !== 'macho') throw err;
    dem = raw;
  }
  if (raw.length === dem.length) {
    return raw.map((r, i) => ({ raw: r, demangled: dem[i] }));
  }
  // Could not pair the two listings: check every name on its own.
  return [
    ...raw.map((r) => ({ raw: r, demangled: r })),
    ...dem.map((d) => ({ raw: d, demangled: d })),
  ];
}

export function checkObject(file) {
  const format = objectFormat(file);
  const symbols = readSymbols(file, format);
  const offending = [];
  const allowed = [];
  for (const sym of symbols) {
    const rules = [...new Set(judge([sym.raw, sym.demangled], format))];
    if (rules.length) offending.push({ ...sym, rules });
    else allowed.push(sym);
  }
  return { symbols, offending, allowed, format };
}

function label(sym) {
  return sym.raw === sym.demangled ? sym.raw : `${sym.demangled}  [${sym.raw}]`;
}

function runCheck(file) {
  const { symbols, offending, allowed, format } = checkObject(file);
  console.log(`Undefined symbols allowed in ${file} (${format === 'macho' ? 'Mach-O' : 'ELF'}):`);
  if (allowed.length === 0) console.log('  (none)');
  for (const sym of allowed) console.log(`  ${label(sym)}`);
  if (offending.length) {
    console.error(`\nFORBIDDEN symbols referenced from signal-context code (${file}):`);
    for (const sym of offending) {
      for (const rule of sym.rules) console.error(`  ${label(sym)}\n      -> ${rule.reason}  (${rule.pattern})`);
    }
    console.error(`signal-safety: FAIL, ${offending.length} forbidden of ${symbols.length} undefined symbols`);
    return 1;
  }
  if (symbols.length === 0) {
    // The handler calls at least GetStackSample and clock_gettime: an empty list means nm's output
    // was not understood, not that the code is clean.
    console.error(`signal-safety: FAIL, ${file}: no undefined symbols read; is ${process.env.NM || nmFor(file)} able to read this object?`);
    return 1;
  }
  console.log(`signal-safety: OK, ${file} (${elfArch(file) ?? 'not ELF'}, read with ${process.env.NM || nmFor(file)}): ${symbols.length} undefined symbols, none forbidden`);
  return 0;
}

const BAD_SNIPPET = `
#include <cstdio>
#include <cstdlib>
extern "C" void *bad_handler(int n) {
  char *p = static_cast<char *>(malloc(n));
  printf("allocated %d bytes at %p\\n", n, static_cast<void *>(p));
  return p;
}
`;

// A thread_local read from code built for a shared object: a __tls_get_addr call on ELF (the
// default model with -fPIC), a _tlv_bootstrap descriptor on Mach-O.
const TLS_SNIPPET = `
thread_local void *slot = nullptr;
extern "C" void *tls_handler() { return slot; }
`;

const GOOD_SNIPPET = `
#include <atomic>
#include <time.h>
static std::atomic<unsigned long> samples{0};
extern "C" long good_handler() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  samples.fetch_add(1, std::memory_order_relaxed);
  return ts.tv_nsec;
}
`;

function selfTest() {
  let failures = 0;
  const expect = (ok, what) => {
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what}`);
    if (!ok) failures++;
  };

  // The rule table on its own, with names as nm prints them for ELF and for Mach-O.
  const flagged = (name, format = 'elf') => judge([name], format).length > 0;
  for (const name of ['malloc', 'free', '_Znwm', '_ZnamRKSt9nothrow_t', '_ZdlPvm', '_ZdaPv', 'pthread_mutex_lock',
    '__printf_chk', '__cxa_guard_acquire', '_ZNSt5mutex4lockEv', 'pthread_key_create',
    'v8::HandleScope::HandleScope(v8::Isolate*)', 'napi_create_string_utf8', '__tls_get_addr']) {
    expect(flagged(name), `rule table flags ${name}`);
  }
  for (const name of ['clock_gettime', '__errno_location', '__stack_chk_fail',
    'v8::Isolate::GetStackSample(v8::RegisterState const&, void**, unsigned long, v8::SampleInfo*)']) {
    expect(!flagged(name), `rule table allows ${name}`);
  }
  for (const name of ['_malloc', '__Znwm', '_pthread_mutex_lock', '___cxa_guard_acquire', '__tlv_bootstrap']) {
    expect(flagged(name, 'macho'), `rule table flags Mach-O ${name}`);
  }
  for (const name of ['_clock_gettime', '___error', '_pthread_getspecific', '_pthread_setspecific']) {
    expect(!flagged(name, 'macho'), `rule table allows Mach-O ${name}`);
  }

  // Real object files from a compiler.
  const dir = mkdtempSync(join(tmpdir(), 'signal-safety-'));
  try {
    const compile = (name, source) => {
      const src = join(dir, `${name}.cc`);
      const obj = join(dir, `${name}.o`);
      writeFileSync(src, source);
      execFileSync('c++', ['-c', '-O2', '-fPIC', '-x', 'c++', src, '-o', obj], { stdio: ['ignore', 'pipe', 'pipe'] });
      return obj;
    };
    const bad = checkObject(compile('bad', BAD_SNIPPET));
    const badNames = bad.offending.map((s) => normalize(s.raw, bad.format));
    console.log(`      bad snippet flagged: ${badNames.join(', ') || '(nothing)'}`);
    expect(badNames.some((n) => /^malloc$/.test(n)), 'malloc+printf snippet: malloc is flagged');
    expect(badNames.some((n) => /printf|^puts$/.test(n)), 'malloc+printf snippet: printf is flagged');

    const tls = checkObject(compile('tls', TLS_SNIPPET));
    const tlsNames = tls.offending.map((s) => normalize(s.raw, tls.format));
    console.log(`      thread_local snippet flagged: ${tlsNames.join(', ') || '(nothing)'}`);
    expect(tlsNames.some((n) => /tls_get_addr|^_tlv_bootstrap$/.test(n)), 'thread_local snippet: the dynamic TLS access is flagged');

    const good = checkObject(compile('good', GOOD_SNIPPET));
    console.log(`      good snippet allowed: ${good.allowed.map(label).join(', ') || '(nothing)'}`);
    expect(good.offending.length === 0, 'atomic+clock_gettime snippet passes');
    expect(good.allowed.some((s) => normalize(s.raw, good.format) === 'clock_gettime'), 'atomic+clock_gettime snippet: clock_gettime listed as allowed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(failures ? `self-test: FAIL, ${failures} check(s) misjudged` : 'self-test: OK');
  return failures ? 1 : 0;
}

function main(argv) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: node scripts/check-signal-safety.mjs [path/to/object.o ...] | --self-test');
    return 0;
  }
  if (argv.includes('--self-test')) return selfTest();

  let files;
  if (argv.length > 0) {
    files = argv.map((arg) => resolve(arg));
    const missing = files.find((file) => !existsSync(file));
    if (missing) {
      console.error(`check-signal-safety: ${missing} does not exist`);
      return 1;
    }
  } else {
    // The first build that has the handler; every signal-context object must be in it.
    const dir = BUILD_DIRS.map((d) => join(ROOT, d)).find((d) => existsSync(join(d, SIGNAL_CONTEXT_OBJECTS[0])));
    if (!dir) {
      console.error(`check-signal-safety: no ${SIGNAL_CONTEXT_OBJECTS[0]} found; looked in:`);
      for (const d of BUILD_DIRS) console.error(`  ${d}`);
      console.error('Build the native addon first (e.g. `npx node-gyp rebuild`), or pass the object file paths.');
      return 1;
    }
    files = SIGNAL_CONTEXT_OBJECTS.map((name) => join(dir, name));
    const missing = files.filter((file) => !existsSync(file));
    if (missing.length > 0) {
      console.error(`check-signal-safety: signal-context objects missing from ${dir}: ${missing.map((f) => basename(f)).join(', ')}`);
      return 1;
    }
  }
  let status = 0;
  for (const file of files) status |= runCheck(file);
  return status;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    const detail = err.stderr ? String(err.stderr).trim() : '';
    console.error(`check-signal-safety: ${err.message}${detail ? `\n${detail}` : ''}`);
    process.exitCode = 1;
  }
}
