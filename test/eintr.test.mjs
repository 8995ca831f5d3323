import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, root, runNode, tempDir } from './helpers.mjs';

test('fs.readSync on a slow FIFO completes under SIGPROF without EINTR; stray SIGPROF is harmless', () => {
  const fifo = path.join(tempDir(), 'slow.fifo');
  const run = runNode([path.join(fixtures, 'fifo-read.js'), fifo], {
    env: { SFPROF_INDEX: path.join(root, 'dist', 'index.js') },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /EINTR|EAGAIN/);
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  const expected = Array.from({ length: 20 }, (_, i) => `chunk${String(i + 1).padStart(2, '0')};`).join('');
  assert.equal(result.data, expected);
  assert.ok(result.stats.signalsReceived > 0, 'the timer fired during the read');
  // kill(2) sends SI_USER: not our timer's, so it goes to the previous disposition (default: it
  // would have killed the app) and is counted and ignored instead.
  assert.ok(result.stats.foreignSignalsIgnored > 0, 'stray SIGPROF arrived and was ignored');
});
