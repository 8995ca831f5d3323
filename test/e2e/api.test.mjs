// The library API in this process: start/stop/stats, errors, drops that show up in the profile.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const sfprof = require('../../dist/bundle/index.js');
const { loadNative } = require('../../dist/native/binding.js');

// Burns CPU time, not wall time: samples follow CPU time, and a loaded machine must not shrink the work.
function cpuMs() {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

function burn(ms) {
  const end = cpuMs() + ms;
  let x = 0;
  while (cpuMs() < end) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1);
  return x;
}

function recurse(depth, ms) {
  return depth === 0 ? burn(ms) : recurse(depth - 1, ms) + 1;
}

test('start/stop returns a profile; stats are filled and final after stop', () => {
  sfprof.start({ interval: '1ms', timer: 'itimer' });
  assert.equal(sfprof.isRunning(), true);
  burn(400);
  const live = sfprof.stats();
  assert.equal(live.running, true);
  assert.equal(live.engine, 'itimer');
  const profile = sfprof.stop();
  assert.equal(sfprof.isRunning(), false);
  const stats = sfprof.stats();
  assert.equal(stats.running, false);
  assert.equal(stats.intervalUs, 1000);
  assert.ok(stats.signalsReceived >= stats.samplesRecorded);
  assert.ok(stats.samplesRecorded > 20, `samples ${stats.samplesRecorded}`);
  assert.ok(stats.achievedRateHz > 50, `rate ${stats.achievedRateHz}`);
  assert.ok(stats.handlerTimeMedianUs > 0 && stats.handlerTimeP99Us >= stats.handlerTimeMedianUs);
  assert.ok(stats.framesTotal > 0 && stats.framesUnresolved <= stats.framesTotal);
  // Every timer signal is in the profile: recorded samples plus counted drops and other threads.
  const d = stats.drops;
  assert.equal(profile.totalSamples, stats.samplesRecorded + d.ringFull + d.busy + d.nonJsThread);
  assert.match(sfprof.renderProfile(profile, 'folded'), /burn \(test\/e2e\/api\.test\.mjs:\d+\)/);
});

test('bad options throw OptionError naming the option, value and allowed values', () => {
  assert.throws(() => sfprof.start({ interval: '3 fortnights' }), (e) => e instanceof sfprof.OptionError && /option "interval" is "3 fortnights"; expected a duration from 100us to 1s/.test(e.message));
  assert.throws(() => sfprof.start({ ringSlots: 1000 }), /option "ringSlots" is 1000; expected an integer from 16 to \d+ that is a power of two/);
  assert.throws(() => sfprof.start({ maxFrames: 0 }), /option "maxFrames" is 0; expected an integer from 1 to 255/);
  assert.throws(() => sfprof.start({ interal: '1ms' }), /unknown option "interal"/);
  assert.equal(sfprof.isRunning(), false);
});

test('double start and stop without start are errors', () => {
  assert.throws(() => sfprof.stop(), /not running/);
  sfprof.start();
  try {
    assert.throws(() => sfprof.start(), /already running/);
  } finally {
    sfprof.stop();
  }
});

test('a long synchronous stretch of JS is spilled out of a small ring instead of dropped', () => {
  // 64 slots hold 64 ms even on a 1000 Hz tick (256 ms at 250 Hz) and the drain timer never runs
  // during burn(): the watcher thread, every 20 ms, moves the samples out.
  sfprof.start({ interval: '1ms', timer: 'itimer', ringSlots: 64, drainIntervalMs: 60_000 });
  burn(1000);
  const profile = sfprof.stop();
  const stats = sfprof.stats();
  assert.ok(stats.spills > 0, 'the ring was spilled');
  assert.ok(stats.samplesRecorded > 64, `samples ${stats.samplesRecorded}`);
  assert.ok(stats.drops.ringFull <= stats.samplesRecorded / 10, `drops ${stats.drops.ringFull} of ${stats.samplesRecorded}`);
  assert.equal(profile.totalSamples, stats.samplesRecorded + stats.drops.ringFull + stats.drops.busy + stats.drops.nonJsThread);
});

