// Profile the profiler: sfprof's cost broken into its parts, each beside V8's own profiler where
// there is one to compare with.
//
//   node bench/cost.mjs [--runs N] [--pairs N] [--scale S] [--interval 10ms] [--timer auto]
//                       [--skip-job] [--compare DIR [--compare-name NAME]] [--out DIR] [--tag NAME]
//
// --compare DIR: another built copy of sfprof (a checkout with dist/ and build/, e.g. the main
// branch) measured in the same rounds, side by side: its preload in 1 and 3, its phases in 2. The
// results name it NAME (default "baseline"), never by its path.
//
// 1. Start and exit, whole process: `node -e 0`, `node -r sfprof/auto -e 0` and `node --cpu-prof -e 0`,
//    --runs rounds in rotated order; wall time medians and the added milliseconds. The same for a
//    process that is sampled (bench/workloads/short.js, ~100 ms of work): `-e 0` takes no sample, so
//    it never pays for listing the existing code, symbolizing and writing a profile.
// 2. Start and exit, by part (bench/cost-phases.cjs, --runs runs, medians): loading the binary,
//    loading the preload's modules (and how many), start() (native: timer, ring, code listing; JS:
//    session setup), stop() (native: disarm, last drain, code events; JS: decode, symbolize,
//    aggregate), rendering and writing the file, and one continuous-mode period (cut, pprof).
// 3. A long CPU-bound job (bench W2, --scale, default 3: about 9 s) at --interval, --pairs rounds of
//    none / sfprof / --cpu-prof in rotated order: wall ratio and peak RSS added.
// 4. Per sample, from one more sfprof run of that job with bench/cost-hook.cjs accounting each stage
//    on the JS thread: handler time (sfprof's own histogram), native drain, code events applied,
//    symbolize + aggregate per sample; the wall added per sample from 3; the rest is signal delivery
//    and what no stage accounts for.
// Results: DIR/<date>-<host>-cost[-NAME].md and .json (DIR defaults to bench/results).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { intervalUs, median, rotatedOrder, summarize } from './stats.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '21' },
    pairs: { type: 'string', default: '8' },
    scale: { type: 'string', default: '3' },
    interval: { type: 'string', default: '10ms' },
    timer: { type: 'string', default: 'auto' },
    'skip-job': { type: 'boolean', default: false },
    compare: { type: 'string' },
    'compare-name': { type: 'string', default: 'baseline' },
    out: { type: 'string' },
    tag: { type: 'string' },
  },
});
const runs = Number(values.runs);
const pairs = Number(values.pairs);
const interval = intervalUs(values.interval);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-cost-'));
const preload = path.join(root, 'dist', 'bundle', 'auto.js');
const compareRoot = values.compare ? path.resolve(values.compare) : undefined;
// A build from before the bundle has only tsc's preload.
const preloadIn = (dir) => [path.join(dir, 'dist', 'bundle', 'auto.js'), path.join(dir, 'dist', 'preload', 'auto.js')].find((file) => fs.existsSync(file));
const preloadOf = (name) => (name === 'baseline' ? preloadIn(compareRoot) : preload);
const baseEnv = { ...process.env, NODE_OPTIONS: '' };
for (const name of Object.keys(baseEnv)) if (name.startsWith('SFPROF_')) delete baseEnv[name];

