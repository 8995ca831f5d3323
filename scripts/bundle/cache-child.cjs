'use strict';
// A child of scripts/code-cache.mjs: compiles dist/bundle/sfprof.js as dist/bundle/load.js does,
// runs the preload's main path (start, a little work, the profile written at exit) and, after it,
// writes V8's cache of everything compiled, printing the cache file's path.
const fs = require('node:fs');
const path = require('node:path');

const loader = require(path.join(__dirname, '..', '..', 'dist', 'bundle', 'load.js'));
const script = loader.compile(undefined);
loader.run(script).exports.run();
// Long enough to be sampled a few times at the default interval: the first sample's path (the code
// listing, symbolizing, the profile's stacks) is what a sampled process runs at exit.
const cpuMs = () => (process.cpuUsage().user + process.cpuUsage().system) / 1000;
const end = cpuMs() + 60;
let sink = 0;
while (cpuMs() < end) for (let i = 0; i < 1e5; i++) sink = (sink + Math.imul(i, 2654435761)) | 0;
process.on('exit', () => {
  fs.writeFileSync(loader.cacheFile, script.createCachedData());
  process.stdout.write(`${loader.cacheFile}\n`);
});
