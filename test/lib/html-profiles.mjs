// Profiles and page helpers shared by the HTML writer's tests and the page's tests in Chromium.
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';
export const XSS = '<img src=x onerror=alert(1)>';
export const SCRIPT_CLOSE = '</script><script>alert(2)</script>';
export const TITLE = 'calc <b>"bold"</b> & \'co\'';

export function emptyProfile(drops = { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 }) {
  return new Profile({ startTime: 0, durationNs: 2_500_000_000, intervalUs: 1000, engine: 'itimer', lines: false, pid: 1, drops });
}

export function buildBasicProfile() {
  const p = emptyProfile({ ringFull: 3, nonJsThread: 1, truncated: 0, busy: 0 });
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'baseline' });
  const calc = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, column: 14, kind: 'js', tier: 'optimized' });
  // Differs from calc only in column: the same box in the graph, so its stacks merge with calc's.
  const calcColumn = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, column: 3, kind: 'js', tier: 'optimized' });
  const calcMaglev = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, kind: 'js', tier: 'maglev' });
  const helper = p.internFrame({ name: 'helper', file: 'lib/help.js', line: 7, kind: 'js', tier: 'interpreted' });
  const anon = p.internFrame({ name: '(anonymous)', file: 'lib/x.js', kind: 'js' });
  const emit = p.internFrame({ name: 'emit', file: 'node:events', line: 517, kind: 'node' });
  const toString = p.internFrame({ name: 'Builtin:ToString', kind: 'builtin' });
  const regexp = p.internFrame({ name: 'RegExp: \\d+<b>', kind: 'regexp' });
  const native = p.internFrame({ name: 'v8::internal::Runtime_StringAdd', kind: 'native' });
  const wasm = p.internFrame({ name: 'wasm-function[3]', file: 'mod.wasm', kind: 'wasm' });
  const gc = p.internFrame({ name: '(garbage collector)', kind: 'gc' });
  const xss = p.internFrame({ name: XSS, file: `evil${SCRIPT_CLOSE}.js`, line: 2, kind: 'js', tier: 'interpreted' });
  const dollars = p.internFrame({ name: "$& $' $` $$", kind: 'js' });
  const separators = p.internFrame({ name: 'line\u2028para\u2029end', kind: 'native' });

  p.addStack([main, calc], 9);
  p.addStack([main, calcColumn], 2);
  p.addStack([main, calcMaglev], 3);
  p.addStack([main, calc, toString], 4);
  p.addStack([main, calc, helper, calc], 2); // recursion: a search for calc counts these samples once
  p.addStack([main, calc, native], 2);
  p.addStack([main, emit, anon, regexp], 3);
  p.addStack([main, emit], 1);
  p.addStack([main, wasm], 1);
  p.addStack([main, xss], 6);
  p.addStack([main, xss, dollars], 2);
  p.addStack([main, separators], 1);
  p.addStack([main], 2);
  p.addStack([gc], 4);
  p.addSynthetic(['(lost samples)', '(ring full)'], 3);
  p.addSynthetic(['[other threads]'], 1);
  return p;
}

/** Main-thread stacks, a worker's under its thread frame, and a native thread under "[other threads]". */
export function buildThreadsProfile() {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'optimized' });
  const serve = p.internFrame({ name: 'serve', file: 'app.js', line: 9, kind: 'js', tier: 'optimized' });
  const worker = p.internFrame({ name: '[worker 1 w.js]', kind: 'thread' });
  const crunch = p.internFrame({ name: 'crunch', file: 'w.js', line: 3, kind: 'js', tier: 'optimized' });
  const other = p.internFrame({ name: '[other threads]', kind: 'synthetic' });
  const libuv = p.internFrame({ name: '[libuv-worker 4242]', kind: 'thread' });
  const zlib = p.internFrame({ name: 'deflate_slow', kind: 'native' });
  p.addStack([main, serve], 30);
  p.addStack([main], 10);
  p.addStack([worker, crunch], 50);
  p.addStack([worker], 5);
  p.addStack([other, libuv, zlib], 5);
  return p;
}

/**
 * Timed samples, 1 ms apart: f for the first second, g for the next; `untimed` samples of h carry
 * no time (as merged spans do).
 */
export function buildTimedProfile({ perHalf = 1000, untimed = 50 } = {}) {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'optimized' });
  const f = p.internFrame({ name: 'f', file: 'app.js', line: 5, kind: 'js', tier: 'optimized' });
  const g = p.internFrame({ name: 'g', file: 'app.js', line: 9, kind: 'js', tier: 'optimized' });
  const h = p.internFrame({ name: 'h', file: 'app.js', line: 13, kind: 'js', tier: 'optimized' });
  for (let k = 0; k < perHalf; k++) p.addStack([main, f], 1, (k + 0.5) * 1e6);
  for (let k = 0; k < perHalf; k++) p.addStack([main, g], 1, (perHalf + k + 0.5) * 1e6);
  if (untimed > 0) p.addStack([main, h], untimed);
  p.metadata.durationNs = 2 * perHalf * 1e6;
  return p;
}

