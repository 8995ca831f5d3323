// End-to-end: the names a profile gives real optimized code. Functions V8 inlined (forced with its
// natives) come out as frames of their own in every format; `top` charges builtins and native code to
// the JS function that called them (--raw shows them); builtins resolve on the main thread when a
// worker's isolate mapped its own copy of them first.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, test } from 'node:test';

import { Profile as PprofProfile } from 'pprof-format';

import { readProfile } from '../../dist/formats/render.js';
import { embeddedData } from '../lib/html-profiles.mjs';
import { fixtures, parseFoldedFile, preload, root, runNode, tempDir } from '../lib/helpers.mjs';

const dir = tempDir('sfprof-names-');
const script = path.join(fixtures, 'inlined.js');
const bin = path.join(root, 'bin', 'sfprof.js');

function profileInlined(output, env = {}) {
  const file = path.join(dir, output);
  const run = runNode(['--allow-natives-syntax', '-r', preload, script], {
    env: { SFPROF_INTERVAL: '1ms', SFPROF_OUTPUT: file, ...env },
  });
  assert.equal(run.status, 0, run.stderr);
  return file;
}

/** Samples of stacks through outerLoop, by what follows it. */
function underOuter(file) {
  const split = { leafChain: 0, middleOnly: 0, outerOnly: 0, other: 0 };
  for (const stack of parseFoldedFile(file)) {
    const at = stack.frames.findIndex((f) => f.startsWith('outerLoop ('));
    if (at < 0) continue;
    const rest = stack.frames.slice(at + 1).filter((f) => f.startsWith('middle (') || f.startsWith('leafAdd ('));
    if (rest.length === 2 && rest[0].startsWith('middle') && rest[1].startsWith('leafAdd')) split.leafChain += stack.count;
    else if (rest.length === 1 && rest[0].startsWith('middle')) split.middleOnly += stack.count;
    else if (rest.length === 0) split.outerOnly += stack.count;
    else split.other += stack.count;
  }
  return split;
}

describe('inlined functions', () => {
  test('folded: outerLoop;middle;leafAdd, the chain V8 inlined', () => {
    const split = underOuter(profileInlined('inlined.folded'));
    const all = split.leafChain + split.middleOnly + split.outerOnly + split.other;
    assert.ok(all >= 100, `enough samples in outerLoop: ${JSON.stringify(split)}`);
    // leafAdd's loop is where the time goes; it runs only inlined.
    assert.ok(split.leafChain >= 0.7 * all, JSON.stringify(split));
    assert.equal(split.other, 0, JSON.stringify(split));
  });

  test('SFPROF_INLINES=0 names only the compiled function', () => {
    const split = underOuter(profileInlined('plain.folded', { SFPROF_INLINES: '0' }));
    assert.ok(split.outerOnly >= 100, JSON.stringify(split));
    // Real calls happen only while warming up, before outerLoop is optimized.
    assert.ok(split.leafChain + split.middleOnly + split.other <= 0.02 * split.outerOnly, JSON.stringify(split));
  });

  test('pprof: inlined frames are extra lines of one location, innermost first, and read back inlined', () => {
    const file = profileInlined('inlined.pprof');
    const decoded = PprofProfile.decode(gunzipSync(fs.readFileSync(file)));
    const strings = decoded.stringTable.strings;
    const names = new Map(decoded.function.map((fn) => [Number(fn.id), strings[Number(fn.name)]]));
    const chains = decoded.location.filter((l) => l.line.length > 1).map((l) => l.line.map((line) => names.get(Number(line.functionId))));
    assert.ok(chains.some((c) => c.join(',') === 'leafAdd,middle,outerLoop'), JSON.stringify(chains));
    const profile = readProfile(fs.readFileSync(file), file);
    // leafAdd also ran as a real call while warming up; outerLoop is never inlined.
    assert.ok(profile.frames.some((f) => f.name === 'leafAdd' && f.inlined === true));
    assert.ok(profile.frames.some((f) => f.name === 'outerLoop'));
    assert.ok(!profile.frames.some((f) => f.name === 'outerLoop' && f.inlined === true));
  });

  test('.cpuprofile: leafAdd is a node under middle under outerLoop', () => {
    const file = profileInlined('inlined.cpuprofile');
    const { nodes } = JSON.parse(fs.readFileSync(file, 'utf8'));
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of nodes) for (const child of n.children ?? []) parent.set(child, n);
    const leaf = nodes.find((n) => n.callFrame.functionName === 'leafAdd' && n.hitCount > 0);
    assert.ok(leaf, 'leafAdd has samples');
    const mid = parent.get(leaf.id);
    assert.equal(mid?.callFrame.functionName, 'middle');
    assert.equal(parent.get(mid.id)?.callFrame.functionName, 'outerLoop');
    assert.ok(byId.size > 3);
  });

  test('HTML: inlined functions have their own colour class', () => {
    const file = profileInlined('inlined.html');
    const data = JSON.parse(embeddedData(fs.readFileSync(file, 'utf8')));
    const classOf = (name) => data.frames.filter(([n]) => n === name).map(([, , cls]) => cls);
    assert.ok(classOf('leafAdd').includes('js-inlined'), JSON.stringify(classOf('leafAdd')));
    assert.ok(!classOf('outerLoop').includes('js-inlined'), JSON.stringify(classOf('outerLoop')));
  });

  test('line mode: the inlined leafAdd carries its own executing line', () => {
    const stacks = parseFoldedFile(profileInlined('lines.folded', { SFPROF_LINES: '1' }));
    const lines = new Map();
    for (const stack of stacks) {
      const leaf = stack.frames.at(-1);
      const match = /^leafAdd \(test\/fixtures\/inlined\.js:(\d+)\)$/.exec(leaf ?? '');
      if (match) lines.set(Number(match[1]), (lines.get(Number(match[1])) ?? 0) + stack.count);
    }
    const inBody = [6, 7, 8].reduce((sum, line) => sum + (lines.get(line) ?? 0), 0);
    const all = [...lines.values()].reduce((a, b) => a + b, 0);
    assert.ok(all >= 100 && inBody >= 0.9 * all, JSON.stringify([...lines]));
  });
});

