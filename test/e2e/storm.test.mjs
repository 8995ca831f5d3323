// Fork and spawn storms under 100 us sampling, for each engine. fork() under frequent signals is a
// known livelock in other profilers: the kernel restarts a fork when a signal is pending as it
// starts. itimer's SIGPROF is process-directed (any thread may take it); perf, thread-cpu and pacer
// send a real-time signal directed at one JS thread (pacer's from a thread of its own). The forking thread is the main thread in every case.
// Children must not inherit an armed timer, a blocked or ignored signal, or a perf descriptor.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, preload, runNode, tempDir, total } from '../lib/helpers.mjs';

const TOTAL = 500;

/** The real python3 binary (not a version manager's shim, which forks several more processes). */
function findPython() {
  const result = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim() : '';
}
const python = findPython();

for (const engine of ['itimer', 'perf', 'thread-cpu', 'pacer']) {
  test(`${engine} at 100us: ${TOTAL} children via spawn, execFile, exec*Sync and fork all complete; none inherits our timer or signal state`, (t) => {
    if (!python) {
      if (process.env.SFPROF_REQUIRE_TOOLS === '1') assert.fail('python3 not installed; SFPROF_REQUIRE_TOOLS=1 requires it');
      t.diagnostic('python3 not installed: its getitimer/sigmask children are left out');
    }
    const dir = tempDir();
    const run = runNode([path.join(fixtures, 'storm.js')], {
      env: { ENGINE: engine, TOTAL: String(TOTAL), CONCURRENCY: '6', PYTHON: python, PRELOAD: preload, OUT_DIR: dir },
      // A hang (a fork that never completes) ends here instead of stalling the suite.
      timeout: 240_000,
    });
    assert.equal(run.signal, null, `${engine}: parent killed by ${run.signal} (a hang ends in SIGTERM); stderr: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    t.diagnostic(`${engine}: ${result.completed}/${result.planned} children (${result.nodeChildren} Node) in ${result.wallMs} ms, ` +
      `${result.samplesRecorded} samples, signal ${result.signal}, /proc timers ${result.haveTimers ? 'checked' : 'not available'}`);

    assert.equal(result.engine, engine);
    assert.deepEqual(result.failures, [], `${result.failureCount} children failed`);
    assert.equal(result.completed, TOTAL);
    const kinds = ['spawn', 'execFile', 'stdin', 'spawnSync', 'execSync', 'execFileSync', 'status', 'status-sync',
      'fork-echo', 'fork-burn', 'fork-profiled-argv', 'fork-profiled-env'];
    if (result.haveTimers) kinds.push('timers', 'timers-sync');
    if (python) kinds.push('python', 'python-sync');
    for (const kind of kinds) assert.ok(result.byKind[kind] > 0, `no ${kind} child ran: ${JSON.stringify(result.byKind)}`);
    // The real-time signal of a per-thread engine is watched in the children along with SIGPROF.
    if (engine === 'itimer') assert.deepEqual(result.watched, [27]);
    else assert.ok(result.signal > 31 && result.watched.includes(result.signal), `signal ${result.signal}`);

    assert.ok(result.samplesRecorded > 0, 'the parent was sampled during the storm');
    assert.ok(result.burnSampled, 'the main thread\'s CPU work is in the profile');

    // Node children that load the preload (execArgv, NODE_OPTIONS) have their own working profile.
    assert.equal(result.childProfiles.length, 2);
    for (const child of result.childProfiles) {
      assert.match(child.stderr, new RegExp(`sfprof: wrote \\d+ samples .*engine ${engine}`), child.stderr);
      const stacks = parseFoldedFile(child.file);
      const burned = total(stacks, (s) => s.frames.some((f) => f.startsWith('burn (') && f.includes('storm-child.js')));
      // 300 ms of CPU: even the tick-bound engines take dozens of samples.
      assert.ok(burned >= 10, `${child.kind}: ${burned} samples in burn()`);
    }
  });
}
