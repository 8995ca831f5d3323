import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile } from 'pprof-format';

import { detectFormat, readProfile, renderProfile } from '../../dist/formats/render.js';
import { Profile } from '../../dist/model/profile.js';
import { readCpuProfile } from '../../dist/formats/readers/cpuprofile.js';
import { readFolded } from '../../dist/formats/readers/folded.js';
import { readPprof } from '../../dist/formats/readers/pprof.js';
import { SampleTimeline } from '../../dist/model/timeline.js';
import { buildCpuProfile } from '../../dist/formats/writers/cpuprofile.js';
import { writeFolded } from '../../dist/formats/writers/folded.js';
import { writePprof } from '../../dist/formats/writers/pprof.js';
import { root, tempDir } from '../lib/helpers.mjs';
import { buildTimedProfile, checkCpuProfile, emptyProfile } from '../lib/profiles.mjs';

const golden = (name) => path.join(root, 'test', 'golden', name);
const basicFolded = () => fs.readFileSync(golden('basic.folded'), 'utf8');
const sum = (values) => values.reduce((a, b) => a + b, 0);

/** The decoded pprof as plain data: what a golden file can hold. */
function pprofAsData(bytes) {
  const p = PprofProfile.decode(gunzipSync(bytes));
  const s = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const frame = (id) => {
    const line = loc.get(Number(id)).line[0];
    const f = fn.get(Number(line.functionId));
    return `${s[Number(f.name)]} ${s[Number(f.filename)]}:${Number(line.line)} (starts ${Number(f.startLine)})`;
  };
  return {
    sampleType: p.sampleType.map((t) => `${s[Number(t.type)]}/${s[Number(t.unit)]}`),
    periodType: `${s[Number(p.periodType.type)]}/${s[Number(p.periodType.unit)]}`,
    period: Number(p.period),
    timeNanos: String(p.timeNanos),
    durationNanos: Number(p.durationNanos),
    comments: p.comment.map((i) => s[Number(i)]).filter((c) => !c.startsWith('sfprof.version=')),
    samples: p.sample.map((x) => ({ values: x.value.map(Number), leafFirst: x.locationId.map(frame) })),
  };
}

test('pprof matches the golden data: sample types, period, time, metadata comments, function + line per location', () => {
  const data = pprofAsData(writePprof(buildTimedProfile()));
  const expected = JSON.parse(fs.readFileSync(golden('timed.pprof.json'), 'utf8'));
  assert.deepEqual(data, expected);
});

test('pprof totals equal the folded totals, drops included as (lost samples)', () => {
  const timedData = pprofAsData(writePprof(buildTimedProfile()));
  assert.equal(sum(timedData.samples.map((x) => x.values[0])), buildTimedProfile().totalSamples);
  assert.equal(sum(timedData.samples.map((x) => x.values[1])), buildTimedProfile().totalSamples * 1_000_000);
  // Folded stacks carry no CPU time per sample: counts only, which go tool pprof shows by default.
  const fromFolded = readFolded(basicFolded());
  const countsOnly = pprofAsData(writePprof(fromFolded));
  assert.deepEqual(countsOnly.sampleType, ['samples/count']);
  assert.equal(countsOnly.periodType, 'samples/count');
  assert.ok(countsOnly.samples.every((x) => x.values.length === 1));
  assert.equal(sum(countsOnly.samples.map((x) => x.values[0])), fromFolded.totalSamples);
  const timed = pprofAsData(writePprof(buildTimedProfile()));
  const lost = timed.samples.filter((x) => x.leafFirst.at(-1).startsWith('(lost samples)'));
  assert.equal(sum(lost.map((x) => x.values[0])), 2);
});

test('pprof cpu/nanoseconds use the measured CPU time per sample when the profile has it', () => {
  const profile = buildTimedProfile();
  profile.metadata.sampleWeightNs = 3_990_000; // a 1 ms timer held to a 250 Hz kernel tick
  const data = pprofAsData(writePprof(profile));
  assert.equal(data.period, 1_000_000);
  assert.ok(data.comments.includes('sfprof.sample_weight_ns=3990000'));
  assert.deepEqual(data.samples[0].values, [3, 3 * 3_990_000]);
  assert.equal(readPprof(writePprof(profile)).metadata.sampleWeightNs, 3_990_000);
});

