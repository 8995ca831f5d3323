// Label ids of hand-built sample records through SampleIngester: each thread's table id becomes the
// profile's label set, GC samples charged to their cause keep theirs, unknown ids stay unlabelled.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';
import { SampleIngester } from '../../dist/pipeline/ingest.js';
import { encodeGcRecords, encodeSamples, GC_BEGIN, GC_END } from '../../dist/native/records.js';
import { checkLabels } from '../../dist/config/labels.js';

const GC = 1;
const add = (seq, start, name) => ({ seq, type: 0, codeType: 1, start, size: 0x100, name, scriptId: 1 });
const EVENTS = [add(1, 0x1000, 'JS:*main /app/app.js:1:1'), add(2, 0x2000, 'JS:*churn /app/app.js:5:1')];
const js = (timeNs, labels) => ({ timeNs, codeSeq: 2, vmState: 0, flags: 0, labels, frames: [0x2010, 0x1010] });
const gc = (timeNs, labels) => ({ timeNs, codeSeq: 2, vmState: GC, flags: 0, labels, frames: [0x9000] });
const begin = (timeNs) => ({ kind: GC_BEGIN, gcType: 1, timeNs, beginNs: timeNs, codeSeq: 2, flags: 0, frames: [0x7777, 0x2010, 0x1010] });
const end = (beginNs, timeNs) => ({ kind: GC_END, gcType: 1, timeNs, beginNs, codeSeq: 0, flags: 0, frames: [] });

function makeIngester(table) {
  const profile = new Profile({
    startTime: 0,
    durationNs: 0,
    intervalUs: 1000,
    engine: 'test',
    lines: false,
    pid: 1,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
  });
  const asked = [];
  const labelSets = (id) => {
    asked.push(id);
    return table[id - 1];
  };
  return { profile, ingester: new SampleIngester(profile, { cwd: '/app', lines: false, labelSets }), asked };
}

/** { "stack|labels": count }. */
function render(profile) {
  const out = {};
  for (const stack of profile.stackList) {
    const key = `${stack.frames.map((id) => profile.frames[id].name).join(';')}|${JSON.stringify(profile.labelSets[stack.labels])}`;
    out[key] = (out[key] ?? 0) + stack.count;
  }
  return out;
}

test('label ids become the profile\'s label sets; GC samples under their cause keep their labels', () => {
  const { profile, ingester, asked } = makeIngester([{ route: '/a' }, { route: '/b', tenant: 't' }]);
  const samples = [js(5, 1), js(6, 2), js(7, 1), js(8, 0), gc(12, 2), gc(30, 1), js(40, 9)];
  ingester.ingest({ ...encodeSamples(samples), gc: encodeGcRecords([begin(10), end(10, 20)]), events: EVENTS }, true);
  assert.deepEqual(render(profile), {
    'main;churn|{"route":"/a"}': 2,
    'main;churn|{"route":"/b","tenant":"t"}': 1,
    'main;churn|{}': 2,
    'main;churn;(garbage collector: scavenge)|{"route":"/b","tenant":"t"}': 1,
    '(garbage collector)|{"route":"/a"}': 1,
  });
  // Each id is looked up once; 9 is in no table (its samples stay unlabelled).
  assert.deepEqual(asked.sort(), [1, 2, 9]);
});

test('a new profile (the next window) interns the sets again', () => {
  const { ingester } = makeIngester([{ job: 'x' }]);
  const next = new Profile({ startTime: 0, durationNs: 0, intervalUs: 1000, engine: 'test', lines: false, pid: 1, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } });
  ingester.ingest({ ...encodeSamples([js(5, 1)]), events: EVENTS });
  ingester.retarget(next, 0);
  ingester.ingest({ ...encodeSamples([js(6, 1)]), events: [] }, true);
  assert.deepEqual(next.labelSets, [{}, { job: 'x' }]);
  assert.equal(next.stackList[0].labels, 1);
});

test('checkLabels: plain objects of at most 16 string keys to strings of at most 200 characters', () => {
  checkLabels({}, 'labels');
  checkLabels(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, 'v'.repeat(200)])), 'labels');
  assert.throws(() => checkLabels(new Map(), 'labels'), /expected a plain object/);
  assert.throws(() => checkLabels({ [Symbol('s')]: 'v' }, 'labels'), /symbol key/);
  assert.throws(() => checkLabels({ '': 'v' }, 'labels'), /label key "" has 0 characters; expected 1 to 200/);
  assert.throws(() => checkLabels({ k: undefined }, 'labels'), /label "k" is undefined; expected a string value/);
});
