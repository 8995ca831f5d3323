// STEADY: a server that never exits, for the memory run (bench/memory.mjs). Every 100 ms it works
// for BUSY_MS (15 by default) through 60 generated handlers (JSON, strings, arithmetic) and then
// waits, so its CPU share is about BUSY_MS/100 of a core. Every 30 s it compiles a new batch of 5
// handlers and drops the old batch, as template engines and lazily loaded routes do, so code is
// created, optimized and collected all run long. Runs until RUN_MS has passed or a signal ends it.
'use strict';
const BUSY_MS = Number(process.env.BUSY_MS) || 15;
const end = process.env.RUN_MS ? Date.now() + Number(process.env.RUN_MS) : Infinity;

function makeHandler(name, variant) {
  // A distinct function name per handler, so the profile has many distinct stacks.
  return new Function(
    'input',
    `return function ${name}(input) {
      let acc = ${variant};
      for (let i = 0; i < 40; i++) acc = (acc * 31 + input.length + i) % 1000003;
      const text = JSON.stringify({ name: '${name}', acc, items: [acc, ${variant}, input.length] });
      return JSON.parse(text).acc + text.length;
    };`,
  )();
}

const handlers = Array.from({ length: 60 }, (_, i) => makeHandler(`handler_${i}`, i));
let batch = [];
let generation = 0;
function recompile() {
  generation++;
  batch = Array.from({ length: 5 }, (_, i) => makeHandler(`route_g${generation}_${i}`, generation * 10 + i));
}
recompile();

let sink = 0;
function tick() {
  const until = Date.now() + BUSY_MS;
  let n = 0;
  while (Date.now() < until) {
    const input = `request-${n}-${sink % 97}`;
    sink = (sink + handlers[n % handlers.length](input)) % 1e9;
    if (n % 7 === 0) sink = (sink + batch[n % batch.length](input)) % 1e9;
    n++;
  }
  if (Date.now() >= end) {
    clearInterval(timer);
    clearInterval(compiler);
  }
}
const timer = setInterval(tick, 100);
const compiler = setInterval(recompile, 30_000);
