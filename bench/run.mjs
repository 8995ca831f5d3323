// npm run bench: sampler overhead against the interval, with the peers measured in the same run.
//
//   node bench/run.mjs [--quick] [--rounds N] [--workloads start,w1,w2,w3] [--intervals 10ms,1ms,...]
//                      [--profilers none,sfprof-itimer,...] [--out DIR] [--tag NAME]
//
// Every round runs every configuration once, in an order rotated by one each round, so drift of
// the machine spreads over all configurations; each ratio compares a run with the unprofiled run
// of the same round. `start` runs an empty script (start and exit alone) at the first interval
// only, with three times the rounds; its table gives the milliseconds added. Results: DIR/<date>-<host>[-NAME].md and .json, and two SVG charts.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { formatSummary, intervalUs, median, rotatedOrder, summarize } from './stats.mjs';
import { lineChart } from './svg.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const { readProfile } = require(path.join(root, 'dist', 'formats', 'render.js'));

// sfprof-continuous: production mode as deployed (the auto engine), with the shortest period (1 s),
// so a run of a few seconds pays for several cuts, writes and rotations.
// sfprof-labels: sfprof-itimer with every W3 request labelled by its route (withLabels), to compare
// with sfprof-itimer unlabelled; the other workloads have nothing to label and run as sfprof-itimer.
const PROFILERS = ['none', 'sfprof-itimer', 'sfprof-perf', 'sfprof-thread-cpu', 'sfprof-pacer', 'sfprof-continuous', 'sfprof-labels', 'cpu-prof', 'datadog'];
const CPU_TIME = new Set(['sfprof-itimer', 'sfprof-perf', 'sfprof-thread-cpu', 'sfprof-pacer', 'sfprof-continuous', 'sfprof-labels']);

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    workloads: { type: 'string' },
    intervals: { type: 'string' },
    profilers: { type: 'string' },
    out: { type: 'string' },
    tag: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 1 : 10));
const workloads = (values.workloads ?? (quick ? 'start,w1' : 'start,w1,w2,w3')).split(',');
const intervals = (values.intervals ?? (quick ? '10ms,1ms' : '10ms,4ms,1ms,500us,100us')).split(',').map(intervalUs);
const profilers = (values.profilers ?? PROFILERS.join(',')).split(',');
for (const p of profilers) if (!PROFILERS.includes(p)) throw new Error(`unknown profiler ${p}; expected ${PROFILERS.join(', ')}`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);
if (values.tag !== undefined && !/^[A-Za-z0-9_.-]+$/.test(values.tag)) throw new Error(`--tag must be letters, digits, '_', '.' or '-', got ${JSON.stringify(values.tag)}`);
const scale = quick ? 0.15 : 1;
const httpSeconds = quick ? 1 : 4;
const outDir = path.resolve(values.out ?? path.join(root, 'bench', 'results'));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-bench-'));

const configs = [{ profiler: 'none', intervalUs: 0 }];
for (const profiler of profilers.filter((p) => p !== 'none')) for (const us of intervals) configs.push({ profiler, intervalUs: us });
// Start cost hardly depends on the interval: one interval, more rounds (each run is ~0.1 s).
const configsOf = (workload) => (workload === 'start' ? configs.filter((c) => c.profiler === 'none' || c.intervalUs === intervals[0]) : configs);
const roundsOf = (workload) => (workload === 'start' ? rounds * 3 : rounds);
const keyOf = (c) => (c.profiler === 'none' ? 'none' : `${c.profiler} ${c.intervalUs}`);

