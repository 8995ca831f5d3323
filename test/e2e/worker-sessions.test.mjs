// Workers and the session's registry: a worker kept across stop()/start() is counted while it is not
// sampled and can join the new session; a new worker listing its code does not hold up the main
// thread's drain and stats().
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { root, runNode } from '../lib/helpers.mjs';

const index = JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'));
const binding = JSON.stringify(path.join(root, 'dist', 'native', 'binding.js'));
const burn = 'function burn(ms) { const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; const e = u() + ms; let x = 0; while (u() < e) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); return x; }';

/** A worker that attaches, then burns CPU or attaches again on request; the main thread restarts. */
function acrossRestart(engine) {
  const worker = `${burn}
    const { parentPort } = require('node:worker_threads');
    const sfprof = require(${index});
    sfprof.attachWorker();
    parentPort.on('message', (m) => {
      if (m === 'attach') { try { sfprof.attachWorker(); parentPort.postMessage('attached'); } catch (e) { parentPort.postMessage(e.message); } }
      else { burn(m); parentPort.postMessage('burned'); }
    });
    parentPort.postMessage('ready');`;
  const script = `
    const { Worker } = require('node:worker_threads');
    const { once } = require('node:events');
    const sfprof = require(${index});
    const ask = async (w, m) => { w.postMessage(m); return (await once(w, 'message'))[0]; };
    (async () => {
      sfprof.start({ interval: '1ms', timer: ${JSON.stringify(engine)} });
      const w = new Worker(${JSON.stringify(worker)}, { eval: true });
      await once(w, 'message');
      sfprof.stop();
      sfprof.start({ interval: '1ms', timer: ${JSON.stringify(engine)} });
      await ask(w, 150); // not attached to this session yet
      const unattached = sfprof.stats();
      const attach = await ask(w, 'attach');
      await ask(w, 150);
      const profile = sfprof.stop();
      const s = sfprof.stats();
      const workerSamples = profile.stackList.filter((st) => profile.frames[st.frames[0]].name.startsWith('[worker')).reduce((a, st) => a + st.count, 0);
      const d = unattached.drops;
      console.log(JSON.stringify({ attach, workerSamples, signals: unattached.signalsReceived,
        accounted: unattached.samplesRecorded + d.ringFull + d.busy + d.nonJsThread, otherThreads: d.nonJsThread, late: d.busy }));
      await w.terminate();
    })();`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

/**
 * Every timer signal is a sample or a counted drop. The counts are a live snapshot taken while the
 * main thread is sampled: a signal handled between the reads of two counters can be in one and not
 * yet the other (seen once under ASan, 29 signals for 28), so one either way is allowed.
 */
function assertAccounted(out) {
  assert.ok(Math.abs(out.signals - out.accounted) <= 1, `every timer signal is a sample or a counted drop: ${out.signals} signals, ${out.accounted} accounted`);
}

test('itimer: a worker kept across stop()/start() is counted while unattached, and joins the new session', () => {
  const out = acrossRestart('itimer');
  assertAccounted(out);
  assert.ok(out.otherThreads >= 10, `the unattached worker's 150 ms show as other threads, got ${out.otherThreads}`);
  assert.equal(out.attach, 'attached');
  assert.ok(out.workerSamples >= 10, `the worker is sampled after joining, got ${out.workerSamples}`);
});

test('perf: a worker kept across stop()/start() joins the new session', () => {
  const out = acrossRestart('perf');
  assert.equal(out.attach, 'attached');
  assert.ok(out.workerSamples >= 50, `the worker is sampled after joining, got ${out.workerSamples}`);
});

test('pacer: a worker kept across stop()/start() is not signalled while unattached, and joins the new session', () => {
  // Quiet since the first stop(): the pacer sends it nothing until it attaches again. One that did
  // would be counted late (its thread's sampler is the first session's), and the signals counted
  // meanwhile are the main thread's own samples.
  const out = acrossRestart('pacer');
  assert.equal(out.attach, 'attached');
  assertAccounted(out);
  assert.equal(out.late, 0, 'no pacer signal reaches the unattached worker');
  assert.equal(out.otherThreads, 0);
  assert.ok(out.workerSamples >= 20, `the worker is sampled after joining, got ${out.workerSamples}`);
});

test("a worker listing its code on attach does not hold the registry: the main thread's stats() goes on", () => {
  // The worker compiles thousands of functions, so that V8 lists many code objects when it attaches.
  // The main thread calls stats() (which takes the registry's lock) for as long as the attach runs.
  const worker = `
    const { workerData } = require('node:worker_threads');
    const flag = new Int32Array(workerData);
    const sfprof = require(${index});
    require(${binding}).loadNative();
    const fns = [];
    for (let i = 0; i < 60000; i++) fns.push(new Function('a', 'return a + ' + i));
    let sum = 0; for (const f of fns) sum += f(1);
    Atomics.store(flag, 0, 1);
    sfprof.attachWorker();
    Atomics.store(flag, 0, 2);`;
  const script = `
    const { Worker } = require('node:worker_threads');
    const sfprof = require(${index});
    const native = require(${binding}).loadNative();
    sfprof.start({ interval: '10ms', timer: 'itimer' });
    const shared = new SharedArrayBuffer(4); const flag = new Int32Array(shared);
    const w = new Worker(${JSON.stringify(worker)}, { eval: true, workerData: shared });
    while (Atomics.load(flag, 0) === 0);
    let during = 0; let longestMs = 0;
    while (Atomics.load(flag, 0) === 1) {
      const t = process.hrtime.bigint(); native.stats(); const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (Atomics.load(flag, 0) === 1) during++;
      if (ms > longestMs) longestMs = ms;
    }
    w.on('exit', () => { sfprof.stop(); console.log(JSON.stringify({ during, longestMs })); });`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  console.log(`stats() calls completed during the attach: ${out.during}, longest ${out.longestMs.toFixed(2)} ms`);
  assert.ok(out.during >= 200, `stats() kept answering while the worker attached: ${out.during} calls, longest ${out.longestMs.toFixed(1)} ms`);
});
