// SHORT: a fixed ~100 ms of work and exit, the shape of a build step or a test file run in its own
// process: long enough to be sampled, so the profiler's first-sample and exit work (listing the
// code that exists, symbolizing, writing the profile) is paid, as START never pays it. A fixed
// amount of work, not of CPU time: a profiler's own threads would count in the process's CPU time.
'use strict';
let sink = 0;
for (let round = 0; round < 80; round++) {
  for (let i = 0; i < 200_000; i++) sink = (sink + ((i * 31) ^ round)) | 0;
}
if (sink === 42) console.log(sink);
