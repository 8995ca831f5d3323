// Timer signals on threads without JS, offline: hand-built (tid, pc) records through OtherThreads
// into `[other threads];<thread>;<function>` stacks, the drops that complete the count, and the
// section `sfprof top` gives them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Profile } from '../../dist/model/profile.js';
import { decodeOtherThreads, encodeOtherThreads, RecordFormatError } from '../../dist/native/records.js';
import { OtherThreads, readThreadName } from '../../dist/pipeline/other-threads.js';
import { completeProfile } from '../../dist/pipeline/session.js';
import { NativeSymbols } from '../../dist/pipeline/native-symbols.js';
import { formatTopTable, functionShares, otherThreadShares } from '../../dist/delivery/summary.js';
import { renderProfile } from '../../dist/formats/render.js';
import { readProfile } from '../../dist/formats/render.js';

function emptyProfile() {
  return new Profile({ startTime: 0, durationNs: 0, intervalUs: 1000, engine: 'itimer', lines: false, pid: 1, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } });
}

function folded(profile) {
  return Object.fromEntries(
    profile.stackList.filter((s) => s.count > 0).map((s) => [s.frames.map((id) => profile.frames[id].name).join(';'), s.count]),
  );
}

// Two objects: "node" with pbkdf2 at 0x1000-0x1100 and an unnamed gap after it; libc with read.
const SYMBOLS = [
  { start: 0x1000, size: 0x100, object: '/usr/bin/node', symbol: 'node::crypto::PBKDF2Job::DoThreadPoolWork()' },
  { start: 0x1100, size: 0x900, object: '/usr/bin/node' },
  { start: 0x5000, size: 0x40, object: '/lib/libc.so.6', symbol: 'read' },
];
const resolve = (address) => SYMBOLS.find((s) => address >= s.start && address < s.start + s.size) ?? null;
const NAMES = { 101: 'libuv-worker', 102: 'libuv-worker', 103: 'V8Worker' };

function makeOtherThreads(names = NAMES) {
  const asked = [];
  const symbols = new NativeSymbols(resolve);
  const other = new OtherThreads((pc) => symbols.frame(pc), (tid) => {
    asked.push(tid);
    return names[tid];
  });
  return { other, asked };
}

test('records decode as (tid, pc) pairs; a partial record is an error', () => {
  const records = [{ tid: 101, pc: 0x1010 }, { tid: 7, pc: 2 ** 47 + 8 }];
  assert.deepEqual(decodeOtherThreads(encodeOtherThreads(records)), records);
  assert.deepEqual(decodeOtherThreads(new Float64Array(0)), []);
  assert.throws(() => decodeOtherThreads(new Float64Array(3)), RecordFormatError);
});

test('each record becomes [other threads];<thread name>;<native function>; a pool shares its name', () => {
  const profile = emptyProfile();
  const { other, asked } = makeOtherThreads();
  other.add(profile, decodeOtherThreads(encodeOtherThreads([
    { tid: 101, pc: 0x1010 },
    { tid: 102, pc: 0x10ff },
    { tid: 101, pc: 0x1200 }, // between symbols
    { tid: 103, pc: 0x5004 },
    { tid: 104, pc: 0x9000 }, // a thread that ended; a pc in no loaded object
  ])));
  other.add(profile, [{ tid: 101, pc: 0x1020 }]);
  assert.deepEqual(folded(profile), {
    '[other threads];libuv-worker;node::crypto::PBKDF2Job::DoThreadPoolWork [node]': 3,
    '[other threads];libuv-worker;(native) [node]': 1,
    '[other threads];V8Worker;read [libc.so.6]': 1,
    '[other threads];thread 104;(unknown)': 1,
  });
  // Each thread's name is read once.
  assert.deepEqual(asked, [101, 102, 103, 104]);
  assert.equal(other.recordedTotal, 6);
});

test('completeProfile: recorded and unrecorded signals on other threads make the count, nothing twice', () => {
  const profile = emptyProfile();
  const { other } = makeOtherThreads();
  other.add(profile, [{ tid: 101, pc: 0x1010 }, { tid: 103, pc: 0x5000 }]);
  completeProfile(profile, { nonJsThread: 9, timerSignals: 3, elapsedNs: 1e9 }, { recorded: other.recordedTotal, unrecorded: 1 });
  assert.equal(profile.metadata.drops.nonJsThread, 3);
  const stacks = folded(profile);
  assert.equal(stacks['[other threads];(unrecorded)'], 1);
  const underOther = Object.entries(stacks).filter(([k]) => k.startsWith('[other threads];')).reduce((n, [, c]) => n + c, 0);
  assert.equal(underOther, profile.metadata.drops.nonJsThread);
});

test('sfprof top: the JS threads first, then the other threads by name and function, shares of all samples', () => {
  const profile = emptyProfile();
  const main = profile.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
  profile.addStack([main], 4);
  const { other } = makeOtherThreads();
  other.add(profile, [
    { tid: 101, pc: 0x1010 }, { tid: 102, pc: 0x1010 }, { tid: 101, pc: 0x1200 }, { tid: 103, pc: 0x5004 },
  ]);
  completeProfile(profile, { nonJsThread: 6, timerSignals: 10, elapsedNs: 1e9 }, { recorded: 4, unrecorded: 2 });
  assert.deepEqual(functionShares(profile).map((s) => s.label), ['main (app.js:1)']);
  assert.deepEqual(otherThreadShares(profile).map((t) => [t.thread, t.samples]), [['libuv-worker', 3], ['(unrecorded)', 2], ['V8Worker', 1]]);
  assert.equal(formatTopTable(profile, 20), [
    '10 samples',
    '    self  self%    total total%  function',
    '       4  40.0%        4  40.0%  main (app.js:1)',
    '',
    '6 samples on other threads (no JS there: GC and compiler helpers, the libuv pool, ...)',
    ' samples      %  thread, then the native function it was in',
    '       3  30.0%  libuv-worker',
    '       2  20.0%    node::crypto::PBKDF2Job::DoThreadPoolWork [node]',
    '       1  10.0%    (native) [node]',
    '       2  20.0%  (unrecorded)',
    '       1  10.0%  V8Worker',
    '       1  10.0%    read [libc.so.6]',
    '',
  ].join('\n'));
  // -n bounds the functions under each thread too; the section survives a folded round trip.
  const back = readProfile(Buffer.from(renderProfile(profile, 'folded')), 'p.folded');
  assert.match(formatTopTable(back, 1), /\n {7}3 {2}30\.0% {2}libuv-worker\n {7}2 {2}20\.0% {4}node::crypto::PBKDF2Job::DoThreadPoolWork \[node\]\n {7}2 {2}20\.0% {2}\(unrecorded\)\n/);
});

test('a profile without other threads keeps the one table; an old bare [other threads] counts as unrecorded', () => {
  const profile = emptyProfile();
  profile.addStack([profile.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' })], 2);
  assert.equal(formatTopTable(profile, 20), '2 samples\n    self  self%    total total%  function\n       2 100.0%        2 100.0%  main (app.js:1)\n');
  profile.addSynthetic(['[other threads]'], 2);
  assert.deepEqual(otherThreadShares(profile), [{ thread: '(unrecorded)', samples: 2, functions: [] }]);
});

test('readThreadName reads this thread\'s comm on Linux; an ended thread has none', { skip: process.platform !== 'linux' }, () => {
  assert.equal(typeof readThreadName(process.pid), 'string');
  assert.equal(readThreadName(2 ** 31 - 1), undefined);
});
