// gc-heavy.js: a CPU mix with heavy allocation, for checking the sampler under GC and code moves.
// Run it with compaction forced to make V8 move code while samples wait in the ring:
//   node --expose-gc --stress-compaction -r sfprof/auto examples/gc-heavy.js
'use strict';

const SECONDS = Number(process.env.GC_HEAVY_SECONDS) || 3;

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function makeRecords(count) {
  const records = [];
  for (let i = 0; i < count; i++) {
    records.push({ id: i, name: `item-${i}`, tags: ['a', 'b', String(i % 7)], score: Math.sqrt(i) });
  }
  return records;
}

function roundTrip(records) {
  return JSON.parse(JSON.stringify(records)).length;
}

function scan(text) {
  let hits = 0;
  for (const match of text.matchAll(/item-(\d+)7\b/g)) hits += match[1].length;
  return hits;
}

const retained = [];
let sink = 0;
const end = Date.now() + SECONDS * 1000;
for (let round = 0; Date.now() < end; round++) {
  const records = makeRecords(2000);
  sink += roundTrip(records);
  sink += scan(records.map((r) => r.name).join(' '));
  sink += fib(18);
  retained[round % 64] = records; // keep some alive so old-space fills and compacts
  if (global.gc && round % 50 === 0) global.gc();
}
console.log(sink > 0 ? 'gc-heavy done' : 'unexpected');
