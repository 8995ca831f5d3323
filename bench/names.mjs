// Do sfprof's names agree with V8's own profiler on real libraries? Runs each workload of
// bench/workloads/real/ under `node --cpu-prof` and under sfprof (preload, same interval), alternating,
// and compares function self time (charged view: builtins and native code go to their JS caller, as
// V8 does) and the inclusive share of V8's hottest functions, both over the samples in JS functions
// (GC, idle and program time differ by design: V8 samples wall time, sfprof CPU time; their shares
// are reported apart). Two --cpu-prof runs give the noise floor.
//   node bench/names.mjs [--runs N] [--seconds S] [--interval 1ms] [--workloads tsc,acorn,...] [--inlines 0] [--write]
// --write saves bench/results/<date>-names.{json,md} (-names-no-inlines with --inlines 0: the baseline).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const sfprof = await import(path.join(root, 'dist', 'bundle', 'index.js'));
const { selfIndex, chargesToCaller, isFunctionFrame } = await import(path.join(root, 'dist', 'model', 'charge.js'));

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '6' },
    interval: { type: 'string', default: '1ms' },
    workloads: { type: 'string', default: 'tsc,acorn,marked,handlebars' },
    engine: { type: 'string', default: 'auto' },
    inlines: { type: 'string', default: '1' },
    write: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const intervalUs = values.interval.endsWith('ms') ? Number.parseFloat(values.interval) * 1000 : Number.parseFloat(values.interval);
const workloadDir = path.join(root, 'bench', 'workloads', 'real');
const files = Object.fromEntries(fs.readdirSync(workloadDir).map((file) => [file.replace(/\.[cm]?js$/, ''), path.join(workloadDir, file)]));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-names-'));
const preload = path.join(root, 'dist', 'bundle', 'auto.js');

