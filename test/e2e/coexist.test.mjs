// sfprof next to other SIGPROF users: V8's own profiler, a second copy of sfprof, @datadog/pprof and
// an app's own SIGPROF listener.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, preload, root, runNode, tempDir, total } from '../lib/helpers.mjs';

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
    const first = require(${JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'))});
    const second = require(${JSON.stringify(path.join(copy, 'dist', 'bundle', 'index.js'))});
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
  const run = runNode(['-r', preload, '-r', path.join(copy, 'dist', 'bundle', 'auto.js'), path.join(fixtures, 'exit-paths.js')], {
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
      const sfprof = require(${JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'))});
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

/** runNode without blocking the test's event loop, so that several runs can overlap. */
function runNodeAsync(nodeArgs, { env = {}, timeout = 120_000 } = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, nodeArgs, { cwd: root, env: { ...process.env, NODE_OPTIONS: '', ...env }, encoding: 'utf8', timeout },
      (error, stdout, stderr) => {
        const status = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ status, signal: error ? error.signal : null, stdout, stderr });
      });
  });
}

for (const engine of ['itimer', 'perf', 'thread-cpu']) {
  test(`with @datadog/pprof's time profiler (${engine}), either one started and stopped first: both profiles valid, exit 0`, { concurrency: true }, async (t) => {
    const orders = [];
    for (const first of ['sfprof', 'datadog']) for (const stopFirst of ['sfprof', 'datadog']) orders.push({ first, stopFirst, cpu: false });
    // Also with datadog's CPU time collection, in the order where its handler goes last.
    orders.push({ first: 'datadog', stopFirst: 'datadog', cpu: true });
    await Promise.all(orders.map(({ first, stopFirst, cpu }) => t.test(`${first} started first, ${stopFirst} stopped first${cpu ? ', datadog collecting CPU time' : ''}`, async (st) => {
      const run = await runNodeAsync([path.join(fixtures, 'coexist-datadog.js')], {
        env: { ENGINE: engine, FIRST: first, STOP_FIRST: stopFirst, DD_CPU: cpu ? '1' : '0' },
      });
      // With itimer, a timer left armed under the default disposition ends the process with SIGPROF.
      assert.equal(run.signal, null, `killed by ${run.signal}; ${run.stderr}`);
      assert.equal(run.status, 0, run.stderr);
      const result = JSON.parse(run.stdout);
      st.diagnostic(`sfprof ${result.sfprofError ? 'refused' : `${result.sfprof.samples} samples, ${result.sfprof.reinstalls} reinstalls`}; datadog ${result.datadog.samples} samples`);
      assert.ok(result.datadog.samples > 10 && result.datadog.sawBurn, `datadog ${JSON.stringify(result.datadog)}`);
      assert.deepEqual(result.datadog.sampleTypes, cpu ? ['sample', 'wall', 'cpu'] : ['sample', 'wall']);
      // itimer refuses under V8's running profiler (datadog's is built on it, and hides V8's handler
      // under its own); the per-thread engines do not share SIGPROF and always start.
      if (engine === 'itimer' && first === 'datadog') {
        assert.match(result.sfprofError ?? 'started', /V8's CPU profiler .* owns SIGPROF/);
        return;
      }
      assert.equal(result.sfprofError, null);
      assert.equal(result.sfprof.engine, engine);
      // A reinstall means the default disposition was back while our timer was armed: the process
      // survived only because the watcher thread came before the next tick.
      assert.equal(result.sfprof.reinstalls, 0, 'SIGPROF reset to the default disposition under sfprof\'s armed timer');
      // itimer loses the ticks while V8's handler is on top (documented), so it may keep only the
      // 200 ms before datadog started.
      assert.ok(result.sfprof.burnSamples > 10, `sfprof ${JSON.stringify(result.sfprof)}`);
    })));
  });
}

const index = JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'));
const burn = 'function burn(ms) { const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; const e = u() + ms; let x = 0; while (u() < e) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); return x; }';

for (const engine of ['itimer', 'perf']) {
  test(`an app's own SIGPROF listener installed before sfprof (${engine}) gets every SIGPROF it sends itself, during and after`, () => {
    // Our handler takes SIGPROF over; kill(2) signals (SI_USER) go to the app's handler, timer ones
    // (SI_KERNEL) to the profile. The kills are spaced by CPU work: SIGPROF is a standard signal,
    // and two pending at once merge into one.
    const N = 20;
    const script = `${burn}
      let seen = 0;
      process.on('SIGPROF', () => { seen++; });
      const sfprof = require(${index});
      const turn = () => new Promise((resolve) => setTimeout(resolve, 5));
      (async () => {
        sfprof.start({ interval: '1ms', timer: '${engine}' });
        const samplesAt = [];
        for (let i = 0; i < ${N}; i++) {
          burn(20);
          process.kill(process.pid, 'SIGPROF');
          await turn();
          samplesAt.push(sfprof.stats().samplesRecorded);
        }
        burn(50);
        await turn();
        const during = seen;
        const running = sfprof.stats();
        const profile = sfprof.stop();
        process.kill(process.pid, 'SIGPROF');
        await turn(); await turn();
        console.log(JSON.stringify({ during, after: seen, samplesAt, final: profile.totalSamples, forwarded: running.signalsForwarded, folded: sfprof.renderProfile(profile, 'folded') }));
      })();`;
    const run = runNode(['-e', script]);
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    if (engine === 'itimer') {
      // The kernel keeps one pending SIGPROF: a kill that lands while a timer SIGPROF is still
      // pending merges into it (seen once in 20 in CI). Every one that reached our handler as the
      // app's own must reach the app; at most one in the run may merge.
      assert.equal(result.during, result.forwarded, 'each SIGPROF sent by the app went through our handler to the app\'s');
      assert.ok(result.during >= N - 1, `the app's handler saw ${result.during} of the ${N} SIGPROFs it sent while sfprof sampled`);
    } else {
      assert.equal(result.during, N, 'every SIGPROF the app sent reached its handler while sfprof sampled');
      assert.equal(result.forwarded, 0, 'a per-thread engine does not touch SIGPROF');
    }
    assert.equal(result.after, result.during + 1, 'the app\'s handler works after stop');
    // Samples keep coming between the kills: 20 ms of CPU each, several ticks.
    const gapsWithSamples = result.samplesAt.filter((n, i) => n > (i === 0 ? 0 : result.samplesAt[i - 1])).length;
    assert.ok(gapsWithSamples >= N / 2, `samples after each kill: ${result.samplesAt}`);
    assert.ok(result.final > result.samplesAt[N - 1], `samples after the last kill: ${result.samplesAt}, ${result.final}`);
    assert.match(result.folded, /burn \(\[eval\]:1\)/);
  });
}
