// The benchmark's own pieces: summary statistics, round rotation, the memory run's arithmetic and
// the SVG chart writer.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { linearSlope, minuteMedians } from '../../bench/memory-stats.mjs';
import { formatSummary, intervalUs, median, rotatedOrder, summarize } from '../../bench/stats.mjs';
import { lineChart } from '../../bench/svg.mjs';
import { root, tempDir } from '../lib/helpers.mjs';

test('median, summaries and their formatting', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.throws(() => median([]), /median of nothing/);
  assert.deepEqual(summarize([1.2, 0.9, 1.1, NaN]), { median: 1.1, min: 0.9, max: 1.2, n: 3 });
  assert.equal(summarize([]), undefined);
  assert.equal(formatSummary({ median: 1.0344, min: 1.0129, max: 1.0681, n: 5 }), '1.034 (1.013–1.068)');
  assert.equal(formatSummary({ median: 2, min: 2, max: 2, n: 1 }, 1), '2.0');
  assert.equal(formatSummary(undefined), '–');
});

test('every round runs every configuration once, each round starting one further on', () => {
  assert.deepEqual(rotatedOrder(4, 0), [0, 1, 2, 3]);
  assert.deepEqual(rotatedOrder(4, 1), [1, 2, 3, 0]);
  assert.deepEqual(rotatedOrder(4, 5), [1, 2, 3, 0]);
  for (let round = 0; round < 6; round++) assert.deepEqual([...rotatedOrder(6, round)].sort(), [0, 1, 2, 3, 4, 5]);
  // Over as many rounds as configurations, each configuration runs once in every position.
  const positions = Array.from({ length: 5 }, () => new Set());
  for (let round = 0; round < 5; round++) rotatedOrder(5, round).forEach((config, position) => positions[config].add(position));
  for (const seen of positions) assert.equal(seen.size, 5);
});

test('intervals parse like the CLI writes them', () => {
  assert.deepEqual(['10ms', '4ms', '500us', '100us', '1s', '250'].map(intervalUs), [10000, 4000, 500, 100, 1_000_000, 250]);
  assert.throws(() => intervalUs('fast'), /not an interval: fast/);
});

test('the memory run reduces readings to per-minute medians and fits a slope through them', () => {
  // Minute m takes the readings in (m-1, m]; a minute without readings stays empty.
  const points = [[0, 5], [0.2, 10], [0.9, 30], [1, 20], [1.5, 40], [3.1, 7]];
  assert.deepEqual(minuteMedians(points), [5, 20, 40, undefined, 7]);
  assert.deepEqual(minuteMedians([]), []);
  // An exact line gives its slope; a flat series 0; gaps are skipped; too few points, no slope.
  assert.equal(linearSlope([10, 12, 14, 16, 18], 0, 4), 2);
  assert.equal(linearSlope([7, 7, 7], 0, 2), 0);
  assert.equal(linearSlope([1, undefined, 5, 7], 0, 3), 2);
  assert.equal(linearSlope([1, 100, 3, 5, 7, 9], 2, 5), 2, 'only from..to counts');
  assert.equal(linearSlope([1, 100, 3], 2, 9), undefined, 'one point is no line');
  // Noise around a rising line still gives about its slope.
  const noisy = Array.from({ length: 60 }, (_, i) => 50 + 0.5 * i + (i % 2 ? 1 : -1));
  assert.ok(Math.abs(linearSlope(noisy, 0, 59) - 0.5) < 0.01);
});

test('the chart writer matches its golden SVG and escapes names', () => {
  const svg = lineChart(
    [
      { name: 'sfprof-perf', points: [{ intervalUs: 10000, value: 1.02 }, { intervalUs: 1000, value: 1.11 }, { intervalUs: 100, value: 1.95 }] },
      { name: 'cpu-prof', points: [{ intervalUs: 1000, value: 1.04 }, { intervalUs: 10000, value: 1.01 }, { intervalUs: 100, value: NaN }] },
      { name: 'a <b> & "c"', points: [{ intervalUs: 100, value: 0.9 }] },
    ],
    { title: 'W1: overhead <against> the interval', yLabel: 'profiled / unprofiled', reference: 1, yMin: 0.8 },
  );
  const golden = path.join(root, 'test', 'golden', 'chart.svg');
  if (process.env.SFPROF_UPDATE_GOLDEN === '1') fs.writeFileSync(golden, svg);
  assert.equal(svg, fs.readFileSync(golden, 'utf8'));
  assert.doesNotMatch(svg, /<b>|<against>/);
  assert.match(svg, /a &#60;b&#62; &#38; &#34;c&#34;/);
  // Longest interval on the left; the NaN point is left out.
  assert.equal((svg.match(/<circle /g) ?? []).length, 6);
});

test('the memory run refuses bad options by name and, run briefly, measures all five apps and ends each one', () => {
  const script = path.join(root, 'bench', 'memory.mjs');
  const bad = spawnSync(process.execPath, [script, '--minutes', '0'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--minutes is "0"; expected a number of minutes from 0\.1 to 1440/);
  const out = tempDir('sfprof-memory-test-');
  const run = spawnSync(process.execPath, [script, '--minutes', '0.1', '--every', '1', '--out', out], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  const [json] = fs.readdirSync(out).filter((f) => f.endsWith('-memory.json'));
  const results = JSON.parse(fs.readFileSync(path.join(out, json), 'utf8'));
  assert.equal(results.finished, true);
  assert.deepEqual(results.configs.map((c) => c.name), ['none', 'exit', 'period-60s', 'push-10s', 'period-1s']);
  for (const config of results.configs) {
    assert.ok(config.points.length >= 3, `${config.name}: RSS read ${config.points.length} times`);
    assert.ok(config.points.every(([, kb]) => kb > 10_000), `${config.name}: RSS in kB`);
    assert.equal(config.exit.signal, 'SIGTERM', `${config.name} died of the SIGTERM that ended it`);
  }
  // The 1 s period cut at least 4 files in 6 s (one more at exit); the others wrote the exit period.
  const files = Object.fromEntries(results.configs.map((c) => [c.name, c.periodFiles]));
  assert.ok(files['period-1s'] >= 4, `period-1s wrote ${files['period-1s']} files`);
  assert.equal(files['period-60s'], 1);
  assert.equal(files['push-10s'], 1);
  assert.match(fs.readFileSync(path.join(out, json.replace(/json$/, 'md')), 'utf8'), /\| minute \| none \| exit \| period-60s \| push-10s \| period-1s \|/);
});