/** Node arguments and environment that run `script` under a configuration. */
function command(config, script, files) {
  const args = ['-r', path.join(root, 'bench', 'child-usage.cjs')];
  const env = { ...process.env, NODE_OPTIONS: '', BENCH_SCALE: String(scale), BENCH_USAGE: files.usage, BENCH_RESULT: files.result };
  if (config.profiler === 'sfprof-continuous') {
    fs.mkdirSync(files.profile, { recursive: true });
    args.push('-r', path.join(root, 'dist', 'bundle', 'auto.js'));
    Object.assign(env, {
      SFPROF_TIMER: 'auto',
      SFPROF_INTERVAL: `${config.intervalUs}us`,
      SFPROF_PERIOD: '1s',
      SFPROF_KEEP: '100000',
      SFPROF_OUTPUT: path.join(files.profile, 'prof.pb.gz'),
    });
  } else if (config.profiler.startsWith('sfprof-')) {
    args.push('-r', path.join(root, 'dist', 'bundle', 'auto.js'));
    const labels = config.profiler === 'sfprof-labels';
    if (labels) env.BENCH_LABELS = '1';
    Object.assign(env, {
      SFPROF_TIMER: labels ? 'itimer' : config.profiler.slice('sfprof-'.length),
      SFPROF_INTERVAL: `${config.intervalUs}us`,
      SFPROF_OUTPUT: files.profile + '.pb.gz',
      SFPROF_SUMMARY_FILE: files.summary,
    });
  } else if (config.profiler === 'cpu-prof') {
    fs.mkdirSync(files.profile, { recursive: true });
    args.push('--cpu-prof', '--cpu-prof-dir', files.profile, '--cpu-prof-interval', String(config.intervalUs));
  } else if (config.profiler === 'datadog') {
    args.push('-r', path.join(root, 'bench', 'datadog-preload.cjs'));
    Object.assign(env, { BENCH_INTERVAL_US: String(config.intervalUs), BENCH_PROFILE: files.profile + '.pb.gz' });
  }
  args.push(path.join(root, 'bench', 'workloads', script));
  return { args, env };
}

/** The run's profile files: one, or one per period in continuous mode. */
function profileFiles(config, files) {
  if (config.profiler === 'none') return [];
  if (config.profiler === 'cpu-prof' || config.profiler === 'sfprof-continuous') {
    const names = fs.existsSync(files.profile) ? fs.readdirSync(files.profile).sort() : [];
    const taken = config.profiler === 'cpu-prof' ? names.slice(0, 1) : names;
    return taken.map((name) => path.join(files.profile, name));
  }
  return [files.profile + '.pb.gz'].filter((file) => fs.existsSync(file));
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8').trim().split('\n')[0]);
  } catch {
    return undefined;
  }
}

/** Samples that fall under a function named `name` anywhere on the stack. */
function samplesUnder(profile, name) {
  let count = 0;
  for (const stack of profile.stackList) if (stack.frames.some((id) => profile.frames[id].name === name)) count += stack.count;
  return count;
}

