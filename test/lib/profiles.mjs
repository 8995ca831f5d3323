// Hand-built profiles shared by the writer and reader tests.
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';

export function emptyProfile(overrides = {}, options = {}) {
  return new Profile(
    {
      startTime: 1_700_000_000_000,
      durationNs: 50_000_000,
      intervalUs: 1000,
      engine: 'itimer',
      lines: false,
      pid: 4242,
      drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
      cwd: '/srv/app',
      ...overrides,
    },
    options,
  );
}

/**
 * A small line-mode profile with a timeline: main → calc at two lines and two tiers, a builtin, a
 * node internal, GC, a C++ frame, a hostile name, and drops that have no time.
 */
export function buildTimedProfile() {
  const p = emptyProfile({ lines: true, drops: { ringFull: 2, nonJsThread: 1, truncated: 0, busy: 0 } });
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 30, startLine: 28, column: 14, kind: 'js', tier: 'interpreted' });
  const calc21 = p.internFrame({ name: 'calc', file: 'lib/calc.js', line: 21, startLine: 20, column: 1, kind: 'js', tier: 'optimized' });
  const calc22 = p.internFrame({ name: 'calc', file: 'lib/calc.js', line: 22, startLine: 20, column: 1, kind: 'js', tier: 'baseline' });
  const emit = p.internFrame({ name: 'emit', file: 'node:events', line: 517, startLine: 517, column: 44, kind: 'node', tier: 'maglev' });
  const toString = p.internFrame({ name: 'Builtin:ToString', kind: 'builtin' });
  const native = p.internFrame({ name: 'uv_run [node]', kind: 'native' });
  const gc = p.internFrame({ name: '(garbage collector)', kind: 'gc' });
  const anonymous = p.internFrame({ name: '(anonymous)', file: '/abs/x.js', line: 1, startLine: 1, column: 1, kind: 'js' });
  const hostile = p.internFrame({ name: '<img src=x onerror=alert(1)>', file: 'evil".js', line: 3, startLine: 3, column: 2, kind: 'js' });
  const order = [
    [main, calc21],
    [main, calc21],
    [main, calc22],
    [main, emit, calc21],
    [gc],
    [main, calc21, toString],
    [main, calc21],
    [anonymous, native],
    [main, hostile],
    [main, calc22],
  ];
  order.forEach((stack, i) => p.addStack(stack, 1, 1_000_000 * (i + 1)));
  p.addSynthetic(['(lost samples)', '(ring full)'], 2);
  p.addSynthetic(['[other threads]'], 1);
  return p;
}

const sum = (values) => values.reduce((a, b) => a + b, 0);

/** DevTools' invariants of a .cpuprofile. */
export function checkCpuProfile(p) {
  assert.deepEqual(Object.keys(p).sort(), ['endTime', 'nodes', 'samples', 'startTime', 'timeDeltas']);
  assert.equal(p.nodes[0].callFrame.functionName, '(root)');
  const ids = new Set();
  for (const node of p.nodes) {
    assert.ok(Number.isInteger(node.id) && node.id > 0, `node id ${node.id}`);
    assert.ok(!ids.has(node.id), `duplicate node id ${node.id}`);
    ids.add(node.id);
    const f = node.callFrame;
    assert.equal(typeof f.functionName, 'string');
    assert.equal(typeof f.scriptId, 'string');
    assert.equal(typeof f.url, 'string');
    assert.ok(Number.isInteger(f.lineNumber) && f.lineNumber >= -1);
    assert.ok(Number.isInteger(f.columnNumber) && f.columnNumber >= -1);
    assert.ok(Number.isInteger(node.hitCount) && node.hitCount >= 0);
    for (const tick of node.positionTicks ?? []) assert.ok(tick.line >= 1 && tick.ticks >= 1);
    if (node.positionTicks) assert.equal(sum(node.positionTicks.map((t) => t.ticks)) <= node.hitCount, true);
  }
  const parents = new Map();
  for (const node of p.nodes) {
    for (const child of node.children ?? []) {
      assert.ok(ids.has(child), `child ${child} of ${node.id} does not exist`);
      assert.ok(!parents.has(child), `node ${child} has two parents`);
      parents.set(child, node.id);
    }
  }
  for (const node of p.nodes.slice(1)) assert.ok(parents.has(node.id), `node ${node.id} is not reachable from the root`);
  assert.equal(p.samples.length, p.timeDeltas.length);
  for (const id of p.samples) assert.ok(ids.has(id), `sample refers to missing node ${id}`);
  assert.ok(p.timeDeltas.every((d) => Number.isInteger(d) && d >= 0), 'time deltas are whole, non-negative µs');
  assert.ok(p.startTime <= p.endTime);
  assert.ok(p.startTime + sum(p.timeDeltas) <= p.endTime, 'last sample after endTime');
  const hits = new Map();
  for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  for (const node of p.nodes) assert.equal(node.hitCount, hits.get(node.id) ?? 0, `hitCount of node ${node.id}`);
}