test('round trips give the same folded stacks: folded → pprof → folded, and → .cpuprofile → folded', () => {
  const original = readFolded(basicFolded());
  assert.equal(writeFolded(original), basicFolded());
  assert.equal(writeFolded(readPprof(writePprof(original))), basicFolded());
  const timed = buildTimedProfile();
  const timedFolded = writeFolded(timed);
  assert.equal(writeFolded(readPprof(writePprof(timed))), timedFolded);
  // .cpuprofile nodes carry the function's start line; compare with a non-line profile.
  const plain = emptyProfile({ cwd: process.cwd() });
  const source = readFolded(basicFolded());
  for (const stack of source.stackList) plain.addStack(stack.frames.map((id) => plain.internFrame(source.frames[id])), stack.count);
  assert.equal(writeFolded(readCpuProfile(JSON.stringify(buildCpuProfile(plain)))), basicFolded());
});

test('folded tier suffixes: _[j] optimized and maglev, _[i] interpreted and baseline, read back', () => {
  const text = writeFolded(buildTimedProfile(), { tiers: true });
  assert.match(text, /^main \(app\.js:30\)_\[i\];calc \(lib\/calc\.js:21\)_\[j\] 3$/m);
  assert.match(text, /^main \(app\.js:30\)_\[i\];calc \(lib\/calc\.js:22\)_\[i\] 2$/m);
  assert.match(text, /;emit \(node:events:517\)_\[j\];/);
  assert.match(text, /^\(garbage collector\) 1$/m);
  const back = readFolded(text);
  assert.deepEqual(new Set(back.frames.filter((f) => f.name === 'calc').map((f) => f.tier)), new Set(['optimized', 'interpreted']));
  assert.equal(writeFolded(back, { tiers: true }), text);
  assert.equal(writeFolded(back), writeFolded(buildTimedProfile()));
});

// Chrome DevTools' CPUProfileDataModel takes nodes[0] as the root, follows `children` links, counts
// hitCount, and turns timeDeltas into timestamps. These are the invariants it depends on.

test('.cpuprofile matches the golden file and DevTools\' invariants', () => {
  const built = buildCpuProfile(buildTimedProfile());
  checkCpuProfile(built);
  const expected = JSON.parse(fs.readFileSync(golden('timed.cpuprofile'), 'utf8'));
  assert.deepEqual(built, expected);
});

test('.cpuprofile: real times for the timeline, untimed drops after it one interval apart, all counted', () => {
  const profile = buildTimedProfile();
  const p = buildCpuProfile(profile);
  assert.equal(p.samples.length, profile.totalSamples);
  assert.deepEqual(p.timeDeltas, [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000]);
  const name = (id) => p.nodes[id - 1].callFrame.functionName;
  assert.deepEqual(p.samples.slice(-3).map(name), ['(ring full)', '(ring full)', '[other threads]']);
  const calc = p.nodes.filter((n) => n.callFrame.functionName === 'calc' && n.positionTicks);
  // Line mode: one node per function, executing lines as positionTicks.
  const ticks = calc.flatMap((n) => n.positionTicks);
  assert.deepEqual(ticks.filter((t) => t.line === 22), [{ line: 22, ticks: 2 }]);
  assert.equal(calc.every((n) => n.callFrame.lineNumber === 19), true);
  assert.equal(p.nodes.find((n) => n.callFrame.url === 'file:///abs/x.js').callFrame.functionName, '');
  assert.equal(p.nodes.find((n) => n.callFrame.functionName === 'main').callFrame.url, 'file:///srv/app/app.js');
});

test('.cpuprofile from a profile with no timeline (read from folded): every sample, in stack order', () => {
  const profile = readFolded(basicFolded());
  const p = buildCpuProfile(profile);
  checkCpuProfile(p);
  assert.equal(p.samples.length, profile.totalSamples);
});

