// W1: a CPU-bound mix, ~3–5 s unprofiled at SCALE=1 (recursive fib, JSON round trips of a mid-size
// document, regular expressions over text, many small allocations for GC pressure).
'use strict';
const SCALE = Number(process.env.BENCH_SCALE) || 1;

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

function documentOf(size) {
  const items = [];
  for (let i = 0; i < size; i++) {
    items.push({ id: i, name: `item-${i}`, tags: ['a', 'b', String(i % 7)], price: i * 1.25, nested: { ok: i % 2 === 0, at: [i, i + 1] } });
  }
  return { version: 3, items };
}

function jsonRoundTrips(rounds) {
  const text = JSON.stringify(documentOf(2000));
  let total = 0;
  for (let i = 0; i < rounds; i++) total += JSON.stringify(JSON.parse(text)).length;
  return total;
}

function regexScan(rounds) {
  const text = 'lorem 2024-11-27 ipsum dolor sit amet 10.0.0.1 consectetur user@example.com '.repeat(400);
  const patterns = [/\d{4}-\d{2}-\d{2}/g, /\b\d+\.\d+\.\d+\.\d+\b/g, /[\w.]+@[\w.]+/g, /\b(\w+) \1\b/g];
  let found = 0;
  for (let i = 0; i < rounds; i++) for (const pattern of patterns) found += (text.match(pattern) || []).length;
  return found;
}

function allocations(rounds) {
  let kept = [];
  let total = 0;
  for (let i = 0; i < rounds; i++) {
    const object = { i, label: `x${i}`, values: [i, i * 2, i * 3] };
    total += object.values.length;
    if (i % 16 === 0) kept.push(object);
    if (kept.length > 5000) kept = [];
  }
  return total;
}

function main() {
  let sink = 0;
  for (let round = 0; round < Math.max(1, Math.round(16 * SCALE)); round++) {
    sink += fib(27);
    sink += jsonRoundTrips(12);
    sink += regexScan(60);
    sink += allocations(1_500_000);
  }
  return sink;
}

if (main() === -1) console.log('unreachable');
