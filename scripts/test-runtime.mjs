// Runs the tests under another supported Node: rebuilds the addon against that runtime's headers,
// runs the test files with its node, then rebuilds for the running Node again (also on failure).
//   node scripts/test-runtime.mjs <name|major> [--subset]
// Without --subset: every test (npm test's files). With it: the offline and native tests and the
// end-to-end tests of the sampler, the formats and the preload (the CI subset for the versions
// between the oldest and the newest).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { buildFor, currentRuntime, findRuntime, root } from './runtimes.mjs';

const SUBSET_E2E = ['api', 'auto', 'cli', 'engines', 'threads', 'lifecycle', 'continuous', 'output-safety', 'production'];

const [name, flag] = process.argv.slice(2);
if (!name || (flag !== undefined && flag !== '--subset')) {
  console.error('usage: node scripts/test-runtime.mjs <name|major> [--subset]');
  process.exit(2);
}
const runtime = findRuntime(name);
const inFolder = (folder) => fs.readdirSync(path.join(root, 'test', folder)).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => path.join('test', folder, f));
const files = flag === '--subset'
  ? [...inFolder('unit'), ...inFolder('native'), ...SUBSET_E2E.map((n) => path.join('test', 'e2e', `${n}.test.mjs`)), path.join('test', 'viewers', 'pprof-and-cpuprofile.test.mjs')]
  : ['unit', 'native', 'e2e', 'viewers'].flatMap(inFolder);

console.log(`test-runtime: Node ${runtime.version} (ABI ${runtime.abi}), ${files.length} test files${flag ? ' (subset)' : ''}`);
let status = 1;
try {
  buildFor(runtime, { quiet: true });
  const run = spawnSync(runtime.node, ['--test', '--test-concurrency=1', ...files], { cwd: root, stdio: 'inherit' });
  status = run.status ?? 1;
} finally {
  buildFor(currentRuntime(), { quiet: true });
}
process.exit(status);
