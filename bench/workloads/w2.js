// W2: a known split. runA calls calc(n), runB calls calc(2n); the true split is measured with
// process.cpuUsage around each call and written to BENCH_RESULT as JSON.
'use strict';
const fs = require('node:fs');
const SCALE = Number(process.env.BENCH_SCALE) || 1;

function mix(i) {
  let h = i | 0;
  for (let k = 0; k < 2000; k++) h = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + k) | 0;
  return h & 7;
}

function calc(n) {
  let sink = 0;
  for (let i = 0; i < n; i++) sink += mix(i);
  return sink;
}

const cpuUs = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

function runA(n) {
  return calc(n);
}

function runB(n) {
  return calc(2 * n);
}

const n = Math.round(300_000 * SCALE);
const t0 = cpuUs();
runA(n);
const t1 = cpuUs();
runB(n);
const t2 = cpuUs();
if (process.env.BENCH_RESULT) {
  fs.writeFileSync(process.env.BENCH_RESULT, JSON.stringify({ runAUs: t1 - t0, runBUs: t2 - t1 }));
}
