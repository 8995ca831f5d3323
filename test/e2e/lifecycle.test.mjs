// What sfprof leaves behind: after stop() no timer and the previous SIGPROF disposition; loading the
// addon again; refusing to chain to V8's profiler when that could kill the app.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { root, runNode } from '../lib/helpers.mjs';

const index = JSON.stringify(path.join(root, 'dist', 'bundle', 'index.js'));
// Burns CPU time, not wall time: samples follow CPU time, and a loaded machine must not shrink the work.
const burn = 'function burn(ms) { const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; const e = u() + ms; let x = 0; while (u() < e) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); return x; }';

test('after stop the timer is disarmed and the default SIGPROF disposition is back', () => {
  const script = `${burn}
    const sfprof = require(${index});
    for (let i = 0; i < 3; i++) { sfprof.start({ interval: '500us', timer: 'itimer' }); burn(80); sfprof.stop(); }
    burn(300); // an armed timer would now deliver SIGPROF under the default disposition
    console.log('survived');
    process.kill(process.pid, 'SIGPROF'); // the default disposition terminates
    burn(1000);
    console.log('still here');`;
  const run = runNode(['-e', script]);
  assert.match(run.stdout, /survived/);
  assert.doesNotMatch(run.stdout, /still here/);
  assert.equal(run.signal, 'SIGPROF');
});

test('an app handler installed before sfprof is back after stop, and ours is gone', () => {
  // Node lets JS listen for SIGPROF only through process.on, which installs a real handler. The
  // native counters keep counting only while our handler is installed: after stop they must not move.
  const script = `${burn}
    let seen = 0; process.on('SIGPROF', () => { seen++; });
    const sfprof = require(${index});
    const native = require(${JSON.stringify(path.join(root, 'dist', 'native', 'binding.js'))}).loadNative();
    sfprof.start({ interval: '1ms', timer: 'itimer' }); burn(100); sfprof.stop();
    const before = native.stats().forwarded + native.stats().foreignIgnored;
    process.kill(process.pid, 'SIGPROF');
    setTimeout(() => {
      const after = native.stats().forwarded + native.stats().foreignIgnored;
      console.log(JSON.stringify({ seen, ourHandlerSawIt: after !== before }));
      process.exit(0);
    }, 100);`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.ok(result.seen >= 1, 'the app handler got the signal');
  assert.equal(result.ourHandlerSawIt, false, 'our handler is no longer installed');
});

test('removing a JS SIGPROF listener while sampling does not let the timer kill the app', () => {
  // libuv restores SIG_DFL when the last listener goes; sfprof puts its handler back at once.
  const script = `${burn}
    const sfprof = require(${index});
    sfprof.start({ interval: '1ms', timer: 'itimer' });
    for (let i = 0; i < 5; i++) {
      const listener = () => {};
      process.on('SIGPROF', listener); burn(60); process.off('SIGPROF', listener); burn(60);
    }
    const profile = sfprof.stop();
    console.log(JSON.stringify({ samples: profile.totalSamples, reinstalls: sfprof.stats().handlerReinstalls }));`;
  const run = runNode(['-e', script]);
  assert.equal(run.signal, null);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.equal(result.reinstalls, 5);
  assert.ok(result.samples > 0);
});

test('re-requiring the package after a module-cache reset starts again without aborting', () => {
  const script = `${burn}
    let sfprof = require(${index});
    sfprof.start({ interval: '1ms', timer: 'itimer' }); burn(50); sfprof.stop();
    for (const key of Object.keys(require.cache)) delete require.cache[key];
    sfprof = require(${index});
    sfprof.start({ interval: '1ms', timer: 'itimer' }); burn(100);
    console.log('samples', sfprof.stop().totalSamples);`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /samples [1-9]/);
});

test('refuses to start under a running inspector Profiler (it would restore SIG_DFL on stop)', () => {
  const script = `${burn}
    const inspector = require('node:inspector');
    const session = new inspector.Session(); session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start', () => {
      const sfprof = require(${index});
      let message = 'started';
      try { sfprof.start({ interval: '1ms', timer: 'itimer' }); } catch (e) { message = e.message; }
      burn(100);
      session.post('Profiler.stop', (err, result) => {
        burn(300);
        console.log(JSON.stringify({ message, v8Samples: result.profile.samples.length }));
      });
    });`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.match(result.message, /V8's CPU profiler .* owns SIGPROF; .*Start sfprof before it, or stop it first/);
  assert.ok(result.v8Samples > 10);
});

test('an inspector Profiler started and stopped while sfprof runs: both work, exit 0', () => {
  const script = `${burn}
    const sfprof = require(${index});
    sfprof.start({ interval: '1ms', timer: 'itimer' });
    const inspector = require('node:inspector');
    const session = new inspector.Session(); session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.start', () => {
      burn(300);
      session.post('Profiler.stop', (err, result) => {
        setTimeout(() => {
          burn(400);
          const profile = sfprof.stop();
          const stats = sfprof.stats();
          console.log(JSON.stringify({ v8Samples: result.profile.samples.length, ours: stats.samplesRecorded, folded: sfprof.renderProfile(profile, 'folded') }));
        }, 200);
      });
    });`;
  const run = runNode(['-e', script]);
  assert.equal(run.status, 0, run.stderr);
  const result = JSON.parse(run.stdout);
  assert.ok(result.v8Samples > 50, `V8 took ${result.v8Samples}`);
  assert.ok(result.ours > 20, `sfprof took ${result.ours}`);
  assert.match(result.folded, /burn \(\[eval\]:1\)/);
});

test('per-thread engines run beside V8\'s profiler both ways round: each gets its samples, nothing forwarded', () => {
  for (const engine of ['perf', 'thread-cpu', 'pacer']) {
    const script = `${burn}
      const inspector = require('node:inspector');
      const session = new inspector.Session(); session.connect();
      const sfprof = require(${index});
      session.post('Profiler.enable');
      session.post('Profiler.start', () => {
        // Started under V8's running profiler (itimer would refuse), and still running when V8 stops.
        sfprof.start({ interval: '1ms', timer: '${engine}' });
        burn(300);
        session.post('Profiler.stop', (err, result) => {
          burn(300);
          const profile = sfprof.stop();
          const stats = sfprof.stats();
          console.log(JSON.stringify({ v8Samples: result.profile.samples.length, stats, folded: sfprof.renderProfile(profile, 'folded') }));
        });
      });`;
    const run = runNode(['-e', script]);
    assert.equal(run.status, 0, `${engine}: ${run.stderr}`);
    const result = JSON.parse(run.stdout);
    assert.equal(result.stats.engine, engine);
    assert.ok(result.v8Samples > 50, `${engine}: V8 took ${result.v8Samples}`);
    // Both halves of the run are in sfprof's profile: 600 ms of CPU at ≥ 250 Hz.
    assert.ok(result.stats.samplesRecorded > 100, `${engine}: sfprof took ${result.stats.samplesRecorded}`);
    assert.equal(result.stats.signalsForwarded, 0);
    assert.match(result.folded, /burn \(\[eval\]:1\)/);
  }
});
