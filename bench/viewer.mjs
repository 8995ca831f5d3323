// npm run bench:viewer: how fast the HTML viewer is on a big profile, in headless Chromium.
//
//   node bench/viewer.mjs [--stacks N] [--runs N] [--out DIR]
//
// A profile of N distinct stacks (default 200,000; test/fixtures/big-profile.mjs: a random call
// graph walked from main, depth 10 to 40) is written as a page, then opened --runs times (default 3)
// in a fresh browser context each. Measured per run: the first view (navigation start to the first
// paint), two searches (a broad one, "fn1", in nearly every stack, and one function, "fn1234"),
// and the first opening of each other view (reversed, functions, sandwich). Prints the medians and, with --out, writes
// DIR/<date>-<host>-viewer.md. Chromium: /usr/bin/chromium or SFPROF_CHROMIUM.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { writeHtml } from '../dist/formats/writers/html.js';
import { Profile } from '../dist/model/profile.js';
import { fillBigProfile } from '../test/fixtures/big-profile.mjs';
import { launchChromium } from '../test/lib/browser.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

function usage() {
  return fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n');
}

function positiveInteger(text, option, max) {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) throw new Error(`--${option} ${JSON.stringify(text)}: expected an integer from 1 to ${max}`);
  return value;
}

let options;
try {
  const { values } = parseArgs({
    options: {
      stacks: { type: 'string', default: '200000' },
      runs: { type: 'string', default: '3' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage());
    process.exit(0);
  }
  options = { stacks: positiveInteger(values.stacks, 'stacks', 2_000_000), runs: positiveInteger(values.runs, 'runs', 50), out: values.out };
} catch (error) {
  console.error(`bench:viewer: ${error.message}\n\n${usage()}`);
  process.exit(2);
}

const median = (values) => {
  const sorted = values.slice().sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const profile = new Profile({ startTime: Date.now(), durationNs: 60e9, intervalUs: 1000, engine: 'itimer', lines: false, pid: 1,
  drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } });
fillBigProfile(profile, { stacks: options.stacks, seed: 7 });
const writeStarted = performance.now();
const html = writeHtml(profile, { title: `${options.stacks} stacks` });
const writeMs = performance.now() - writeStarted;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-viewer-bench-'));
const file = path.join(dir, 'big.html');
fs.writeFileSync(file, html);
const bytes = Buffer.byteLength(html);
console.log(`${options.stacks} stacks, ${profile.totalSamples} samples: page ${(bytes / 1e6).toFixed(1)} MB, written in ${writeMs.toFixed(0)} ms`);

const browser = await launchChromium();
if (!browser) {
  console.error('bench:viewer: chromium not found (Debian package chromium, or set SFPROF_CHROMIUM)');
  process.exit(1);
}
// The views are opened as a person would, by key: 2 reversed, 3 functions; from the functions
// table, the first row (arrow down) opens the sandwich with Enter. The page's test hooks
// (window.__sfprof) say when a view is up and what a search took.
const SEARCHES = ['fn1', 'fn1234'];
const VIEWS = [['reversed', ['2']], ['functions', ['3']], ['sandwich', ['ArrowDown', 'Enter']]];
const runs = [];
try {
  for (let run = 0; run < options.runs; run++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60_000 });
    const firstViewMs = await page.evaluate(() => window.__sfprofFirstPaintMs);
    const searches = {};
    for (const needle of SEARCHES) {
      await page.fill('#search', needle);
      await page.waitForFunction(() => window.__sfprof.lastSearchMs() >= 0);
      searches[needle] = { ms: await page.evaluate(() => window.__sfprof.lastSearchMs()), matched: await page.evaluate(() => window.__sfprof.matchedPercent()) };
    }
    await page.fill('#search', '');
    await page.evaluate(() => document.activeElement?.blur()); // keys go to the page, not the search box
    const views = {};
    for (const [view, keys] of VIEWS) {
      const started = await page.evaluate(() => performance.now());
      for (const key of keys) await page.keyboard.press(key);
      await page.waitForFunction((v) => window.__sfprof.view() === v, view);
      await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve())));
      views[view] = (await page.evaluate(() => performance.now())) - started;
    }
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    runs.push({ firstViewMs, searches, views });
    console.log(`run ${run + 1}: first view ${firstViewMs.toFixed(0)} ms, ` +
      SEARCHES.map((n) => `search "${n}" ${searches[n].ms.toFixed(1)} ms (matched ${searches[n].matched.toFixed(1)}%)`).join(', ') + ', ' +
      VIEWS.map(([view]) => `${view} ${views[view].toFixed(0)} ms`).join(', '));
    await context.close();
  }
} finally {
  await browser.close();
  fs.rmSync(dir, { recursive: true, force: true });
}

const summary = {
  stacks: options.stacks,
  samples: profile.totalSamples,
  pageMB: bytes / 1e6,
  writeMs,
  firstViewMs: median(runs.map((r) => r.firstViewMs)),
  searchMs: Object.fromEntries(SEARCHES.map((n) => [n, median(runs.map((r) => r.searches[n].ms))])),
  matched: Object.fromEntries(SEARCHES.map((n) => [n, runs[0].searches[n].matched])),
  viewsMs: Object.fromEntries(VIEWS.map(([view]) => [view, median(runs.map((r) => r.views[view]))])),
};
const lines = [
  `# HTML viewer on ${summary.stacks.toLocaleString('en')} distinct stacks`,
  '',
  `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}; ` +
    `\`node bench/viewer.mjs --stacks ${summary.stacks} --runs ${options.runs}\`; medians of ${options.runs} runs, each in a fresh context of headless Chromium.`,
  '',
  '| measure | value | goal |',
  '|---|---|---|',
  `| page size | ${summary.pageMB.toFixed(1)} MB (${summary.samples.toLocaleString('en')} samples) | as small as needed |`,
  `| written by sfprof | ${summary.writeMs.toFixed(0)} ms | |`,
  `| first view (navigation to first paint) | ${summary.firstViewMs.toFixed(0)} ms | < 1000 ms |`,
  ...SEARCHES.map((n) => `| search "${n}" (matches ${summary.matched[n].toFixed(1)}% of samples) | ${summary.searchMs[n].toFixed(1)} ms | < 100 ms |`),
  ...VIEWS.map(([view]) => `| first opening of ${view} | ${summary.viewsMs[view].toFixed(0)} ms | |`),
  '',
];
console.log(`\nmedians: first view ${summary.firstViewMs.toFixed(0)} ms, ` + SEARCHES.map((n) => `search "${n}" ${summary.searchMs[n].toFixed(1)} ms`).join(', '));
if (options.out) {
  fs.mkdirSync(options.out, { recursive: true });
  const base = path.join(options.out, `${new Date().toISOString().slice(0, 10)}-${os.hostname()}-viewer`);
  fs.writeFileSync(`${base}.md`, lines.join('\n'));
  fs.writeFileSync(`${base}.json`, JSON.stringify({ summary, runs }, null, 2) + '\n');
  console.log(`wrote ${path.relative(root, base)}.md and .json`);
}
