import { test } from 'node:test';
import assert from 'node:assert/strict';

import { histogramQuantile, histogramQuantiles } from '../../dist/pipeline/stats.js';

test('median and p99 are bucket midpoints', () => {
  // 100 values: 50 in [0,1000), 30 in [1000,2000), 15, 4, and 1 in the open-ended last bucket.
  const buckets = [50, 30, 15, 4, 1];
  assert.equal(histogramQuantile(buckets, 1000, 0.5), 500); // the 50th value is the last of bucket 0
  assert.equal(histogramQuantile(buckets, 1000, 0.8), 1500);
  assert.equal(histogramQuantile(buckets, 1000, 0.81), 2500);
  assert.equal(histogramQuantile(buckets, 1000, 0.99), 3500); // 99th value: last of bucket 3
});

test('the median moves to the next bucket one value past the boundary', () => {
  assert.equal(histogramQuantile([49, 51, 0], 100, 0.5), 150);
  assert.equal(histogramQuantile([50, 50, 0], 100, 0.5), 50);
  assert.equal(histogramQuantile([0, 10, 0, 0], 100, 0.5), 150);
  assert.equal(histogramQuantile([0, 10, 0, 0], 100, 0.99), 150);
});

test('p99 over a thousand values', () => {
  const buckets = Float64Array.from([900, 89, 10, 1]);
  assert.equal(histogramQuantile(buckets, 250, 0.99), 625); // 990th value in bucket 2: 2.5 * 250
  assert.equal(histogramQuantile(buckets, 250, 0.5), 125);
});

test('an empty histogram gives 0', () => {
  assert.equal(histogramQuantile([], 1000, 0.5), 0);
  assert.equal(histogramQuantile([0, 0, 0], 1000, 0.5), 0);
  assert.equal(histogramQuantile(new Float64Array(8), 1000, 0.99), 0);
});

test('the overflow bucket reports its lower bound, not a midpoint', () => {
  assert.equal(histogramQuantile([1, 0, 0, 9], 10, 0.5), 30);
  assert.equal(histogramQuantile([1, 0, 0, 9], 10, 0.99), 30);
  assert.equal(histogramQuantile([50, 30, 15, 4, 1], 1000, 1), 4000);
  assert.equal(histogramQuantile([0, 0, 7], 10, 0.5), 20);
});

test('q = 0 gives the first non-empty bucket', () => {
  assert.equal(histogramQuantile([0, 0, 3, 1], 2, 0), 5);
});

test('several quantiles in one scan are each the one quantile', () => {
  const cases = [[50, 30, 15, 4, 1], [0, 10, 0, 0], [1, 0, 0, 9], [900, 89, 10, 1], [0, 0, 0], []];
  const qs = [0, 0.5, 0.8, 0.81, 0.99, 1];
  for (const buckets of cases) {
    assert.deepEqual(histogramQuantiles(buckets, 10, qs), qs.map((q) => histogramQuantileByScan(buckets, 10, q)), JSON.stringify(buckets));
  }
});

/** The definition, one quantile at a time. */
function histogramQuantileByScan(buckets, width, q) {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const target = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i];
    if (seen >= target) return i === buckets.length - 1 ? i * width : (i + 0.5) * width;
  }
  return (buckets.length - 1) * width;
}

test('a total given with the buckets gives the same quantiles as their sum', () => {
  const buckets = Float64Array.from([0, 7, 900, 89, 10, 0, 1]);
  for (const q of [0.01, 0.5, 0.9, 0.99, 1]) {
    assert.deepEqual(histogramQuantiles(buckets, 250, [q], 1007), histogramQuantiles(buckets, 250, [q]));
  }
  assert.deepEqual(histogramQuantiles(buckets, 250, [0.5, 0.99], 0), [0, 0], 'a total of 0 is an empty histogram');
});
