// npm run bench:memory: RSS over a long run of continuous mode, with the same app unprofiled and
// profiled to exit measured side by side.
//
//   node bench/memory.mjs [--minutes N] [--every SECONDS] [--busy MS] [--out DIR]
//
// Five copies of bench/workloads/steady.js (a server-like app at about 15% of a core each) run at
// once, at sfprof's production default (10 ms, auto engine, pprof):
//   none        no profiler
//   exit        sfprof, one profile written at exit
//   period-60s  SFPROF_PERIOD=60s (the period when pushing)
//   push-10s    SFPROF_PERIOD=10s, each period also pushed to a Pyroscope-style receiver here
//   period-1s   SFPROF_PERIOD=1s (the shortest period: many more cuts in the same time)
// This process reads each child's VmRSS from /proc every --every seconds (the apps are not touched),
// and rewrites DIR/<date>-<host>-memory.md and .json every minute, so a run stopped early still
// leaves its numbers. Linux only (/proc).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { parseDuration } from '../test/lib/soak-lib.mjs';
import { linearSlope, minuteMedians } from './memory-stats.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

function usageText() {
  return fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n');
}

let options;
try {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '60' },
      every: { type: 'string', default: '10' },
      busy: { type: 'string', default: '15' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usageText());
    process.exit(0);
  }
  options = {
    minutes: parseDuration(values.minutes, '--minutes', 'minutes', 0.1, 1440),
    everySeconds: parseDuration(values.every, '--every', 'seconds', 1, 600),
    busyMs: parseDuration(values.busy, '--busy', 'milliseconds', 1, 90),
    outDir: path.resolve(values.out ?? path.join(root, 'bench', 'results')),
  };
} catch (error) {
  console.error(`bench:memory: ${error.message}\nusage: node bench/memory.mjs [--minutes N] [--every SECONDS] [--busy MS] [--out DIR]`);
  process.exit(2);
}
if (process.platform !== 'linux') {
  console.error('bench:memory: reads RSS from /proc, so it runs on Linux only');
  process.exit(2);
}

const CONFIGS = [
  { name: 'none', env: {} },
  { name: 'exit', env: { SFPROF: 1 } },
  { name: 'period-60s', env: { SFPROF: 1, SFPROF_PERIOD: '60s' } },
  { name: 'push-10s', env: { SFPROF: 1, SFPROF_PERIOD: '10s', push: true } },
  { name: 'period-1s', env: { SFPROF: 1, SFPROF_PERIOD: '1s' } },
];