async function runOnce(workload, config, index) {
  const base = path.join(scratch, `${workload}-${index}`);
  const files = { usage: `${base}.usage.json`, result: `${base}.result.json`, profile: `${base}.profile`, summary: `${base}.summary.jsonl` };
  for (const file of [files.usage, files.result, files.summary, files.profile + '.pb.gz']) fs.rmSync(file, { force: true });
  fs.rmSync(files.profile, { recursive: true, force: true });
  const { args, env } = command(config, `${workload}.js`, files);
  const measurement = {};
  const started = process.hrtime.bigint();
  if (workload === 'w3') {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise((resolve, reject) => {
      child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
      child.once('exit', (code) => reject(new Error(`w3 server exited early (${code})`)));
    });
    const autocannon = require('autocannon');
    const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: httpSeconds });
    measurement.requestsPerSecond = result.requests.average;
    measurement.p99Ms = result.latency.p99;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  } else {
    const run = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
    if (run.status !== 0) throw new Error(`${workload} under ${keyOf(config)} exited with ${run.status ?? run.signal}`);
  }
  measurement.wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  const usage = readJson(files.usage);
  measurement.cpuMs = usage ? usage.cpuUs / 1000 : undefined;
  measurement.maxRssMb = usage ? usage.maxRssKb / 1024 : undefined;
  const profiles = profileFiles(config, files).map((file) => {
    measurement.outputBytes = (measurement.outputBytes ?? 0) + fs.statSync(file).size;
    return readProfile(fs.readFileSync(file), file);
  });
  if (profiles.length) {
    measurement.files = profiles.length;
    measurement.samples = profiles.reduce((sum, profile) => sum + profile.totalSamples, 0);
    if (workload === 'w2') {
      const truth = readJson(files.result);
      const a = profiles.reduce((sum, profile) => sum + samplesUnder(profile, 'runA'), 0);
      const b = profiles.reduce((sum, profile) => sum + samplesUnder(profile, 'runB'), 0);
      if (truth && a + b > 0) {
        measurement.splitErrorPp = 100 * (b / (a + b) - truth.runBUs / (truth.runAUs + truth.runBUs));
      }
    }
  }
  const summary = readJson(files.summary);
  if (summary) {
    measurement.handlerMedianUs = summary.handlerTimeMedianUs;
    measurement.handlerP99Us = summary.handlerTimeP99Us;
    measurement.drops = summary.drops.ringFull + summary.drops.samplingPaused;
  }
  if (config.profiler !== 'none' && measurement.samples !== undefined) {
    // Nominal: CPU time / interval for CPU-time profilers, wall time / interval for wall-time ones.
    const seconds = CPU_TIME.has(config.profiler) ? (measurement.cpuMs ?? 0) / 1000 : measurement.wallMs / 1000;
    measurement.nominal = (seconds * 1e6) / config.intervalUs;
  }
  return measurement;
}

function machine() {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  let configHz;
  try {
    configHz = require(path.join(root, 'dist', 'config', 'engine.js')).readKernelFacts().configHz;
  } catch {
    configHz = undefined;
  }
  return { cpu, cores: os.cpus().length, kernel: os.release(), node: process.version, configHz: configHz ?? 'unknown', host: os.hostname() };
}

async function main() {
  const results = { machine: machine(), date: new Date().toISOString(), args: process.argv.slice(2), rounds, quick, scale, httpSeconds, intervals, workloads: {} };
  const total = workloads.reduce((sum, w) => sum + roundsOf(w) * configsOf(w).length, 0);
  let done = 0;
  for (const workload of workloads) {
    const configs = configsOf(workload);
    const perConfig = new Map(configs.map((c) => [keyOf(c), []]));
    for (let round = 0; round < roundsOf(workload); round++) {
      const measured = new Map();
      for (const index of rotatedOrder(configs.length, round)) {
        const config = configs[index];
        measured.set(keyOf(config), await runOnce(workload, config, index));
        done++;
        process.stderr.write(`\rbench: ${done}/${total} runs`);
      }
      const none = measured.get('none');
      for (const [key, m] of measured) {
        // Overhead: profiled/unprofiled time, or unprofiled/profiled throughput for the server.
        m.overhead = workload === 'w3' ? none.requestsPerSecond / m.requestsPerSecond : m.wallMs / none.wallMs;
        m.addedMs = m.wallMs - none.wallMs;
        // What each delivered sample cost the run: its added wall time, and its added process CPU time
        // (every thread: a sampler thread of the profiler's own shows here, not in the wall time of
        // a single-threaded workload on an idle core), over its samples.
        if (key !== 'none' && m.samples > 0) {
          m.addedUsPerSample = (1000 * m.addedMs) / m.samples;
          if (m.cpuMs !== undefined && none.cpuMs !== undefined) m.cpuAddedUsPerSample = (1000 * (m.cpuMs - none.cpuMs)) / m.samples;
        }
        m.rssAddedMb = m.maxRssMb !== undefined && none.maxRssMb !== undefined ? m.maxRssMb - none.maxRssMb : undefined;
        perConfig.get(key).push(m);
      }
    }
    const rows = configs.map((config) => {
      const ms = perConfig.get(keyOf(config));
      const pick = (field) => summarize(ms.map((m) => m[field]).filter((v) => v !== undefined));
      return {
        profiler: config.profiler,
        intervalUs: config.intervalUs,
        overhead: pick('overhead'),
        wallMs: pick('wallMs'),
        addedMs: pick('addedMs'),
        addedUsPerSample: pick('addedUsPerSample'),
        cpuAddedUsPerSample: pick('cpuAddedUsPerSample'),
        requestsPerSecond: pick('requestsPerSecond'),
        p99Ms: pick('p99Ms'),
        delivered: summarize(ms.filter((m) => m.nominal > 0).map((m) => m.samples / m.nominal)),
        samples: pick('samples'),
        rssAddedMb: pick('rssAddedMb'),
        outputBytes: pick('outputBytes'),
        files: pick('files'),
        handlerMedianUs: pick('handlerMedianUs'),
        handlerP99Us: pick('handlerP99Us'),
        drops: pick('drops'),
        splitErrorPp: pick('splitErrorPp'),
      };
    });
    results.workloads[workload] = rows;
  }
  process.stderr.write('\n');
  fs.mkdirSync(outDir, { recursive: true });
  // --tag keeps a run of some configurations beside the day's full run instead of over it.
  const stamp = `${results.date.slice(0, 10)}-${results.machine.host}${values.tag ? `-${values.tag}` : ''}`;
  fs.writeFileSync(path.join(outDir, `${stamp}.json`), JSON.stringify(results, null, 1) + '\n');
  const charts = writeCharts(results, outDir, stamp);
  fs.writeFileSync(path.join(outDir, `${stamp}.md`), markdown(results, charts));
  console.log(`bench: wrote ${path.join(outDir, stamp)}.md, .json and ${charts.length} charts`);
  fs.rmSync(scratch, { recursive: true, force: true });
}

