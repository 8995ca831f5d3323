// Soak: 30 s (SFPROF_SOAK_SECONDS to change it) of GC with compaction, workers started and
// terminated, child processes, synchronous file I/O and timers, all at once, profiled by perf at
// 100 µs with every worker joined. No crash or hang, no error in the activity, every sample and drop
// accounted for in the profile, RSS flat. `npm run soak -- --minutes 10` runs the same for longer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import { tempDir } from '../lib/helpers.mjs';
import { analyze, formatFacts, formatRssTable, parseDuration, rssTable, runSoak } from '../lib/soak-lib.mjs';

const seconds = process.env.SFPROF_SOAK_SECONDS
  ? parseDuration(process.env.SFPROF_SOAK_SECONDS, 'SFPROF_SOAK_SECONDS', 'seconds', 10, 86_400)
  : 30;

test(`soak: ${seconds} s of GC, workers, child processes, file I/O and timers under perf at 100 us`, { timeout: seconds * 1000 + 240_000 }, async (t) => {
  const dir = tempDir('sfprof-soak-');
  const run = await runSoak({ seconds, dir });
  const { facts, checks } = analyze(run);
  for (const line of formatFacts(facts).split('\n')) t.diagnostic(line);
  try {
    const summary = JSON.parse(run.stdout.trim().split('\n').pop());
    for (const line of formatRssTable(rssTable(summary.rss, summary.quietRss, 10)).split('\n')) t.diagnostic(line);
  } catch {
    // the checks below say why there is no summary
  }
  const failed = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  // Every check at once: a soak run is too long to find failures one by one.
  assert.deepEqual(failed, [], `soak failed; the profile and summaries are in ${dir}`);
  fs.rmSync(dir, { recursive: true, force: true });
});
