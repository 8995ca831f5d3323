// Rare signal set-ups that must neither end the app nor lose a sample without counting it: a full
// real-time signal queue (perf), a disposition reset while the watcher looks, SIG_DFL/SIG_IGN left
// with SA_SIGINFO, a late per-thread timer signal in a later session, overruns before the first
// signal; and a stack of exactly maxFrames frames, which is whole. Each is forced: prlimit,
// test/native/signal_tools.c, or a native test hook.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { root, runNode } from '../lib/helpers.mjs';
import { signalToolsPath } from '../lib/signal-tools.mjs';

const index = JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'));
const binding = JSON.stringify(path.join(root, 'dist', 'native', 'binding.js'));
const tools = JSON.stringify(signalToolsPath());
// Burns CPU time, not wall time: timers follow CPU time, and a loaded machine must not shrink the work.
const prelude = `
  function burn(ms) { const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; const e = u() + ms; let x = 0; while (u() < e) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); return x; }
  const sfprof = require(${index});
  const native = require(${binding}).loadNative();
  const tools = require(${tools});
  const SIGPROF = require('node:os').constants.signals.SIGPROF;
  const count = (profile, names) => profile.stackList.filter((s) => names.every((n, i) => profile.frames[s.frames[i]]?.name === n)).reduce((a, s) => a + s.count, 0);`;

function run(script) {
  const result = runNode(["-e", prelude + script]);
  return { ...result, out: result.status === 0 && result.stdout ? JSON.parse(result.stdout.trim().split('\n').at(-1)) : undefined };
}

