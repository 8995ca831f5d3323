// End-to-end: the stall catcher on real stalls (test/fixtures/stalls.js): a handler blocked in JS, a
// thread asleep in a synchronous native call (named from the stall probes), an endless loop reported
// while it runs, nothing under the threshold, the bound on report files, and nothing at all when off.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, preload, root, runNode, tempDir, total } from '../lib/helpers.mjs';

const FIXTURE = path.join(fixtures, 'stalls.js');

/** Runs a mode under the preload with a 200 ms threshold; reports as folded files in a fresh dir. */
function runStalls(mode, env = {}) {
  const dir = tempDir();
  const run = runNode(['-r', preload, FIXTURE, mode], {
    env: {
      SFPROF_TIMER: 'itimer',
      SFPROF_STALL: '200ms',
      SFPROF_OUTPUT: path.join(dir, 'cpu.folded'),
      SFPROF_STALL_OUTPUT: path.join(dir, 'stall-{pid}-{n}.folded'),
      ...env,
    },
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const reports = fs.readdirSync(dir).filter((name) => name.startsWith('stall-')).map((name) => path.join(dir, name));
  return { run, dir, reports, cpu: parseFoldedFile(path.join(dir, 'cpu.folded')) };
}

const has = (name) => (stack) => stack.frames.some((frame) => frame.startsWith(`${name} (`));

/** The end-of-stall line: its duration and the share of the first function it names. */
function endLine(stderr, fn) {
  const match = new RegExp(`^sfprof: stall of (\\d+) ms on the main thread at \\d\\d:\\d\\d:\\d\\d\\.\\d{3}: ${fn} \\(stalls\\.js:\\d+\\)(?: < [^%;]*?)? (\\d+)%.*; report (.+)$`, 'm').exec(stderr);
  assert.ok(match, `no stall line naming ${fn}:\n${stderr}`);
  return { ms: Number(match[1]), share: Number(match[2]), file: match[3] };
}

test('a handler blocked 500 ms in JS: a stall report naming the function, and a line while it lasts', () => {
  const { run, reports, cpu } = runStalls('server');
  const line = endLine(run.stderr, 'blockFor');
  assert.ok(line.ms >= 450 && line.ms <= 1500, `stall of ${line.ms} ms`);
  assert.ok(line.share >= 80, `blockFor ${line.share}%`);
  assert.deepEqual(reports, [line.file]);
  const stacks = parseFoldedFile(line.file);
  assert.ok(total(stacks, has('blockInHandler')) >= 10, `report:\n${fs.readFileSync(line.file, 'utf8')}`);
  assert.match(run.stderr, /sfprof: stall: the main thread has not returned to the event loop for \d+ ms \(still blocked\) in blockFor \(stalls\.js:\d+\) < blockInHandler/);
  // The CPU profile still has the handler's CPU time.
  assert.ok(total(cpu, has('blockInHandler')) >= 10);
});

test('500 ms in Atomics.wait: the report names the JS function that made the call, from stall probes kept out of the CPU profile', () => {
  // thread-cpu: the main thread's own clock (see the off case below for why not itimer's).
  const { run, reports, cpu } = runStalls('wait', { SFPROF_TIMER: 'thread-cpu' });
  const line = endLine(run.stderr, 'waitInNative');
  assert.ok(line.ms >= 450 && line.ms <= 1500, `stall of ${line.ms} ms`);
  assert.deepEqual(reports, [line.file]);
  const inReport = total(parseFoldedFile(line.file), has('waitInNative'));
  // Probes every 50 ms from the threshold on: about six in the last 300 ms.
  assert.ok(inReport >= 3, `only ${inReport} samples in the report`);
  // The thread slept: the CPU timer sampled nothing there, and no probe went into the CPU profile.
  assert.ok(total(cpu, has('waitInNative')) <= 1, `CPU profile:\n${JSON.stringify(cpu)}`);
});

test('execSync(sleep 0.5): named in the report; while it lasts the line says the thread is in native code', () => {
  const { run } = runStalls('exec');
  endLine(run.stderr, 'shellOut');
  assert.match(run.stderr, /\(still blocked\); it is in native code \(not running JS\)/);
});

test('an endless loop is reported on stderr while it runs, naming the function', async () => {
  const dir = tempDir();
  const child = spawn(process.execPath, ['-r', preload, FIXTURE, 'endless'], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', SFPROF_STALL: '200ms', SFPROF_OUTPUT: path.join(dir, 'cpu.folded') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  try {
    const found = await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
        // The second line comes at 1 s: the report goes on while the loop does.
        if (/for 1\.\d s \(still blocked\) in spinForever/.test(stderr)) {
          clearTimeout(timer);
          resolve(true);
        }
      });
    });
    assert.ok(found, `no line naming spinForever at 1 s:\n${stderr}`);
    assert.match(stderr, /for \d+ ms \(still blocked\) in spinForever \(stalls\.js:\d+\)/);
    assert.equal(child.exitCode, null, 'still running');
  } finally {
    child.kill('SIGKILL');
  }
});

test('below the threshold nothing is reported', () => {
  const { run, reports } = runStalls('short');
  assert.doesNotMatch(run.stderr, /stall/);
  assert.deepEqual(reports, []);
});

test('the bound: eight stalls give one file (one per 10 s), all eight counted in stats().stalls', () => {
  const dir = tempDir();
  const run = runNode([FIXTURE, 'many'], {
    env: { SFPROF_LIBRARY: root, STALL_OUTPUT: path.join(dir, 'stall-{n}.folded') },
    timeout: 20_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const stalls = JSON.parse(run.stdout.trim().split('\n').at(-1));
  assert.equal(stalls.count, 8, run.stdout);
  assert.equal(stalls.reported, 1);
  assert.equal(stalls.suppressed, 7);
  assert.ok(stalls.longestMs >= 240 && stalls.longestMs < 2000, `longest ${stalls.longestMs}`);
  assert.deepEqual(fs.readdirSync(dir), ['stall-1.folded']);
  assert.equal(run.stderr.match(/^sfprof: stall of /gm)?.length, 1, run.stderr);
});

test('off: no report, no stall stats, and the stall watch never keeps a process alive', () => {
  // thread-cpu: the main thread's own CPU clock. Under itimer the process's clock runs on while the
  // main thread waits (V8's helper threads compiling or collecting), and a signal the kernel hands
  // to the waiting thread is a sample in the wait: on a busy machine, more than one.
  const { run, reports, cpu } = runStalls('wait', { SFPROF_STALL: '', SFPROF_TIMER: 'thread-cpu' });
  assert.doesNotMatch(run.stderr, /stall/);
  assert.deepEqual(reports, []);
  assert.ok(total(cpu, has('waitInNative')) <= 1, `${total(cpu, has('waitInNative'))} samples in waitInNative`);
  const library = runNode(['-e', `const s = require(${JSON.stringify(root)}); s.start({}); s.stop(); console.log(JSON.stringify(s.stats().stalls ?? null))`]);
  assert.equal(library.stdout.trim(), 'null', library.stderr);
  // On, its loop handles are unref'd: a process with nothing left to do exits at once.
  const started = Date.now();
  const idle = runNode(['-r', preload, '-e', 'setTimeout(() => {}, 20)'], {
    env: { SFPROF_STALL: '200ms', SFPROF_OUTPUT: path.join(tempDir(), 'idle.folded') },
    timeout: 10_000,
  });
  assert.equal(idle.status, 0, idle.stderr);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});
