// Preloaded into every benchmark child: at exit, write its CPU time and peak RSS to BENCH_USAGE.
// Taken after every 'exit' listener has run, a profiler's own exit work (its last drain, the
// profile it writes) included: a listener of ours would run before the ones registered after it.
'use strict';
const fs = require('node:fs');

const emit = process.emit;
process.emit = function (event, ...args) {
  const result = emit.call(this, event, ...args);
  if (event === 'exit' && process.env.BENCH_USAGE) {
    const usage = process.resourceUsage();
    fs.writeFileSync(process.env.BENCH_USAGE, JSON.stringify({ cpuUs: usage.userCPUTime + usage.systemCPUTime, maxRssKb: usage.maxRSS }));
  }
  return result;
};
