// The pacer engine (Linux): one sampler thread signals each JS thread per interval of its CPU time.
// Its rate, weights and joined thread on a pure-CPU loop are in engines.test.mjs, its counted losses
// and signal ownership in signal-setups.test.mjs, terminate storms and workers across sessions in
// threads.test.mjs. Here: workers' CPU time by weight, many sessions in a row, and the errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile } from 'pprof-format';

import { fixtures, preload, root, runNode, tempDir } from '../lib/helpers.mjs';

const skip = process.platform !== 'linux' && 'the pacer engine is Linux only';

test('four busy workers under pacer at 1 ms: each one\'s sampled CPU time matches its share ± 5 pp, under its own root', { skip }, (t) => {
  const output = path.join(tempDir(), 'pacer.pb.gz');
  const run = runNode(['-r', preload, path.join(fixtures, 'workers.js')], {
    env: { SFPROF_TIMER: 'pacer', SFPROF_INTERVAL: '1ms', SFPROF_OUTPUT: output, MODE: 'equal', WORKERS: '4', BURN_MS: '1200' },
  });
  assert.equal(run.status, 0, run.stderr);
  const cpuTicks = JSON.parse(run.stdout).workerCpuTicks;
  const decoded = PprofProfile.decode(gunzipSync(fs.readFileSync(output)));
  const strings = decoded.stringTable.strings;
  assert.deepEqual(decoded.sampleType.map((type) => strings[Number(type.type)]), ['samples', 'cpu']);
  // Per thread label: samples and their weights (the CPU time each one stands for).
  const byThread = {};
  for (const sample of decoded.sample) {
    const thread = sample.label.map((label) => strings[Number(label.str)])[0] ?? '';
    const entry = (byThread[thread] ??= { samples: 0, cpuNs: 0 });
    entry.samples += Number(sample.value[0]);
    entry.cpuNs += Number(sample.value[1]);
  }
  const workers = Object.keys(byThread).filter((name) => /^worker \d+/.test(name));
  assert.equal(workers.length, 4, JSON.stringify(byThread));
  assert.equal(Object.keys(cpuTicks).length, 4, JSON.stringify(cpuTicks));
  const cpuTotal = Object.values(cpuTicks).reduce((sum, ticks) => sum + ticks, 0);
  const weightTotal = workers.reduce((sum, name) => sum + byThread[name].cpuNs, 0);
  const lines = [];
  for (const name of workers) {
    const share = (100 * byThread[name].cpuNs) / weightTotal;
    const cpuShare = (100 * cpuTicks[/\d+/.exec(name)[0]]) / cpuTotal;
    lines.push(`${name}: ${share.toFixed(1)}% of weight, ${byThread[name].samples} samples (CPU ${cpuShare.toFixed(1)}%)`);
    assert.ok(byThread[name].samples >= 20, lines.at(-1));
    assert.ok(Math.abs(share - cpuShare) <= 5, lines.join('; '));
  }
  t.diagnostic(lines.join('; '));
  // Every thread's samples sit under its own root; per-thread signals never land elsewhere.
  assert.ok(byThread.main, 'the main thread is labelled main');
  assert.equal(Object.keys(byThread).filter((name) => name.includes('other threads')).length, 0, JSON.stringify(Object.keys(byThread)));
  // The weights add up to the workers' CPU time (the tick counts are in 10 ms units), less what each
  // worker spent before it attached (its start-up and V8's listing of its code: ~25% of the CPU
  // time under the ASan build).
  const ratio = weightTotal / 1e6 / (cpuTotal * 10);
  assert.ok(ratio > 0.65 && ratio < 1.1, `workers' weights ${(weightTotal / 1e6).toFixed(0)} ms vs ${cpuTotal * 10} ms of CPU`);
});

test('ten pacer sessions in a row, a worker re-attached to each: samples in each, the pacer thread joined at every stop()', { skip }, (t) => {
  const run = runNode([path.join(fixtures, 'pacer-cycles.js')], { env: { CYCLES: '10', BURN_MS: '150' } });
  assert.equal(run.signal, null, `ended by ${run.signal}: ${run.stderr}`);
  assert.equal(run.status, 0, run.stderr);
  const { cycles, afterTerminate } = JSON.parse(run.stdout);
  assert.equal(cycles.length, 10);
  for (const [i, cycle] of cycles.entries()) {
    const at = `session ${i + 1}: ${JSON.stringify(cycle)}`;
    assert.equal(cycle.engine, 'pacer', at);
    assert.equal(cycle.during, 1, `one pacer thread while sampling; ${at}`);
    assert.equal(cycle.after, 0, `no pacer thread after stop(); ${at}`);
    // 150 ms of wall time busy on each thread at 1 ms: ~150 samples each on an idle machine, far
    // fewer when other processes take the cores (and the pacer thread waits its turn).
    assert.ok((cycle.roots.main ?? 0) >= 5, `main sampled; ${at}`);
    assert.ok((cycle.roots.worker ?? 0) >= 5, `the worker sampled under its own root; ${at}`);
    assert.equal(cycle.drops.nonJsThread, 0, at);
    assert.equal(cycle.drops.ringFull, 0, at);
  }
  assert.equal(afterTerminate, 0);
  t.diagnostic(cycles.map((c) => `${c.roots.main ?? 0}+${c.roots.worker ?? 0}`).join(' '));
});

test('a bad timer value names the option, the value and every engine, pacer included', { skip }, () => {
  const api = runNode(['-e', `try { require(${JSON.stringify(root)}).start({ timer: 'pacr' }); } catch (e) { console.log(e.message); }`]);
  assert.equal(api.stdout.trim(), 'sfprof: option "timer" is "pacr"; expected one of auto, itimer, perf, thread-cpu, pacer');
  const env = runNode(['-r', preload, '-e', '0'], { env: { SFPROF_TIMER: 'pacr' } });
  assert.match(env.stderr, /^sfprof: SFPROF_TIMER is "pacr"; expected one of auto, itimer, perf, thread-cpu, pacer; not profiling$/m);
  const cli = runNode([path.join(root, 'bin', 'sfprof.js'), 'record', '--timer', 'pacr', '--', process.execPath, '-e', '0']);
  assert.equal(cli.status, 2);
  assert.match(cli.stderr, /^sfprof: --timer is "pacr"; expected one of auto, itimer, perf, thread-cpu, pacer$/m);
  const help = runNode([path.join(root, 'bin', 'sfprof.js'), 'record', '--help']);
  assert.match(help.stdout, /auto \| itimer \| perf \| thread-cpu \| pacer/);
});

test('SFPROF_TIMER=pacer through the preload: the profile and its summary name the engine', { skip }, () => {
  const dir = tempDir();
  const output = path.join(dir, 'out.folded');
  const summary = path.join(dir, 'summary.jsonl');
  const burn = 'const end = performance.now() + 200; let x = 0; while (performance.now() < end) x += Math.sqrt(x + 1);';
  const run = runNode(['-r', preload, '-e', burn], {
    env: { SFPROF_TIMER: 'pacer', SFPROF_INTERVAL: '1ms', SFPROF_OUTPUT: output, SFPROF_SUMMARY_FILE: summary },
  });
  assert.equal(run.status, 0, run.stderr);
  const line = JSON.parse(fs.readFileSync(summary, 'utf8').trim().split('\n')[0]);
  assert.equal(line.engine, 'pacer', JSON.stringify(line));
  assert.equal(line.engineReason, 'requested');
  assert.ok(line.samples > 50, JSON.stringify(line));
});
