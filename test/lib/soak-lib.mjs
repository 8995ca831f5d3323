// The soak run shared by test/e2e/soak.test.mjs (60 s in CI) and scripts/soak.mjs (`npm run soak`):
// runs test/fixtures/soak.js under the preload with perf at 100 µs, reads back what it wrote and
// checks it. The checks are returned, not thrown, so both callers report every failure at once.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { fixtures, preload, root } from './helpers.mjs';

const { readProfile } = (await import(pathToFileURL(path.join(root, 'dist', 'formats', 'render.js')).href)).default;

export const fixture = path.join(fixtures, 'soak.js');

// Every forced gc() compacts (code space included, so code moves under the sampler: ~2,000 moves a
// second). Node 20 takes --stress-compaction too, but under the preload a 10 s run then took 57 s
// and did 4 rounds of churn (29 with this flag), so it would soak far less activity.
export const nodeFlags = ['--expose-gc', '--compact-on-every-full-gc'];
export const profilerEnv = { SFPROF_TIMER: 'perf', SFPROF_INTERVAL: '100us' };

/**
 * A duration given by a person: a plain decimal number from `min` to `max`. Throws an Error naming
 * `what`, the value and what is allowed.
 */
export function parseDuration(text, what, unit, min, max) {
  const value = /^\d+(\.\d+)?$/.test(String(text ?? '').trim()) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new Error(`${what} is ${JSON.stringify(text ?? '')}; expected a number of ${unit} from ${min} to ${max} (digits, with an optional decimal point)`);
  }
  return value;
}

/** Runs the fixture for `seconds`; resolves with everything it left behind (never rejects). */
export function runSoak({ seconds, dir, script = fixture }) {
  const output = path.join(dir, 'soak.pb.gz');
  const summaryFile = path.join(dir, 'sfprof-summary.jsonl');
  fs.rmSync(output, { force: true });
  fs.rmSync(summaryFile, { force: true });
  // In-flight workers and children get up to 60 s each to end, then writing the profile.
  const timeoutMs = seconds * 1000 + 180_000;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, '-r', preload, script, String(seconds)], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: '', ...profilerEnv, SFPROF_OUTPUT: output, SFPROF_SUMMARY_FILE: summaryFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ seconds, status, signal, timedOut, timeoutMs, wallS: (Date.now() - started) / 1000, stdout, stderr, output, summaryFile });
    });
  });
}

// Completions per second each activity must reach: about a quarter of the slowest rates seen on
// this 2-core machine under a load average of 13 (per second: 0.45 full GCs, 2.6 churn rounds, 0.8
// natural worker ends, 0.36 terminations of each kind, 0.4 children of each kind, 2.2 file cycles,
// 2.8 timeouts and intervals, 54 immediates), so a stalled activity fails and a slow machine does not.
const MIN_RATE = {
  gcMajor: 0.1,
  gcMinor: 0.1,
  allocRounds: 0.5,
  workersNatural: 0.2,
  workersTerminatedMidWork: 0.1,
  workersTerminatedEarly: 0.1,
  spawn: 0.1,
  execFile: 0.1,
  fork: 0.1,
  fsCycles: 0.5,
  timeouts: 0.5,
  intervals: 0.5,
  immediates: 10,
};

export function minimumCount(activity, seconds) {
  return Math.max(1, Math.floor(MIN_RATE[activity] * seconds));
}

const MB = 1024 * 1024;

/**
 * RSS limits, against the quiet reading after warm-up (no worker alive, after a full GC). The
 * profile grows by design with every worker, whose stacks sit under their own root: ~125 stacks
 * each, and 0.07–0.17 MB of quiet RSS per worker in the runs here (180 s: 765 workers, 95k stacks,
 * heap 13 → 48 MB, quiet RSS 125 → 189 MB). What sfprof holds per live worker (the touched part of
 * its ring, its code-event log, code map and ingester) is ~1.8 MB (20 parked workers of ~600 samples:
 * 12.6 MB each against 10.2 MB unprofiled). Noise: busy RSS 40–80 MB above the quiet readings (a
 * live worker is ~10 MB), quiet readings ±20 MB around their trend.
 *  - peak: the busy second half may not exceed 1.5× the baseline + 64 MB + 0.25 MB per worker;
 *  - end: the quiet reading at the end may not exceed the baseline + 48 MB + 0.25 MB per worker
 *    ended since warm-up.
 * A simulated leak of 0.5 MB per worker failed the end check in 60 s, one of 1.8 MB both.
 */
