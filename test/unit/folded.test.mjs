import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { Profile } from '../../dist/model/profile.js';
import { frameLabel, sanitize, writeFolded } from '../../dist/formats/writers/folded.js';

function emptyProfile() {
  return new Profile({
    startTime: 0,
    durationNs: 0,
    intervalUs: 10000,
    engine: 'test',
    lines: false,
    pid: 1,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
  });
}

function buildBasicProfile() {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
  const calc = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, column: 14, kind: 'js' });
  // Same label as calc, distinct frame (other kind): its stacks merge with calc's in the output.
  const calcOther = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, kind: 'native' });
  const emit = p.internFrame({ name: 'emit', file: 'node:events', line: 517, kind: 'node' });
  const weird = p.internFrame({ name: 'get a;b\nc', file: 'lib/x.js', line: 3, kind: 'js' });
  const toString = p.internFrame({ name: 'Builtin:ToString', kind: 'builtin' });
  const gc = p.internFrame({ name: '(garbage collector)', kind: 'gc' });
  const truncated = p.internFrame({ name: '(truncated)', kind: 'synthetic' });
  const top = p.internFrame({ name: 'top', file: 'app.js', kind: 'js' }); // file, no line
  const oddFile = p.internFrame({ name: 'f', file: 'we;ird/dir.js', line: 2, kind: 'js' });
  const multi = p.internFrame({ name: 'multi\r\n\nline', kind: 'native' });
  const semi = p.internFrame({ name: 'a;b', kind: 'native' });
  const comma = p.internFrame({ name: 'a,b', kind: 'native' }); // sanitizes to the same label as 'a;b'
  assert.notEqual(calc, calcOther);
  assert.notEqual(semi, comma);

  p.addStack([main, calc], 5);
  p.addStack([main, calcOther], 1);
  p.addStack([main, emit, calc], 2);
  p.addStack([main, weird]);
  p.addStack([main, calc, toString], 3);
  p.addStack([main, calc, toString]); // same ids: aggregated in the profile itself
  p.addStack([gc], 7);
  p.addStack([truncated, main, calc], 1);
  p.addStack([top, oddFile], 2);
  p.addStack([top, multi], 1);
  p.addStack([main, semi], 1);
  p.addStack([main, comma], 2);
  p.addStack([main, emit], 0); // zero count: ignored
  p.addSynthetic(['(lost samples)', '(ring full)'], 3);
  p.addSynthetic(['[other threads]'], 1);
  p.addSynthetic(['(lost samples)', '(sampling paused)'], 0);
  return p;
}

test('writeFolded matches the golden file', () => {
  const golden = readFileSync(new URL('../golden/basic.folded', import.meta.url), 'utf8');
  const profile = buildBasicProfile();
  assert.equal(writeFolded(profile), golden);
  // Every line is "<frames> <count>" with a count that sums to the profile's total.
  const total = golden
    .trimEnd()
    .split('\n')
    .reduce((sum, line) => sum + Number(/ (\d+)$/.exec(line)[1]), 0);
  assert.equal(total, 31);
  assert.equal(profile.totalSamples, 31);
});

test('stacks whose labels coincide merge into one line', () => {
  const p = emptyProfile();
  const a1 = p.internFrame({ name: 'f', file: 'a.js', line: 2, kind: 'js' });
  const a2 = p.internFrame({ name: 'f', file: 'a.js', line: 2, kind: 'builtin' });
  const b = p.internFrame({ name: 'g', kind: 'native' });
  p.addStack([a1, b], 2);
  p.addStack([a2, b], 3);
  assert.equal(p.stacks.size, 2);
  assert.equal(writeFolded(p), 'f (a.js:2);g 5\n');
});

test('lines are sorted whatever the insertion order', () => {
  const p = emptyProfile();
  const z = p.internFrame({ name: 'z', kind: 'js' });
  const a = p.internFrame({ name: 'a', kind: 'js' });
  const m = p.internFrame({ name: 'm', kind: 'js' });
  p.addStack([z], 1);
  p.addStack([m, z], 2);
  p.addStack([a, z], 3);
  p.addStack([m], 4);
  assert.equal(writeFolded(p), 'a;z 3\nm 4\nm;z 2\nz 1\n');
});

test('an empty profile folds to the empty string', () => {
  assert.equal(writeFolded(emptyProfile()), '');
  const p = emptyProfile();
  p.addSynthetic(['(lost samples)', '(ring full)'], 0);
  assert.equal(writeFolded(p), '');
});

test('frameLabel for each frame shape', () => {
  assert.equal(frameLabel({ name: '(program)', kind: 'synthetic' }), '(program)');
  assert.equal(frameLabel({ name: 'Builtin:ArrayPush', kind: 'builtin' }), 'Builtin:ArrayPush');
  assert.equal(frameLabel({ name: 'calc', file: 'examples/calc.js', line: 21, kind: 'js' }), 'calc (examples/calc.js:21)');
  assert.equal(
    frameLabel({ name: 'calc', file: 'examples/calc.js', line: 21, column: 14, kind: 'js' }),
    'calc (examples/calc.js:21)',
  );
  assert.equal(frameLabel({ name: 'emit', file: 'node:events', line: 517, kind: 'node' }), 'emit (node:events:517)');
  assert.equal(frameLabel({ name: '(anonymous)', file: '/abs/x.js', line: 1, kind: 'js' }), '(anonymous) (/abs/x.js:1)');
  assert.equal(frameLabel({ name: 'top', file: 'app.js', kind: 'js' }), 'top (app.js)');
  assert.equal(frameLabel({ name: 'zero', file: 'app.js', line: 0, kind: 'js' }), 'zero (app.js:0)');
  assert.equal(frameLabel({ name: 'empty-file', file: '', line: 3, kind: 'js' }), 'empty-file');
  assert.equal(frameLabel({ name: 'a;b', file: 'x;y.js', line: 4, kind: 'js' }), 'a,b (x,y.js:4)');
  assert.equal(frameLabel({ name: 'one\ntwo', file: 'dir\nname/x.js', line: 5, kind: 'js' }), 'one two (dir name/x.js:5)');
});

test('sanitize replaces separators and collapses line breaks', () => {
  assert.equal(sanitize('plain name'), 'plain name');
  assert.equal(sanitize('a;b;;c'), 'a,b,,c');
  assert.equal(sanitize('a\nb'), 'a b');
  assert.equal(sanitize('a\rb'), 'a b');
  assert.equal(sanitize('a\r\n\r\nb'), 'a b');
  assert.equal(sanitize('x;\ny'), 'x, y');
  assert.equal(sanitize('a\u2028b\u2029c'), 'a b c');
  assert.equal(sanitize(''), '');
});
