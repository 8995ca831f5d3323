// Differential profiles (sfprof diff) on hand-built profiles: the folded two-column form, the pprof
// whose values are NEW - BASE, and stacks matched by what they show across formats.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile } from 'pprof-format';

import { diffProfiles } from '../../dist/formats/diff.js';
import { readProfile } from '../../dist/formats/render.js';
import { renderDiff } from '../../dist/formats/render-diff.js';
import { readCpuProfile } from '../../dist/formats/readers/cpuprofile.js';
import { readFolded } from '../../dist/formats/readers/folded.js';
import { readPprof } from '../../dist/formats/readers/pprof.js';
import { buildCpuProfile } from '../../dist/formats/writers/cpuprofile.js';
import { writeFolded, writeFoldedDiff } from '../../dist/formats/writers/folded.js';
import { writePprof, writePprofDiff } from '../../dist/formats/writers/pprof.js';
import { emptyProfile } from '../lib/profiles.mjs';

const sum = (values) => values.reduce((a, b) => a + b, 0);
const NAMES = { baseName: 'before.folded', newName: 'after.pb.gz' };

/** Adds stacks given as [[frame, …], count] to a profile, frames as objects. */
function withStacks(profile, stacks) {
  for (const [frames, count] of stacks) profile.addStack(frames.map((frame) => profile.internFrame(frame)), count);
  return profile;
}

const main = { name: 'main', file: 'app.js', line: 28, startLine: 28, column: 14, kind: 'js' };
const calc = { name: 'calc', file: 'lib/calc.js', line: 20, startLine: 20, column: 1, kind: 'js', tier: 'optimized' };
const parse = { name: 'parse', file: 'lib/parse.js', line: 5, startLine: 5, column: 3, kind: 'js' };
const fast = { name: 'fast', file: 'lib/calc.js', line: 40, startLine: 40, column: 1, kind: 'js' };
const toString = { name: 'Builtin:ToString', kind: 'builtin' };
const gc = { name: '(garbage collector)', kind: 'gc' };

/** BASE: 12 samples, 1 ms each. */
function baseProfile(overrides = {}) {
  return withStacks(emptyProfile(overrides), [
    [[main, calc], 6],
    [[main, parse], 3],
    [[gc], 1],
    [[main, toString], 2],
  ]);
}

/**
 * NEW: calc shrank from 6 to 2 (and now runs interpreted, from another column: still the same frame),
 * parse and GC stayed, ToString is gone, fast is new. 10 samples.
 */
function newProfile(overrides = {}) {
  const calcNow = { ...calc, tier: 'interpreted', column: 5 };
  return withStacks(emptyProfile(overrides), [
    [[main, calcNow], 2],
    [[main, parse], 3],
    [[gc], 1],
    [[main, fast], 4],
  ]);
}

/** A pprof diff as plain data: sample types, comments, and each sample's stack (root first) and values. */
function pprofDiffAsData(bytes) {
  const p = PprofProfile.decode(gunzipSync(bytes));
  const s = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const nameOf = (id) => loc.get(Number(id)).line.map((line) => s[Number(fn.get(Number(line.functionId)).name)]).reverse().join(';');
  // pprof-format reads int64 as unsigned: a negative value arrives as 2^64 minus its size.
  const signed = (value) => Number(BigInt.asIntN(64, BigInt(value)));
  const samples = new Map();
  for (const sample of p.sample) samples.set([...sample.locationId].reverse().map(nameOf).join(';'), sample.value.map(signed));
  return {
    sampleType: p.sampleType.map((t) => `${s[Number(t.type)]}/${s[Number(t.unit)]}`),
    comments: p.comment.map((i) => s[Number(i)]),
    samples,
  };
}

test('folded diff: one line per stack in either profile, 0 where absent, columns add up to each side', () => {
  const base = baseProfile();
  const next = newProfile();
  const text = writeFoldedDiff(diffProfiles(base, next));
  assert.equal(
    text,
    [
      '(garbage collector) 1 1',
      'main (app.js:28);Builtin:ToString 2 0',
      'main (app.js:28);calc (lib/calc.js:20) 6 2',
      'main (app.js:28);fast (lib/calc.js:40) 0 4',
      'main (app.js:28);parse (lib/parse.js:5) 3 3',
      '',
    ].join('\n'),
  );
  const rows = text.trimEnd().split('\n').map((line) => /^(.+) (\d+) (\d+)$/.exec(line));
  assert.ok(rows.every(Boolean));
  assert.equal(sum(rows.map((m) => Number(m[2]))), base.totalSamples);
  assert.equal(sum(rows.map((m) => Number(m[3]))), next.totalSamples);
  assert.equal(base.totalSamples, 12);
  assert.equal(next.totalSamples, 10);
  // The stacks are the lines the folded writer writes for each side.
  const stacks = rows.map((m) => m[1]).sort();
  const folded = (profile) => writeFolded(profile).trimEnd().split('\n').map((line) => line.replace(/ \d+$/, ''));
  assert.deepEqual([...new Set([...folded(base), ...folded(next)])].sort(), stacks);
});

