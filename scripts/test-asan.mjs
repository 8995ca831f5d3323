#!/usr/bin/env node
// npm run test:asan: the addon built with AddressSanitizer and UndefinedBehaviorSanitizer (binding.gyp's
// sfprof_sanitize switch), then the native unit tests and the end-to-end tests that drive the addon,
// run against that build. Linux with GCC's sanitizer runtimes (Debian: libasan8, libubsan1).
//
// The build happens in a temporary copy of the package, so build/Release (the normal build) is left
// alone. Node itself is not instrumented: the sanitizer runtimes are preloaded with LD_PRELOAD, which
// every process the tests start inherits. A report ends its process with a distinctive status, and
// is collected afterwards from any process, including one whose test accepted how it exited.
//
// Usage:
//   node scripts/test-asan.mjs                        native tests and the default test files
//   node scripts/test-asan.mjs test/e2e/api.test.mjs ...  native tests and only these files
// SFPROF_ASAN_KEEP=1 keeps the temporary copy (it is always kept when the run fails).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SANITIZE = 'address,undefined';
// What the tests need from the package; dist/ is compiled in the copy so it matches src/.
const COPIED = ['package.json', 'binding.gyp', 'tsconfig.json', 'bin', 'native', 'scripts', 'src', 'templates', 'test', 'examples'];
// The tests that load the addon and sample, in this process or in the processes they start. Left out:
// cli (its recordings take the preload path auto covers; the rest is JS), soak (minutes long, and it
// measures memory, which ASan's allocator changes), package (npm pack builds an unsanitized prebuild),
// loader (--no-addons: the addon never loads), signal-safety (a static check of the object file),
// bench (other profilers' addons, minutes long), ring-buffer (runs the native tests, which run below)
// and the pure-JS tests.
const DEFAULT_TESTS = [
  ...['api', 'lifecycle', 'threads', 'eintr', 'coexist', 'engines', 'auto', 'storm', 'output-safety', 'signal-setups', 'worker-sessions', 'gc-cause', 'pacer', 'labels', 'stall'].map(
    (name) => `test/e2e/${name}.test.mjs`,
  ),
  'test/native/native-errors.test.mjs',
];
// Not 1, so that a test expecting a plain failure cannot mistake a sanitizer report for it.
const REPORT_EXIT_CODE = 86;
// How a report starts, in a log file or in the test output.
const REPORT_LINE = /(?:ERROR: (?:AddressSanitizer|LeakSanitizer)|[^\s'"]*: runtime error:)[^\n'"\\]*/g;

const started = Date.now();

function finish(ok, summary) {
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  console.log(`\ntest:asan: ${ok ? 'PASS' : 'FAIL'}: ${summary} (${seconds} s)`);
  process.exit(ok ? 0 : 1);
}

/** Runs a command with its output on ours, after printing it; `env` is added to the environment. */
function run(command, args, { cwd, env = {}, capture = false } = {}) {
  const prefix = Object.entries(env).map(([key, value]) => `${key}=${JSON.stringify(value)} `).join('');
  console.log(`\n$ ${prefix}${[command === process.execPath ? 'node' : command, ...args].join(' ')}`);
  const begun = Date.now();
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
  });
  if (result.error) finish(false, `could not run ${command}: ${result.error.message}`);
  if (capture) process.stdout.write(result.stdout);
  console.log(`(${((Date.now() - begun) / 1000).toFixed(1)} s)`);
  return result;
}

/** A sanitizer runtime as the compiler knows it, or null when it is not installed. */
function runtime(cxx, name) {
  const result = spawnSync(cxx, [`-print-file-name=${name}`], { encoding: 'utf8' });
  if (result.error || result.status !== 0) finish(false, `could not run the C++ compiler "${cxx}" (set CXX to g++)`);
  const file = result.stdout.trim();
  // An unknown name comes back unchanged; a dangling link means the runtime package is missing.
  return path.isAbsolute(file) && fs.existsSync(file) ? file : null;
}

