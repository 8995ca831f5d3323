// A native start() or attachThread() failure carries a stable `code` (native/failure.h): the engine
// fall-back in profiler.ts decides on it, never on the message text.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { root, runNode } from '../lib/helpers.mjs';

test('native failures carry their code; the messages stay as they were', () => {
  // In a child: the binding is driven directly, with no session of the test runner in the way.
  const script = `
    const native = require(${JSON.stringify(path.join(root, 'dist', 'native', 'binding.js'))}).loadNative();
    const base = { intervalUs: 1000, ringSlots: 64, maxFrames: 16, allowV8Profiler: false };
    const failure = (run) => { try { run(); return null; } catch (e) { return { code: e.code, message: e.message }; } };
    const out = {};
    out.unavailable = failure(() => native.start({ ...base, engine: 'no-such-engine' }));
    out.noSession = failure(() => native.attachThread(1));
    if (process.platform === 'linux') out.refused = failure(() => native.start({ ...base, engine: 'perf', simulatePerfFailure: true }));
    native.start({ ...base, engine: 'itimer' });
    out.running = failure(() => native.start({ ...base, engine: 'itimer' }));
    out.attached = failure(() => native.attachThread(0));
    native.stop();
    console.log(JSON.stringify(out));`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout);
  assert.deepEqual(out.unavailable, { code: 'SFPROF_ENGINE_UNAVAILABLE', message: 'sfprof: the no-such-engine timer engine is not available on this platform' });
  assert.equal(out.noSession.code, 'SFPROF_NO_SESSION');
  assert.match(out.noSession.message, /^sfprof: no sfprof session is running in this process/);
  assert.deepEqual(out.running, { code: 'SFPROF_ALREADY_RUNNING', message: 'sfprof: sfprof is already running in this process' });
  assert.deepEqual(out.attached, { code: 'SFPROF_ALREADY_ATTACHED', message: 'sfprof: the main thread is sampled by start() itself' });
  if (process.platform === 'linux') {
    assert.equal(out.refused.code, 'SFPROF_ENGINE_REFUSED');
    assert.match(out.refused.message, /^sfprof: perf_event_open\(task-clock\) refused: /);
  }
});
