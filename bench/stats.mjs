// Summary statistics and round ordering for the benchmark: pure functions, unit-tested.

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(values) {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** { median, min, max, n } of a list; undefined for an empty one. */
export function summarize(values) {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/** Round r runs every configuration once, starting at configuration r (A B C …, then B C … A). */
export function rotatedOrder(count, round) {
  return Array.from({ length: count }, (_, i) => (i + round) % count);
}

/** "1.034 (1.013–1.068)" */
export function formatSummary(summary, digits = 3) {
  if (!summary) return '–';
  const f = (value) => value.toFixed(digits);
  return summary.n > 1 ? `${f(summary.median)} (${f(summary.min)}–${f(summary.max)})` : f(summary.median);
}

/** Parses "10ms", "500us", "1s" or a bare number of microseconds. */
export function intervalUs(text) {
  const match = /^(\d+(?:\.\d+)?)(us|ms|s)?$/.exec(String(text).trim());
  if (!match) throw new RangeError(`not an interval: ${text}`);
  return Number(match[1]) * { us: 1, ms: 1000, s: 1_000_000 }[match[2] ?? 'us'];
}