// ---- preflight ----
if (process.platform !== 'linux') finish(false, `the sanitizer run supports Linux only (runtimes are preloaded with LD_PRELOAD), not ${process.platform}`);
if (Number(process.versions.node.split('.')[0]) < 20) finish(false, `Node.js 20 or later is required, this is ${process.version}`);
if (!fs.existsSync(path.join(ROOT, 'node_modules', 'node-gyp'))) finish(false, 'node_modules is missing: run npm install first');
const cxx = process.env.CXX || 'c++';
const runtimes = ['libasan.so', 'libubsan.so'].map((name) => [name, runtime(cxx, name)]);
const missing = runtimes.filter(([, file]) => !file).map(([name]) => name);
if (missing.length > 0) {
  finish(false, `${missing.join(' and ')} not found by "${cxx} -print-file-name": install GCC's sanitizer runtimes ` +
    '(Debian 12: apt-get install libasan8 libubsan1; g++-12 normally brings them in through libgcc-12-dev)');
}
// ASan's runtime must come first in the process.
const preload = [...runtimes.map(([, file]) => file), process.env.LD_PRELOAD].filter(Boolean).join(' ');

// ---- the copy ----
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-asan-'));
const logs = path.join(work, 'sanitizer-logs');
fs.mkdirSync(logs);
console.log(`test:asan: sanitized copy of the package in ${work}`);
for (const entry of COPIED) {
  const from = path.join(ROOT, entry);
  if (fs.existsSync(from)) fs.cpSync(from, path.join(work, entry), { recursive: true });
}
fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');

// ASan writes its reports to <logs>/report.<pid>. GCC's libubsan ignores log_path next to libasan (its
// call to set it binds to libasan's copy), so UBSan reports go to the process's stderr: halting on
// the first one fails the test that ran the process, and the test output is searched for them below.
// Both get the same log_path, so a report lands in <logs> whichever runtime applies it. Node leaks
// by design at exit (it does not free its heap), so leak checking is off for Node processes; the
// native test programs are ours and keep it. Options already in the environment come last and win.
const extra = (name) => (process.env[name] ? `:${process.env[name]}` : '');
const common = `exitcode=${REPORT_EXIT_CODE}:log_path=${logs}/report`;
const ubsanOptions = `halt_on_error=1:print_stacktrace=1:${common}${extra('UBSAN_OPTIONS')}`;
const asanOptions = (leaks) => `detect_leaks=${leaks ? 1 : 0}:${common}${extra('ASAN_OPTIONS')}`;

const failures = [];

// ---- build ----
if (run(process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: work }).status !== 0) {
  finish(false, `TypeScript did not compile; the copy is in ${work}`);
}
// The preload and the package's main run from the bundle, as they ship.
if (run(process.execPath, [path.join('scripts', 'bundle.mjs')], { cwd: work }).status !== 0) {
  finish(false, `the bundle was not built; the copy is in ${work}`);
}
const gypArgs = ['rebuild', '--jobs=max', '--loglevel=warn'];
// The running Node's own headers when it ships them (distribution packages, official tarballs):
// nothing to download. A nodedir from npm's configuration wins.
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && fs.existsSync(path.join(nodeDir, 'include', 'node', 'common.gypi'))) {
  gypArgs.push(`--nodedir=${nodeDir}`);
}
gypArgs.push('--', `-Dsfprof_sanitize=${SANITIZE}`);
if (run(process.execPath, [path.join('node_modules', 'node-gyp', 'bin', 'node-gyp.js'), ...gypArgs], { cwd: work }).status !== 0) {
  finish(false, `node-gyp could not build the sanitized addon; the copy is in ${work}`);
}
const addon = path.join(work, 'build', 'Release', 'sfprof.node');
const binary = fs.readFileSync(addon);
if (!binary.includes('__asan_init') || !binary.includes('__ubsan_handle_')) {
  finish(false, `${addon} has no sanitizer instrumentation: binding.gyp ignored -Dsfprof_sanitize=${SANITIZE}`);
}
// The tests must load this build, not a prebuild.
const loads = spawnSync(process.execPath, ['-p', `require('node-gyp-build').path(${JSON.stringify(work)})`], { cwd: work, encoding: 'utf8' });
if (loads.stdout.trim() !== addon) finish(false, `the copy would load ${loads.stdout.trim() || loads.stderr.trim()} instead of ${addon}`);
console.log(`sanitized addon: ${addon}`);

