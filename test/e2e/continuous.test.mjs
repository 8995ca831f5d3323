// Continuous profiling: takeProfile() cuts the profile at a drain boundary while sampling goes on,
// and the preload's SFPROF_PERIOD writes one file per period, keeping the newest SFPROF_KEEP.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { readProfile } from '../../dist/formats/render.js';
import { stampedFileName } from '../../dist/delivery/production.js';
import { fixtures, preload, runNode, tempDir } from '../lib/helpers.mjs';

for (const engine of ['perf', 'itimer']) {
  test(`takeProfile() (${engine}): no sample in two profiles or in none; each period complete; workers go on`, () => {
    const run = runNode([path.join(fixtures, 'take-profile.js')], { env: { ENGINE: engine, PERIODS: '5' } });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.profiles.length, 6);
    const total = result.profiles.reduce((sum, p) => sum + p.total, 0);
    // Every timer signal is a sample or a counted drop, in exactly one of the profiles.
    assert.equal(total, result.signals, JSON.stringify(result.profiles.map((p) => p.total)));
    const drops = (d) => d.ringFull + d.nonJsThread + d.truncated + d.busy;
    assert.equal(result.profiles.reduce((sum, p) => sum + drops(p.drops), 0), drops(result.drops));
    for (const [i, p] of result.profiles.entries()) {
      assert.ok(p.durationNs > 0, `period ${i} has a duration`);
      if (i > 0) {
        // Each period starts after the previous one ended, give or take the clocks: start times are
        // Date.now() (whole milliseconds), durations come from the sampler's clock.
        const previous = result.profiles[i - 1];
        const previousEndMs = previous.startTime + previous.durationNs / 1e6;
        assert.ok(p.startTime >= previousEndMs - 2, `period ${i} starts at ${p.startTime}, before period ${i - 1} ended at ${previousEndMs}`);
      }
    }
    // The main thread burned in every period cut before stop(); the worker (700 ms) in several.
    for (const p of result.profiles.slice(0, 5)) {
      assert.ok(p.burnSamples > 5, `burn() in every period: ${result.profiles.map((q) => q.burnSamples)}`);
      assert.ok(p.sampleWeightNs > 0);
    }
    const withWorker = result.profiles.filter((p) => p.workerRoots.length > 0).length;
    assert.ok(withWorker >= 3, `the worker's root is in later periods too: ${JSON.stringify(result.profiles.map((p) => p.workerRoots))}`);
    assert.match(result.notRunning, /not running; call start\(\) first/);
  });
}

test('period file names carry the period\'s end in UTC before the extension', () => {
  const end = new Date(Date.UTC(2026, 10, 27, 16, 45, 12, 345));
  assert.equal(stampedFileName('/srv/app-12.pb.gz', 'pprof', end), '/srv/app-12-20261127T164512.345Z.pb.gz');
  assert.equal(stampedFileName('out.folded', 'folded', end), 'out-20261127T164512.345Z.folded');
  assert.equal(stampedFileName('profile', 'folded', end), 'profile-20261127T164512.345Z');
  assert.equal(stampedFileName('out.html', 'html', end, 'snapshot'), 'out-snapshot-20261127T164512.345Z.html');
});

/** Runs the fixture that keeps the event loop turning in short busy slices, with continuous mode. */
function runContinuous(dir, env) {
  return runNode(['-r', preload, path.join(fixtures, 'busy-slices.js')], {
    env: { SFPROF_TIMER: 'itimer', SFPROF_INTERVAL: '1ms', SFPROF_PERIOD: '1s', SFPROF_OUTPUT: path.join(dir, 'app.pb.gz'), ...env },
  });
}

test('SFPROF_PERIOD: a pprof file per period while the app runs, every sample in exactly one of them', () => {
  const dir = tempDir();
  const run = runContinuous(dir, { RUN_MS: '4500', SFPROF_KEEP: '100' });
  assert.equal(run.status, 0, run.stderr);
  const match = /wrote (\d+) period profiles? \((\d+) samples of (\d+) timer signals\), kept the newest (\d+)/.exec(run.stderr);
  assert.ok(match, run.stderr);
  const [periods, samples, signals, kept] = match.slice(1).map(Number);
  const files = fs.readdirSync(dir).sort();
  assert.ok(files.length >= 4, `about one file per second of a 4.5 s run: ${files.join(', ')}`);
  assert.equal(files.length, periods);
  assert.equal(kept, periods);
  for (const file of files) assert.match(file, /^app-\d{8}T\d{6}\.\d{3}Z\.pb\.gz$/);
  let total = 0;
  for (const file of files) total += readProfile(fs.readFileSync(path.join(dir, file)), file).totalSamples;
  assert.equal(total, samples);
  assert.equal(total, signals, 'every timer signal is a sample or a counted drop in one file');
});

test('SFPROF_KEEP=2: only the newest two period files stay', () => {
  const dir = tempDir();
  const run = runContinuous(dir, { RUN_MS: '4500', SFPROF_KEEP: '2' });
  assert.equal(run.status, 0, run.stderr);
  const match = /wrote (\d+) period profiles? .* kept the newest 2\b/.exec(run.stderr);
  assert.ok(match && Number(match[1]) >= 4, run.stderr);
  const files = fs.readdirSync(dir).sort();
  assert.equal(files.length, 2, files.join(', '));
  // The last file is the exit's partial period; the one before it the last full period.
  for (const file of files) assert.ok(readProfile(fs.readFileSync(path.join(dir, file)), file).totalSamples > 0);
});

test('SFPROF_PERIOD=1s with the event loop busy for 4.5 s: a file per period, each with the samples of its own second', () => {
  // One synchronous stretch: the period timer cannot run until it ends, and the samples say when
  // they were taken.
  const dir = tempDir();
  const script = "const end = Date.now() + 4500; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1);";
  const run = runNode(['-r', preload, '-e', script], {
    env: { SFPROF_TIMER: 'itimer', SFPROF_INTERVAL: '1ms', SFPROF_PERIOD: '1s', SFPROF_KEEP: '100', SFPROF_OUTPUT: path.join(dir, 'app.pb.gz') },
  });
  assert.equal(run.status, 0, run.stderr);
  const files = fs.readdirSync(dir).sort();
  const profiles = files.map((file) => readProfile(fs.readFileSync(path.join(dir, file)), file));
  assert.ok(files.length >= 5, `four whole periods and the last part: ${files.join(', ')}`);
  for (const [i, profile] of profiles.slice(0, 4).entries()) {
    assert.equal(profile.metadata.durationNs, 1e9, `period ${i} lasts its second`);
    assert.ok(profile.totalSamples >= 50, `period ${i} holds its own samples: ${profiles.map((p) => p.totalSamples)}`);
    if (i > 0) assert.equal(profile.metadata.startTime, profiles[i - 1].metadata.startTime + 1000, 'periods follow each other');
  }
  // Each name is its period's end. pprof keeps the start in whole milliseconds (rounded), the name
  // was made from the exact end (truncated to the millisecond): they may differ by one either way
  // (both seen in CI).
  for (const [i, profile] of profiles.slice(0, 4).entries()) {
    const named = (ms) => path.basename(stampedFileName('app.pb.gz', 'pprof', new Date(ms)));
    const end = profile.metadata.startTime + 1000;
    assert.ok([named(end - 1), named(end), named(end + 1)].includes(files[i]), `${files[i]} is the end of period ${i}, ${named(end)}`);
  }
});
