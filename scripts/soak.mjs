// `npm run soak -- --minutes 10`: the soak of test/e2e/soak.test.mjs for longer. Prints RSS per minute,
// the activity counts and every check; exits 1 when a check fails, 2 on a usage error.
import fs from 'node:fs';

import { tempDir } from '../test/lib/helpers.mjs';
import { analyze, formatFacts, formatRssTable, parseDuration, rssTable, runSoak } from '../test/lib/soak-lib.mjs';

const USAGE = 'usage: npm run soak -- [--minutes N]   (default 10; from 0.1 to 1440, fractions allowed)';

function parseArgs(argv) {
  let minutes = 10;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    let value;
    if (arg === '--minutes') {
      if (i + 1 >= argv.length) throw new Error('--minutes needs a value: a number of minutes from 0.1 to 1440');
      value = argv[++i];
    } else if (arg.startsWith('--minutes=')) {
      value = arg.slice('--minutes='.length);
    } else {
      throw new Error(`unknown argument ${JSON.stringify(arg)}`);
    }
    minutes = parseDuration(value, '--minutes', 'minutes', 0.1, 1440);
  }
  return { minutes };
}

let minutes;
try {
  ({ minutes } = parseArgs(process.argv.slice(2)));
} catch (error) {
  console.error(`soak: ${error.message}\n${USAGE}`);
  process.exit(2);
}

const seconds = Math.round(minutes * 60 * 10) / 10;
const dir = tempDir('sfprof-soak-');
console.log(`soak: ${minutes} min of GC, workers, child processes, file I/O and timers under perf at 100 us…`);
const run = await runSoak({ seconds, dir });
const { facts, checks } = analyze(run);

console.log(formatFacts(facts));
const summary = (() => {
  try {
    return JSON.parse(run.stdout.trim().split('\n').pop());
  } catch {
    return undefined;
  }
})();
if (summary?.rss?.length) {
  console.log('\nRSS per minute:');
  console.log(formatRssTable(rssTable(summary.rss, summary.quietRss ?? [], 60), 'min'));
}
console.log('');
for (const { name, ok, detail } of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `: ${detail}`}`);
const failed = checks.filter((c) => !c.ok);
if (failed.length) {
  console.log(`\nsoak: ${failed.length} check(s) failed; the profile and summaries are in ${dir}`);
  process.exitCode = 1;
} else {
  fs.rmSync(dir, { recursive: true, force: true });
  console.log('\nsoak: all checks passed');
}