const PER_WORKER = 0.25 * MB;

export function peakLimit(baselineBytes, workers) {
  return baselineBytes * 1.5 + 64 * MB + workers * PER_WORKER;
}

export function endLimit(baselineBytes, workers) {
  return baselineBytes + 48 * MB + workers * PER_WORKER;
}

/** Per-window RSS (min, max, the quiet reading if one fell in it) and samples so far, for the report. */
export function rssTable(rss, quietRss, bucketSeconds) {
  const rows = [];
  const row = (t) => {
    const index = Math.floor(t / bucketSeconds);
    return (rows[index] ??= { from: index * bucketSeconds, to: (index + 1) * bucketSeconds, min: Infinity, max: 0, quiet: null, samples: null });
  };
  for (const point of rss) {
    const r = row(point.t);
    r.min = Math.min(r.min, point.rss);
    r.max = Math.max(r.max, point.rss);
    if (point.samples !== null) r.samples = point.samples;
  }
  for (const point of quietRss) row(point.t).quiet = point.rss;
  return rows.filter(Boolean);
}

export function formatRssTable(rows, unit = 's') {
  const scale = unit === 'min' ? 60 : 1;
  const mb = (bytes) => (bytes === null || bytes === Infinity ? '' : (bytes / MB).toFixed(1)).padStart(8);
  const lines = [`${'window'.padEnd(14)} ${'min MB'.padStart(8)} ${'max MB'.padStart(8)} ${'quiet MB'.padStart(8)} ${'samples so far'.padStart(15)}`];
  for (const row of rows) {
    const window = `${row.from / scale}–${row.to / scale} ${unit}`;
    lines.push(`${window.padEnd(14)} ${mb(row.min)} ${mb(row.max)} ${mb(row.quiet)} ${String(row.samples ?? '').padStart(15)}`);
  }
  return lines.join('\n');
}

/** Samples in the profile under a stack that starts (after any "[worker N]" root) with `names`. */
function countUnder(profile, names) {
  let total = 0;
  for (const stack of profile.stackList) {
    const labels = stack.frames.map((id) => profile.frames[id].name);
    const start = labels[0]?.startsWith('[worker ') ? 1 : 0;
    if (names.every((name, i) => labels[start + i] === name)) total += stack.count;
  }
  return total;
}

function sameDrops(a, b) {
  return ['ringFull', 'busy', 'nonJsThread', 'truncated'].every((key) => a[key] === b[key]);
}

/**
 * Everything the run showed: facts for the report and the list of checks ({ name, ok, detail }).
 * Each check says what it compared, so a failure reads on its own.
 */
