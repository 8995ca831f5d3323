// Hand-built profiles shared by the writer and reader tests.
import { Profile } from '../dist/profile.js';

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
