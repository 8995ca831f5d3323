// The memory run's arithmetic (bench/memory.mjs): pure functions, unit-tested.
import { median } from './stats.mjs';

/**
 * Readings [[minutes, value], ...] → an array whose element m is the median of the readings taken in
 * minute (m-1, m] (element 0: the readings at time 0, if any); undefined where there were none.
 */
export function minuteMedians(points) {
  const buckets = [];
  for (const [minutes, value] of points) {
    const m = Math.ceil(minutes);
    (buckets[m] ??= []).push(value);
  }
  return Array.from({ length: buckets.length }, (_, m) => (buckets[m] ? median(buckets[m]) : undefined));
}

/**
 * The slope (value per index) of the least-squares line through series[from..to] (inclusive),
 * skipping undefined elements; undefined with fewer than two defined elements.
 */
export function linearSlope(series, from, to) {
  const xs = [];
  const ys = [];
  for (let i = Math.max(0, from); i <= Math.min(to, series.length - 1); i++) {
    if (series[i] === undefined) continue;
    xs.push(i);
    ys.push(series[i]);
  }
  if (xs.length < 2) return undefined;
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return num / den;
}