function run(kind, workload, index) {
  const env = { ...process.env, NAMES_SECONDS: values.seconds };
  let args;
  let output;
  if (kind === 'v8') {
    const dir = path.join(scratch, `v8-${workload}-${index}`);
    args = ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', String(intervalUs), files[workload]];
    output = () => path.join(dir, fs.readdirSync(dir)[0]);
  } else {
    const file = path.join(scratch, `sfprof-${workload}-${index}.pprof`);
    args = ['-r', preload, files[workload]];
    Object.assign(env, { SFPROF_OUTPUT: file, SFPROF_INTERVAL: values.interval, SFPROF_TIMER: values.engine, SFPROF_INLINES: values.inlines, SFPROF_QUIET: '1' });
    output = () => file;
  }
  const result = spawnSync(process.execPath, args, { cwd: root, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${kind} ${workload} failed: ${result.stderr}`);
  return sfprof.readProfile(fs.readFileSync(output()), output());
}

/** Function key both profilers agree on: name, file's base name, start line. */
function keyOf(frame) {
  const file = frame.file ? path.basename(frame.file.replace(/^file:\/\//, '')) : '';
  return `${frame.name} ${file}:${frame.startLine ?? frame.line ?? ''}`;
}

// V8's pseudo-frames; sfprof's own.
const SKIP = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

function shares(profile) {
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  let inlinedSamples = 0;
  let unattributed = 0;
  const other = new Map();
  for (const stack of profile.stackList) {
    if (stack.count <= 0) continue;
    const frames = stack.frames.map((id) => profile.frames[id]);
    // The profiler's own work in sfprof's profile is left out, as V8 leaves out its own.
    const leaf = frames[selfIndex(profile.frames, stack.frames, true)];
    // Only samples whose own time is a function's: V8's sampler runs on wall time, so the main thread
    // waiting for GC helpers is GC for V8 and not for a CPU-time engine. The shares are of JS time.
    if (!isFunctionFrame(leaf)) {
      other.set(leaf.name, (other.get(leaf.name) ?? 0) + stack.count);
      continue;
    }
    total += stack.count;
    const key = keyOf(leaf);
    self.set(key, (self.get(key) ?? 0) + stack.count);
    const seen = new Set();
    for (const frame of frames) if (isFunctionFrame(frame) && !chargesToCaller(frame)) seen.add(keyOf(frame));
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + stack.count);
    if (frames.some((frame) => frame.inlined)) inlinedSamples += stack.count;
    if (frames.some((frame) => frame.inlined && frame.kind === 'synthetic')) unattributed += stack.count;
  }
  const norm = (map) => new Map([...map].map(([k, v]) => [k, v / total]));
  const all = total + [...other.values()].reduce((a, b) => a + b, 0);
  return { self: norm(self), inclusive: norm(inclusive), total, all, gc: (other.get('(garbage collector)') ?? 0) / all, inlined: inlinedSamples / total, unattributed: unattributed / total };
}

/** Σ min(p, q) over the functions: 1 when the two self-time distributions are the same. */
function overlap(a, b) {
  let sum = 0;
  for (const [key, value] of a.self) if (!SKIP.has(key)) sum += Math.min(value, b.self.get(key) ?? 0);
  return sum;
}

/** Largest gap, in percentage points, in the inclusive share of `reference`'s `count` hottest JS functions. */
function inclusiveGap(reference, other, count = 10) {
  const top = [...reference.inclusive].filter(([key]) => !key.startsWith('(')).sort((x, y) => y[1] - x[1]).slice(0, count);
  let worst = { key: '', gap: 0 };
  for (const [key, share] of top) {
    const gap = Math.abs(share - (other.inclusive.get(key) ?? 0)) * 100;
    if (gap > worst.gap) worst = { key, gap };
  }
  return worst;
}

const results = [];
for (const workload of values.workloads.split(',')) {
  if (!files[workload]) throw new Error(`unknown workload ${workload}; have ${Object.keys(files).join(', ')}`);
  const v8 = [];
  const ours = [];
  for (let i = 0; i < runs; i++) {
    v8.push(shares(run('v8', workload, i)));
    ours.push(shares(run('sfprof', workload, i)));
  }
  v8.push(shares(run('v8', workload, runs)));
  const noise = overlap(v8[0], v8[1]);
  const agreement = ours.map((profile, i) => overlap(profile, v8[i]));
  const gaps = ours.map((profile, i) => inclusiveGap(v8[i], profile));
  const noiseGap = inclusiveGap(v8[0], v8[1]);
  const row = {
    workload,
    samples: { v8: v8.map((p) => p.all), sfprof: ours.map((p) => p.all) },
    gcShare: { v8: v8.map((p) => p.gc), sfprof: ours.map((p) => p.gc) },
    v8VsV8Overlap: noise,
    sfprofVsV8Overlap: agreement,
    worstInclusiveGapPp: gaps,
    v8VsV8WorstInclusiveGapPp: noiseGap,
    inlinedSampleShare: ours.map((p) => p.inlined),
    unattributedInlineShare: ours.map((p) => p.unattributed),
  };
  results.push(row);
  console.log(
    `${workload}: self overlap sfprof~v8 ${agreement.map((x) => x.toFixed(3)).join(' ')} (v8~v8 ${noise.toFixed(3)}); ` +
      `worst inclusive gap ${gaps.map((g) => `${g.gap.toFixed(1)}pp ${g.key}`).join(' | ')} (v8~v8 ${noiseGap.gap.toFixed(1)}pp); ` +
      `samples with inlined frames ${ours.map((p) => (p.inlined * 100).toFixed(1) + '%').join(' ')}, unattributed ${ours.map((p) => (p.unattributed * 100).toFixed(1) + '%').join(' ')}`,
  );
}
fs.rmSync(scratch, { recursive: true, force: true });

if (values.write) {
  const date = new Date().toISOString().slice(0, 10);
  const base = path.join(root, 'bench', 'results', `${date}-names${values.inlines === '0' ? '-no-inlines' : ''}`);
  const meta = { node: process.version, cpu: os.cpus()[0]?.model, interval: values.interval, engine: values.engine, inlines: values.inlines !== '0', seconds: Number(values.seconds), runs };
  fs.writeFileSync(`${base}.json`, JSON.stringify({ meta, results }, null, 2) + '\n');
  const lines = [
    `# Names against V8's profiler (${date})`,
    '',
    `\`node bench/names.mjs --runs ${runs} --seconds ${values.seconds} --interval ${values.interval}${values.inlines === '0' ? ' --inlines 0' : ''} --write\`, Node ${process.version}, ${meta.cpu}, engine ${values.engine}${values.inlines === '0' ? ', inlined frames off (the baseline)' : ''}.`,
    'Shares are of the samples in JS functions (GC, program and idle apart: V8 samples wall time, sfprof CPU time).',
    'Self overlap: Σ min over functions of the two self-time shares (builtins and native code charged to their JS caller);',
    "inclusive gap: the largest difference in inclusive share among V8's 10 hottest functions.",
    '',
    '| workload | samples sfprof / V8 | self overlap sfprof~V8 | V8~V8 | worst inclusive gap sfprof~V8 | V8~V8 | samples with inlined frames | unattributed inlined |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.workload} | ${r.samples.sfprof.join(', ')} / ${r.samples.v8.join(', ')} | ${r.sfprofVsV8Overlap.map((x) => x.toFixed(3)).join(', ')} | ${r.v8VsV8Overlap.toFixed(3)} | ` +
        `${r.worstInclusiveGapPp.map((g) => `${g.gap.toFixed(1)} pp (${g.key})`).join(', ')} | ${r.v8VsV8WorstInclusiveGapPp.gap.toFixed(1)} pp | ` +
        `${r.inlinedSampleShare.map((x) => (x * 100).toFixed(1) + '%').join(', ')} | ${r.unattributedInlineShare.map((x) => (x * 100).toFixed(1) + '%').join(', ')} |`,
    ),
    '',
  ];
  fs.writeFileSync(`${base}.md`, lines.join('\n'));
  console.log(`wrote ${path.relative(root, base)}.{json,md}`);
}