/**
 * BEFORE and NEW, 100 samples each: grower's share grows 10% -> 40%, shrinker's 40% -> 10%,
 * steady stays at 30%, gone is only in BEFORE and fresh only in NEW.
 */
export function buildDiffProfiles() {
  const side = (counts) => {
    const p = emptyProfile();
    const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'optimized' });
    for (const [name, count] of Object.entries(counts)) {
      const fn = p.internFrame({ name, file: 'app.js', line: name.length, kind: 'js', tier: 'optimized' });
      p.addStack([main, fn], count);
    }
    return p;
  };
  return {
    base: side({ grower: 10, shrinker: 40, steady: 30, gone: 20 }),
    next: side({ grower: 40, shrinker: 10, steady: 30, fresh: 20 }),
  };
}

/**
 * A small web server before and after a change, for the diff picture: rendering got slower, parsing
 * faster, a cache lookup is new and the template compiler is gone.
 */
export function buildDemoDiffProfiles() {
  const side = (stacks) => {
    const p = emptyProfile();
    const frame = (name) => {
      const [fn, file] = name.split('@');
      return p.internFrame({ name: fn, file, line: 1 + (fn.length * 7) % 90, kind: file ? (file.startsWith('node:') ? 'node' : 'js') : 'builtin', tier: 'optimized' });
    };
    for (const [path, count] of stacks) p.addStack(path.split(';').map(frame), count);
    return p;
  };
  const request = 'processTicksAndRejections@node:internal/process/task_queues;handle@src/server.js';
  const common = [
    [`${request};readBody@src/body.js;JSON.parse`, 0],
    [`${request};route@src/router.js;match@src/router.js`, 60],
    [`${request};query@src/db.js;encodeRow@src/db.js`, 90],
    [`${request};send@src/server.js;writev@node:net`, 70],
    ['(garbage collector)', 40],
  ];
  const before = [
    [`${request};readBody@src/body.js;parse@src/body.js;JSON.parse`, 220],
    [`${request};render@src/view.js;compileTemplate@src/template.js;tokenize@src/template.js`, 120],
    [`${request};render@src/view.js;fill@src/template.js;escapeHtml@src/escape.js`, 150],
    [`${request};render@src/view.js;fill@src/template.js;String.prototype.replace`, 80],
  ];
  const after = [
    [`${request};readBody@src/body.js;parse@src/body.js;JSON.parse`, 110],
    [`${request};render@src/view.js;cacheLookup@src/cache.js;hashKey@src/cache.js`, 60],
    [`${request};render@src/view.js;fill@src/template.js;escapeHtml@src/escape.js`, 260],
    [`${request};render@src/view.js;fill@src/template.js;String.prototype.replace`, 150],
  ];
  return { base: side([...common, ...before]), next: side([...common, ...after]) };
}

export const DATA_RE = /<script type="application\/json" id="sfprof-data">([\s\S]*?)<\/script>/;

export function embeddedData(html) {
  const match = DATA_RE.exec(html);
  assert.ok(match, 'the page embeds its data');
  return match[1];
}

export function where(frame) {
  if (!frame.file) return '';
  return frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
}

/** Share of samples with a frame whose name or file:line contains `needle` (case-insensitive). */
export function matchedPercent(profile, needle) {
  const lower = needle.toLowerCase();
  const hit = profile.frames.map((f) => f.name.toLowerCase().includes(lower) || where(f).toLowerCase().includes(lower));
  let samples = 0;
  for (const stack of profile.stackList) if (stack.frames.some((id) => hit[id])) samples += stack.count;
  return (100 * samples) / profile.totalSamples;
}

/**
 * The page data's tree (version 2: frame, up, self per node) as nodes with parent, depth and total,
 * decoded the way the page does.
 */
export function decodeNodes(data) {
  assert.equal(data.nodes.length % 3, 0);
  const nodes = [];
  const path = []; // ancestors of the current node by depth
  for (let i = 0; i < data.nodes.length / 3; i++) {
    const [frame, up, self] = data.nodes.slice(3 * i, 3 * i + 3);
    const depth = i === 0 ? 0 : nodes[i - 1].depth + 1 - up;
    assert.ok(depth >= (i === 0 ? 0 : 1) && up >= 0, `node ${i}: depth ${depth}, up ${up}`);
    path.length = depth;
    const parent = depth === 0 ? -1 : path[depth - 1];
    nodes.push({ frame, parent, depth, self, total: 0 });
    path.push(i);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    nodes[i].total += nodes[i].self;
    if (nodes[i].parent >= 0) nodes[nodes[i].parent].total += nodes[i].total;
  }
  return nodes;
}
