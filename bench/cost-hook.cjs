// Preloaded after sfprof's preload by bench/cost.mjs in an accounting run (never in a timed one):
// sums the time the JS thread spends in each stage a sample goes through after the signal, and
// writes them with sfprof's own stats to COST_OUT at exit. The wrappers cost time themselves, which
// is why the wall-clock comparisons run without them.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const now = () => Number(process.hrtime.bigint()) / 1e6;
const totals = { drainNativeMs: 0, drains: 0, applyEventsMs: 0, events: 0, recordMs: 0, samples: 0, stopNativeMs: 0 };

const native = require(path.join(dist, 'native', 'binding.js')).loadNative();
for (const [name, key] of [['drain', 'drainNativeMs'], ['stop', 'stopNativeMs']]) {
  const original = native[name];
  native[name] = function (...args) {
    const started = now();
    try {
      return original.apply(this, args);
    } finally {
      totals[key] += now() - started;
      if (name === 'drain') totals.drains++;
    }
  };
}
const { SampleIngester } = require(path.join(dist, 'pipeline', 'ingest.js'));
const { CodeMap } = require(path.join(dist, 'pipeline', 'code-map.js'));
const apply = CodeMap.prototype.apply;
CodeMap.prototype.apply = function (event) {
  const started = now();
  try {
    return apply.call(this, event);
  } finally {
    totals.applyEventsMs += now() - started;
    totals.events++;
  }
};
// record() is symbolize + aggregate: code-map lookups, frame names, interning, the stack's count.
const record = SampleIngester.prototype.record;
SampleIngester.prototype.record = function (sample) {
  const started = now();
  try {
    return record.call(this, sample);
  } finally {
    totals.recordMs += now() - started;
    totals.samples++;
  }
};
const profiler = require(path.join(dist, 'pipeline', 'profiler.js'));
// Loaded after the preload, so this listener runs after the one that stops sampling.
process.on('exit', () => {
  fs.writeFileSync(process.env.COST_OUT, JSON.stringify({ ...totals, stats: profiler.stats() }));
});
