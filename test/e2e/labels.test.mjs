// Labels (withLabels, setLabels, getLabels) through the library API, on whichever Node runs the tests:
// where the runtime keeps AsyncLocalStorage's frame in V8 (Node 24+, 22 with
// --experimental-async-context-frame), auto mode reads it from the signal handler; everywhere, hooks
// mode labels through async_hooks. Each case runs test/fixtures/labels.js in a child process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { runNode } from '../lib/helpers.mjs';

const require = createRequire(import.meta.url);
const sfprof = require('../../dist/bundle/index.js');
const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/labels.js');

const major = Number(process.versions.node.split('.')[0]);
// Flags that give the child a readable async context, or null where this Node has none to give.
const CPED_FLAGS = major >= 24 ? [] : major === 22 ? ['--experimental-async-context-frame'] : null;
// Flags that take it away: Node 22 without its flag, Node 24+ with async context frames off.
const NO_CPED_FLAGS = major >= 24 ? ['--no-async-context-frame'] : [];
const WARNING = /labels need Node 24 or later, or Node 22 with --experimental-async-context-frame/;

function runCase(mode, { flags = [], labels, env = {} } = {}) {
  const result = runNode([...flags, fixture], {
    env: { MODE: mode, ...(labels ? { LABELS: labels } : {}), ...env },
    timeout: 60_000,
  });
  assert.equal(result.status, 0, `${mode}: exit ${result.status} ${result.signal ?? ''}\n${result.stderr}`);
  const out = JSON.parse(result.stdout.trim().split('\n').at(-1));
  return { ...out, stderr: result.stderr };
}

const key = (labels) => JSON.stringify(labels);

/** The heavy route's share of the labelled samples in burn: 3 ms of 4 per pair of requests. */
function assertSplit(out, what) {
  const light = out.matching[key({ route: 'light' })] ?? 0;
  const heavy = out.matching[key({ route: 'heavy' })] ?? 0;
  assert.ok(light + heavy >= 400, `${what}: ${light + heavy} labelled samples in burn`);
  const share = heavy / (light + heavy);
  assert.ok(Math.abs(share - 0.75) <= 0.05, `${what}: heavy share ${(share * 100).toFixed(1)}%, expected 75% ± 5 (${light}:${heavy})`);
  // Every sample in burn ran inside a request's withLabels.
  const unlabelled = out.matching[key({})] ?? 0;
  assert.ok(unlabelled <= (light + heavy) * 0.01, `${what}: ${unlabelled} samples in burn without labels`);
  assert.equal(Object.keys(out.matching).filter((k) => k !== key({})).length, 2, Object.keys(out.matching).join(' '));
  return share;
}

/** Every GC sample charged to the allocating function carries its labels. */
function assertGc(out, what) {
  const alloc = out.matching[key({ job: 'alloc' })] ?? 0;
  const total = Object.values(out.matching).reduce((a, b) => a + b, 0);
  assert.ok(alloc >= 10, `${what}: ${alloc} GC samples charged to the labelled allocation`);
  assert.ok(alloc >= total * 0.95, `${what}: ${alloc} of ${total} GC samples in churn labelled job=alloc: ${JSON.stringify(out.matching)}`);
}

function assertWorkers(out, what) {
  const inWorker = out.matching;
  assert.ok((inWorker[key({ thread: 'worker' })] ?? 0) >= 20, `${what}: worker samples ${JSON.stringify(inWorker)}`);
  assert.equal(inWorker[key({ thread: 'main' })], undefined, `${what}: a worker sample labelled as the main thread's`);
  const mainLabelled = out.all[key({ thread: 'main' })] ?? 0;
  assert.ok(mainLabelled >= 10, `${what}: main-thread samples labelled ${mainLabelled}`);
  assert.equal(out.all[key({ thread: 'worker' })], inWorker[key({ thread: 'worker' })], `${what}: worker labels outside the worker`);
}

test('hooks mode: a 1:3 split of two HTTP routes across await, timers, promise chains and setImmediate', () => {
  const out = runCase('split', { labels: 'hooks', env: { ROUNDS: '200' } });
  assert.equal(out.labels.capture, 'hooks');
  assert.ok(out.labels.samplesLabelled > 0);
  assertSplit(out, 'hooks');
});

test('hooks mode: GC samples keep the labels of the allocation that triggered them', () => {
  const out = runCase('gc', { labels: 'hooks' });
  assertGc(out, 'hooks');
});

test('hooks mode: a worker labels its own samples', () => {
  const out = runCase('workers', { labels: 'hooks' });
  assertWorkers(out, 'hooks');
});

test('auto mode where the async context is not readable: one warning, no labels, no crash', () => {
  const out = runCase('warn', { flags: NO_CPED_FLAGS });
  assert.equal(out.stderr.match(new RegExp(WARNING, 'g'))?.length, 1, out.stderr);
  assert.match(out.stderr, /SFPROF_LABELS=hooks/);
  assert.equal(out.labels.mode, 'auto');
  assert.equal(out.labels.capture, 'none');
  assert.equal(out.labels.samplesLabelled, 0);
  assert.deepEqual(Object.keys(out.all), [key({})]);
  // The labels still apply to the async context.
  assert.deepEqual(out.result, [{ b: '2' }]);
});

