// The main thread's existing code, listed at its first sample instead of at start: codeAtStart
// rebuilds the code of the start from the listing and the events logged before it, and the ingester
// holds the first samples until the listing arrives, then resolves each against its moment.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';
import { SampleIngester } from '../../dist/pipeline/ingest.js';
import { codeAtStart } from '../../dist/pipeline/existing-code.js';
import { listingOf } from '../../dist/pipeline/listed-code.js';
import { encodeSamples } from '../../dist/native/records.js';
import { EVENT_TYPES } from '../../dist/native/binding.js';

const add = (seq, start, name) => ({ seq, type: EVENT_TYPES.added, codeType: 1, start, size: 0x100, name, scriptId: 1 });
const listed = (seq, start, name) => ({ ...add(seq, start, name), type: EVENT_TYPES.listed });
const move = (seq, start, newStart) => ({ seq, type: EVENT_TYPES.moved, codeType: 1, start, size: 0, newStart });
const sample = (codeSeq, frames) => ({ timeNs: codeSeq * 1000, codeSeq, vmState: 0, flags: 0, frames });
const batch = (samples, events = []) => ({ ...encodeSamples(samples), events });

const MAIN = 'JS:~main /app/app.js:1:1';
const ALPHA = 'JS:*alpha /app/app.js:3:1';
const BETA = 'JS:*beta /app/app.js:5:1';
const LATE = 'JS:*late /app/app.js:7:1';

function makeIngester(listedLater) {
  const profile = new Profile({ startTime: 0, durationNs: 0, intervalUs: 1000, engine: 'test', lines: false, pid: 1, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } });
  return { profile, ingester: new SampleIngester(profile, { cwd: '/app', lines: false, listedLater }) };
}

// The code at start as [address, name] pairs, in the order codeAtStart gives them.
function atStart(events) {
  const listing = listingOf(events);
  const { starts, at } = codeAtStart(events, listing);
  return [...starts].map((start, i) => [start, listing.names.substring(listing.nameFrom[at[i]], listing.nameTo[at[i]])]);
}

function render(profile) {
  const out = {};
  for (const stack of profile.stacks.values()) {
    const key = stack.frames.map((id) => profile.frames[id].name).join(';');
    out[key] = (out[key] ?? 0) + stack.count;
  }
  return out;
}

test('codeAtStart undoes the moves and adds logged before the listing, newest first', () => {
  const logged = [
    add(1, 0x5000, LATE), // compiled after the start
    move(2, 0x1000, 0x3000), // alpha existed at 0x1000, then moved
    move(3, 0x5000, 0x6000), // late code moved too: still not code of the start
    move(4, 0x9000, 0xa000), // a move of code no listing has: nothing to undo
  ];
  const listing = [listed(5, 0x2000, MAIN), listed(6, 0x3000, ALPHA), listed(7, 0x6000, LATE), listed(8, 0x7000, BETA)];
  assert.deepEqual(
    atStart([...logged, ...listing]),
    [
      [0x1000, ALPHA],
      [0x2000, MAIN],
      [0x7000, BETA],
    ],
    'in address order',
  );
  assert.deepEqual(atStart(listing).map((e) => e[0]), [0x2000, 0x3000, 0x6000, 0x7000], 'nothing logged: the listing itself');
  // A GC during the listing: beta listed at 0x7000, then moved to 0x8000; gamma moved from 0x9000
  // to 0xb000 and then listed there. At the start beta was at 0x7000 and gamma at 0x9000.
  const during = atStart([listed(1, 0x7000, BETA), move(2, 0x7000, 0x8000), move(3, 0x9000, 0xb000), listed(4, 0xb000, LATE)]);
  assert.deepEqual(during, [[0x7000, BETA], [0x9000, LATE]]);
});

test('the first samples wait for the listing, then resolve against the code of their moment', () => {
  const { profile, ingester } = makeIngester(true);
  // First drain: samples, and the events logged since the start, but no listing yet.
  ingester.ingest(
    batch(
      [sample(0, [0x1010, 0x2010]), sample(2, [0x3010, 0x2010]), sample(2, [0x5010, 0x2010])],
      [add(1, 0x5000, LATE), move(2, 0x1000, 0x3000)],
    ),
  );
  assert.deepEqual(render(profile), {}, 'held until the listing');
  assert.equal(ingester.holdsSamples, true);
  // Next drain: the listing (main and alpha existed before the start) and a later sample.
  ingester.ingest(batch([sample(5, [0x3010, 0x2010])], [listed(3, 0x2000, MAIN), listed(4, 0x3000, ALPHA), listed(5, 0x5000, LATE)]));
  assert.equal(ingester.holdsSamples, false);
  assert.deepEqual(render(profile), {
    'main;alpha': 3, // at 0x1000 before its move, at 0x3000 after it and after the listing
    'main;late': 1,
  });
  assert.equal(ingester.framesUnresolved, 0);
});

test('held samples go into the last profile even when no listing comes', () => {
  const { profile, ingester } = makeIngester(true);
  ingester.ingest(batch([sample(1, [0x1010, 0x2010])], [add(1, 0x2000, MAIN)]));
  assert.deepEqual(render(profile), {});
  ingester.ingest(batch([]), true);
  assert.equal(Object.values(render(profile)).reduce((a, b) => a + b, 0), 1);
  assert.equal(ingester.holdsSamples, false);
});

test('a listing does not replace code the log already has: its line positions stay', () => {
  const { ingester } = makeIngester(true);
  const positions = { seq: 1, type: EVENT_TYPES.linePositions, codeType: 1, start: 0x5000, size: 0, positions: Uint32Array.from([0, 10]) };
  ingester.ingest(batch([sample(2, [0x5010, 0x2010])], [positions, add(2, 0x5000, LATE)]));
  ingester.ingest(batch([sample(5, [0x5010, 0x2010])], [listed(3, 0x2000, MAIN), listed(4, 0x5000, LATE)]));
  assert.deepEqual([...(ingester.codeMap.lookup(0x5010)?.positions ?? [])], [0, 10]);
  assert.equal(ingester.codeMap.lookup(0x2010)?.name, MAIN);
});
