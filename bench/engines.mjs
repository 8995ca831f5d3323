// Achieved sampling rate of each timer engine against the requested interval, on a pure-CPU loop
// (test/fixtures/engine-rate.js): `node bench/engines.mjs [runs]`. Prints a markdown table of
// samples per CPU second of what each engine counts (process for itimer, JS thread otherwise),
// as median (min–max) over the runs, and the share of the requested rate.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 3);
const engines = ['itimer', 'perf', 'thread-cpu', 'pacer'];
const intervals = [['10ms', 100], ['1ms', 1000], ['500us', 2000], ['100us', 10000]];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const rows = [];
for (const engine of engines) {
  const cells = [];
  for (const [interval, requested] of intervals) {
    const rates = [];
    for (let run = 0; run < runs; run++) {
      const child = spawnSync(process.execPath, [path.join(root, 'test/fixtures/engine-rate.js')], {
        env: { ...process.env, ENGINE: engine, INTERVAL: interval, BURN_MS: '1000' },
        encoding: 'utf8',
      });
      if (child.status !== 0) {
        cells.push(`failed: ${child.stderr.trim().split('\n')[0]}`);
        break;
      }
      rates.push(JSON.parse(child.stdout).stats.engineRateHz);
    }
    if (rates.length === runs) {
      const m = median(rates);
      cells.push(`${m.toFixed(0)} Hz (${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}), ${((100 * m) / requested).toFixed(0)}%`);
    }
  }
  rows.push(`| ${engine} | ${cells.join(' | ')} |`);
}
console.log(`Achieved samples per CPU second, median (min–max) of ${runs} runs of 1 s of CPU, and share of the requested rate\n`);
console.log(`| engine | ${intervals.map(([i, hz]) => `${i} (${hz} Hz)`).join(' | ')} |`);
console.log(`|---|${intervals.map(() => '---').join('|')}|`);
for (const row of rows) console.log(row);
