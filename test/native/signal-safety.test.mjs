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
  // The object of the build this Node loads: under arm64 Node (CI runs this under qemu), the arm64
  // one, read with aarch64-linux-gnu-nm where the host's nm is for x64.
  if (process.platform === 'linux') assert.match(run.stdout, new RegExp(`signal_handler\\.o \\(${process.arch}, read with `));
});
