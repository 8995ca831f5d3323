// Runs the standalone native test of the SIGPROF -> drain ring buffer (test/native/ring_buffer_test.cc).
// Set SFPROF_SANITIZE=address,undefined to run it under sanitizers.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { buildNativeTest } from '../../scripts/build-native-tests.mjs';

const SUMMARY = /^ring_buffer_test: ok signals=(\d+) written=(\d+) dropped=(\d+) read=(\d+)$/m;

test('SampleRing: unit checks and SIGPROF stress', { timeout: 180_000 }, () => {
  const binary = buildNativeTest('ring_buffer_test');
  const result = spawnSync(binary, [], { encoding: 'utf8', timeout: 120_000 });
  const output = [
    `binary: ${binary}`,
    `status: ${result.status} signal: ${result.signal}${result.error ? ` error: ${result.error.message}` : ''}`,
    '--- stdout ---',
    result.stdout ?? '',
    '--- stderr ---',
    result.stderr ?? '',
  ].join('\n');

  assert.equal(result.error, undefined, output);
  assert.equal(result.status, 0, output);
  const match = SUMMARY.exec(result.stdout);
  assert.ok(match, `summary line missing\n${output}`);

  const [signals, written, dropped, read] = match.slice(1).map(Number);
  assert.ok(signals > 0 && written > 0 && dropped > 0 && read > 0, output);
  assert.equal(written, read, output);
  assert.equal(written + dropped, signals, output);
});
