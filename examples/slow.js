// slow.js: the "before" half of a classic profiling demo. It sums the decimal
// digit counts of i^21 for i = 1..n the expensive way: exact BigInt powers
// (raised twice: i^7, then ^3) and a digit count via String(x).length.
// Most samples land in powerUp (BigInt multiply) and digitsByString (BigInt
// to decimal string). Compare with fast.js, which prints the same total.
//
// Profile it:   node -r sfprof/auto examples/slow.js
// Optional n:   node examples/slow.js 500000   (default 2500000)
'use strict';

const DEFAULT_N = 2_500_000;

function powerUp(i) {
  const seventh = BigInt(i) ** 7n; // i^7
  return seventh ** 3n; // (i^7)^3 = i^21
}

function digitsByString(x) {
  return String(x).length;
}

function main() {
  const n = Number(process.argv[2]) || DEFAULT_N;
  let total = 0;
  for (let i = 1; i <= n; i++) {
    total += digitsByString(powerUp(i));
  }
  console.log(total);
}

main();