test('folded diff: a line differs where the line number does, and a name is escaped as the folded writer escapes it', () => {
  const hostile = { name: 'a;b\nc', file: 'x.js', line: 1, kind: 'js' };
  const base = withStacks(emptyProfile(), [[[main, hostile], 1], [[{ ...main, line: 29, startLine: 29 }], 1]]);
  const next = withStacks(emptyProfile(), [[[main, hostile], 2]]);
  assert.equal(writeFoldedDiff(diffProfiles(base, next)), 'main (app.js:28);a,b c (x.js:1) 1 2\nmain (app.js:29) 1 0\n');
  assert.equal(writeFoldedDiff(diffProfiles(emptyProfile(), emptyProfile())), '');
});

test('pprof diff: values are after - before per stack, negative where it shrank; count and CPU ns; unchanged stacks left out', () => {
  const data = pprofDiffAsData(writePprofDiff(diffProfiles(baseProfile(), newProfile()), NAMES));
  assert.deepEqual(data.sampleType, ['samples/count', 'cpu/nanoseconds']);
  assert.deepEqual(
    data.samples,
    new Map([
      ['main;Builtin:ToString', [-2, -2_000_000]],
      ['main;calc', [-4, -4_000_000]],
      ['main;fast', [4, 4_000_000]],
    ]),
  );
  assert.ok(data.comments.includes('sfprof.diff.base=before.folded'), data.comments.join('\n'));
  assert.ok(data.comments.includes('sfprof.diff.new=after.pb.gz'));
  assert.ok(data.comments.includes('sfprof.diff.base_samples=12'));
  assert.ok(data.comments.includes('sfprof.diff.new_samples=10'));
});

test('pprof diff: a stack with the same count but other CPU time is kept, with count 0', () => {
  // NEW's samples stand for 2 ms of CPU each, BASE's for 1 ms.
  const data = pprofDiffAsData(writePprofDiff(diffProfiles(baseProfile(), newProfile({ sampleWeightNs: 2_000_000 })), NAMES));
  assert.deepEqual(data.samples.get('main;parse'), [0, 3 * 2_000_000 - 3 * 1_000_000]);
  assert.deepEqual(data.samples.get('(garbage collector)'), [0, 1_000_000]);
  assert.deepEqual(data.samples.get('main;calc'), [-4, 2 * 2_000_000 - 6 * 1_000_000]);
});

test('pprof diff: counts only when one side does not know a sample\'s CPU time (folded input)', () => {
  const base = readFolded(writeFolded(baseProfile()));
  const data = pprofDiffAsData(writePprofDiff(diffProfiles(base, newProfile()), NAMES));
  assert.deepEqual(data.sampleType, ['samples/count']);
  assert.deepEqual(data.samples.get('main;calc'), [-4]);
  assert.deepEqual(data.samples.get('main;fast'), [4]);
  assert.equal(data.samples.size, 3);
});

test('a pprof diff is not read back as a profile: its values are differences', () => {
  const bytes = renderDiff(baseProfile(), newProfile(), 'pprof', NAMES);
  assert.throws(() => readPprof(bytes), /a differential profile \(written by sfprof diff\) holds differences, not samples/);
  assert.throws(() => readProfile(bytes, 'diff.pb.gz'), /^InputError: diff\.pb\.gz \(pprof\): a differential profile/);
});

test('stacks match across formats: one profile as folded, .cpuprofile and pprof gives equal columns', () => {
  // The .cpuprofile holds URLs, read back relative to the working directory: the profile's must be it.
  const profile = withStacks(emptyProfile({ cwd: process.cwd() }), [
    [[main, calc], 6],
    [[main, calc, toString], 2],
    [[main, { name: 'emit', file: 'node:events', line: 517, startLine: 517, column: 44, kind: 'node' }, parse], 3],
    [[{ name: '(anonymous)', file: '/abs/x.js', line: 1, startLine: 1, column: 1, kind: 'js' }, { name: 'uv_run [node]', kind: 'native' }], 1],
    [[gc], 2],
  ]);
  const asFolded = readFolded(writeFolded(profile));
  const asCpuProfile = readCpuProfile(JSON.stringify(buildCpuProfile(profile)));
  const asPprof = readPprof(writePprof(profile));
  for (const [name, base, next] of [
    ['folded → .cpuprofile', asFolded, asCpuProfile],
    ['folded → pprof', asFolded, asPprof],
    ['pprof → .cpuprofile', asPprof, asCpuProfile],
    ['live → pprof', profile, asPprof],
  ]) {
    const { rows } = diffProfiles(base, next);
    assert.equal(rows.length, 5, `${name}: ${rows.map((row) => row.text).join(' | ')}`);
    for (const row of rows) assert.equal(row.before, row.after, `${name}: ${row.text}`);
    assert.equal(sum(rows.map((row) => row.before)), profile.totalSamples, name);
    // Nothing changed: a pprof diff with no samples.
    assert.equal(pprofDiffAsData(writePprofDiff(diffProfiles(base, next), NAMES)).samples.size, 0, name);
  }
});