function run(args, env = {}) {
  const started = process.hrtime.bigint();
  const child = spawnSync(process.execPath, args, { cwd: scratch, env: { ...baseEnv, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (child.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${child.status ?? child.signal}: ${child.stderr}`);
  return { wallMs, stdout: child.stdout };
}

const sfprofEnv = (name) => ({ SFPROF_OUTPUT: path.join(scratch, `${name}.folded`), SFPROF_TIMER: values.timer, SFPROF_INTERVAL: `${interval}us` });

// `script`: the arguments after node's own, `-e 0` or a file.
function startCost(script) {
  const configs = {
    none: () => run([...script]),
    sfprof: () => run(['-r', preload, ...script], sfprofEnv('start')),
    ...(compareRoot ? { baseline: () => run(['-r', preloadOf('baseline'), ...script], sfprofEnv('start')) } : {}),
    'cpu-prof': () => run(['--cpu-prof', '--cpu-prof-dir', path.join(scratch, 'cpuprof'), ...script]),
  };
  const names = Object.keys(configs);
  const walls = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < runs; round++) for (const i of rotatedOrder(names.length, round)) walls[names[i]].push(configs[names[i]]().wallMs);
  const none = median(walls.none);
  return Object.fromEntries(names.map((n) => [n, { wallMs: summarize(walls[n]), addedMs: median(walls[n]) - none }]));
}

function phases(period, from = root) {
  const all = [];
  for (let i = 0; i < runs; i++) {
    all.push(JSON.parse(run([path.join(from, 'bench', 'cost-phases.cjs')], { COST_PERIOD: period ? '1' : '', COST_INTERVAL_US: String(interval) }).stdout));
  }
  return Object.fromEntries(Object.keys(all[0]).map((key) => [key, summarize(all.map((m) => m[key]))]));
}

function jobRun(profiler, extra = {}) {
  const usage = path.join(scratch, 'usage.json');
  const args = ['-r', path.join(root, 'bench', 'child-usage.cjs')];
  const env = { BENCH_SCALE: values.scale, BENCH_USAGE: usage, ...extra.env };
  if (profiler === 'sfprof' || profiler === 'baseline') {
    args.push('-r', extra.preload ?? preloadOf(profiler), ...(extra.args ?? []));
    Object.assign(env, sfprofEnv('job'));
  } else if (profiler === 'cpu-prof') {
    args.push('--cpu-prof', '--cpu-prof-dir', path.join(scratch, 'cpuprof'), '--cpu-prof-interval', String(interval));
  }
  args.push(path.join(root, 'bench', 'workloads', 'w2.js'));
  const { wallMs } = run(args, env);
  const { maxRssKb } = JSON.parse(fs.readFileSync(usage, 'utf8'));
  return { wallMs, rssMb: maxRssKb / 1024 };
}

function job() {
  const names = ['none', 'sfprof', ...(compareRoot ? ['baseline'] : []), 'cpu-prof'];
  const per = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < pairs; round++) {
    const measured = {};
    for (const i of rotatedOrder(names.length, round)) measured[names[i]] = jobRun(names[i]);
    for (const n of names) per[n].push({ ratio: measured[n].wallMs / measured.none.wallMs, rssAddedMb: measured[n].rssMb - measured.none.rssMb, ...measured[n] });
    process.stderr.write(`\rcost: job round ${round + 1}/${pairs}`);
  }
  process.stderr.write('\n');
  const pick = (n, key) => summarize(per[n].map((m) => m[key]));
  return Object.fromEntries(names.map((n) => [n, { ratio: pick(n, 'ratio'), rssMb: pick(n, 'rssMb'), rssAddedMb: pick(n, 'rssAddedMb'), wallMs: pick(n, 'wallMs') }]));
}

function perSample(jobResult) {
  const out = path.join(scratch, 'accounting.json');
  // tsc's modules, not the bundle: the hook wraps their classes, which the bundle has its own copies of.
  jobRun('sfprof', { preload: path.join(root, 'dist', 'preload', 'auto.js'), args: ['-r', path.join(root, 'bench', 'cost-hook.cjs')], env: { COST_OUT: out } });
  const a = JSON.parse(fs.readFileSync(out, 'utf8'));
  const samples = a.stats.samplesRecorded;
  const addedMs = jobResult.sfprof.wallMs.median - jobResult.none.wallMs.median;
  const perUs = (totalMs) => (samples ? (1000 * totalMs) / samples : undefined);
  return {
    engine: a.stats.engine,
    samples,
    signals: a.stats.signalsReceived,
    handlerMedianUs: a.stats.handlerTimeMedianUs,
    handlerP99Us: a.stats.handlerTimeP99Us,
    drainUs: perUs(a.drainNativeMs + a.stopNativeMs),
    applyEventsMs: a.applyEventsMs,
    events: a.events,
    symbolizeAggregateUs: perUs(a.recordMs),
    wallAddedPerSampleUs: perUs(addedMs),
    drains: a.drains,
    spills: a.stats.spills,
  };
}

const f = (v, d = 1) => (v === undefined ? '–' : v.toFixed(d));
const s = (summary, d = 1) => (summary ? `${f(summary.median, d)} (${f(summary.min, d)}–${f(summary.max, d)})` : '–');

function markdown(r) {
  const lines = [
    `# sfprof cost by part, ${r.date.slice(0, 10)}`,
    '',
    `Machine: ${r.machine.cpu}, ${r.machine.cores} cores, Linux ${r.machine.kernel}, Node ${r.machine.node}. ` +
      `Interval ${r.intervalUs} µs, timer ${r.timer}. Medians (min–max) of ${r.runs} runs for start and exit, ${r.pairs} rotated rounds for the job.`,
    '',
    '## Start and exit, whole process (`-e 0`)',
    '',
    '| command | wall (ms) | added (ms) |',
    '|---|---|---|',
  ];
  const labelFor = (script) => ({ none: `\`node ${script}\``, sfprof: `\`node -r sfprof/auto ${script}\``, baseline: `\`node -r sfprof/auto ${script}\`, ${r.compareName}`, 'cpu-prof': `\`node --cpu-prof ${script}\`` });
  for (const [name, m] of Object.entries(r.start)) lines.push(`| ${labelFor('-e 0')[name]} | ${s(m.wallMs)} | ${name === 'none' ? '–' : f(m.addedMs)} |`);
  if (r.startShort) {
    lines.push('', '## Start and exit, whole process, sampled (`short.js`: ~100 ms of work)', '', '| command | wall (ms) | added (ms) |', '|---|---|---|');
    for (const [name, m] of Object.entries(r.startShort)) lines.push(`| ${labelFor('short.js')[name]} | ${s(m.wallMs)} | ${name === 'none' ? '–' : f(m.addedMs)} |`);
  }
  const sets = [[r.phases, r.period], ...(r.comparePhases ? [[r.comparePhases, r.comparePeriod]] : [])];
  const row = (text, pick, digits = 2) => `| ${text} | ${sets.map((set) => s(pick(set), digits)).join(' | ')} |`;
  lines.push(
    '',
    '## Start and exit, by part (one process, ms)',
    '',
    r.comparePhases ? `| part | this build | ${r.compareName} |` : '| part | ms |',
    r.comparePhases ? '|---|---|---|' : '|---|---|',
    row('load the binary (loader, dlopen)', ([p]) => p.loadBinary),
    row(`load the preload's modules`, ([p]) => p.loadModules),
    row(`files those are`, ([p]) => p.modulesLoaded, 0),
    row('start(): native (engine, ring, handler, code listing, watcher)', ([p]) => p.nativeStart),
    row('start(): JS (options, session, code map)', ([p]) => p.startJs),
    row('stop(): native (disarm, join the watcher, last drain, code events out)', ([p]) => p.nativeStop),
    row('stop(): JS (decode, symbolize, aggregate, drops)', ([p]) => p.stopJs),
    row('render (folded)', ([p]) => p.render),
    row('write the file', ([p]) => p.write),
    row('one continuous-mode period after 1 s of work: the cut', ([, q]) => q.periodCut),
    row('samples in that period', ([, q]) => q.periodSamples, 0),
    row('that period as pprof', ([, q]) => q.periodRender),
  );
  if (r.job) {
    lines.push('', `## W2 at BENCH_SCALE=${r.scale}, ${r.intervalUs} µs`, '', '| profiler | wall (ms) | ratio to none | peak RSS (MiB) | RSS added (MiB) |', '|---|---|---|---|---|');
    for (const [name, m] of Object.entries(r.job)) lines.push(`| ${name === 'baseline' ? r.compareName : name} | ${s(m.wallMs, 0)} | ${name === 'none' ? '–' : s(m.ratio, 3)} | ${s(m.rssMb)} | ${name === 'none' ? '–' : s(m.rssAddedMb)} |`);
    const q = r.perSample;
    lines.push(
      '',
      `### Per sample (${q.engine} engine, ${q.samples} samples, ${q.signals} signals, ${q.drains} drains, ${q.spills} spills)`,
      '',
      '| stage | µs per sample |',
      '|---|---|',
      `| signal handler (median / p99, sfprof's histogram) | ${f(q.handlerMedianUs)} / ${f(q.handlerP99Us)} |`,
      `| native drain (ring → records, code events out) | ${f(q.drainUs, 2)} |`,
      `| symbolize + aggregate (record()) | ${f(q.symbolizeAggregateUs, 2)} |`,
      `| code events applied: ${q.events} in ${f(q.applyEventsMs)} ms in all | – |`,
      `| wall added per sample (from the job's medians; includes start and exit) | ${f(q.wallAddedPerSampleUs)} |`,
    );
  }
  lines.push('', `Reproduce: \`node bench/cost.mjs ${r.args.join(' ')}\``, '');
  if (r.compareName) lines.push(`(DIR: a built copy of ${r.compareName}.)`, '');
  return lines.join('\n');
}

// A compared build is named, not located: the results go into the repository.
const args = process.argv.slice(2).map((arg, i, all) => (all[i - 1] === '--compare' ? 'DIR' : arg.startsWith('--compare=') ? '--compare=DIR' : arg));
const results = {
  date: new Date().toISOString(),
  args,
  machine: { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, kernel: os.release(), node: process.version, host: os.hostname() },
  runs,
  pairs,
  scale: Number(values.scale),
  intervalUs: interval,
  timer: values.timer,
};
results.start = startCost(['-e', '0']);
results.startShort = startCost([path.join(root, 'bench', 'workloads', 'short.js')]);
results.phases = phases(false);
results.period = phases(true);
if (compareRoot) {
  results.compareName = values['compare-name'];
  results.comparePhases = phases(false, compareRoot);
  results.comparePeriod = phases(true, compareRoot);
}
if (!values['skip-job']) {
  results.job = job();
  results.perSample = perSample(results.job);
}
const outDir = path.resolve(values.out ?? path.join(root, 'bench', 'results'));
fs.mkdirSync(outDir, { recursive: true });
const stamp = `${results.date.slice(0, 10)}-${results.machine.host}-cost${values.tag ? `-${values.tag}` : ''}`;
fs.writeFileSync(path.join(outDir, `${stamp}.json`), JSON.stringify(results, null, 1) + '\n');
fs.writeFileSync(path.join(outDir, `${stamp}.md`), markdown(results));
console.log(markdown(results));
fs.rmSync(scratch, { recursive: true, force: true });
