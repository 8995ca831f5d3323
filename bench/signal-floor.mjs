// The floor under a signal-based sampler: what delivering one signal costs on this machine, with
// nothing of sfprof in the process, beside V8's own profiler measured in the same rounds.
//
//   node bench/signal-floor.mjs [--intervals 1ms,100us] [--rounds 5] [--iterations N] [--out DIR]
//
// bench/signal-floor.c, built with `cc -O2 -pthread` into a temporary directory, runs a fixed
// CPU-bound loop (~2.5 s) on its main thread, with a handler that only counts: unsignalled (none);
// signalled from a second thread that sleeps to absolute CLOCK_MONOTONIC deadlines and sends SIGPROF
// with pthread_kill (thread, a wall-clock pace like V8's sampler thread); and signalled by a POSIX
// timer on the main thread's CPU-time clock (thread-cpu). V8: bench W2 (BENCH_SCALE=1) under
// `node --cpu-prof --cpu-prof-interval <µs>` against plain node; its samples are the `samples` of
// the .cpuprofile. Every round runs every configuration once, in an order rotated by one each round;
// each run is compared with the unsignalled (unprofiled) run of its round: added wall per signal or
// sample = (wall with − wall without) / count. The C program's wall is its loop's; V8's is the
// whole process's, as `npm run bench` takes it (its start, stop and profile writing included).
// Delivered/nominal: signals seen over wall time ÷ interval (thread, V8) or over the main thread's
// CPU time ÷ interval (thread-cpu). Results: DIR/<date>-<host>-signal-floor.md and .json.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { formatSummary, intervalUs, rotatedOrder, summarize } from './stats.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    intervals: { type: 'string', default: '1ms,100us' },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
const intervals = values.intervals.split(',').map(intervalUs);
for (const us of intervals) if (!Number.isInteger(us) || us < 1) throw new Error(`intervals must be whole microseconds, got ${us}`);
if (values.iterations !== undefined && !/^\d+$/.test(values.iterations)) throw new Error('--iterations must be a positive integer');
const outDir = path.resolve(values.out ?? path.join(root, 'bench', 'results'));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-signal-floor-'));
const SIGNAL_MODES = ['thread', 'thread-cpu'];

/** Builds bench/signal-floor.c; where timer_create is not yet in libc, links librt. */
function build() {
  const binary = path.join(scratch, 'signal-floor');
  const source = path.join(root, 'bench', 'signal-floor.c');
  const cc = process.env.CC || 'cc';
  let result;
  for (const extra of [[], ['-lrt']]) {
    result = spawnSync(cc, ['-O2', '-pthread', '-o', binary, source, ...extra], { encoding: 'utf8' });
    if (result.error) throw new Error(`${cc}: ${result.error.message}`);
    if (result.status === 0) return binary;
  }
  throw new Error(`${cc} failed:\n${result.stderr}`);
}

const binary = build();
const baseEnv = { ...process.env, NODE_OPTIONS: '' };
for (const name of Object.keys(baseEnv)) if (name.startsWith('SFPROF_')) delete baseEnv[name];