test('timeline: bounded, thins by halves, each kept entry standing for `stride` samples', () => {
  const timeline = new SampleTimeline(8);
  for (let i = 0; i < 100; i++) timeline.add(i, i * 10);
  assert.ok(timeline.length <= 8);
  assert.equal(timeline.samplesSeen, 100);
  assert.equal(timeline.stride, 16);
  for (let i = 1; i < timeline.length; i++) assert.ok(timeline.timeNsAt(i) > timeline.timeNsAt(i - 1));
  assert.ok(timeline.length * timeline.stride <= 100 && timeline.length * timeline.stride > 100 - 16);
  for (let i = 0; i < timeline.length; i++) assert.equal(timeline.stackIdAt(i), 16 * (i + 1) - 1, 'evenly spaced');
  // A profile whose timeline thinned still spans its whole time and keeps shares.
  const profile = emptyProfile({ intervalUs: 100 }, { timelineCapacity: 64 });
  const a = profile.internFrame({ name: 'a', kind: 'js' });
  const b = profile.internFrame({ name: 'b', kind: 'js' });
  for (let i = 0; i < 3000; i++) profile.addStack([i % 3 === 0 ? a : b], 1, i * 100_000);
  const p = buildCpuProfile(profile);
  checkCpuProfile(p);
  assert.ok(p.samples.length <= 64);
  assert.ok(sum(p.timeDeltas) >= 299_000 * 0.9);
  const shareA = p.samples.filter((id) => p.nodes[id - 1].callFrame.functionName === 'a').length / p.samples.length;
  assert.ok(Math.abs(shareA - 1 / 3) < 0.1, `share of a ${shareA}`);
  const none = new SampleTimeline(0);
  none.add(1, 1);
  assert.equal(none.length, 0);
});