describe('top charges builtins to their JS caller', () => {
  const file = path.join(dir, 'builtins.folded');
  // JSON and sort: much of the time is in builtins, called from `work`.
  const app = path.join(dir, 'builtins.js');
  fs.writeFileSync(
    app,
    `function work() { let t = 0; for (let i = 0; i < 200; i++) t += JSON.stringify({ a: [i, 2, 3], b: 'x'.repeat(i % 50) }).length + [3, 1, 2].sort().length; return t; }
     const end = Date.now() + 700; let s = 0; while (Date.now() < end) s += work();`,
  );
  const run = runNode(['-r', preload, app], { env: { SFPROF_INTERVAL: '1ms', SFPROF_OUTPUT: file } });

  test('default: the first rows are JS functions; --raw ranks the builtins themselves', () => {
    assert.equal(run.status, 0, run.stderr);
    const rowsOf = (args) => {
      const top = runNode([bin, 'top', file, '-n', '5', ...args]);
      assert.equal(top.status, 0, top.stderr);
      // The counts and shares (four columns, six with GC charged to its causes), then the label.
      return top.stdout.trim().split('\n').slice(2).map((line) => line.trim().replace(/^(?:[\d.]+%?\s+)+/, ''));
    };
    const charged = rowsOf([]);
    assert.match(charged[0], /^work \(.*builtins\.js:1\)$/, charged.join('\n'));
    assert.ok(!charged.some((label) => label.startsWith('Builtin:')), charged.join('\n'));
    const raw = rowsOf(['--raw']);
    assert.ok(raw.some((label) => label.startsWith('Builtin:') || label.includes('[node]')), raw.join('\n'));
  });
});

test('builtins resolve on the main thread when a worker mapped its own copy first', () => {
  const run = runNode([path.join(fixtures, 'worker-before-session.mjs')], {
    env: { SFPROF_MODULE: path.join(root, 'dist', 'bundle', 'index.js'), RUN_MS: '1200' },
  });
  assert.equal(run.status, 0, run.stderr);
  const { unresolved, total } = JSON.parse(run.stdout.trim().split('\n').at(-1));
  assert.ok(total >= 50, `samples: ${total}`);
  // Measured before the fix: 15% of the leaves; after: none.
  assert.ok(unresolved <= 0.02 * total, `${unresolved} of ${total} leaves unresolved`);
});

test('a real library (marked): inlined frames appear and top\'s first rows are the app\'s JS functions', () => {
  const file = path.join(dir, 'marked.pprof');
  const run = runNode(['-r', preload, path.join(root, 'bench', 'workloads', 'real', 'marked.mjs')], {
    env: { SFPROF_INTERVAL: '1ms', SFPROF_OUTPUT: file, NAMES_SECONDS: '1.2' },
  });
  assert.equal(run.status, 0, run.stderr);
  const profile = readProfile(fs.readFileSync(file), file);
  const inlined = profile.stackList.filter((s) => s.frames.some((id) => profile.frames[id].inlined)).reduce((n, s) => n + s.count, 0);
  assert.ok(inlined >= 0.1 * profile.totalSamples, `${inlined} of ${profile.totalSamples} samples have inlined frames`);
  const top = runNode([bin, 'top', file, '-n', '5']);
  assert.equal(top.status, 0, top.stderr);
  const rows = top.stdout.trim().split('\n').slice(2, 7);
  // Each row: self, self%, total, total%, then "name (file:line)"; GC (by type when charged to its
  // cause) is the one row that is not a function.
  for (const row of rows) assert.match(row, /\((?:node_modules\/marked|node:)[^)]*:\d+\)$|  \(garbage collector(?:: [a-z -]+)?\)$/, rows.join('\n'));
});
