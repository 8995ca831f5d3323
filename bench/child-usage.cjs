// Preloaded into every benchmark child: at exit, write its CPU time and peak RSS to BENCH_USAGE.
'use strict';
const fs = require('node:fs');
process.on('exit', () => {
  if (!process.env.BENCH_USAGE) return;
  const usage = process.resourceUsage();
  fs.writeFileSync(process.env.BENCH_USAGE, JSON.stringify({ cpuUs: usage.userCPUTime + usage.systemCPUTime, maxRssKb: usage.maxRSS }));
});
