// Inlined frames recovered from code events, on hand-built code objects: which function a position of
// optimized code belongs to, the chain of callers, and what is marked instead of guessed.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { AMBIGUOUS, InlineIndex, UNKNOWN_CALLER } from '../../dist/pipeline/inlining.js';
import { parseCodeName, Symbolizer } from '../../dist/pipeline/symbolize.js';
import { selfIndex } from '../../dist/model/charge.js';

// A script: outer (offsets 100-199) calls mid (200-299), which calls leaf (300-399).
const SOURCE = `${' '.repeat(100)}function outer() { mid(); }`.padEnd(200) + 'function mid() { leaf(); }'.padEnd(100) + 'function leaf() {}'.padEnd(100);

function bytecode(name, line, offsets, scriptId = 7, url = '/app/a.js') {
  const positions = new Uint32Array(offsets.flatMap((offset, i) => [i * 4, offset]));
  return { start: 0x1000 * line, size: 64, name: `JS:~${name} ${url}:${line}:1`, scriptId, codeType: 0, positions };
}

function optimized(name, line, offsets, scriptId = 7, url = '/app/a.js') {
  const positions = new Uint32Array(offsets.flatMap((offset, i) => [i * 10, offset]));
  return { start: 0x100000, size: 1000, name: `JS:*${name} ${url}:${line}:1`, scriptId, codeType: 1, positions };
}

function index(read = () => SOURCE) {
  const inlines = new InlineIndex(read);
  for (const entry of [bytecode('outer', 1, [110, 120, 130]), bytecode('mid', 2, [210, 220, 230]), bytecode('leaf', 3, [310, 320])]) {
    inlines.addBytecode(entry, parseCodeName(entry.name));
  }
  return inlines;
}

const names = (chain) => chain?.map((step) => (typeof step === 'symbol' ? step.description : step.name));

test('positions of the outer function are its own; inlinees resolve with their callers', () => {
  const inlines = index();
  const code = optimized('outer', 1, [110, 210, 310, 320, 220, 120]);
  const parsed = parseCodeName(code.name);
  assert.equal(inlines.chainAt(code, parsed, 0), undefined);
  assert.deepEqual(names(inlines.chainAt(code, parsed, 10)), ['mid']);
  assert.deepEqual(names(inlines.chainAt(code, parsed, 25)), ['mid', 'leaf']);
  assert.deepEqual(names(inlines.chainAt(code, parsed, 35)), ['mid', 'leaf']);
  assert.equal(inlines.chainAt(code, parsed, 55), undefined);
  assert.equal(inlines.ownOffsetBefore(code, parsed, 35), 110);
  assert.deepEqual(inlines.stats, { inlinedPositions: 4, unattributed: 0 });
});

test('an offset two functions of other scripts explain equally is marked ambiguous', () => {
  const inlines = index();
  for (const [name, scriptId] of [['left', 8], ['right', 9]]) {
    const entry = bytecode(name, 1, [500, 510], scriptId, `/app/${name}.js`);
    inlines.addBytecode(entry, parseCodeName(entry.name));
  }
  const code = optimized('outer', 1, [110, 500, 120]);
  const chain = inlines.chainAt(code, parseCodeName(code.name), 10);
  assert.deepEqual(chain, [AMBIGUOUS]);
  assert.equal(inlines.stats.unattributed, 1);
});

test('the function explaining most of the foreign offsets wins a shared offset', () => {
  const inlines = index();
  const other = bytecode('helper', 1, [500, 510, 520], 8, '/app/b.js');
  const stray = bytecode('stray', 1, [510], 9, '/app/c.js');
  for (const entry of [other, stray]) inlines.addBytecode(entry, parseCodeName(entry.name));
  const code = optimized('outer', 1, [110, 500, 510, 520, 120]);
  assert.deepEqual(names(inlines.chainAt(code, parseCodeName(code.name), 20)), ['helper']);
});

test('a function several inlinees name, with no code order to decide, gets an (inlined: unknown) caller', () => {
  // mid and mid2 both name leaf; leaf's code follows the outer function's.
  const text = SOURCE + 'function mid2() { leaf(); }';
  const inlines = index(() => text);
  const mid2 = bytecode('mid2', 4, [416, 425]);
  inlines.addBytecode(mid2, parseCodeName(mid2.name));
  const code = optimized('outer', 1, [110, 210, 120, 416, 120, 310, 120]);
  const chain = inlines.chainAt(code, parseCodeName(code.name), 50);
  assert.equal(chain[0], UNKNOWN_CALLER);
  assert.equal(chain.at(-1).name, 'leaf');
});

test('a callback no inlinee names goes under the code its body follows', () => {
  const text = SOURCE.replace('leaf();', 'fn();  ');
  const inlines = index(() => text);
  const code = optimized('outer', 1, [110, 210, 310, 220, 120]);
  assert.deepEqual(names(inlines.chainAt(code, parseCodeName(code.name), 20)), ['mid', 'leaf']);
});

test('Symbolizer expands optimized code into inlined frames; off, it names the compiled function only', () => {
  for (const inlinesOn of [true, false]) {
    const symbolizer = new Symbolizer('/app', false, undefined, { inlines: inlinesOn });
    for (const entry of [bytecode('outer', 1, [110]), bytecode('mid', 2, [210]), bytecode('leaf', 3, [310])]) symbolizer.learn(entry);
    const code = optimized('outer', 1, [110, 210, 310]);
    const frames = symbolizer.frames(code, code.start + 25, true);
    if (inlinesOn) {
      assert.deepEqual(frames.map((f) => `${f.name}${f.inlined ? '+' : ''}`), ['outer', 'mid+', 'leaf+']);
      assert.equal(frames[2].file, 'a.js');
      assert.equal(frames[2].tier, 'optimized');
    } else {
      assert.deepEqual(frames.map((f) => f.name), ['outer']);
    }
  }
});

test('selfIndex charges builtins, native code and inlined markers to the nearest JS frame', () => {
  const frames = [
    { name: 'main', kind: 'js' },
    { name: 'Builtin:ArrayPrototypeSort', kind: 'builtin' },
    { name: 'v8::internal::Foo', kind: 'native' },
    { name: '(garbage collector)', kind: 'gc' },
    { name: '(inlined: unknown)', kind: 'synthetic', inlined: true },
    { name: '[other threads]', kind: 'synthetic' },
  ];
  assert.equal(selfIndex(frames, [0, 1, 2], true), 0);
  assert.equal(selfIndex(frames, [0, 1, 2], false), 2);
  assert.equal(selfIndex(frames, [0, 3], true), 1, 'GC keeps its own frame');
  assert.equal(selfIndex(frames, [0, 4], true), 0);
  assert.equal(selfIndex(frames, [5, 2], true), 1, 'no JS caller: the leaf stays');
});