function writeCharts(results, dir, stamp) {
  const workload = results.workloads.w1 ? 'w1' : Object.keys(results.workloads).find((w) => w !== 'start') ?? 'start';
  const rows = results.workloads[workload];
  const series = (field) =>
    profilers
      .filter((p) => p !== 'none')
      .map((name) => ({ name, points: rows.filter((r) => r.profiler === name && r[field]).map((r) => ({ intervalUs: r.intervalUs, value: r[field].median })) }));
  const charts = [
    { file: `${stamp}-overhead.svg`, svg: lineChart(series('overhead'), { title: `${workload.toUpperCase()}: overhead against the interval (median of ${results.rounds} rounds)`, yLabel: 'profiled / unprofiled', reference: 1, yMin: 0.8 }) },
    { file: `${stamp}-delivered.svg`, svg: lineChart(series('delivered'), { title: `${workload.toUpperCase()}: samples delivered / nominal`, yLabel: 'delivered / nominal', reference: 1, yMin: 0 }) },
  ];
  for (const chart of charts) fs.writeFileSync(path.join(dir, chart.file), chart.svg);
  return charts.map((c) => c.file);
}

const label = (us) => (us >= 1000 ? `${us / 1000} ms` : `${us} µs`);

function markdown(results, charts) {
  const m = results.machine;
  const lines = [
    `# sfprof benchmark, ${results.date.slice(0, 10)}`,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}, CONFIG_HZ ${m.configHz}. ` +
      `${results.rounds} rotated round(s)${results.quick ? ' (quick: short workloads)' : ''}; workload scale ${results.scale}; HTTP load ${results.httpSeconds} s per run.`,
    '',
    'Overhead is profiled/unprofiled wall time (W1, W2) or unprofiled/profiled requests per second (W3), per round against the unprofiled run of that round: median (min–max). ' +
      'Added wall / CPU per sample: the run\'s wall time, and its process CPU time (all threads), minus those of the round\'s unprofiled run, over the samples in its profile (W1, W2; medians). ' +
      'Delivered/nominal: samples in the profile over CPU time ÷ interval for CPU-time profilers (sfprof) and wall time ÷ interval for wall-time ones (`--cpu-prof`, @datadog/pprof). ' +
      'The machine is noisy: these are ratios from one run, not absolute claims.',
    '',
    '`sfprof-continuous` is production mode as deployed: the `auto` engine with `SFPROF_PERIOD=1s`, the shortest period. ' +
      'Periods end on the event loop, so a workload that never yields to it (W1, W2) writes its one file at exit, and only W3 pays for a cut, a pprof file and a rotation every second; the files per run are under each table.',
    '',
  ];
  for (const chart of charts) lines.push(`![${chart}](${chart})`, '');
  const titles = { start: 'Start and exit: an empty script', w1: 'W1, CPU-bound mix', w2: 'W2, known split (runA → calc(n), runB → calc(2n))', w3: 'W3, HTTP server under autocannon' };
  for (const [workload, rows] of Object.entries(results.workloads)) {
    lines.push(`## ${titles[workload] ?? workload}`, '');
    if (workload === 'start') {
      lines.push('| profiler | wall (ms) | added (ms) | peak RSS added (MB) |', '|---|---|---|---|');
      for (const r of rows) {
        lines.push(`| ${r.profiler} | ${formatSummary(r.wallMs, 1)} | ${r.profiler === 'none' ? '–' : formatSummary(r.addedMs, 1)} | ${r.profiler === 'none' ? '–' : formatSummary(r.rssAddedMb, 1)} |`);
      }
      lines.push('');
      continue;
    }
    const extra = workload === 'w2' ? ' | split error (pp) |' : workload === 'w3' ? ' | req/s | p99 (ms) |' : ' |';
    lines.push(`| profiler | interval | overhead | delivered/nominal | added wall / CPU per sample (µs) | samples | RSS added (MB) | output (kB) | handler median / p99 (µs) | drops${extra}`);
    lines.push(`|---|---|---|---|---|---|---|---|---|---${extra.replace(/[^|]+/g, '---')}`);
    for (const r of rows) {
      const cells = [
        r.profiler,
        r.profiler === 'none' ? '–' : label(r.intervalUs),
        formatSummary(r.overhead),
        formatSummary(r.delivered, 2),
        workload === 'w3' || !r.addedUsPerSample ? '–' : `${r.addedUsPerSample.median.toFixed(1)} / ${r.cpuAddedUsPerSample ? r.cpuAddedUsPerSample.median.toFixed(1) : '–'}`,
        r.samples ? r.samples.median.toFixed(0) : '–',
        r.rssAddedMb ? formatSummary(r.rssAddedMb, 1) : '–',
        r.outputBytes ? (r.outputBytes.median / 1024).toFixed(1) : '–',
        r.handlerMedianUs ? `${r.handlerMedianUs.median.toFixed(1)} / ${r.handlerP99Us.median.toFixed(1)}` : '–',
        r.drops ? r.drops.median.toFixed(0) : '–',
      ];
      if (workload === 'w2') cells.push(formatSummary(r.splitErrorPp, 1));
      if (workload === 'w3') cells.push(r.requestsPerSecond ? r.requestsPerSecond.median.toFixed(0) : '–', r.p99Ms ? r.p99Ms.median.toFixed(1) : '–');
      lines.push(`| ${cells.join(' | ')} |`);
    }
    const continuous = rows.filter((r) => r.profiler === 'sfprof-continuous' && r.files);
    if (continuous.length) {
      lines.push('', `sfprof-continuous files per run (median): ${continuous.map((r) => `${r.files.median} at ${label(r.intervalUs)}`).join(', ')}.`);
    }
    lines.push('');
  }
  lines.push(`Reproduce: \`npm run bench -- ${results.args.join(' ')}\``, '');
  return lines.join('\n');
}

main().catch((error) => {
  process.stderr.write(`\nbench: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
