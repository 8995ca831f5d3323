import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { root, runNode } from '../lib/helpers.mjs';

const script = path.join(root, 'scripts', 'check-signal-safety.mjs');

test('the checker itself flags malloc/printf and passes atomics/clock_gettime', () => {
  const run = runNode([script, '--self-test']);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /self-test: OK/);
});

test('the signal-context object file calls nothing forbidden', () => {
  const run = runNode([script]);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /GetStackSample/);
  assert.match(run.stdout, /signal-safety: OK/);
});
