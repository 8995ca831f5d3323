// GC charged to its cause, offline: hand-built sample and GC records (native/gc_cause.h) through
// SampleIngester. A GC-state sample goes under the stack recorded at the begin of the GC whose span
// holds it, with a typed GC frame; anything else stays a root (garbage collector), counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile } from 'pprof-format';

import { gcTypeOf, Profile } from '../../dist/model/profile.js';
import { SampleIngester } from '../../dist/pipeline/ingest.js';
import { decodeGcRecords, encodeGcRecords, encodeSamples, GC_BEGIN, GC_END } from '../../dist/native/records.js';
import { inferKind } from '../../dist/formats/readers/shared.js';
import { writePprof } from '../../dist/formats/writers/pprof.js';
import { formatTopTable, functionShares } from '../../dist/delivery/summary.js';
import { frameClass } from '../../dist/formats/writers/html.js';

const GC = 1;
const SCAVENGE = 1;
const MARK_SWEEP = 4;

function makeIngester(rootFrames) {
  const profile = new Profile({
    startTime: 0,
    durationNs: 0,
    intervalUs: 1000,
    engine: 'test',
    lines: false,
    pid: 1,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
  });
  const ingester = new SampleIngester(profile, { cwd: '/app', lines: false });
  if (rootFrames) ingester.rootFrames = rootFrames.map((name) => profile.internFrame({ name, kind: 'thread' }));
  return { profile, ingester };
}

// JIT code: main at 0x1000, churn at 0x2000, both added at sequence 1.
const add = (seq, start, name) => ({ seq, type: 0, codeType: 1, start, size: 0x100, name, scriptId: 1 });
const move = (seq, start, newStart) => ({ seq, type: 1, codeType: 1, start, size: 0, newStart });
const EVENTS = [add(1, 0x1000, 'JS:*main /app/app.js:1:1'), add(2, 0x2000, 'JS:*churn /app/app.js:5:1')];
const gcSample = (timeNs) => ({ timeNs, codeSeq: 2, vmState: GC, flags: 0, frames: [0x9000] });
const jsSample = (timeNs) => ({ timeNs, codeSeq: 2, vmState: 0, flags: 0, frames: [0x2010, 0x1010] });
// A begin's frames: the callback's own pc, then churn (the leaf) and main.
const begin = (timeNs, gcType = SCAVENGE, frames = [0x7777, 0x2010, 0x1010], codeSeq = 2) =>
  ({ kind: GC_BEGIN, gcType, timeNs, beginNs: timeNs, codeSeq, flags: 0, frames });
const end = (beginNs, timeNs, gcType = SCAVENGE) => ({ kind: GC_END, gcType, timeNs, beginNs, codeSeq: 0, flags: 0, frames: [] });
const batch = (samples, gc, events = []) => ({ ...encodeSamples(samples), gc: encodeGcRecords(gc), events });

function render(profile) {
  const out = {};
  for (const stack of profile.stacks.values()) {
    const key = stack.frames.map((id) => profile.frames[id].name).join(';');
    out[key] = (out[key] ?? 0) + stack.count;
  }
  return out;
}

test('GC records round-trip through encode and decode', () => {
  const records = [begin(10), end(10, 20)];
  assert.deepEqual(decodeGcRecords(encodeGcRecords(records)), records);
  assert.throws(() => decodeGcRecords(Float64Array.from([1, 1, 0, 0, 0, 0, 3, 5])), /bad GC frame count/);
});

test('a GC sample inside a recorded GC goes under its begin stack; outside, at the root, counted', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([jsSample(5), gcSample(12), gcSample(15), gcSample(30)], [begin(10), end(10, 20)], EVENTS), true);
  assert.deepEqual(render(profile), {
    'main;churn': 1,
    'main;churn;(garbage collector: scavenge)': 2,
    '(garbage collector)': 1,
  });
  const gcFrame = profile.frames.find((frame) => frame.name === '(garbage collector: scavenge)');
  assert.equal(gcFrame.kind, 'gc');
  assert.deepEqual({ charged: ingester.counts().gcCharged, atRoot: ingester.counts().gcAtRoot }, { charged: 2, atRoot: 1 });
});

test('nested GCs: a sample goes to the innermost; the type names the frame', () => {
  const { profile, ingester } = makeIngester();
  const inner = [0x7777, 0x1010];
  ingester.ingest(
    batch([gcSample(12), gcSample(16), gcSample(19)], [begin(10, MARK_SWEEP), begin(15, SCAVENGE, inner), end(15, 17), end(10, 20, MARK_SWEEP)], EVENTS),
    true,
  );
  assert.deepEqual(render(profile), {
    'main;churn;(garbage collector: mark-sweep-compact)': 2,
    'main;(garbage collector: scavenge)': 1,
  });
});

