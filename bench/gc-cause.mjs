// The cost of recording each GC's cause (native/gc_cause.h): a workload that does little but
// scavenge, at a fixed JS stack depth, run without sfprof, with sfprof and gcCause off, and with it
// on, in rounds whose order rotates. Reports GCs per second of each, the mean GC pause as Node's
// `gc` performance entries measure it (from Node's own prologue callback, registered before
// sfprof's, to its epilogue: the capture is inside), the process's CPU time (GC on the JS thread
// only: --single-threaded-gc, so helper threads add no noise; CPU time moves less than wall time when
// the machine is shared), and the differences per GC.
//
//   node bench/gc-cause.mjs [--rounds N] [--depth D] [--iterations I]
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { median } from './stats.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '9' },
    depth: { type: 'string', default: '30' },
    iterations: { type: 'string', default: '30000000' },
    child: { type: 'string' },
  },
});

if (values.child) {
  // One run: allocate short-lived objects `iterations` times, `depth` calls down. V8's --trace-gc
  // lines on stdout count the GCs; Node's gc performance entries time them.
  const { createRequire } = await import('node:module');
  const { performance, PerformanceObserver } = await import('node:perf_hooks');
  const sfprof = values.child === 'none' ? undefined : createRequire(import.meta.url)(root);
  const pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry);
  });
  observer.observe({ entryTypes: ['gc'] });
  sfprof?.start({ interval: '10ms', timer: 'itimer', gcCause: values.child === 'on' });
  const iterations = Number(values.iterations);
  let sink;
  const down = (depth) => {
    if (depth > 0) return down(depth - 1);
    for (let i = 0; i < iterations; i++) sink = { i, a: [i, i + 1] };
    return sink;
  };
  const loopStart = performance.now();
  const started = process.hrtime.bigint();
  const cpuBefore = process.cpuUsage();
  down(Number(values.depth));
  const cpu = process.cpuUsage(cpuBefore);
  const elapsedNs = Number(process.hrtime.bigint() - started);
  const loopEnd = performance.now();
  sfprof?.stop();
  await new Promise((resolve) => setTimeout(resolve, 200));
  observer.disconnect();
  // Only the loop's GCs: stop() and the profile's processing allocate too.
  const inLoop = pauses.filter((entry) => entry.startTime >= loopStart && entry.startTime <= loopEnd);
  const meanPauseUs = (inLoop.reduce((sum, entry) => sum + entry.duration, 0) / inLoop.length) * 1000;
  process.stdout.write(`\nresult ${JSON.stringify({ elapsedNs, cpuUs: cpu.user + cpu.system, meanPauseUs, timed: inLoop.length })}\n`);
} else {
  const modes = ['none', 'off', 'on'];
  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  const rounds = Number(values.rounds);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < modes.length; k++) {
      const mode = modes[(round + k) % modes.length];
      const run = spawnSync(process.execPath, ['--trace-gc', '--single-threaded-gc', '--max-semi-space-size=1', fileURLToPath(import.meta.url), '--child', mode,
        '--depth', values.depth, '--iterations', values.iterations], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(run.stderr);
      const lines = run.stdout.split('\n');
      const result = JSON.parse(lines.find((line) => line.startsWith('result ')).slice('result '.length));
      // GCs during the timed loop: the run is almost all loop (start-up GCs are a handful).
      result.gcs = lines.filter((line) => / ms: (Scavenge|Mark-Compact|Mark-sweep|Minor)/.test(line)).length;
      results[mode].push(result);
    }
  }
  const summary = {};
  for (const mode of modes) {
    const runs = results[mode];
    summary[mode] = {
      elapsedMs: median(runs.map((r) => r.elapsedNs / 1e6)),
      cpuMs: median(runs.map((r) => r.cpuUs / 1e3)),
      gcs: median(runs.map((r) => r.gcs)),
      gcsPerSecond: median(runs.map((r) => r.timed / (r.elapsedNs / 1e9))),
      meanPauseUs: median(runs.map((r) => r.meanPauseUs)),
      timedGcs: median(runs.map((r) => r.timed)),
    };
  }
  const perGcUs = (summary.on.elapsedMs - summary.off.elapsedMs) * 1000 / summary.on.timedGcs;
  const pauseUs = summary.on.meanPauseUs - summary.off.meanPauseUs;
  const cpuUs = (summary.on.cpuMs - summary.off.cpuMs) * 1000 / summary.on.timedGcs;
  console.log(JSON.stringify({ rounds, depth: Number(values.depth), ...summary,
    extraWallUsPerGc: +perGcUs.toFixed(2), extraCpuUsPerGc: +cpuUs.toFixed(2), extraPauseUsPerGc: +pauseUs.toFixed(2) }, null, 2));
}
