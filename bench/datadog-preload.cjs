// @datadog/pprof's wall-time profiler, started from a preload (its own -r entry point fails on
// Node 20): BENCH_INTERVAL_US between samples, written as gzipped pprof to BENCH_PROFILE at exit.
'use strict';
const fs = require('node:fs');
const pprof = require('@datadog/pprof');

pprof.time.start({ intervalMicros: Number(process.env.BENCH_INTERVAL_US) || 10_000, durationMillis: 3_600_000 });
// Before pprof's own exit listener, which stops the profiler and drops its samples.
process.prependListener('exit', () => {
  const profile = pprof.time.stop();
  fs.writeFileSync(process.env.BENCH_PROFILE, pprof.encodeSync(profile));
});
