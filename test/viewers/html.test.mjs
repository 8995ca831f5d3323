// The HTML flame graph page in headless Chromium: search, zoom, layout, tooltips, escaping.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { templatePath, writeHtml } from '../../dist/formats/writers/html.js';
import { fillBigProfile } from '../fixtures/big-profile.mjs';
import { buildBasicProfile, embeddedData, emptyProfile, matchedPercent, SCRIPT_CLOSE, TITLE, XSS } from '../lib/html-profiles.mjs';
import { launchChromium, requireTool, screenshotHtml } from '../lib/browser.mjs';
import { root, runNode, tempDir } from '../lib/helpers.mjs';

describe('flame graph in headless Chromium', () => {
  let browser;
  let dir;
  before(async () => {
    browser = await launchChromium();
    dir = tempDir('sfprof-html-');
  });
  after(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Opens the page in a fresh context; `problems` collects errors, dialogs and requests elsewhere. */
  async function open(t, name, html, viewport = { width: 1200, height: 700 }, deviceScaleFactor = 1) {
    const file = path.join(dir, name);
    if (html !== undefined) fs.writeFileSync(file, html);
    const url = pathToFileURL(html === undefined ? name : file).href;
    const context = await browser.newContext({ viewport, deviceScaleFactor });
    t.after(() => context.close());
    const page = await context.newPage();
    const problems = [];
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('dialog', (dialog) => {
      problems.push(`dialog: ${dialog.message()}`);
      dialog.dismiss().catch(() => {});
    });
    page.on('request', (request) => {
      if (request.url() !== url) problems.push(`request: ${request.url()}`);
    });
    await page.goto(url);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 15_000 });
    return { page, problems };
  }

  const hooks = (page) => page.evaluate(() => ({
    drawn: window.__sfprof.drawnFrames(),
    highlighted: window.__sfprof.highlightedFrames(),
    matched: window.__sfprof.matchedPercent(),
    zoomed: window.__sfprof.zoomedNode(),
    layout: window.__sfprof.layout(),
  }));
  const rect = (page, name) => page.evaluate((n) => window.__sfprof.frameRect(n), name);
  const centre = (r) => [r.x + r.width / 2, r.y + r.height / 2];

  test('draws the profile; a hostile name is text in the canvas and the tooltip', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'basic.html', writeHtml(buildBasicProfile(), { title: TITLE }));
    const state = await hooks(page);
    assert.ok(state.drawn >= 15, `drawn ${state.drawn}`);
    assert.equal(state.zoomed.index, 0);
    assert.equal(await page.textContent('#title'), TITLE);
    assert.match(await page.textContent('#meta'), /46 samples.*every 1 ms.*over 2\.50 s.*3 lost \(ring full\), 1 on other threads/);
    const legend = await page.textContent('#legend');
    for (const label of ['JS interpreted', 'JS baseline', 'JS maglev', 'JS optimized', 'Node internals', 'builtin / regexp', 'native (C++)', 'wasm', 'GC', 'synthetic']) {
      assert.ok(legend.includes(label), label);
    }

    const box = await rect(page, XSS);
    assert.ok(box, 'the hostile frame is drawn');
    await page.mouse.move(...centre(box));
    await page.waitForSelector('#tooltip:not([hidden])');
    const tip = await page.textContent('#tooltip');
    assert.ok(tip.startsWith(`${XSS}\nevil${SCRIPT_CLOSE}.js:2\n8 samples (`), tip);
    assert.match(await page.textContent('#status'), /^<img src=x onerror=alert\(1\)>/);
    assert.equal(await page.evaluate(() => document.querySelectorAll('img, iframe, object, embed').length), 0);
    assert.equal(await page.evaluate(() => document.scripts.length), 2);
    await page.waitForTimeout(100); // an onerror would fire about now
    assert.deepEqual(problems, []);
  });

  test('search highlights frames and shows the share of samples matched', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const profile = buildBasicProfile();
    const { page, problems } = await open(t, 'search.html', writeHtml(profile));
    assert.equal((await hooks(page)).highlighted, 0);
    for (const needle of ['CALC', 'emit', 'node:events', XSS]) {
      await page.fill('#search', needle);
      const state = await hooks(page);
      const expected = matchedPercent(profile, needle);
      assert.ok(state.highlighted > 0, needle);
      assert.ok(Math.abs(state.matched - expected) <= 0.1, `${needle}: page ${state.matched}, node ${expected}`);
      const shown = Number(/^matched: ([\d.]+)%$/.exec(await page.textContent('#matched'))[1]);
      assert.ok(Math.abs(shown - expected) <= 0.1, `${needle}: shown ${shown}, node ${expected}`);
    }
    // calc under calc (recursion) is counted once: 22 of 46 samples.
    await page.fill('#search', 'calc');
    assert.ok(Math.abs((await hooks(page)).matched - (100 * 22) / 46) < 1e-9);
    await page.fill('#search', '/^(emit|helper)$/');
    assert.ok(Math.abs((await hooks(page)).matched - matchedPercent(profile, 'emit') - matchedPercent(profile, 'helper')) <= 0.1);
    await page.fill('#search', '/[/');
    assert.equal(await page.textContent('#matched'), 'invalid regexp');
    await page.fill('#search', '');
    const cleared = await hooks(page);
    assert.equal(cleared.highlighted, 0);
    assert.equal(await page.textContent('#matched'), '');
    assert.deepEqual(problems, []);
  });

  test('click zooms into a frame; Reset and Escape return', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'zoom.html', writeHtml(buildBasicProfile()));
    const whole = await hooks(page);
    const canvasWidth = await page.evaluate(() => document.getElementById('canvas').clientWidth);
    const calc = await rect(page, 'calc');
    assert.ok(calc.width < canvasWidth / 2);
    assert.ok(await rect(page, 'emit'));

    await page.mouse.click(...centre(calc));
    const zoomed = await hooks(page);
    assert.equal(zoomed.zoomed.name, 'calc');
    assert.equal(zoomed.zoomed.total, 19);
    assert.notEqual(zoomed.drawn, whole.drawn);
    assert.ok(Math.abs((await rect(page, 'calc')).width - canvasWidth) < 1, 'the zoomed frame fills the width');
    assert.ok(Math.abs((await rect(page, 'main')).width - canvasWidth) < 1, 'ancestors stay, full width');
    assert.equal(await rect(page, 'emit'), null, 'frames outside the zoomed subtree are gone');
    assert.ok((await rect(page, 'helper')).width > calc.width * 0.1);

    await page.click('#reset');
    assert.deepEqual(await hooks(page), whole);
    await page.mouse.click(...centre(await rect(page, 'emit')));
    assert.equal((await hooks(page)).zoomed.name, 'emit');
    await page.keyboard.press('Escape');
    assert.deepEqual(await hooks(page), whole);
    assert.deepEqual(problems, []);
  });

  test('the flame/icicle toggle puts the root at the bottom or the top', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'layout.html', writeHtml(buildBasicProfile()));
    const flame = { all: await rect(page, 'all'), main: await rect(page, 'main'), helper: await rect(page, 'helper') };
    assert.equal((await hooks(page)).layout, 'flame');
    assert.ok(flame.all.y > flame.main.y && flame.main.y > flame.helper.y, 'flame: root at the bottom');
    await page.click('#layout');
    assert.equal((await hooks(page)).layout, 'icicle');
    assert.match(await page.textContent('#layout'), /icicle/);
    const icicle = { all: await rect(page, 'all'), main: await rect(page, 'main'), helper: await rect(page, 'helper') };
    assert.ok(icicle.all.y < icicle.main.y && icicle.main.y < icicle.helper.y, 'icicle: root at the top');
    assert.equal(icicle.helper.x, flame.helper.x);
    // Hit testing follows the layout.
    await page.mouse.click(...centre(icicle.helper));
    assert.equal((await hooks(page)).zoomed.name, 'helper');
    assert.deepEqual(problems, []);
  });

  test('follows the window size and the device pixel ratio', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'resize.html', writeHtml(buildBasicProfile()), { width: 1000, height: 600 }, 2);
    const canvas = () => page.evaluate(() => {
      const c = document.getElementById('canvas');
      return { css: c.clientWidth, pixels: c.width, cssHeight: c.clientHeight, pixelHeight: c.height };
    });
    const before = await canvas();
    assert.equal(before.pixels, 2 * before.css);
    assert.equal(before.pixelHeight, 2 * before.cssHeight);
    assert.ok(Math.abs((await rect(page, 'all')).width - before.css) < 1);
    await page.setViewportSize({ width: 700, height: 500 });
    await page.waitForFunction((w) => document.getElementById('canvas').width !== w, before.pixels);
    const after = await canvas();
    assert.ok(after.css < before.css);
    assert.equal(after.pixels, 2 * after.css);
    assert.ok(Math.abs((await rect(page, 'all')).width - after.css) < 1);
    assert.deepEqual(problems, []);
  });

  test('the template alone shows the no-data state', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, templatePath());
    assert.equal((await hooks(page)).drawn, 0);
    assert.equal(await page.isVisible('#empty'), true);
    assert.equal(await page.isVisible('#canvas'), false);
    assert.deepEqual(problems, []);
  });

  test('50,000 unique stacks: first paint time', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const profile = fillBigProfile(emptyProfile(), { stacks: 50_000, seed: 7 });
    assert.equal(profile.stackList.length, 50_000);
    const started = performance.now();
    const html = writeHtml(profile, { title: '50k stacks' });
    const writeMs = performance.now() - started;
    const { page, problems } = await open(t, 'big.html', html);
    const firstPaintMs = await page.evaluate(() => window.__sfprofFirstPaintMs);
    const { drawn } = await hooks(page);
    const nodes = JSON.parse(embeddedData(html)).nodes.length / 4;
    t.diagnostic(`50k stacks: first paint ${firstPaintMs.toFixed(0)} ms in Chromium, ${drawn} frames drawn of ${nodes} nodes; ` +
      `page ${(html.length / 1e6).toFixed(1)} MB, written in ${writeMs.toFixed(0)} ms`);
    assert.ok(firstPaintMs < 3000, `first paint took ${firstPaintMs} ms`);
    assert.ok(drawn > 500 && drawn < nodes);
    await page.fill('#search', 'fn1');
    const state = await hooks(page);
    assert.ok(Math.abs(state.matched - matchedPercent(profile, 'fn1')) <= 0.1);
    assert.deepEqual(problems, []);
  });

  // The README's picture: the talk's calc demo, recorded through the CLI in line mode. Written to a
  // temporary file; SFPROF_UPDATE_SCREENSHOT=1 also replaces docs/flamegraph.png.
  test('the calc demo as a flame graph: screenshot', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const html = path.join(dir, 'calc.html');
    const run = runNode([path.join(root, 'bin', 'sfprof.js'), 'record', '-i', '1ms', '--lines', '-o', html, '--', process.execPath, 'examples/calc.js'], {
      env: { CALC_SCALE: '1' },
    });
    assert.equal(run.status, 0, run.stderr);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /examples\/calc\.js:29/);
    assert.match(page, /examples\/calc\.js:30/);
    const png = await screenshotHtml(html, path.join(dir, 'flamegraph.png'), { browser });
    const bytes = fs.readFileSync(png);
    assert.deepEqual([...bytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
    assert.ok(bytes.length > 10_000, `screenshot of ${bytes.length} bytes`);
    if (process.env.SFPROF_UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
      fs.copyFileSync(png, path.join(root, 'docs', 'flamegraph.png'));
      t.diagnostic('updated docs/flamegraph.png');
    }
  });
});
