// Runs the standalone native test of the other threads' ring (test/native/other_thread_ring_test.cc):
// several writers at once, from plain threads and from a real SIGPROF handler, one reader.
// Set SFPROF_SANITIZE=address,undefined to run it under sanitizers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { buildNativeTest } from '../../scripts/build-native-tests.mjs';

const THREADS = /^other_thread_ring_test: threads attempts=(\d+) written=(\d+) dropped=(\d+) read=(\d+)$/m;
const SIGNALS = /^other_thread_ring_test: ok signals=(\d+) written=(\d+) dropped=(\d+) read=(\d+)$/m;

test('OtherThreadRing: unit checks, concurrent writers, SIGPROF on several threads', { timeout: 180_000, skip: process.platform !== 'linux' && 'setitimer stress is Linux-tested only' }, () => {
  const binary = buildNativeTest('other_thread_ring_test');
  const result = spawnSync(binary, [], { encoding: 'utf8', timeout: 120_000 });
  const output = `status: ${result.status} signal: ${result.signal}\n--- stdout ---\n${result.stdout ?? ''}\n--- stderr ---\n${result.stderr ?? ''}`;
  assert.equal(result.error, undefined, output);
  assert.equal(result.status, 0, output);
  const threads = THREADS.exec(result.stdout);
  const signals = SIGNALS.exec(result.stdout);
  assert.ok(threads && signals, `summary lines missing\n${output}`);
  const [attempts, written, dropped, read] = threads.slice(1).map(Number);
  // The ring wrapped (more written than it holds) and also filled.
  assert.ok(written > 8192 && dropped > 0, output);
  assert.equal(written + dropped, attempts, output);
  assert.equal(read, written, output);
  const [, signalWritten, , signalRead] = signals.slice(1).map(Number);
  assert.ok(signalWritten > 0, output);
  assert.equal(signalRead, signalWritten, output);
});
