// Quick overhead check: wall time of examples/calc.js (fixed work) unprofiled, under sfprof and
// under node --cpu-prof, in rotated order per round so machine drift cancels. Prints profiled /
// unprofiled ratios as median (min–max). The full benchmark with all workloads is `npm run bench`.
//   node bench/overhead.mjs [rounds]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? 5);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-overhead-'));
const app = path.join(root, 'examples', 'calc.js');
const preload = path.join(root, 'dist', 'bundle', 'auto.js');

const configs = [
  { name: 'none', args: [app] },
  { name: 'sfprof itimer 10ms', args: ['-r', preload, app], env: { SFPROF_INTERVAL: '10ms', SFPROF_TIMER: 'itimer' } },
  { name: 'sfprof itimer 1ms', args: ['-r', preload, app], env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer' } },
  { name: 'sfprof perf 1ms', args: ['-r', preload, app], env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'perf' } },
  { name: 'node --cpu-prof 10ms', args: ['--cpu-prof', '--cpu-prof-dir', scratch, '--cpu-prof-interval', '10000', app] },
  { name: 'node --cpu-prof 1ms', args: ['--cpu-prof', '--cpu-prof-dir', scratch, '--cpu-prof-interval', '1000', app] },
];

const times = new Map(configs.map((c) => [c.name, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < configs.length; i++) {
    const config = configs[(i + round) % configs.length];
    const started = process.hrtime.bigint();
    const run = spawnSync(process.execPath, config.args, {
      env: { ...process.env, CALC_SCALE: '2', SFPROF_OUTPUT: path.join(scratch, 'p-{pid}.folded'), ...config.env },
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`${config.name} failed: ${run.stderr}`);
    times.get(config.name).push(Number(process.hrtime.bigint() - started) / 1e6);
  }
}
fs.rmSync(scratch, { recursive: true, force: true });

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const base = times.get('none');
console.log(`examples/calc.js (CALC_SCALE=2), ${rounds} rotated rounds, ${os.cpus()[0]?.model ?? 'unknown CPU'}, node ${process.version}`);
console.log('| profiler | wall median (ms) | ratio to none: median (min–max) |');
console.log('|---|---|---|');
for (const config of configs) {
  const own = times.get(config.name);
  const ratios = own.map((t, i) => t / base[i]);
  console.log(
    `| ${config.name} | ${median(own).toFixed(0)} | ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}) |`,
  );
}