/** One run of the C program: its JSON line. */
function runC(mode, us) {
  const args = [mode, String(us)];
  if (values.iterations) args.push(values.iterations);
  const run = spawnSync(binary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (run.status !== 0) throw new Error(`signal-floor ${args.join(' ')} exited with ${run.status ?? run.signal}: ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n')[0]);
}

/** One run of W2, plain or under --cpu-prof: process wall and CPU time, and the profile's samples. */
function runNode(us, index) {
  const base = path.join(scratch, `w2-${index}`);
  const usage = `${base}.usage.json`;
  const profileDir = `${base}.profile`;
  fs.rmSync(usage, { force: true });
  fs.rmSync(profileDir, { recursive: true, force: true });
  const args = ['-r', path.join(root, 'bench', 'child-usage.cjs')];
  if (us) args.push('--cpu-prof', '--cpu-prof-interval', String(us), '--cpu-prof-dir', profileDir);
  args.push(path.join(root, 'bench', 'workloads', 'w2.js'));
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, args, { env: { ...baseEnv, BENCH_SCALE: '1', BENCH_USAGE: usage }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`w2${us ? ` under --cpu-prof ${us}` : ''} exited with ${run.status ?? run.signal}: ${run.stderr}`);
  const measurement = { wallMs };
  try {
    measurement.cpuMs = JSON.parse(fs.readFileSync(usage, 'utf8')).cpuUs / 1000;
  } catch {
    measurement.cpuMs = undefined;
  }
  if (us) {
    const files = fs.readdirSync(profileDir).filter((name) => name.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`expected one .cpuprofile, found ${files.length}`);
    measurement.samples = JSON.parse(fs.readFileSync(path.join(profileDir, files[0]), 'utf8')).samples.length;
  }
  return measurement;
}

// Configurations: each side's baseline once per round, then every mode at every interval.
const configs = [{ kind: 'c', mode: 'none', intervalUs: 0 }, { kind: 'v8', mode: 'none', intervalUs: 0 }];
for (const us of intervals) {
  for (const mode of SIGNAL_MODES) configs.push({ kind: 'c', mode, intervalUs: us });
  configs.push({ kind: 'v8', mode: 'cpu-prof', intervalUs: us });
}
const keyOf = (c) => `${c.kind} ${c.mode} ${c.intervalUs}`;
const skipped = {};

function measure(config, index) {
  if (config.kind === 'v8') return runNode(config.intervalUs, index);
  const r = runC(config.mode, config.intervalUs);
  if (r.skipped) return { skipped: r.skipped };
  return { wallMs: r.wallMs, cpuMs: r.threadCpuMs, processCpuMs: r.processCpuMs, samples: config.mode === 'none' ? undefined : r.signals, sent: r.sent };
}

const perConfig = new Map(configs.map((c) => [keyOf(c), []]));
const total = rounds * configs.length;
let done = 0;
for (let round = 0; round < rounds; round++) {
  const measured = new Map();
  for (const index of rotatedOrder(configs.length, round)) {
    const config = configs[index];
    const key = keyOf(config);
    done++;
    if (skipped[key]) continue;
    const m = measure(config, index);
    process.stderr.write(`\rsignal-floor: ${done}/${total} runs`);
    if (m.skipped) {
      skipped[key] = m.skipped;
      continue;
    }
    measured.set(key, m);
  }
  for (const config of configs) {
    const m = measured.get(keyOf(config));
    if (!m || config.mode === 'none') continue;
    const none = measured.get(keyOf({ kind: config.kind, mode: 'none', intervalUs: 0 }));
    if (m.samples > 0) {
      m.addedUsPerSample = (1000 * (m.wallMs - none.wallMs)) / m.samples;
      if (m.cpuMs !== undefined && none.cpuMs !== undefined) m.cpuAddedUsPerSample = (1000 * (m.cpuMs - none.cpuMs)) / m.samples;
    }
    // Nominal: the main thread's CPU time over the interval for the CPU-time timer, wall time for the rest.
    const basisMs = config.mode === 'thread-cpu' ? m.cpuMs : m.wallMs;
    m.delivered = m.samples / ((1000 * basisMs) / config.intervalUs);
    if (m.sent !== undefined) m.seenOfSent = m.samples / m.sent;
  }
  for (const [key, m] of measured) perConfig.get(key).push(m);
}
process.stderr.write('\n');

const rows = configs.map((config) => {
  const ms = perConfig.get(keyOf(config));
  const pick = (field) => summarize(ms.map((m) => m[field]).filter((v) => v !== undefined));
  return {
    kind: config.kind,
    mode: config.mode,
    intervalUs: config.intervalUs,
    skipped: skipped[keyOf(config)],
    wallMs: pick('wallMs'),
    cpuMs: pick('cpuMs'),
    samples: pick('samples'),
    seenOfSent: pick('seenOfSent'),
    delivered: pick('delivered'),
    addedUsPerSample: pick('addedUsPerSample'),
    cpuAddedUsPerSample: pick('cpuAddedUsPerSample'),
  };
});
for (const row of rows) {
  if (row.kind !== 'c' || row.mode === 'none' || !row.addedUsPerSample) continue;
  const v8 = rows.find((r) => r.kind === 'v8' && r.intervalUs === row.intervalUs);
  if (v8?.addedUsPerSample) row.ratioToV8 = row.addedUsPerSample.median / v8.addedUsPerSample.median;
}

const results = {
  date: new Date().toISOString(),
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, kernel: os.release(), node: process.version, host: os.hostname(), loadAverage: os.loadavg() },
  args: process.argv.slice(2),
  rounds,
  intervals,
  iterations: values.iterations ? Number(values.iterations) : 'default',
  rows,
};

const label = (us) => (us >= 1000 ? `${us / 1000} ms` : `${us} µs`);
const names = { 'c none': 'C loop, no signals', 'c thread': 'C: thread + pthread_kill', 'c thread-cpu': 'C: CPU-time timer (thread-cpu)', 'v8 none': 'node W2, unprofiled', 'v8 cpu-prof': 'node --cpu-prof W2' };

function markdown(r) {
  const m = r.machine;
  const lines = [
    `# Signal delivery floor beside V8's profiler, ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; load average at the end ${m.loadAverage.map((l) => l.toFixed(2)).join(', ')}. ` +
      `${r.rounds} rotated round(s).`,
    '',
    'C: bench/signal-floor.c, a fixed CPU-bound loop on the main thread whose SIGPROF handler only counts; nothing of sfprof or Node in the process. ' +
      '`thread`: a second thread sleeps to absolute CLOCK_MONOTONIC deadlines and sends the signal with pthread_kill. ' +
      '`thread-cpu`: a POSIX timer on the main thread\'s CPU-time clock, delivered to that thread. ' +
      'V8: bench W2 (`BENCH_SCALE=1`) under `node --cpu-prof --cpu-prof-interval`, samples counted in the .cpuprofile.',
    '',
    'Added wall per signal/sample: the run\'s wall time minus that of the round\'s run without signals (C) or without the profiler (V8), over the signals its handler saw or the samples in the profile; ' +
      'median (min–max) over the rounds. The C program\'s wall is its loop\'s; V8\'s is the whole process\'s, its profiler\'s start, stop and profile writing included. ' +
      'Added CPU: the main thread\'s CPU time over the loop (C) and the process\'s CPU time, every thread (V8), the same way. ' +
      'Ratio to V8: the median added wall per signal over V8\'s median added wall per sample at the same interval. ' +
      'Delivered/nominal: signals over wall time ÷ interval (`thread`, V8) or over the main thread\'s CPU time ÷ interval (`thread-cpu`).',
    '',
    'Linux expires CPU-time timers at the scheduler tick, so `thread-cpu` delivers at most CONFIG_HZ signals per CPU second: where it delivers a few hundred a run, ' +
      'its added wall per signal is a few milliseconds spread over them, within the loop\'s run-to-run spread (the baselines below), and says little.',
    '',
    '| interval | what | count | delivered/nominal | added wall per signal/sample (µs) | ratio to V8 | added CPU per signal/sample (µs) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const us of r.intervals) {
    for (const row of r.rows.filter((x) => x.intervalUs === us)) {
      const name = names[`${row.kind} ${row.mode}`];
      if (row.skipped) {
        lines.push(`| ${label(us)} | ${name} | skipped: ${row.skipped} | – | – | – | – |`);
        continue;
      }
      lines.push(
        `| ${label(us)} | ${name} | ${row.samples ? row.samples.median.toFixed(0) : '–'} | ${formatSummary(row.delivered, 2)} | ${formatSummary(row.addedUsPerSample, 1)} | ` +
          `${row.ratioToV8 !== undefined ? row.ratioToV8.toFixed(2) : '–'} | ${formatSummary(row.cpuAddedUsPerSample, 1)} |`,
      );
    }
  }
  lines.push('', 'Baselines (wall, ms):', '');
  for (const row of r.rows.filter((x) => x.mode === 'none')) lines.push(`- ${names[`${row.kind} none`]}: ${formatSummary(row.wallMs, 0)}`);
  const paced = r.rows.filter((x) => x.seenOfSent);
  if (paced.length) {
    lines.push('', `Signals seen of those sent (\`thread\`, median): ${paced.map((x) => `${x.seenOfSent.median.toFixed(3)} at ${label(x.intervalUs)}`).join(', ')}.`);
  }
  lines.push('', `Reproduce: \`node bench/signal-floor.mjs ${r.args.join(' ')}\``.replace(/ `$/, '`'), '');
  return lines.join('\n');
}

fs.mkdirSync(outDir, { recursive: true });
const stamp = `${results.date.slice(0, 10)}-${results.machine.host}-signal-floor`;
fs.writeFileSync(path.join(outDir, `${stamp}.json`), JSON.stringify(results, null, 1) + '\n');
fs.writeFileSync(path.join(outDir, `${stamp}.md`), markdown(results));
console.log(`signal-floor: wrote ${path.join(outDir, stamp)}.md and .json`);
fs.rmSync(scratch, { recursive: true, force: true });
