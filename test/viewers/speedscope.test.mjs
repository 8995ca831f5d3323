// A real viewer: speedscope's web app (the npm package ships it) in headless Chromium opens sfprof's
// .cpuprofile, pprof and folded output, and its Sandwich table shows the self time sfprof recorded.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { readProfile, renderProfile } from '../../dist/formats/render.js';
import { chromiumPath, launchChromium, requireTool } from '../lib/browser.mjs';
import { root, runNode, tempDir } from '../lib/helpers.mjs';

const appDir = path.join(root, 'node_modules', 'speedscope', 'dist', 'release');
const dir = tempDir();
let server;
let origin;
let browser;
let profile;

before(async () => {
  // One real recording (1 ms, the calc demo), kept with its timeline by reading the .cpuprofile back.
  const recorded = path.join(dir, 'calc.cpuprofile');
  const run = runNode([path.join(root, 'bin', 'sfprof.js'), 'record', '-i', '1ms', '-o', recorded, '--', process.execPath, path.join(root, 'examples', 'calc.js')], {
    env: { CALC_SCALE: '0.5' },
  });
  assert.equal(run.status, 0, run.stderr);
  profile = readProfile(fs.readFileSync(recorded), recorded);
  fs.writeFileSync(path.join(dir, 'calc.pb.gz'), renderProfile(profile, 'pprof'));
  fs.writeFileSync(path.join(dir, 'calc.folded'), renderProfile(profile, 'folded'));
  server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://localhost');
    const file = url.pathname.startsWith('/profiles/')
      ? path.join(dir, path.basename(url.pathname))
      : path.join(appDir, path.normalize(url.pathname === '/' ? 'index.html' : url.pathname));
    fs.readFile(file, (error, data) => {
      response.writeHead(error ? 404 : 200);
      response.end(error ? undefined : data);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  if (chromiumPath()) browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  server?.close();
});

/** speedscope's Sandwich view as rows of {total, self, name}. */
async function sandwichRows(page) {
  // The key only works once the app listens, and the table fills in after the view switches: press
  // until the first row (a value with a share) shows.
  const ready = () => page.evaluate(() => /Symbol Name\s*\n[^\n]*\([<>]?\d/.test(document.body.innerText));
  for (let attempt = 0; attempt < 40 && !(await ready()); attempt++) {
    await page.keyboard.press('3');
    await page.waitForTimeout(250);
  }
  const text = await page.evaluate(() => document.body.innerText);
  assert.ok(await ready(), `no Sandwich table in:\n${text.slice(0, 400)}`);
  const lines = text.split('\n').map((line) => line.trim());
  const start = lines.findIndex((line) => /^Total\s+Self\s+Symbol Name$/.test(line));
  const rows = [];
  for (let i = start + 1; i + 2 < lines.length; i += 3) rows.push({ total: lines[i], self: lines[i + 1], name: lines[i + 2] });
  return rows;
}

async function open(t, name) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
  const errors = [];
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${origin}/#profileURL=${encodeURIComponent(`${origin}/profiles/${name}`)}`);
  await page.waitForFunction((title) => document.title === title, `${name} - speedscope`, { timeout: 20_000 });
  const rows = await sandwichRows(page);
  await page.close();
  assert.deepEqual(errors, [], `${name}: console errors`);
  t.diagnostic(`${name}: ${rows.slice(0, 3).map((r) => `${r.name} self ${r.self}`).join('; ')}`);
  return rows;
}

// mix holds the demo's work (optimized, it runs inlined in calc): the row with a large self time.
function mixSelf() {
  let samples = 0;
  for (const stack of profile.stackList) {
    const leaf = profile.frames[stack.frames.at(-1)];
    if (leaf.name === 'mix') samples += stack.count;
  }
  return samples;
}

test('speedscope opens the folded output with the exact self count', async (t) => {
  if (!requireTool(t, 'chromium', browser !== undefined)) return;
  const rows = await open(t, 'calc.folded');
  const mix = rows.find((row) => row.name.startsWith('mix ('));
  assert.ok(mix, 'mix row');
  assert.equal(Number(/^(\d+) \(/.exec(mix.self)[1]), mixSelf());
});

test('speedscope opens the pprof output with self time = samples × interval', async (t) => {
  if (!requireTool(t, 'chromium', browser !== undefined)) return;
  const rows = await open(t, 'calc.pb.gz');
  const mix = rows.find((row) => row.name === 'mix');
  assert.ok(mix, 'mix row');
  const [, value, unit] = /^([\d.]+)(ms|s) \(/.exec(mix.self);
  const ms = Number(value) * (unit === 's' ? 1000 : 1);
  const expected = (mixSelf() * profile.metadata.intervalUs) / 1000;
  // speedscope rounds seconds to two decimals.
  assert.ok(Math.abs(ms - expected) <= (unit === 's' ? 5 : 0.01), `mix self ${mix.self}, expected ${expected} ms`);
});

test('speedscope opens the .cpuprofile, weighing samples by their time, with mix\'s share as recorded', async (t) => {
  if (!requireTool(t, 'chromium', browser !== undefined)) return;
  const rows = await open(t, 'calc.cpuprofile');
  const mix = rows.find((row) => row.name === 'mix');
  assert.ok(mix, 'mix row');
  const shown = Number(/\((\d+(?:\.\d+)?)%\)/.exec(mix.self)[1]);
  const recorded = (100 * mixSelf()) / profile.totalSamples;
  assert.ok(Math.abs(shown - recorded) < 5, `speedscope shows ${shown}%, the profile has ${recorded.toFixed(1)}%`);
});