// The Pyroscope-style receiver: takes every upload, keeps only counts.
const received = { uploads: 0, bytes: 0 };
const receiver = http.createServer((req, res) => {
  req.on('data', (chunk) => (received.bytes += chunk.length));
  req.on('end', () => {
    if (req.url.startsWith('/ingest?')) received.uploads++;
    res.writeHead(200).end();
  });
});
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${receiver.address().port}`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-memory-'));
const started = Date.now();
const children = CONFIGS.map((config) => {
  const dir = path.join(scratch, config.name);
  fs.mkdirSync(dir);
  const env = { ...process.env, NODE_OPTIONS: '', BUSY_MS: String(options.busyMs) };
  const args = [];
  if (config.env.SFPROF) {
    args.push('-r', path.join(root, 'dist', 'bundle', 'auto.js'));
    env.SFPROF_OUTPUT = path.join(dir, 'prof.pb.gz');
    if (config.env.SFPROF_PERIOD) env.SFPROF_PERIOD = config.env.SFPROF_PERIOD;
    if (config.env.push) Object.assign(env, { SFPROF_PYROSCOPE_URL: receiverUrl, SFPROF_PYROSCOPE_APP: 'steady' });
  }
  args.push(path.join(root, 'bench', 'workloads', 'steady.js'));
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { config, dir, child, exited, stderr: () => stderr, points: [] };
});

function rssKb(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

function cpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

const machine = { cores: os.cpus().length, kernel: os.release(), node: process.version, host: os.hostname() };
const stamp = `${new Date(started).toISOString().slice(0, 10)}-${machine.host}-memory`;

function results(finished) {
  const elapsedMin = (Date.now() - started) / 60000;
  return {
    date: new Date(started).toISOString(),
    machine,
    options: { minutes: options.minutes, everySeconds: options.everySeconds, busyMs: options.busyMs },
    finished,
    elapsedMinutes: Math.round(elapsedMin * 100) / 100,
    received: { ...received },
    configs: children.map((c) => ({
      name: c.config.name,
      cpuSeconds: c.cpuSeconds,
      periodFiles: c.periodFiles,
      exit: c.exit,
      points: c.points, // [minutes, RSS kB]
    })),
  };
}

function markdown(r) {
  const mb = (kb) => (kb === undefined ? '–' : (kb / 1024).toFixed(1));
  const perMinute = r.configs.map((c) => minuteMedians(c.points));
  const minutes = Math.max(0, ...perMinute.map((m) => m.length - 1));
  const checkpoints = [1, 2, 5, 10, 15, 20, 30, 45, 60, 75, 90, 105, 120, 150, 180, 240, 360, 480, 720, 1440].filter((m) => m < minutes);
  checkpoints.push(minutes);
  const lines = [];
  lines.push(`# Continuous mode: RSS over ${r.elapsedMinutes.toFixed(1)} minutes${r.finished ? '' : ' (still running when written)'}`);
  lines.push('');
  lines.push(`${r.date}, ${r.machine.host}: ${r.machine.cores} cores, Linux ${r.machine.kernel}, Node ${r.machine.node}.`);
  lines.push(`\`node bench/memory.mjs --minutes ${r.options.minutes} --every ${r.options.everySeconds} --busy ${r.options.busyMs}\`: five copies of`);
  lines.push(`bench/workloads/steady.js side by side, sfprof at 10 ms with the auto engine and pprof output. RSS is`);
  lines.push(`VmRSS read from /proc every ${r.options.everySeconds} s; each cell is the median of the readings in that minute, in MB.`);
  lines.push('');
  lines.push(`| minute | ${r.configs.map((c) => c.name).join(' | ')} |`);
  lines.push(`|---:|${r.configs.map(() => '---:').join('|')}|`);
  for (const m of checkpoints) lines.push(`| ${m} | ${perMinute.map((series) => mb(series[m])).join(' | ')} |`);
  lines.push('');
  lines.push('Growth, from a least-squares line through the per-minute medians (MB per hour):');
  lines.push('');
  lines.push(`| span | ${r.configs.map((c) => c.name).join(' | ')} |`);
  lines.push(`|---|${r.configs.map(() => '---:').join('|')}|`);
  const spans = [
    ['first half', 1, Math.floor(minutes / 2)],
    ['second half', Math.floor(minutes / 2), minutes],
    ['last quarter', Math.floor((minutes * 3) / 4), minutes],
  ];
  for (const [label, from, to] of spans) {
    const cells = perMinute.map((series) => {
      const slope = linearSlope(series, from, to);
      return slope === undefined ? '–' : ((slope * 60) / 1024).toFixed(1);
    });
    lines.push(`| ${label} (min ${from}–${to}) | ${cells.join(' | ')} |`);
  }
  lines.push('');
  const cpu = r.configs.map((c) => (c.cpuSeconds === undefined ? '–' : `${c.cpuSeconds.toFixed(0)} s`));
  lines.push(`CPU time of each app: ${r.configs.map((c, i) => `${c.name} ${cpu[i]}`).join(', ')}.`);
  const files = r.configs.filter((c) => c.periodFiles !== undefined).map((c) => `${c.name} ${c.periodFiles}`);
  if (files.length) lines.push(`Period files left at the end (SFPROF_KEEP=10): ${files.join(', ')}.`);
  lines.push(`The receiver took ${r.received.uploads} uploads (${(r.received.bytes / 1024).toFixed(0)} KB) from push-10s.`);
  if (r.finished) lines.push(`Exits (SIGTERM at the end): ${r.configs.map((c) => `${c.name} ${c.exit?.signal ?? c.exit?.code}`).join(', ')}.`);
  return lines.join('\n') + '\n';
}

function write(finished) {
  fs.mkdirSync(options.outDir, { recursive: true });
  const r = results(finished);
  fs.writeFileSync(path.join(options.outDir, `${stamp}.json`), JSON.stringify(r) + '\n');
  fs.writeFileSync(path.join(options.outDir, `${stamp}.md`), markdown(r));
}

console.log(`bench:memory: ${CONFIGS.length} apps for ${options.minutes} min; results in ${path.join(options.outDir, stamp)}.md`);
let lastWrite = Date.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const at = (Date.now() - started) / 60000;
    for (const c of children) {
      const kb = rssKb(c.child.pid);
      if (kb !== undefined) c.points.push([Math.round(at * 1000) / 1000, kb]);
      c.cpuSeconds = cpuSeconds(c.child.pid) ?? c.cpuSeconds;
    }
    if (Date.now() - lastWrite >= 60000) {
      lastWrite = Date.now();
      write(false);
      const latest = children.map((c) => `${c.config.name} ${((c.points.at(-1)?.[1] ?? 0) / 1024).toFixed(1)}`);
      console.log(`${at.toFixed(1)} min: RSS MB ${latest.join(', ')}`);
    }
    if (at >= options.minutes) {
      clearInterval(timer);
      resolve();
    }
  }, options.everySeconds * 1000);
});

for (const c of children) c.child.kill('SIGTERM');
for (const c of children) {
  c.exit = await c.exited;
  c.periodFiles = c.config.env.SFPROF_PERIOD ? fs.readdirSync(c.dir).filter((f) => f.endsWith('.pb.gz')).length : undefined;
  if (c.exit.signal !== 'SIGTERM') console.log(`${c.config.name}: ended with ${JSON.stringify(c.exit)}; stderr: ${c.stderr()}`);
}
receiver.close();
write(true);
fs.rmSync(scratch, { recursive: true, force: true });
console.log(fs.readFileSync(path.join(options.outDir, `${stamp}.md`), 'utf8'));