export function analyze(run) {
  const checks = [];
  const check = (name, ok, detail) => checks.push({ name, ok: Boolean(ok), detail });
  const facts = { seconds: run.seconds, wallS: run.wallS };

  check('exit', run.status === 0 && run.signal === null && !run.timedOut,
    run.timedOut ? `killed after ${run.timeoutMs} ms: hung` : `status ${run.status}, signal ${run.signal}; stderr: ${run.stderr.slice(-2000)}`);

  let summary;
  try {
    summary = JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    // reported below
  }
  check('summary printed', summary, `stdout: ${run.stdout.slice(-500)}`);
  if (!summary) return { facts, checks };
  facts.elapsedS = summary.elapsedS;
  facts.counts = summary.counts;
  facts.errors = summary.errors;

  check('no errors in the activity', summary.errorCount === 0, `${summary.errorCount} errors: ${summary.errors.join('\n')}`);
  for (const [activity, count] of Object.entries(summary.counts)) {
    const minimum = minimumCount(activity, run.seconds);
    check(`${activity} ran many times`, count >= minimum, `${count}, expected at least ${minimum} in ${run.seconds} s`);
  }

  const stats = summary.stats;
  check('final stats', stats && stats.engine === 'perf' && stats.intervalUs === 100, `stats: ${JSON.stringify(stats)}`);
  if (stats) {
    facts.stats = {
      samplesRecorded: stats.samplesRecorded,
      signalsReceived: stats.signalsReceived,
      drops: stats.drops,
      threads: stats.threads,
      engineRateHz: Math.round(stats.engineRateHz),
      spills: stats.spills,
      framesTotal: stats.framesTotal,
      framesUnresolved: stats.framesUnresolved,
    };
  }

  // What the preload said it wrote.
  let written;
  try {
    written = JSON.parse(fs.readFileSync(run.summaryFile, 'utf8').trim().split('\n').pop());
  } catch (error) {
    check('preload summary', false, `${run.summaryFile}: ${error.message}`);
  }

  let profile;
  try {
    profile = readProfile(fs.readFileSync(run.output), run.output);
    check('profile reads back', profile.metadata.engine === 'perf' && profile.totalSamples > 0,
      `engine ${profile.metadata.engine}, ${profile.totalSamples} samples`);
  } catch (error) {
    check('profile reads back', false, error.message);
  }

  if (profile && stats) {
    const total = profile.totalSamples;
    const inProfile = {
      ringFull: countUnder(profile, ['(lost samples)', '(ring full)']),
      busy: countUnder(profile, ['(lost samples)', '(sampling paused)']),
      nonJsThread: countUnder(profile, ['[other threads]']),
      truncated: countUnder(profile, ['(truncated)']),
    };
    const { ringFull, busy, nonJsThread, truncated } = stats.drops;
    facts.profile = { samples: total, drops: inProfile, bytes: fs.statSync(run.output).size };
    check('every sample recorded is in the profile', total === stats.samplesRecorded + ringFull + busy + nonJsThread,
      `profile ${total}, stats ${stats.samplesRecorded} recorded + ${ringFull} ring full + ${busy} paused + ${nonJsThread} other threads`);
    check('every timer signal is a sample or a counted drop', stats.signalsReceived === stats.samplesRecorded + ringFull + busy + nonJsThread,
      `${stats.signalsReceived} signals, ${stats.samplesRecorded} recorded + ${ringFull} ring full + ${busy} paused + ${nonJsThread} other threads`);
    check('drops in the profile equal the counted drops', sameDrops(inProfile, stats.drops),
      `profile ${JSON.stringify(inProfile)}, stats ${JSON.stringify(stats.drops)}`);
    check('drops in the profile metadata equal the counted drops', sameDrops(profile.metadata.drops, stats.drops),
      `metadata ${JSON.stringify(profile.metadata.drops)}, stats ${JSON.stringify(stats.drops)}`);
    if (written) {
      const d = written.drops;
      check('preload summary agrees', written.samples === total && d.ringFull === ringFull && d.samplingPaused === busy && d.otherThreads === nonJsThread && d.truncated === truncated,
        `summary ${written.samples} samples, drops ${JSON.stringify(d)}; profile ${total}, stats drops ${JSON.stringify(stats.drops)}`);
    }
    // Code moved by compaction while samples waited in the ring still resolves.
    check('frames resolve', stats.framesUnresolved <= stats.framesTotal * 0.005,
      `${stats.framesUnresolved} of ${stats.framesTotal} frames unresolved`);
    // Workers are sampled: most of those that ran JS for a while are in the profile.
    const workerRoots = new Set(profile.frames.filter((f) => /^\[worker \d+/.test(f.name)).map((f) => /^\[worker (\d+)/.exec(f.name)[1]));
    const ranJs = summary.counts.workersNatural + summary.counts.workersTerminatedMidWork;
    facts.workersInProfile = workerRoots.size;
    check('workers are sampled', workerRoots.size >= ranJs / 2, `${workerRoots.size} workers in the profile, ${ranJs} ran JS`);
  }

  const { rss, quietRss } = summary;
  const baseline = quietRss.find((p) => !p.end);
  const end = quietRss.find((p) => p.end);
  check('RSS recorded', rss.length >= 4 && baseline && end, `${rss.length} readings, quiet ${JSON.stringify(quietRss)}`);
  if (rss.length >= 4 && baseline && end) {
    const secondHalf = rss.filter((p) => p.t >= summary.elapsedS / 2);
    const maxSecondHalf = Math.max(...secondHalf.map((p) => p.rss));
    const workers = end.workers - baseline.workers;
    const peak = peakLimit(baseline.rss, end.workers);
    const endMax = endLimit(baseline.rss, workers);
    facts.rss = {
      startMB: rss[0].rss / MB,
      afterWarmupMB: baseline.rss / MB,
      maxMB: Math.max(...rss.map((p) => p.rss)) / MB,
      maxSecondHalfMB: maxSecondHalf / MB,
      peakLimitMB: peak / MB,
      endMB: end.rss / MB,
      endLimitMB: endMax / MB,
      quietMB: quietRss
        .map((p) => `${p.t}s:${(p.rss / MB).toFixed(1)} (heap ${(p.heapUsed / MB).toFixed(1)}/${(p.heapTotal / MB).toFixed(1)}, ${p.workers} workers)`)
        .join(' '),
      points: rss.length,
    };
    check('RSS bounded while busy', maxSecondHalf <= peak,
      `max ${(maxSecondHalf / MB).toFixed(1)} MB in the second half, ${(baseline.rss / MB).toFixed(1)} MB after warm-up, ${end.workers} workers; limit ${(peak / MB).toFixed(1)} MB`);
    check('RSS back near the baseline at the end', end.rss <= endMax,
      `${(end.rss / MB).toFixed(1)} MB at the end, ${(baseline.rss / MB).toFixed(1)} MB after warm-up (${baseline.t} s); ${workers} workers since; limit ${(endMax / MB).toFixed(1)} MB`);
  }
  return { facts, checks };
}

/** A few lines for a person: counts, samples, drops, RSS. */
export function formatFacts(facts) {
  const mb = (value) => (value === undefined ? '?' : `${value.toFixed(1)} MB`);
  const lines = [`ran ${facts.elapsedS?.toFixed(1) ?? '?'} s (requested ${facts.seconds} s, wall ${facts.wallS.toFixed(1)} s)`];
  if (facts.counts) lines.push(`activity: ${Object.entries(facts.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (facts.stats) {
    const s = facts.stats;
    lines.push(`samples: ${s.samplesRecorded} recorded, ${s.signalsReceived} signals, ${s.threads} threads, ${s.engineRateHz} samples/s of CPU, ${s.spills} spills`);
    lines.push(`drops: ring full ${s.drops.ringFull}, paused ${s.drops.busy}, other threads ${s.drops.nonJsThread}, truncated ${s.drops.truncated}; frames unresolved ${s.framesUnresolved} of ${s.framesTotal}`);
  }
  if (facts.profile) lines.push(`profile: ${facts.profile.samples} samples, ${facts.profile.bytes} bytes, ${facts.workersInProfile} workers`);
  if (facts.rss) {
    const r = facts.rss;
    lines.push(`RSS: start ${mb(r.startMB)}, after warm-up ${mb(r.afterWarmupMB)}, max ${mb(r.maxMB)}, max in second half ${mb(r.maxSecondHalfMB)} (limit ${mb(r.peakLimitMB)}), end ${mb(r.endMB)} (limit ${mb(r.endLimitMB)})`);
    lines.push(`quiet readings (no worker alive, after a full GC; heap used/total): ${r.quietMB}`);
  }
  return lines.join('\n');
}
