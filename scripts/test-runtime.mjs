// Runs the tests under another supported Node: rebuilds the addon against that runtime's headers,
// runs the test files with its node, then rebuilds for the running Node again (also on failure).
//   node scripts/test-runtime.mjs <name|major> [--subset]
// Without --subset: every test (npm test's files). With it: the offline and native tests and the
// end-to-end tests of the sampler, the formats and the preload (the CI subset for the versions
// between the oldest and the newest).
//   node scripts/test-runtime.mjs <major>-arm64      (on x64: an arm64 runtime, under qemu-user)
// An arm64 runtime on x64 is cross-compiled for and run under emulation (scripts/arm64-emulation.mjs),
// 10-30 times slower, so it runs the EMULATED tests only: the sampler's (API, preload with the known
// split, each engine qemu-user can run, the deep known stack, formats written and read back) and the
// signal-safety check of the arm64 object. The offline tests run the same JS on any architecture
// and stay native.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { checkArm64Node, emulatedEnv, ensureArm64Emulation } from './arm64-emulation.mjs';
import { buildFor, currentRuntime, findRuntime, root } from './runtimes.mjs';

const SUBSET_E2E = ['labelled-server', 'stall', 'api', 'auto', 'cli', 'engines', 'threads', 'lifecycle', 'continuous', 'output-safety', 'production', 'labels'];
// The emulated subset: whole files, or the named tests of a file (a --test-name-pattern), chosen to
// keep it to a few minutes: the sampler and its engines whole; of the preload, the known split, the
// line modes, a clean and a signalled exit, workers and the package name; of the CLI, every format
// written and read back. The CLI's and the preload's other tests are JavaScript that behaves alike
// on every architecture.
const EMULATED = [
  { file: 'native/signal-safety' },
  { file: 'native/wire-format' },
  { file: 'e2e/api' },
  { file: 'e2e/engines' },
  { file: 'e2e/stacks' },
  { file: 'e2e/auto', tests: '^(line mode|function mode|exit path "(normal|throw|SIGTERM)"|workers load|the package name)' },
  { file: 'e2e/cli', tests: '^(record writes every format|report converts folded and pprof)' },
];

const [name, flag] = process.argv.slice(2);
if (!name || (flag !== undefined && flag !== '--subset')) {
  console.error('usage: node scripts/test-runtime.mjs <name|major|major-arm64> [--subset]');
  process.exit(2);
}
const runtime = findRuntime(name);
const emulated = runtime.arch !== process.arch;
if (emulated && runtime.arch !== 'arm64') {
  console.error(`test-runtime: ${runtime.name} is for ${runtime.arch}; only arm64 is emulated here (on x64)`);
  process.exit(2);
}
const inFolder = (folder) => fs.readdirSync(path.join(root, 'test', folder)).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('test', folder, f));
const testFile = (name) => path.join('test', `${name}.test.mjs`);
// One node --test run per entry: the whole files together, then each file with its test names.
const runs = emulated
  ? [[...EMULATED.filter((e) => !e.tests).map((e) => testFile(e.file))], ...EMULATED.filter((e) => e.tests).map((e) => [`--test-name-pattern=${e.tests}`, testFile(e.file)])]
  : [flag === '--subset'
    ? [...inFolder('unit'), ...inFolder('native'), ...SUBSET_E2E.map((n) => path.join('test', 'e2e', `${n}.test.mjs`)), path.join('test', 'viewers', 'pprof-and-cpuprofile.test.mjs')]
    : ['unit', 'native', 'e2e', 'viewers'].flatMap(inFolder)];
const fileCount = runs.flat().filter((arg) => !arg.startsWith('--')).length;

let env = process.env;
if (emulated) {
  try {
    console.log(`test-runtime: ${ensureArm64Emulation()}`);
    checkArm64Node(runtime.node);
  } catch (error) {
    console.error(`test-runtime: ${error.message}`);
    process.exit(1);
  }
  env = { ...emulatedEnv(), SFPROF_TEST_EMULATED: 'qemu-user' };
}
const what = emulated ? ' (the emulated subset, under qemu-user)' : flag ? ' (subset)' : '';
console.log(`test-runtime: Node ${runtime.version} ${runtime.arch} (ABI ${runtime.abi}), ${fileCount} test files${what}`);
const started = Date.now();
let status = 1;
try {
  buildFor(runtime, { quiet: true });
  status = 0;
  for (const args of runs) {
    const run = spawnSync(runtime.node, ['--test', '--test-concurrency=1', ...args], { cwd: root, env, stdio: 'inherit' });
    if (run.status !== 0) status = run.status ?? 1;
  }
} finally {
  buildFor(currentRuntime(), { quiet: true });
}
console.log(`test-runtime: Node ${runtime.version} ${runtime.arch}: ${status === 0 ? 'passed' : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(status);
