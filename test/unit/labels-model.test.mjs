// Label sets in the profile model: interned by content, a stack per (call stack, label set), kept
// through merging spans.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { emptyProfile } from '../lib/html-profiles.mjs';

test('label sets are interned by content in any key order; {} is 0', () => {
  const p = emptyProfile();
  assert.equal(p.internLabels({}), 0);
  const a = p.internLabels({ route: '/users/:id', tenant: 'acme' });
  assert.equal(p.internLabels({ tenant: 'acme', route: '/users/:id' }), a);
  assert.notEqual(p.internLabels({ route: '/users/:id' }), a);
  assert.deepEqual(p.labelSets[a], { route: '/users/:id', tenant: 'acme' });
  assert.ok(Object.isFrozen(p.labelSets[a]));
});

test('one call stack under two label sets is two stacks; merging maps label ids', () => {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', kind: 'js' });
  const users = p.internLabels({ route: '/users' });
  const posts = p.internLabels({ route: '/posts' });
  p.addStack([main], 3, undefined, undefined, users);
  p.addStack([main], 1, undefined, undefined, posts);
  p.addStack([main], 2);
  p.addStack([main], 4, undefined, undefined, users);
  assert.deepEqual(p.stackList.map((s) => [p.labelSets[s.labels].route ?? '-', s.count]), [['/users', 7], ['/posts', 1], ['-', 2]]);

  const into = p.emptyCopy();
  into.internLabels({ other: 'x' }); // ids differ between the two profiles
  into.merge(p);
  assert.deepEqual(into.stackList.map((s) => [into.labelSets[s.labels].route ?? '-', s.count]), [['/users', 7], ['/posts', 1], ['-', 2]]);
});