test('off mode: withLabels runs fn, nothing is recorded', () => {
  const out = runCase('warn', { labels: 'off', flags: CPED_FLAGS ?? [] });
  assert.equal(out.labels.capture, 'off');
  assert.equal(out.labels.samplesLabelled, 0);
  assert.doesNotMatch(out.stderr, WARNING);
  assert.deepEqual(out.result, [{}]);
});

test('auto mode: labels read from V8 where it keeps the async context (a 1:3 split, GC samples, workers)', () => {
  if (CPED_FLAGS === null) {
    // Node 20: no async context in V8 at all; auto must say so rather than guess.
    const out = runCase('split', { env: { ROUNDS: '20' } });
    assert.equal(out.labels.capture, 'none');
    assert.match(out.labels.reason ?? '', /continuation data|no readable async context/);
    assert.equal(out.labels.samplesLabelled, 0);
    return;
  }
  const split = runCase('split', { flags: CPED_FLAGS, env: { ROUNDS: '200' } });
  assert.equal(split.labels.capture, 'cped', JSON.stringify(split.labels));
  assert.doesNotMatch(split.stderr, WARNING);
  assertSplit(split, 'auto');
  assert.ok(split.labels.readNs > 0 && split.labels.readNs < 5000, `read ${split.labels.readNs} ns`);
  assertGc(runCase('gc', { flags: CPED_FLAGS }), 'auto');
  assertWorkers(runCase('workers', { flags: CPED_FLAGS }), 'auto');
});

test('nested withLabels merge, setLabels adds for the rest of the context, getLabels outside is {}', async () => {
  assert.deepEqual(sfprof.getLabels(), {});
  const seen = await sfprof.withLabels({ tenant: 'a', route: '/x' }, async () => {
    const outer = sfprof.getLabels();
    const inner = await sfprof.withLabels({ route: '/y' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return sfprof.getLabels();
    });
    const afterInner = sfprof.getLabels();
    await null;
    sfprof.setLabels({ step: 'two' });
    await new Promise((resolve) => setImmediate(resolve));
    const afterSet = sfprof.getLabels();
    return { outer, inner, afterInner, afterSet };
  });
  assert.deepEqual(seen.outer, { tenant: 'a', route: '/x' });
  assert.deepEqual(seen.inner, { tenant: 'a', route: '/y' });
  assert.deepEqual(seen.afterInner, { tenant: 'a', route: '/x' });
  assert.deepEqual(seen.afterSet, { tenant: 'a', route: '/x', step: 'two' });
  assert.deepEqual(sfprof.getLabels(), {});
  assert.equal(sfprof.withLabels({ a: 'b' }, () => 42), 42);
});

test('bad labels throw an OptionError naming the key and what is allowed', () => {
  const bad = (labels, pattern) =>
    assert.throws(() => sfprof.withLabels(labels, () => 0), (error) => {
      assert.ok(error instanceof sfprof.OptionError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
  bad({ route: 7 }, /label "route" is 7; expected a string value/);
  bad({ route: 'x'.repeat(201) }, /label "route" has a value of 201 characters; at most 200/);
  bad({ ['k'.repeat(201)]: 'v' }, /label key "k+" has 201 characters; expected 1 to 200/);
  bad(Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])), /has 17 keys; at most 16/);
  bad(null, /labels is null; expected an object/);
  bad(['a'], /expected an object/);
  assert.throws(() => sfprof.setLabels({ n: null }), /label "n" is null; expected a string value/);
  assert.throws(() => sfprof.start({ labels: 'sometimes' }), /option "labels" is "sometimes"; expected one of auto, hooks, off/);
});

test('GC stress at 100 µs: allocation, forced GCs and nested labels never crash, and samples keep their labels', () => {
  // The V8 read where the runtime has it, async_hooks elsewhere (Node 20).
  const flags = ['--expose-gc', ...(CPED_FLAGS ?? [])];
  const out = runCase('stress', { flags, labels: CPED_FLAGS === null ? 'hooks' : undefined, env: { STRESS_MS: '3000', INTERVAL: '100us', TIMER: 'perf' } });
  assert.equal(out.labels.capture, CPED_FLAGS === null ? 'hooks' : 'cped');
  assert.ok(out.samples >= 2000, `${out.samples} samples`);
  // churn runs only inside withLabels, so every sample in it carries a label. The share of the
  // other samples is not asserted: the drains that profile 10,000 samples a second run outside any
  // label, and cost several times more under a sanitizer.
  const inChurn = Object.values(out.matching).reduce((a, b) => a + b, 0);
  assert.equal(out.matching[key({})] ?? 0, 0, `samples in churn without a label: ${JSON.stringify(out.matching)}`);
  assert.ok(inChurn >= out.samples * 0.25, `${inChurn} of ${out.samples} samples in churn`);
  for (const job of ['odd', 'even']) {
    for (const labels of [{ job }, { job, step: 'inner' }]) assert.ok((out.matching[key(labels)] ?? 0) > 0, `no sample in churn labelled ${key(labels)}: ${JSON.stringify(out.matching)}`);
  }
  assert.ok(out.labels.samplesLabelled >= inChurn, `${out.labels.samplesLabelled} labelled, ${inChurn} in churn`);
  for (const set of Object.keys(out.all)) {
    assert.ok([key({}), key({ job: 'odd' }), key({ job: 'even' }), key({ job: 'odd', step: 'inner' }), key({ job: 'even', step: 'inner' })].includes(set), set);
  }
});
