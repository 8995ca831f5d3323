import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Profile } from '../../dist/model/profile.js';

function emptyProfile() {
  return new Profile({ startTime: 0, durationNs: 0, intervalUs: 1000, engine: 'test', lines: false, pid: 1, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } });
}

test('addStack finds the stack of the same ids and labels, and only that one', () => {
  // Stacks that share prefixes, differ in labels, or are the empty stack: each its own, found again.
  const profile = emptyProfile();
  let seed = 1;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const reference = new Map();
  for (let i = 0; i < 20000; i++) {
    const frames = Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * 8));
    const labels = random() < 0.2 ? 1 : 0;
    const stack = profile.addStack(frames, 1, undefined, undefined, labels);
    const key = `${frames.join(',')}#${labels}`;
    if (!reference.has(key)) reference.set(key, stack);
    assert.equal(stack, reference.get(key));
    assert.deepEqual(stack.frames, frames);
    assert.equal(stack.labels, labels);
  }
  assert.equal(profile.stackList.length, reference.size);
  assert.equal(profile.stacks.size, reference.size);
  assert.equal(profile.totalSamples, 20000);
});

test('addStack with a length takes that many ids and keeps its own copy', () => {
  const profile = emptyProfile();
  const scratch = [3, 4, 5, 6];
  const first = profile.addStack(scratch, 1, undefined, undefined, 0, 2);
  assert.deepEqual(first.frames, [3, 4]);
  scratch[0] = 9;
  assert.deepEqual(first.frames, [3, 4]);
  assert.equal(profile.addStack([3, 4], 2), first);
  assert.equal(first.count, 3);
  assert.notEqual(profile.addStack(scratch, 1, undefined, undefined, 0, 3), first);
  assert.deepEqual([...profile.stacks.keys()], ['3,4', '9,4,5']);
});