test('perf: with the real-time signal queue full, each overflow is a counted drop, not a SIGIO that ends the app', () => {
  // RLIMIT_SIGPENDING 0: the kernel can queue no real-time signal, and falls back on SIGIO.
  const script = `${prelude}
    sfprof.start({ interval: '1ms', timer: 'perf' }); burn(150); const profile = sfprof.stop();
    console.log(JSON.stringify({ drops: sfprof.stats().drops, lost: count(profile, ['(lost samples)', '(signal queue full)']), total: profile.totalSamples }));`;
  const result = spawnSync('prlimit', ['--sigpending=0', process.execPath, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(result.signal, null, `ended by ${result.signal}: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.ok(out.drops.queueFull >= 20, `at least 20 overflows in 150 ms of CPU at 1 ms, got ${out.drops.queueFull}`);
  assert.equal(out.lost, out.drops.queueFull, 'each one is in the profile as (lost samples);(signal queue full)');
  assert.equal(out.total, out.drops.queueFull, 'no sample could be signalled');
});

test('resuming the timer reinstalls the handler even while the watcher is inside its own check', () => {
  // libuv restores SIG_DFL when the app's last SIGPROF listener goes; the watcher, holding its check,
  // cannot repair it, so resumeTimer itself must, or the next tick ends the process.
  const { status, signal, stderr, out } = run(`
    sfprof.start({ interval: '100us', timer: 'itimer' });
    const listener = () => {};
    process.on('SIGPROF', listener);
    native.holdHandlerCheckForTests(true);
    process.off('SIGPROF', listener);
    burn(200);
    native.holdHandlerCheckForTests(false);
    const profile = sfprof.stop();
    console.log(JSON.stringify({ samples: profile.totalSamples, reinstalls: sfprof.stats().handlerReinstalls }));`);
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.ok(out.reinstalls >= 1, 'our handler was put back');
  assert.ok(out.samples > 0);
});

test('a previous SIG_IGN installed with SA_SIGINFO is not called as a handler', () => {
  const { status, signal, stderr, out } = run(`
    tools.setDisposition(SIGPROF, 1);
    sfprof.start({ interval: '1s', timer: 'itimer' });
    for (let i = 0; i < 5; i++) tools.raiseOnThread(SIGPROF); // foreign: forwarded to the previous
    const ignored = native.stats().foreignIgnored;
    sfprof.stop();
    console.log(JSON.stringify({ ignored }));`);
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.equal(out.ignored, 5);
});

test('a previous SIG_DFL installed with SA_SIGINFO: a signal pending at stop is discarded, not fatal', () => {
  const { status, signal, stderr, out } = run(`
    tools.setDisposition(SIGPROF, 0);
    sfprof.start({ interval: '1s', timer: 'itimer' });
    tools.blockSignals(SIGPROF, SIGPROF, 1);
    tools.raiseOnThread(SIGPROF); // pending on this thread across stop()
    sfprof.stop();
    tools.blockSignals(SIGPROF, SIGPROF, 0);
    console.log(JSON.stringify({ survived: true }));`);
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.equal(out.survived, true);
});

test('SIG_DFL with SA_SIGINFO in our place is repaired before the timer is armed again', () => {
  const { status, signal, stderr, out } = run(`
    sfprof.start({ interval: '1ms', timer: 'itimer' });
    native.pauseTimer();
    tools.setDisposition(SIGPROF, 0);
    native.resumeTimer();
    burn(100);
    const profile = sfprof.stop();
    console.log(JSON.stringify({ samples: profile.totalSamples, reinstalls: sfprof.stats().handlerReinstalls }));`);
  assert.equal(signal, null, `ended by ${signal}: ${stderr}`);
  assert.equal(status, 0, stderr);
  assert.ok(out.reinstalls >= 1);
  assert.ok(out.samples > 0);
});

test("a per-thread timer's signal from an earlier session is counted, never sampled in a later itimer session", () => {
  // A perf overflow of the first session still in flight during the second: here sent by hand,
  // with the perf signal's si_code and a descriptor that is not the thread's perf event.
  const { status, stderr, out } = run(`
    sfprof.start({ interval: '1ms', timer: 'perf' }); burn(20); sfprof.stop();
    const realtime = sfprof.stats().signal;
    sfprof.start({ interval: '1s', timer: 'itimer' });
    const before = native.stats();
    for (let i = 0; i < 50; i++) tools.queuePollSignal(realtime, 3);
    const after = native.stats();
    sfprof.stop();
    console.log(JSON.stringify({ realtime, sampled: after.samplesRecorded - before.samplesRecorded, afterStop: after.afterStop - before.afterStop }));`);
  assert.equal(status, 0, stderr);
  assert.notEqual(out.realtime, 27);
  assert.equal(out.sampled, 0, 'no sample from a signal of an earlier session');
  assert.equal(out.afterStop, 50, 'each one counted');
});

test('pacer: with the real-time signal queue full, each refused signal is a counted drop', () => {
  // RLIMIT_SIGPENDING 0: rt_tgsigqueueinfo from the pacer thread is refused with EAGAIN every time.
  const script = `${prelude}
    sfprof.start({ interval: '1ms', timer: 'pacer' }); burn(150); const profile = sfprof.stop();
    console.log(JSON.stringify({ drops: sfprof.stats().drops, lost: count(profile, ['(lost samples)', '(signal queue full)']), total: profile.totalSamples }));`;
  const result = spawnSync('prlimit', ['--sigpending=0', process.execPath, '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(result.signal, null, `ended by ${result.signal}: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  assert.ok(out.drops.queueFull >= 20, `at least 20 refused signals in 150 ms of CPU at 1 ms, got ${out.drops.queueFull}`);
  assert.equal(out.lost, out.drops.queueFull, 'each one is in the profile as (lost samples);(signal queue full)');
  assert.equal(out.total, out.drops.queueFull, 'no sample could be signalled');
});

test("a pacer signal that is not the thread's current attachment's is counted, never sampled", () => {
  // A pacer signal of an earlier session still queued, sent by hand: SI_QUEUE, our pid, and the
  // token of the first session's attachment (tokens count up from 1). Then, during a pacer session, a
  // forged one with a token that was never given out.
  const { status, stderr, out } = run(`
    sfprof.start({ interval: '1ms', timer: 'pacer' }); burn(20); sfprof.stop();
    const realtime = sfprof.stats().signal;
    sfprof.start({ interval: '1s', timer: 'itimer' });
    let before = native.stats();
    for (let i = 0; i < 50; i++) tools.queueValueSignal(realtime, 1);
    let after = native.stats();
    sfprof.stop();
    const itimer = { sampled: after.samplesRecorded - before.samplesRecorded, afterStop: after.afterStop - before.afterStop };
    sfprof.start({ interval: '1s', timer: 'pacer' });
    before = native.stats();
    for (let i = 0; i < 50; i++) tools.queueValueSignal(sfprof.stats().signal, 1000000);
    after = native.stats();
    sfprof.stop();
    const pacer = { sampled: after.samplesRecorded - before.samplesRecorded, afterStop: after.afterStop - before.afterStop };
    console.log(JSON.stringify({ realtime, itimer, pacer }));`);
  assert.equal(status, 0, stderr);
  assert.notEqual(out.realtime, 27);
  assert.deepEqual(out.itimer, { sampled: 0, afterStop: 50 }, 'an earlier session\'s token in a later itimer session');
  assert.deepEqual(out.pacer, { sampled: 0, afterStop: 50 }, 'a token no attachment has, in a pacer session');
});

test('pacer: deadlines passed while a signal is pending are coalesced, counted, and weighed into it', () => {
  // The real-time signals blocked on the main thread: the pacer's first signal stays pending for
  // ~100 ms of CPU time; it sends no second one, and the one delivered weighs the whole stretch.
  // The stretch is the main thread's own CPU time (stats().jsThreadCpuMs): the process's would
  // count the compiler and GC threads too, which can burn most of 100 ms under load.
  const { status, stderr, out } = run(`
    const [first, last] = tools.realtimeRange();
    tools.blockSignals(first, last, 1);
    sfprof.start({ interval: '1ms', timer: 'pacer' });
    let x = 0;
    while (sfprof.stats().jsThreadCpuMs < 100) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1);
    tools.blockSignals(first, last, 0);
    const profile = sfprof.stop();
    const cpuMs = profile.stackList.reduce((a, s) => a + s.cpuNs, 0) / 1e6;
    const stats = sfprof.stats();
    console.log(JSON.stringify({ samples: profile.totalSamples, cpuMs, coalesced: stats.signalsCoalesced, received: stats.signalsReceived }));`);
  assert.equal(status, 0, stderr);
  assert.ok(out.samples >= 1 && out.samples <= 20, `one delivered signal and a few during stop, got ${out.samples}`);
  assert.ok(out.coalesced >= 50, `~100 deadlines passed while the first signal was pending, ${out.coalesced} counted`);
  assert.ok(out.received <= 20, `no signal queued behind the pending one: ${out.received} received`);
  assert.ok(out.cpuMs >= 70, `the ~100 ms of CPU time are weighed, got ${out.cpuMs.toFixed(1)} ms over ${out.samples} samples`);
});

test('thread-cpu: expirations folded into the first signal are weighed too', () => {
  // The real-time signals blocked on the main thread: its timer expires about 100 times before the
  // first signal is delivered, as one signal with the rest as overruns.
  const { status, stderr, out } = run(`
    const [first, last] = tools.realtimeRange();
    tools.blockSignals(first, last, 1);
    sfprof.start({ interval: '1ms', timer: 'thread-cpu' });
    burn(100);
    tools.blockSignals(first, last, 0);
    const profile = sfprof.stop();
    const cpuMs = profile.stackList.reduce((a, s) => a + s.cpuNs, 0) / 1e6;
    console.log(JSON.stringify({ samples: profile.totalSamples, cpuMs }));`);
  assert.equal(status, 0, stderr);
  // One signal for the blocked stretch, then a few more while stop() runs (5 seen on Node 26 under
  // load): without the overruns they would weigh about 1 ms each.
  assert.ok(out.samples >= 1 && out.samples <= 20, `one delivered signal and a few during stop, got ${out.samples}`);
  assert.ok(out.cpuMs >= 70, `the ~100 ms of CPU time before it are weighed, got ${out.cpuMs.toFixed(1)} ms over ${out.samples} samples`);
});

test('a stack of exactly maxFrames frames is whole, not truncated', (t) => {
  // The hot stack's depth is learned with room to spare, then sampled again with maxFrames equal
  // to it (a stack that deep must come whole, one deeper flagged). Samples are read raw: the frame count is V8's walk, before any symbolization.
  const records = JSON.stringify(path.join(root, 'dist', 'native', 'records.js'));
  const { status, stderr, out } = run(`
    const { decodeSamples, SAMPLE_TRUNCATED } = require(${records});
    function leaf(n) { let x = 0; for (let i = 0; i < n; i++) x += Math.sqrt(i); return x; }
    function chain(d, n) { return d === 0 ? leaf(n) : chain(d - 1, n) + 1; }
    const u = () => process.cpuUsage().user / 1000;
    function sample(maxFrames, ms) {
      sfprof.start({ interval: '1ms', timer: 'perf', maxFrames });
      const end = u() + ms;
      while (u() < end) chain(12, 20000);
      const samples = native.drain().threads.flatMap((t) => decodeSamples(t));
      sfprof.stop();
      return samples.filter((s) => s.frames.length > 1).map((s) => ({ depth: s.frames.length - 1, truncated: (s.flags & SAMPLE_TRUNCATED) !== 0 }));
    }
    // Each round samples at maxFrames equal to the commonest depth of the round before. V8 inlines
    // more of the recursion as it goes, so that depth can move down by one or two: rounds go on
    // until 20 samples of exactly maxFrames frames were seen, at most three.
    const commonest = (samples) => {
      const depths = new Map();
      for (const s of samples) if (!s.truncated) depths.set(s.depth, (depths.get(s.depth) ?? 0) + 1);
      return [...depths].sort((a, b) => b[1] - a[1])[0][0];
    };
    let previous = sample(255, 150);
    const hot = commonest(previous);
    let whole = 0;
    const rounds = [];
    for (let round = 0; round < 3 && whole < 20; round++) {
      const depth = commonest(previous);
      previous = sample(depth, 200);
      const exact = previous.filter((s) => s.depth === depth);
      const w = exact.filter((s) => !s.truncated).length;
      whole += w;
      rounds.push(depth + ': ' + w + ' whole, ' + (exact.length - w) + ' flagged');
    }
    console.log(JSON.stringify({ hot, whole, rounds }));`);
  assert.equal(status, 0, stderr);
  t.diagnostic(`samples exactly maxFrames deep, by maxFrames: ${out.rounds.join('; ')}`);
  assert.ok(out.hot > 12, `the hot stack is the chain's leaf, ${out.hot} frames deep`);
  assert.ok(out.whole >= 20, `samples exactly maxFrames deep that are whole: ${out.rounds.join('; ')}`);
});
