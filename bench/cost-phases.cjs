// One child of bench/cost.mjs: times the parts of sfprof's start and exit inside one process, the way
// the preload runs them (load, start, stop, render, write), and what one continuous-mode period costs.
// Prints one JSON line. Not a test: the numbers are for bench/cost.mjs to take medians of.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const ms = {};
const before = new Set(Object.keys(require.cache));

let t = now();
const { loadNative } = require(path.join(dist, 'native', 'binding.js'));
const native = loadNative();
ms.loadBinary = now() - t;
t = now();
// What the preload loads besides the binary, without running it: the bundle the package runs from
// (its library, which evaluates every module the preload would and more), or in builds before the
// bundle, auto-main and its imports.
const bundle = path.join(dist, 'bundle', 'sfprof.js');
let profiler;
let renderProfile;
if (fs.existsSync(bundle)) {
  // Through its loader (and V8's code cache for this Node) where the build has one.
  const loader = path.join(dist, 'bundle', 'load.js');
  profiler = (fs.existsSync(loader) ? require(loader).load() : require(bundle)).library();
  ({ renderProfile } = profiler);
  ms.loadModules = now() - t;
  ms.modulesLoaded = Object.keys(require.cache).filter((file) => !before.has(file)).length;
} else {
  require(path.join(dist, 'preload', 'auto-main.js'));
  ms.loadModules = now() - t;
  ms.modulesLoaded = Object.keys(require.cache).filter((file) => !before.has(file)).length;
  profiler = require(path.join(dist, 'pipeline', 'profiler.js'));
  // The preload's renderer, which loads one writer (older builds: render.js, which loads them all).
  const renderer = path.join(dist, 'formats', 'render-profile.js');
  ({ renderProfile } = require(fs.existsSync(renderer) ? renderer : path.join(dist, 'formats', 'render.js')));
}
const { writeOutputSync } = require(path.join(dist, 'formats', 'write-file.js'));

const wrap = (name, key) => {
  const original = native[name];
  native[name] = function (...args) {
    const started = now();
    try {
      return original.apply(this, args);
    } finally {
      ms[key] = (ms[key] ?? 0) + now() - started;
    }
  };
};
wrap('start', 'nativeStart');
wrap('stop', 'nativeStop');
t = now();
profiler.start({ interval: process.env.COST_INTERVAL_US ? Number(process.env.COST_INTERVAL_US) : undefined, timelineSamples: 0 });
ms.start = now() - t;
ms.startJs = ms.start - ms.nativeStart;

// One period of continuous mode: a second of CPU-bound work, then the cut and a pprof file.
if (process.env.COST_PERIOD === '1') {
  const end = Date.now() + 1000;
  let sink = 0;
  while (Date.now() < end) for (let i = 0; i < 1e4; i++) sink = (sink + Math.imul(i, 2654435761)) | 0;
  t = now();
  const period = profiler.takeProfile();
  ms.periodCut = now() - t;
  t = now();
  const bytes = renderProfile(period, 'pprof');
  ms.periodRender = now() - t;
  ms.periodSamples = period.totalSamples;
  ms.periodBytes = bytes.length;
}

t = now();
const profile = profiler.stop();
ms.stop = now() - t;
ms.stopJs = ms.stop - ms.nativeStop;
t = now();
const text = renderProfile(profile, 'folded', {});
ms.render = now() - t;
t = now();
const out = path.join(os.tmpdir(), `sfprof-cost-${process.pid}.folded`);
writeOutputSync(out, text);
ms.write = now() - t;
fs.rmSync(out, { force: true });
process.stdout.write(JSON.stringify(ms) + '\n');