test('a long call into C++ is spilled out of a small ring too: no JS has to run', async () => {
  // pbkdf2Sync is one call: no drain and no V8 interrupt runs inside it, the watcher's spill does.
  const { pbkdf2Sync } = await import('node:crypto');
  sfprof.start({ interval: '1ms', timer: 'itimer', ringSlots: 64, drainIntervalMs: 60_000 });
  pbkdf2Sync('secret', 'salt', 1_200_000, 64, 'sha512');
  sfprof.stop();
  const stats = sfprof.stats();
  assert.ok(stats.spills > 0, 'the ring was spilled');
  assert.ok(stats.samplesRecorded > 64, `samples ${stats.samplesRecorded}`);
  assert.ok(stats.drops.ringFull <= stats.samplesRecorded / 10, `drops ${stats.drops.ringFull} of ${stats.samplesRecorded}`);
});

test("the binding's handler histogram comes with its sum, which stats() uses for the quantiles", () => {
  sfprof.start({ interval: '1ms', timer: 'itimer' });
  try {
    burn(200);
    const native = loadNative().stats();
    const sum = native.handlerTimeHistogram.reduce((a, b) => a + b, 0);
    assert.ok(sum > 0, 'the handler was timed');
    assert.equal(native.handlerTimeCount, sum);
  } finally {
    sfprof.stop();
  }
  assert.ok(sfprof.stats().handlerTimeMedianUs > 0);
});

test('a full ring drops samples, counts them, and the profile shows them as (lost samples)', async () => {
  // The watcher is held from spilling and the drain never runs inside one long native call.
  const { pbkdf2Sync } = await import('node:crypto');
  sfprof.start({ interval: '1ms', timer: 'itimer', ringSlots: 16, drainIntervalMs: 60_000 });
  const native = loadNative();
  native.holdSpillsForTests(true);
  try {
    pbkdf2Sync('secret', 'salt', 400_000, 64, 'sha512');
  } finally {
    native.holdSpillsForTests(false);
  }
  const profile = sfprof.stop();
  const stats = sfprof.stats();
  assert.ok(stats.drops.ringFull > 0, 'ring overflowed');
  const folded = sfprof.renderProfile(profile, 'folded');
  assert.match(folded, new RegExp(`^\\(lost samples\\);\\(ring full\\) ${stats.drops.ringFull}$`, 'm'));
  assert.equal(profile.totalSamples, stats.samplesRecorded + stats.drops.ringFull + stats.drops.busy + stats.drops.nonJsThread);
});

test('stacks deeper than maxFrames are kept, cut, counted and marked (truncated)', () => {
  sfprof.start({ interval: '1ms', timer: 'itimer', maxFrames: 8 });
  recurse(40, 300);
  const profile = sfprof.stop();
  const stats = sfprof.stats();
  assert.ok(stats.drops.truncated > 0);
  const truncated = [...profile.stacks.values()].filter((s) => profile.frames[s.frames[0]].name === '(truncated)');
  assert.equal(truncated.reduce((n, s) => n + s.count, 0), stats.drops.truncated);
  for (const stack of truncated) assert.ok(stack.frames.length <= 1 + 8 + 1, 'at most maxFrames JS frames plus the pc');
});

test('every session accounts for exactly its own signals', async () => {
  // A worker burns CPU so signals land off the JS thread too; counters must not carry over.
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker('const end = Date.now() + 1500; let x = 0; while (Date.now() < end) x++;', { eval: true });
  try {
    for (let i = 0; i < 4; i++) {
      sfprof.start({ interval: '500us', timer: 'itimer' });
      burn(150);
      const profile = sfprof.stop();
      const stats = sfprof.stats();
      const d = stats.drops;
      assert.equal(profile.totalSamples, stats.samplesRecorded + d.ringFull + d.busy + d.nonJsThread, `session ${i}`);
      assert.equal(stats.signalsReceived, stats.samplesRecorded + d.ringFull + d.busy + d.nonJsThread, `session ${i}`);
      assert.ok(stats.achievedRateHz < 1000, `session ${i}: ${stats.achievedRateHz} Hz is past the tick ceiling`);
    }
  } finally {
    await worker.terminate();
  }
});