test('readers detect the format and name what is wrong with a bad file', () => {
  assert.equal(detectFormat(Buffer.from('a;b 1\n')), 'folded');
  assert.equal(detectFormat(writePprof(buildTimedProfile())), 'pprof');
  assert.equal(detectFormat(gunzipSync(writePprof(buildTimedProfile()))), 'pprof');
  assert.equal(detectFormat(Buffer.from('  {"nodes":[]}')), 'cpuprofile');
  assert.equal(detectFormat(Buffer.from('<!doctype html>')), 'html');
  assert.throws(() => readProfile(Buffer.from('a;b 1\nc;d x\n'), 'in.folded'), /^InputError: in\.folded \(folded\): line 2: expected "frame;frame;… count" with a whole-number count, got "c;d x"$/);
  assert.throws(() => readProfile(Buffer.from('a;b 1\nnocount\n'), 'f'), /line 2: /);
  assert.throws(() => readProfile(Buffer.from('a;b 1\r\nb -3\r\n'), 'f'), /line 2: /);
  assert.throws(() => readProfile(writePprof(buildTimedProfile()).subarray(0, 40), 'cut.pb.gz'), /^InputError: cut\.pb\.gz \(pprof\): not a valid gzip stream/);
  assert.throws(() => readProfile(Buffer.from([0, 1, 2, 3]), 'x'), /^InputError: x \(pprof\): pprof profile has no sample types$/);
  assert.throws(() => readProfile(Buffer.from([0xff, 0x01, 0x00]), 'x'), /^InputError: x \(pprof\): not a pprof profile \(protobuf decoding failed: /);
  // Text that only looks like other formats at first sight is folded (py-spy, PHP, a control byte).
  assert.equal(detectFormat(Buffer.from('<module> (app.py:1);work (app.py:5) 7\n')), 'folded');
  assert.equal(detectFormat(Buffer.from('{closure} (a.php:1) 3\n')), 'folded');
  assert.equal(detectFormat(Buffer.from('main (we\x1bird.js:1) 3\n')), 'folded');
  assert.equal(readProfile(Buffer.from('<module> (app.py:1);work (app.py:5) 7\n'), 'py').totalSamples, 7);
  assert.equal(detectFormat(Buffer.from('<!DOCTYPE html>\n<html>')), 'html');
  assert.equal(detectFormat(Buffer.from('\n  {\n "nodes": []}')), 'cpuprofile');
  assert.throws(() => readProfile(Buffer.from('{"nodes": 3}'), 'c'), /^InputError: c \(cpuprofile\): not a \.cpuprofile: no "nodes" array$/);
  assert.throws(() => readProfile(Buffer.from('{"nodes": [{"id":1,'), 'c'), /^InputError: c \(cpuprofile\): not valid JSON/);
  const p = buildCpuProfile(buildTimedProfile());
  assert.throws(() => readCpuProfile(JSON.stringify({ ...p, timeDeltas: [1] })), /"samples" has 13 entries but "timeDeltas" has 1/);
  assert.throws(() => readCpuProfile(JSON.stringify({ ...p, samples: p.samples.map(() => 999) })), /samples\[0\] is node 999, which does not exist/);
  assert.throws(() => readProfile(Buffer.from('<html>'), 'f.html'), /an HTML flame graph cannot be read back/);
  assert.equal(readProfile(Buffer.from(''), 'empty').totalSamples, 0);
});

test('.cpuprofile stays bounded for huge untimed counts, and small drops are not rounded away', () => {
  const profile = emptyProfile({}, { timelineCapacity: 64 });
  const hot = profile.internFrame({ name: 'hot', file: 'a.js', line: 1, kind: 'js' });
  profile.addStack([hot], 3_000_000);
  profile.addSynthetic(['(lost samples)', '(ring full)'], 1);
  const p = buildCpuProfile(profile);
  checkCpuProfile(p);
  assert.ok(p.samples.length <= 64 + 2, `${p.samples.length} samples`);
  const names = p.samples.map((id) => p.nodes[id - 1].callFrame.functionName);
  assert.ok(names.includes('(ring full)'), 'the one lost sample is still there');
  // Time still adds up to the CPU time the samples stand for (1 ms each).
  assert.ok(Math.abs(sum(p.timeDeltas) - 3_000_001 * 1000) / (3_000_001 * 1000) < 0.01);
});

test('edge inputs: stacks without frames, samples on the root, control characters, relative files', () => {
  const empty = emptyProfile();
  empty.addStack([], 5);
  const folded = writeFolded(readPprof(writePprof(empty)));
  assert.equal(folded, '(unknown) 5\n');
  assert.equal(readFolded(folded).totalSamples, 5);
  const cp = buildCpuProfile(buildTimedProfile());
  const rootSamples = { ...cp, samples: [...cp.samples, 1], timeDeltas: [...cp.timeDeltas, 5] };
  assert.equal(readCpuProfile(JSON.stringify(rootSamples)).totalSamples, cp.samples.length + 1);
  const control = emptyProfile();
  control.addStack([control.internFrame({ name: 'a\x1b[31mred\x07', file: 'x\ty.js', line: 1, kind: 'js' })], 1);
  assert.equal(writeFolded(control), 'a?[31mred? (x?y.js:1) 1\n');
  // A relative file read from pprof comes back relative to the directory the profile was taken in.
  const back = readPprof(writePprof(buildTimedProfile()));
  assert.equal(back.metadata.cwd, '/srv/app');
  const url = buildCpuProfile(back).nodes.find((n) => n.callFrame.functionName === 'main').callFrame.url;
  assert.equal(url, 'file:///srv/app/app.js');
  // An odd timeline capacity is rounded up so thinning stays even.
  const odd = new SampleTimeline(3);
  for (let i = 0; i < 40; i++) odd.add(i, i);
  const kept = Array.from({ length: odd.length }, (_, i) => odd.stackIdAt(i));
  assert.deepEqual(kept.map((id, i) => id - (kept[i - 1] ?? -1)), kept.map(() => odd.stride));
});

test('Profile is importable for hand-built profiles', () => {
  assert.equal(typeof Profile, 'function');
});
