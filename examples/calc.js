// calc.js: shows per-call-site attribution. main() calls calc() from two
// different lines, and calc(200_000) should get about twice the samples of
// calc(100_000), even though both run the same function.
//
// Profile it:   node -r sfprof/auto examples/calc.js
// Longer run:   CALC_SCALE=3 node examples/calc.js   (multiplies both n's)
'use strict';

const SCALE = Number(process.env.CALC_SCALE) || 1;
const ROUNDS = 3200; // fixed work per item, so calc(n) is linear in n
let sink = 0;

function mix(i) {
  let h = i | 0;
  for (let k = 0; k < ROUNDS; k++) {
    h = (Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + k) | 0;
  }
  return String(h >>> 0).length + (h & 7);
}

function calc(n) {
  const limit = Math.round(n * SCALE);
  for (let i = 0; i < limit; i++) {
    sink += mix(i);
  }
}

function main() {
  calc(100_000);
  calc(200_000);
}

main();
console.log(sink);
