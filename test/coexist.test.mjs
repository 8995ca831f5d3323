// sfprof next to other SIGPROF users: V8's own profiler and a second copy of sfprof.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, preload, root, runNode, tempDir, total } from './helpers.mjs';

test('runs together with node --cpu-prof: both profiles valid, exit 0', () => {
  const dir = tempDir();
  const output = path.join(dir, 'sfprof.folded');
  const run = runNode(
    ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '1000', '-r', preload, path.join(fixtures, 'exit-paths.js')],
    { env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output, SPIN_MS: '800' } },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.signal, null);
  const cpuprofiles = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  assert.equal(cpuprofiles.length, 1);
  const cpuprofile = JSON.parse(fs.readFileSync(path.join(dir, cpuprofiles[0]), 'utf8'));
  assert.ok(Array.isArray(cpuprofile.nodes) && cpuprofile.nodes.length > 1);
  assert.ok(cpuprofile.samples.length > 100, `V8 took ${cpuprofile.samples.length} samples`);
  const spinNode = cpuprofile.nodes.find((n) => n.callFrame.functionName === 'spin');
  assert.ok(spinNode, 'V8 saw spin()');
  const stacks = parseFoldedFile(output);
  assert.ok(total(stacks, (s) => s.frames.some((f) => f.startsWith('spin ('))) > 50, 'sfprof saw spin()');
});

function copyPackage() {
  // A second install of sfprof at another path: its own copy of the addon binary.
  const copy = path.join(root, 'build', 'second-copy');
  fs.rmSync(copy, { recursive: true, force: true });
  fs.mkdirSync(path.join(copy, 'build', 'Release'), { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  const binary = createRequire(import.meta.url)('node-gyp-build').path(root); // local build or prebuild
  fs.copyFileSync(binary, path.join(copy, 'build', 'Release', 'sfprof.node'));
  return copy;
}

test('a second copy of sfprof refuses to chain to the first (no recursion)', () => {
  const copy = copyPackage();
  const script = `
    const first = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
    const second = require(${JSON.stringify(path.join(copy, 'dist', 'index.js'))});
    first.start({ interval: '1ms', timer: 'itimer' });
    let message = 'no error';
    try { second.start({ interval: '1ms', timer: 'itimer' }); } catch (error) { message = error.message; }
    const end = Date.now() + 300; let x = 0; while (Date.now() < end) x++;
    const profile = first.stop();
    console.log(JSON.stringify({ message, samples: profile.totalSamples, running: second.isRunning() }));
  `;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.match(result.message, /another copy of sfprof \(.*second-copy\/build\/Release\/sfprof\.node\)|another copy of sfprof \(.*\/build\/Release\/sfprof\.node\)/);
  assert.ok(result.samples > 10);
  assert.equal(result.running, false);
});

test('two preloads of different copies: the second warns in one line, the app runs', () => {
  const copy = copyPackage();
  const dir = tempDir();
  const run = runNode(['-r', preload, '-r', path.join(copy, 'dist', 'auto.js'), path.join(fixtures, 'exit-paths.js')], {
    env: { SFPROF_OUTPUT: path.join(dir, 'p-{pid}.folded'), SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer' },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /app ran/);
  const warnings = run.stderr.split('\n').filter((l) => /another copy of sfprof/.test(l));
  assert.equal(warnings.length, 1, run.stderr);
  assert.match(warnings[0], /not profiling/);
  assert.equal(fs.readdirSync(dir).length, 1, 'the first copy wrote its profile');
});

for (const ending of ['process.exit(0)', "throw new Error('late failure')"]) {
  test(`API under node --cpu-prof, ended by ${ending} without stop(): V8's restore cannot kill the app`, () => {
    // Node stops --cpu-prof's profiler (restoring SIG_DFL) before C exit handlers run; sfprof's
    // Node AtExit hook must have disarmed the timer first.
    const dir = tempDir();
    const script = `
      const sfprof = require(${JSON.stringify(path.join(root, 'dist', 'index.js'))});
      sfprof.start({ interval: '1ms', timer: 'itimer' });
      const end = Date.now() + 400; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);
      ${ending};`;
    const expected = ending.startsWith('process') ? 0 : 1;
    for (let i = 0; i < 4; i++) {
      const run = runNode(['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '1000', '-e', script]);
      assert.equal(run.signal, null, `run ${i} died of ${run.signal}`);
      assert.equal(run.status, expected, run.stderr);
    }
  });
}