test('a GC stack resolves against the code of its begin, not of the sample', () => {
  const { profile, ingester } = makeIngester();
  // churn moves to 0x3000 at sequence 3, during the GC (compaction moves code).
  const events = [...EVENTS, move(3, 0x2000, 0x3000)];
  const late = { ...gcSample(15), codeSeq: 3 };
  ingester.ingest(batch([late], [begin(10), end(10, 20)], events), true);
  assert.deepEqual(render(profile), { 'main;churn;(garbage collector: scavenge)': 1 });
});

test('a GC still open at a drain holds the next batch\'s samples; a closed one holds late ones', () => {
  const { profile, ingester } = makeIngester(['[worker 1]']);
  // Batch 1: the GC began, its end is not drained yet.
  ingester.ingest(batch([gcSample(12)], [begin(10)], EVENTS));
  // Batch 2: its end, and a sample taken before the end that was published after the drain read it.
  ingester.ingest(batch([gcSample(14)], [end(10, 16)]));
  // Batch 3: a sample published late again, and one after the GC.
  ingester.ingest(batch([gcSample(15), gcSample(40)], []), true);
  assert.deepEqual(render(profile), {
    '[worker 1];main;churn;(garbage collector: scavenge)': 3,
    '[worker 1];(garbage collector)': 1,
  });
});

test('a GC whose stack was cut at maxFrames keeps its samples at the root, not under an outer GC', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([gcSample(12), gcSample(16)], [begin(10, MARK_SWEEP), { ...begin(15), flags: 1 }, end(15, 17), end(10, 20, MARK_SWEEP)], EVENTS), true);
  assert.deepEqual(render(profile), { 'main;churn;(garbage collector: mark-sweep-compact)': 1, '(garbage collector)': 1 });
  assert.equal(ingester.counts().gcAtRoot, 1);
});

test('without GC records (gcCause off, or an older addon) GC samples stay at the root', () => {
  const { profile, ingester } = makeIngester();
  ingester.ingest({ ...encodeSamples([gcSample(12)]), events: EVENTS }, true);
  assert.deepEqual(render(profile), { '(garbage collector)': 1 });
});

test('dropped GC begins are counted', () => {
  const { ingester } = makeIngester();
  ingester.ingest({ ...batch([], []), gcDropped: 3 });
  assert.equal(ingester.counts().gcCausesDropped, 3);
});

test('readers and pprof know the typed GC frame: kind gc, and a gc label with the type', () => {
  assert.equal(inferKind('(garbage collector: scavenge)', undefined), 'gc');
  assert.equal(gcTypeOf('(garbage collector: mark-sweep-compact)'), 'mark-sweep-compact');
  assert.equal(gcTypeOf('(garbage collector)'), undefined);
  assert.equal(frameClass({ name: '(garbage collector: scavenge)', kind: 'gc' }), 'gc', 'the HTML colours it as GC');
  const { profile, ingester } = makeIngester();
  ingester.ingest(batch([gcSample(12), gcSample(30)], [begin(10), end(10, 20)], EVENTS), true);
  const decoded = PprofProfile.decode(gunzipSync(writePprof(profile)));
  const strings = decoded.stringTable.strings;
  const labels = decoded.sample.map((sample) => sample.label.map((l) => `${strings[Number(l.key)]}=${strings[Number(l.str)]}`));
  assert.deepEqual(labels.sort(), [[], ['gc=scavenge']]);
});

test('sfprof top: a self+GC column adds the GC each function\'s allocations began, through a builtin too', () => {
  const profile = new Profile();
  const f = (name, kind = 'js') => profile.internFrame({ name, kind, ...(kind === 'js' && { file: 'app.js', line: 1 }) });
  const [main, churn, other, alloc] = [f('main'), f('churn'), f('other'), f('Builtin:ArrayPush', 'builtin')];
  const scavenge = profile.internFrame({ name: '(garbage collector: scavenge)', kind: 'gc' });
  profile.addStack([main, churn], 5);
  profile.addStack([main, other], 3);
  profile.addStack([main, churn, scavenge], 3);
  profile.addStack([main, other, alloc, scavenge], 1);
  // A GC at the root has no cause to add to.
  profile.addStack([profile.internFrame({ name: '(garbage collector)', kind: 'gc' })], 2);
  const shares = Object.fromEntries(functionShares(profile).map((row) => [row.label, row]));
  assert.equal(shares['churn (app.js:1)'].gcCaused, 3);
  assert.equal(shares['other (app.js:1)'].gcCaused, 1);
  assert.equal(shares['main (app.js:1)'].gcCaused, undefined);
  const table = formatTopTable(profile, 20).split('\n');
  assert.equal(table[1], '    self  self%  self+GC self+GC%    total total%  function');
  assert.ok(table.includes('       5  35.7%        8    57.1%        8  57.1%  churn (app.js:1)'), table.join('\n'));
  assert.ok(table.includes('       3  21.4%        4    28.6%        4  28.6%  other (app.js:1)'), table.join('\n'));
  // Without charged GC, the table keeps its four columns.
  const plain = new Profile();
  plain.addStack([plain.internFrame({ name: 'main', kind: 'js' })], 1);
  assert.match(formatTopTable(plain, 20), /\n {4}self {2}self% {4}total total% {2}function\n/);
});
