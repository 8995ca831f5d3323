// Sampler figures on the GC-heavy example: frames resolved, handler time, achieved rate, signals on
// other threads, at each interval given (default 10ms and 1ms). Also the calc split in line mode.
//   node bench/sampler-stats.mjs [interval ...]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const intervals = process.argv.slice(2).length ? process.argv.slice(2) : ['10ms', '1ms'];

const child = (script, env, nodeFlags = []) => {
  const run = spawnSync(process.execPath, [...nodeFlags, '-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  if (run.status !== 0) throw new Error(`child failed (${run.status ?? run.signal}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
};

const gcScript = `
  const sfprof = require(${JSON.stringify(path.join(root, 'dist/bundle/index.js'))});
  sfprof.start({ interval: process.env.INTERVAL, timer: 'itimer' });
  const log = console.log; console.log = () => {};
  require(${JSON.stringify(path.join(root, 'examples/gc-heavy.js'))});
  console.log = log;
  const profile = sfprof.stop();
  const s = sfprof.stats();
  let gcCount = 0; for (const st of profile.stackList) if (profile.frames[st.frames[st.frames.length - 1]].kind === "gc") gcCount += st.count;
  console.log(JSON.stringify({ ...s, gcSamples: gcCount }));
`;

console.log('GC-heavy workload (examples/gc-heavy.js, node --expose-gc --stress-compaction), itimer engine');
console.log('| interval | signals | achieved Hz (process CPU) | JS-thread Hz | off JS thread | JS frames resolved | handler median / p99 | GC samples | drops (ring, truncated) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const interval of intervals) {
  const s = child(gcScript, { INTERVAL: interval, GC_HEAVY_SECONDS: process.env.GC_HEAVY_SECONDS ?? '4' }, ['--expose-gc', '--stress-compaction']);
  const resolved = s.framesTotal ? (100 * (s.framesTotal - s.framesUnresolved)) / s.framesTotal : 0;
  const off = s.signalsReceived ? (100 * s.drops.nonJsThread) / s.signalsReceived : 0;
  console.log(
    `| ${interval} | ${s.signalsReceived} | ${s.achievedRateHz.toFixed(0)} | ${s.jsThreadRateHz.toFixed(0)} | ${s.drops.nonJsThread} (${off.toFixed(1)}%) | ${resolved.toFixed(2)}% of ${s.framesTotal} | ${s.handlerTimeMedianUs.toFixed(2)} / ${s.handlerTimeP99Us.toFixed(2)} µs | ${s.gcSamples} | ${s.drops.ringFull}, ${s.drops.truncated} |`,
  );
}

const calcScript = `
  const sfprof = require(${JSON.stringify(path.join(root, 'dist/bundle/index.js'))});
  sfprof.start({ interval: '1ms', lines: true, timer: 'itimer' });
  const log = console.log; console.log = () => {};
  require(${JSON.stringify(path.join(root, 'examples/calc.js'))});
  console.log = log;
  const folded = sfprof.renderProfile(sfprof.stop(), 'folded');
  const count = (line) => folded.split('\\n').filter((l) => l.includes('main (examples/calc.js:' + line + ')')).reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const src = require('fs').readFileSync(${JSON.stringify(path.join(root, 'examples/calc.js'))}, 'utf8').split('\\n');
  const a = count(src.findIndex((l) => /^\\s*calc\\(100_000\\);/.test(l)) + 1);
  const b = count(src.findIndex((l) => /^\\s*calc\\(200_000\\);/.test(l)) + 1);
  console.log(JSON.stringify({ a, b }));
`;
const split = spawnSync(process.execPath, ['-e', calcScript], { cwd: root, encoding: 'utf8' });
const { a, b } = JSON.parse(split.stdout.trim().split('\n').pop());
console.log(`\ncalc split at 1 ms, line mode: calc(100_000) ${a} samples, calc(200_000) ${b} samples → ${((100 * b) / (a + b)).toFixed(1)}% (true split 66.7%)`);