// ---- native unit tests ----
const built = run(process.execPath, [path.join('scripts', 'build-native-tests.mjs')], { cwd: work, env: { SFPROF_SANITIZE: SANITIZE }, capture: true });
const nativeTests = built.status === 0 ? built.stdout.split('\n').filter(Boolean) : [];
if (built.status !== 0) failures.push('the native tests did not build');
for (const test of nativeTests) {
  const result = run(test, [], { cwd: work, env: { ASAN_OPTIONS: asanOptions(true), UBSAN_OPTIONS: ubsanOptions } });
  if (result.status !== 0) failures.push(`native test ${path.basename(test)} exited with ${result.signal ?? result.status}`);
}

// ---- end-to-end tests ----
const requested = process.argv.slice(2);
const tests = requested.length > 0 ? requested : DEFAULT_TESTS;
for (const test of tests) {
  if (!fs.existsSync(path.join(work, test))) finish(false, `no such test file: ${test}`);
}
// A second reporter keeps a TAP copy: the counts, and the test processes' stderr and failure messages.
const tap = path.join(work, 'results.tap');
const e2e = run(process.execPath, [
  '--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...tests,
], { cwd: work, env: { NODE_OPTIONS: '', LD_PRELOAD: preload, ASAN_OPTIONS: asanOptions(false), UBSAN_OPTIONS: ubsanOptions } });
const output = fs.existsSync(tap) ? fs.readFileSync(tap, 'utf8') : '';
const counts = {};
for (const match of output.matchAll(/^# (tests|pass|fail|skipped|todo|cancelled) (\d+)$/gm)) counts[match[1]] = Number(match[2]);
if (e2e.status !== 0) failures.push(`node --test exited with ${e2e.signal ?? e2e.status} (${counts.fail ?? '?'} failed, ${counts.cancelled ?? '?'} cancelled)`);

// ---- sanitizer reports, from any process ----
const files = fs.readdirSync(logs).map((name) => path.join(logs, name));
for (const file of files) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  console.log(`\n---- ${file} ----\n${lines.slice(0, 200).join('\n')}${lines.length > 200 ? `\n... (${lines.length - 200} more lines)` : ''}`);
}
const inOutput = [...new Set(output.match(REPORT_LINE) ?? [])];
if (inOutput.length > 0) console.log(`\n---- reports in the test output (see the failures above) ----\n${inOutput.slice(0, 20).join('\n')}`);
const reports = files.length + inOutput.length;
if (reports > 0) failures.push(`sanitizer reports: ${files.length} log file(s), ${inOutput.length} distinct in the test output`);

const summary = `${nativeTests.length} native test(s); ${tests.length} test files, ${counts.pass ?? 0} of ${counts.tests ?? '?'} tests passed` +
  `${counts.skipped ? `, ${counts.skipped} skipped` : ''}`;
if (failures.length > 0) {
  console.log(`\nthe sanitized copy is kept in ${work}`);
  finish(false, `${failures.join('; ')}. ${summary}`);
}
if (process.env.SFPROF_ASAN_KEEP === '1') console.log(`\nthe sanitized copy is kept in ${work}`);
else fs.rmSync(work, { recursive: true, force: true });
finish(true, `${summary}; no sanitizer reports`);
