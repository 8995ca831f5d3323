// The HTML viewer in headless Chromium: the flame graph (search, zoom, layout, tooltips, escaping), the
// reversed tree, the functions table, the sandwich, threads, the time track, the URL hash, keys and diffs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { templatePath, writeDiffHtml, writeHtml } from '../../dist/formats/writers/html.js';
import { fillBigProfile } from '../fixtures/big-profile.mjs';
import {
  buildBasicProfile, buildDemoDiffProfiles, buildDiffProfiles, buildThreadsProfile, buildTimedProfile, decodeNodes, embeddedData, emptyProfile, matchedPercent,
  SCRIPT_CLOSE, TITLE, XSS,
} from '../lib/html-profiles.mjs';
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
  const sfprof = (page, method, ...args) => page.evaluate(([m, a]) => window.__sfprof[m](...a), [method, args]);
  const rowsOf = async (page) => (await sfprof(page, 'tableRows')).map((r) => [r.name, r.self, r.total]);
  /** The shown tree as [name, depth, total] rows, pre-order (the root's depth is 0). */
  const treeOf = async (page, part) => (await sfprof(page, 'tree', part)).map((n) => [n.name, n.depth, n.total]);
  /** Drags across the time track from one fraction of its width to another. */
  async function dragTrack(page, from, to) {
    const box = await page.locator('#track').boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * from, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * to, y, { steps: 4 });
    await page.mouse.up();
  }

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

  test('functions table: charged self, total once per function, sorting, a row opens the sandwich', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'table.html', writeHtml(buildBasicProfile()));
    await page.keyboard.press('3');
    assert.equal(await sfprof(page, 'view'), 'functions');
    const rows = new Map((await rowsOf(page)).map(([name, self, total]) => [name, { self, total }]));
    // calc: 14 own + 4 of Builtin:ToString + 2 of Runtime_StringAdd charged to it, + 2 under helper;
    // the maglev and optimized frames are one function, and calc under calc counts once in total.
    assert.deepEqual(rows.get('calc'), { self: 22, total: 22 });
    assert.deepEqual(rows.get('Builtin:ToString'), { self: 0, total: 4 });
    assert.deepEqual(rows.get('v8::internal::Runtime_StringAdd'), { self: 0, total: 2 });
    assert.deepEqual(rows.get('RegExp: \\d+<b>'), { self: 0, total: 3 }, 'a regexp is charged to its JS caller');
    assert.deepEqual(rows.get('(anonymous)'), { self: 3, total: 3 });
    assert.deepEqual(rows.get('main'), { self: 3, total: 38 }, 'a native frame under main is charged to main');
    assert.deepEqual(rows.get('(garbage collector)'), { self: 4, total: 4 }, 'GC keeps its own samples');
    assert.deepEqual(rows.get(XSS), { self: 6, total: 8 });
    assert.equal([...rows.values()].reduce((sum, r) => sum + r.self, 0), 46, 'self adds up to the samples');
    assert.equal((await rowsOf(page))[0][0], 'calc', 'sorted by self, most first');
    const cells = await page.locator('#table-body tr').first().locator('td').allTextContents();
    assert.deepEqual(cells.slice(1), ['22', '47.8%', '22', '47.8%']);
    const xssCell = await page.evaluate(() => [...document.querySelectorAll('#table-body td')].map((td) => td.textContent).filter((text) => text.startsWith('<img')));
    assert.deepEqual(xssCell, [`${XSS}evil${SCRIPT_CLOSE}.js:2`], 'names are text');

    await page.click('th button[data-key="total"]');
    assert.deepEqual((await rowsOf(page))[0], ['main', 3, 38]);
    await page.click('th button[data-key="total"]');
    assert.equal((await rowsOf(page))[0][2], 1, 'a second click sorts the other way');
    await page.click('th button[data-key="name"]');
    const byName = (await rowsOf(page)).map(([name]) => name);
    assert.deepEqual(byName, [...byName].sort());

    await page.fill('#search', 'calc');
    assert.deepEqual((await rowsOf(page)).map(([name]) => name), ['calc'], 'search filters the rows');
    await page.fill('#search', '');
    await page.locator('#table-body tr', { hasText: 'helper' }).click();
    assert.equal(await sfprof(page, 'view'), 'sandwich');
    assert.deepEqual(await sfprof(page, 'selectedFunction'), { name: 'helper', where: 'lib/help.js:7' });
    assert.deepEqual(problems, []);
  });

  test('functions table: in line mode the lines of one function are one row', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const p = emptyProfile();
    p.metadata.lines = true;
    const main = p.internFrame({ name: 'main', file: 'app.js', line: 2, kind: 'js', tier: 'optimized' });
    const lineA = p.internFrame({ name: 'work', file: 'lib/work.js', line: 10, startLine: 8, kind: 'js', tier: 'optimized' });
    const lineB = p.internFrame({ name: 'work', file: 'lib/work.js', line: 12, startLine: 8, kind: 'js', tier: 'optimized' });
    const other = p.internFrame({ name: 'work', file: 'lib/other.js', line: 3, startLine: 1, kind: 'js', tier: 'optimized' });
    p.addStack([main, lineA], 5);
    p.addStack([main, lineB], 7);
    p.addStack([main, lineB, other], 4);
    const { page, problems } = await open(t, 'lines.html', writeHtml(p));
    await page.keyboard.press('3');
    const rows = (await sfprof(page, 'tableRows')).map((r) => [r.name, r.where, r.self, r.total]);
    assert.deepEqual(rows, [['work', 'lib/work.js', 12, 16], ['work', 'lib/other.js', 4, 4], ['main', 'app.js', 0, 16]]);
    assert.deepEqual(problems, []);
  });

  test('reversed tree: leaf functions at the root, their callers above', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'reversed.html', writeHtml(buildBasicProfile()));
    await page.click('#views button[data-view="reversed"]');
    assert.equal(await sfprof(page, 'view'), 'reversed');
    const tree = await treeOf(page);
    assert.deepEqual(tree[0], ['all', 0, 46]);
    const roots = tree.filter(([, depth]) => depth === 1).map(([name, , total]) => [name, total]);
    assert.deepEqual(roots.slice(0, 4), [['calc', 16], [XSS, 6], ['(garbage collector)', 4], ['Builtin:ToString', 4]]);
    assert.equal(roots.reduce((sum, [, total]) => sum + total, 0), 46);
    // calc's callers: main directly (14), and helper, called by calc, called by main (2).
    const at = tree.findIndex(([name, depth]) => name === 'calc' && depth === 1);
    assert.deepEqual(tree.slice(at + 1, at + 5), [['main', 2, 14], ['helper', 2, 2], ['calc', 3, 2], ['main', 4, 2]]);
    assert.ok(await rect(page, 'Builtin:ToString'), 'drawn on the reversed canvas');

    // Zoom into a root: its callers fill the width; Escape returns.
    await page.mouse.click(...centre(await rect(page, 'calc')));
    assert.equal((await hooks(page)).zoomed.name, 'calc');
    assert.equal((await hooks(page)).zoomed.total, 16);
    assert.equal(await rect(page, '(garbage collector)'), null);
    await page.keyboard.press('Escape');
    assert.equal((await hooks(page)).zoomed.index, 0);
    await page.fill('#search', 'helper');
    assert.ok((await hooks(page)).highlighted >= 1, 'search highlights in the reversed tree');
    assert.deepEqual(problems, []);
  });

  test('sandwich: callers grow toward the root, callees are the merged subtrees', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'sandwich.html', writeHtml(buildBasicProfile()));
    await page.keyboard.press('3');
    await page.locator('#table-body tr', { hasText: 'calc' }).first().click();
    assert.equal(await sfprof(page, 'view'), 'sandwich');
    assert.match(await page.textContent('#sandwich-title'), /^calc\s*examples\/calc\.js:21\s*total 22 \(47\.8%\), self 22/);
    assert.deepEqual(await treeOf(page, 'callers'), [['calc', 0, 22], ['main', 1, 22]]);
    assert.deepEqual(await treeOf(page, 'callees'), [
      ['calc', 0, 22], ['Builtin:ToString', 1, 4], ['helper', 1, 2], ['calc', 2, 2], ['v8::internal::Runtime_StringAdd', 1, 2],
    ]);
    // The callers canvas has the function at the bottom, the callees canvas at the top.
    const callers = { calc: await rect(page, 'calc', 'callers'), main: await rect(page, 'main', 'callers') };
    assert.ok(callers.main.y < callers.calc.y);
    const callees = { calc: await rect(page, 'calc', 'callees'), helper: await rect(page, 'helper', 'callees') };
    assert.ok(callees.helper.y > callees.calc.y);

    // Shift+click on a frame opens its own sandwich: helper, called by calc, calling calc.
    await page.keyboard.down('Shift');
    await page.mouse.click(...centre(callees.helper));
    await page.keyboard.up('Shift');
    assert.deepEqual(await sfprof(page, 'selectedFunction'), { name: 'helper', where: 'lib/help.js:7' });
    assert.deepEqual(await treeOf(page, 'callers'), [['helper', 0, 2], ['calc', 1, 2], ['main', 2, 2]]);
    assert.deepEqual(await treeOf(page, 'callees'), [['helper', 0, 2], ['calc', 1, 2]]);
    assert.deepEqual(problems, []);
  });

  test('threads: the picker shows one thread in every view', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'threads.html', writeHtml(buildThreadsProfile()));
    assert.equal(await page.isVisible('#thread'), true);
    assert.deepEqual((await sfprof(page, 'threads')).map((o) => o.label), ['All threads', 'main', 'worker 1 w.js', 'other threads']);
    assert.ok(await rect(page, 'crunch'));
    await page.selectOption('#thread', 'worker:[worker 1 w.js]');
    assert.equal(await sfprof(page, 'thread'), 'worker:[worker 1 w.js]');
    assert.equal(await rect(page, 'serve'), null, 'the main thread is gone');
    assert.equal(await rect(page, 'deflate_slow'), null);
    assert.ok(Math.abs((await rect(page, '[worker 1 w.js]')).width - (await rect(page, 'all')).width) < 1, 'the worker fills the width');
    await page.fill('#search', 'crunch');
    assert.ok(Math.abs((await hooks(page)).matched - (100 * 50) / 55) < 1e-9, 'matched: a share of the thread');
    await page.fill('#search', '');
    await page.keyboard.press('Escape'); // leaves the search box
    await page.keyboard.press('3');
    assert.deepEqual(await rowsOf(page), [['crunch', 50, 50], ['[worker 1 w.js]', 5, 55]]);
    await page.selectOption('#thread', 'main');
    assert.deepEqual(await rowsOf(page), [['serve', 30, 30], ['main', 10, 40]]);
    await page.selectOption('#thread', 'other');
    assert.deepEqual((await rowsOf(page)).map(([name, self]) => [name, self]), [['deflate_slow', 5], ['[libuv-worker 4242]', 0], ['[other threads]', 0]]);
    await page.keyboard.press('2');
    assert.deepEqual((await treeOf(page)).slice(0, 2), [['all', 0, 5], ['deflate_slow', 1, 5]]);
    await page.selectOption('#thread', 'all');
    assert.equal((await treeOf(page))[0][2], 100);
    // A single-threaded profile has no picker.
    const single = await open(t, 'one-thread.html', writeHtml(buildTimedProfile({ perHalf: 10 })));
    assert.equal(await single.page.isVisible('#thread'), false);
    assert.deepEqual(problems, []);
    assert.deepEqual(single.problems, []);
  });

  test('flame layout: the root stays in view when another thread, a range or the window changes the height', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    // The main thread is 2 frames deep and timed first; the worker is 40 deep and timed after it.
    const p = emptyProfile();
    const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'optimized' });
    const worker = p.internFrame({ name: '[worker 1 w.js]', kind: 'thread' });
    const deep = [worker];
    for (let d = 0; d < 40; d++) deep.push(p.internFrame({ name: `level${d}`, file: 'w.js', line: d + 1, kind: 'js', tier: 'optimized' }));
    for (let k = 0; k < 20; k++) p.addStack([main], 1, (k + 0.5) * 1e6);
    for (let k = 0; k < 20; k++) p.addStack(deep, 1, (20 + k + 0.5) * 1e6);
    p.metadata.durationNs = 40e6;
    const { page, problems } = await open(t, 'root-in-view.html', writeHtml(p), { width: 1000, height: 500 });
    /** The root frame's rectangle lies inside the scrolled chart. */
    const rootShown = () => page.evaluate(() => {
      const root = window.__sfprof.frameRect('all');
      const box = document.getElementById('chart').getBoundingClientRect();
      return root !== null && root.y >= box.top && root.y + root.height <= box.bottom;
    });
    assert.equal(await rootShown(), true, 'at first');
    await page.selectOption('#thread', 'main');
    assert.equal(await rootShown(), true, 'main thread');
    await page.selectOption('#thread', 'all');
    assert.equal(await rootShown(), true, 'back to all threads: the tree grew above the root');
    await page.selectOption('#thread', 'main');
    await page.selectOption('#thread', 'all');
    await dragTrack(page, 0.05, 0.3); // the main thread's time: a shallow tree
    await page.keyboard.press('Escape');
    assert.equal(await rootShown(), true, 'range cleared');
    await page.setViewportSize({ width: 900, height: 380 });
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    assert.equal(await rootShown(), true, 'smaller window');
    await page.keyboard.press('2');
    await page.selectOption('#thread', 'main');
    await page.selectOption('#thread', 'all');
    assert.equal(await rootShown(), true, 'reversed tree');
    assert.deepEqual(problems, []);
  });

  test('sandwich: the name of the function stays in view above a tall callers tree', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const p = emptyProfile();
    const stack = [];
    for (let d = 0; d < 60; d++) stack.push(p.internFrame({ name: `caller${d}`, file: 'app.js', line: d + 1, kind: 'js', tier: 'optimized' }));
    stack.push(p.internFrame({ name: 'hot', file: 'app.js', line: 99, kind: 'js', tier: 'optimized' }));
    p.addStack(stack, 10);
    const { page, problems } = await open(t, 'sandwich-title.html', writeHtml(p), { width: 1000, height: 500 });
    await page.keyboard.press('4');
    assert.ok(await page.evaluate(() => document.getElementById('chart').scrollTop) > 0, 'scrolled down to the function');
    const shown = await page.evaluate(() => {
      const title = document.getElementById('sandwich-title').getBoundingClientRect();
      const chart = document.getElementById('chart').getBoundingClientRect();
      return title.top >= chart.top && title.bottom <= chart.bottom;
    });
    assert.equal(shown, true, 'the title is inside the scrolled chart');
    assert.match(await page.textContent('#sandwich-title'), /^Most self time: hot/);
    assert.deepEqual(problems, []);
  });

  test('keys 1-4 and / still work after picking a thread', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'thread-keys.html', writeHtml(buildThreadsProfile()));
    await page.selectOption('#thread', 'main');
    await page.focus('#thread');
    await page.keyboard.press('3');
    assert.equal(await sfprof(page, 'view'), 'functions');
    assert.equal(await sfprof(page, 'thread'), 'main', 'the key did not pick a thread');
    assert.deepEqual(await rowsOf(page), [['serve', 30, 30], ['main', 10, 40]]);
    await page.focus('#thread');
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
    assert.deepEqual(problems, []);
  });

  test('functions table: the function column stays readable in a narrow window', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const nameWidth = (page) => page.evaluate(() => document.querySelector('#table-body td').getBoundingClientRect().width);
    const { page, problems } = await open(t, 'narrow.html', writeHtml(buildThreadsProfile()), { width: 420, height: 600 });
    await page.keyboard.press('3');
    assert.ok(await nameWidth(page) >= 150, `function column ${await nameWidth(page)} px wide`);
    const { base, next } = buildDiffProfiles();
    const diff = await open(t, 'narrow-diff.html', writeDiffHtml(base, next), { width: 800, height: 600 });
    await diff.page.keyboard.press('3');
    assert.ok(await nameWidth(diff.page) >= 150, `diff: function column ${await nameWidth(diff.page)} px wide`);
    assert.deepEqual(problems, []);
    assert.deepEqual(diff.problems, []);
  });

  test('time track: dragging over the first half shows only what ran then', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'timed.html', writeHtml(buildTimedProfile()));
    assert.equal(await page.isVisible('#track'), true);
    assert.match(await page.textContent('#track-info'), /drag to select.*2,000 of 2,050 samples have times/);
    assert.ok(await rect(page, 'f'));
    assert.ok(await rect(page, 'g'));
    await dragTrack(page, 0.002, 0.49);
    const range = await sfprof(page, 'range');
    assert.ok(range && range.startUs < 10_000 && Math.abs(range.endUs - 980_000) < 10_000, JSON.stringify(range));
    assert.ok(Math.abs(range.samples - 976) <= 12, `${range.samples} samples in range`);
    assert.ok(await rect(page, 'f'), 'f ran in the first half');
    assert.equal(await rect(page, 'g'), null, 'g did not');
    assert.equal(await rect(page, 'h'), null, 'untimed samples are left out of a range');
    assert.match(await page.textContent('#track-info'), /^selected .* \(9\d\d\.\d ms\): 9\d\d samples; every view counts only the timed samples in this range/);
    await page.keyboard.press('3');
    assert.deepEqual((await rowsOf(page)).map(([name, self]) => [name, self]), [['f', range.samples], ['main', 0]]);
    await page.keyboard.press('4');
    assert.deepEqual(await sfprof(page, 'selectedFunction'), null);
    assert.match(await page.textContent('#sandwich-title'), /^Most self time: f/);
    // Double-click clears the range; so do the button and Escape.
    await page.dblclick('#track');
    assert.equal(await sfprof(page, 'range'), null);
    await page.keyboard.press('1');
    assert.ok(await rect(page, 'g'));
    await dragTrack(page, 0.6, 0.9);
    assert.equal(await rect(page, 'f'), null);
    await page.click('#clear-range');
    assert.equal(await sfprof(page, 'range'), null);
    await dragTrack(page, 0.6, 0.9);
    await page.keyboard.press('Escape');
    assert.equal(await sfprof(page, 'range'), null);
    assert.ok(await rect(page, 'f'));
    assert.deepEqual(problems, []);
  });

  test('Escape in the search box only leaves it: the zoom and the range stay', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'escape-search.html', writeHtml(buildTimedProfile()));
    await dragTrack(page, 0.002, 0.49);
    const range = await sfprof(page, 'range');
    assert.ok(range);
    await page.mouse.click(...centre(await rect(page, 'f')));
    assert.equal((await hooks(page)).zoomed.name, 'f');
    await page.keyboard.press('/');
    await page.keyboard.type('main');
    await page.keyboard.press('Escape');
    assert.notEqual(await page.evaluate(() => document.activeElement.id), 'search', 'left the box');
    assert.equal(await page.inputValue('#search'), 'main');
    assert.equal((await hooks(page)).zoomed.name, 'f', 'still zoomed');
    assert.deepEqual(await sfprof(page, 'range'), range, 'still in the range');
    // Outside the box Escape steps back as before: the zoom, then the range.
    await page.keyboard.press('Escape');
    assert.equal((await hooks(page)).zoomed.index, 0);
    await page.keyboard.press('Escape');
    assert.equal(await sfprof(page, 'range'), null);
    assert.deepEqual(problems, []);
  });

  test('the header gives a start date only when the profile has one', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    // node --cpu-prof's startTime is a monotonic clock's reading (here 10 hours after boot), not a date.
    const monotonic = buildTimedProfile({ perHalf: 10 });
    monotonic.metadata.startTime = 36_354_000;
    const { page, problems } = await open(t, 'monotonic-start.html', writeHtml(monotonic));
    assert.doesNotMatch(await page.textContent('#meta'), /started|1970/);
    const dated = buildTimedProfile({ perHalf: 10 });
    dated.metadata.startTime = Date.UTC(2026, 0, 2, 12);
    const other = await open(t, 'dated-start.html', writeHtml(dated));
    assert.match(await other.page.textContent('#meta'), /started .*2026/);
    assert.deepEqual(problems, []);
    assert.deepEqual(other.problems, []);
  });

  test('diff: the sandwich names the profile its figures are from and gives the other', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { base, next } = buildDiffProfiles();
    const { page, problems } = await open(t, 'diff-sandwich.html', writeDiffHtml(base, next));
    await page.keyboard.press('3');
    await page.locator('#table-body tr', { hasText: 'grower' }).click();
    assert.equal(await sfprof(page, 'view'), 'sandwich');
    assert.match(await page.textContent('#sandwich-title'), /NEW: total 40 \(40\.0%\), self 40 \(40\.0%\); BEFORE: total 10 \(10\.0%\), self 10 \(10\.0%\)/);
    await page.click('#width');
    assert.match(await page.textContent('#sandwich-title'), /BEFORE: total 10 \(10\.0%\), self 10 \(10\.0%\); NEW: total 40 \(40\.0%\)/);
    assert.deepEqual(problems, []);
  });

  test('time track: a profile without sample times says so', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'untimed.html', writeHtml(buildBasicProfile()));
    assert.equal(await page.isVisible('#track'), false);
    assert.match(await page.textContent('#track-info'), /this profile has no sample times/i);
    assert.deepEqual(problems, []);
  });

  test('the URL hash keeps the view across a reload', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'hash.html', writeHtml(buildThreadsProfile()));
    await page.selectOption('#thread', 'main');
    await page.keyboard.press('3');
    await page.click('th button[data-key="total"]');
    await page.fill('#search', 'serve');
    await page.locator('#table-body tr', { hasText: 'serve' }).click();
    const hash = await page.evaluate(() => location.hash);
    assert.match(hash, /view=sandwich/);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === '1');
    assert.equal(await sfprof(page, 'view'), 'sandwich');
    assert.equal(await sfprof(page, 'thread'), 'main');
    assert.deepEqual(await sfprof(page, 'selectedFunction'), { name: 'serve', where: 'app.js:9' });
    assert.equal(await page.inputValue('#search'), 'serve');
    assert.deepEqual(await treeOf(page, 'callers'), [['serve', 0, 30], ['main', 1, 30]]);
    await page.keyboard.press('Escape'); // leaves the search box
    await page.keyboard.press('3');
    assert.deepEqual((await rowsOf(page))[0], ['serve', 30, 30]);
    assert.equal(await page.getAttribute('th:has(button[data-key="total"])', 'aria-sort'), 'descending');

    // The same URL in another browser context (a shared link) opens the same view.
    const shared = await browser.newContext({ viewport: { width: 1200, height: 700 } });
    t.after(() => shared.close());
    const other = await shared.newPage();
    await other.goto(page.url().replace(/#.*/, hash));
    await other.waitForFunction(() => document.body.dataset.ready === '1');
    assert.equal(await sfprof(other, 'view'), 'sandwich');
    assert.deepEqual(await sfprof(other, 'selectedFunction'), { name: 'serve', where: 'app.js:9' });

    // A zoomed flame graph and a time range come back too.
    const timed = await open(t, 'hash-timed.html', writeHtml(buildTimedProfile()));
    await dragTrack(timed.page, 0.55, 0.95);
    await timed.page.mouse.click(...centre(await rect(timed.page, 'g')));
    const before = { zoomed: (await hooks(timed.page)).zoomed, range: await sfprof(timed.page, 'range') };
    await timed.page.reload();
    await timed.page.waitForFunction(() => document.body.dataset.ready === '1');
    assert.deepEqual({ zoomed: (await hooks(timed.page)).zoomed, range: await sfprof(timed.page, 'range') }, before);
    assert.equal(before.zoomed.name, 'g');
    assert.deepEqual(problems, []);
    assert.deepEqual(timed.problems, []);
  });

  test('labels: the picker shows one route in every view, with a time range too, and the hash keeps it', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    // Two routes 1:3 over four seconds, a shared function under both, and untimed unlabelled samples.
    const p = emptyProfile();
    p.metadata.durationNs = 4e9;
    const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
    const serveA = p.internFrame({ name: 'serveA', file: 'app.js', line: 5, kind: 'js' });
    const serveB = p.internFrame({ name: 'serveB', file: 'app.js', line: 9, kind: 'js' });
    const shared = p.internFrame({ name: 'shared', file: 'lib.js', line: 2, kind: 'js' });
    const tick = p.internFrame({ name: 'tick', file: 'app.js', line: 20, kind: 'js' });
    const routeA = p.internLabels({ route: '/a' });
    const routeB = p.internLabels({ route: '/b', tenant: 't1' });
    for (let k = 0; k < 400; k++) {
      const a = k % 4 === 0;
      p.addStack([main, a ? serveA : serveB, shared], 1, (k + 0.5) * 10e6, undefined, a ? routeA : routeB);
    }
    p.addStack([main, tick], 20);
    const { page, problems } = await open(t, 'labels.html', writeHtml(p));
    assert.equal(await page.isVisible('#label-box'), true);
    assert.deepEqual((await sfprof(page, 'labels')).map((o) => o.label), ['All (420)', 'route=/a (100)', 'route=/b (300)', 'tenant=t1 (300)']);
    assert.ok(await rect(page, 'serveB'));
    await page.selectOption('#label', 'route=/a');
    assert.equal(await sfprof(page, 'label'), 'route=/a');
    assert.ok(await rect(page, 'serveA'));
    assert.equal(await rect(page, 'serveB'), null, 'the other route is gone');
    assert.equal(await rect(page, 'tick'), null, 'unlabelled samples are gone');
    assert.ok(Math.abs((await rect(page, 'serveA')).width - (await rect(page, 'all')).width) < 1, 'the route fills the width');
    await page.focus('#label');
    await page.keyboard.press('3'); // a view key, not type-ahead in the picker
    assert.equal(await sfprof(page, 'view'), 'functions');
    assert.equal(await sfprof(page, 'label'), 'route=/a');
    assert.deepEqual(await rowsOf(page), [['shared', 100, 100], ['main', 0, 100], ['serveA', 0, 100]]);
    const first = await page.locator('#table-body tr').first().locator('td').allTextContents();
    assert.deepEqual(first.slice(1), ['100', '100.0%', '100', '100.0%']);
    await page.selectOption('#label', 'tenant=t1');
    assert.deepEqual(await rowsOf(page), [['shared', 300, 300], ['main', 0, 300], ['serveB', 0, 300]]);

    // With a time range: only the route's timed samples in it (a quarter of the range's samples).
    await page.selectOption('#label', 'route=/a');
    await dragTrack(page, 0.002, 0.49);
    const range = await sfprof(page, 'range');
    assert.ok(range.samples >= 44 && range.samples <= 52, `${range.samples} samples of /a in range`);
    assert.deepEqual(await rowsOf(page), [['shared', range.samples, range.samples], ['main', 0, range.samples], ['serveA', 0, range.samples]]);
    assert.match(await page.textContent('#track-info'), / with route=\/a; every view/);
    await page.selectOption('#label', '');
    const all = await sfprof(page, 'range');
    assert.ok(Math.abs(all.samples - 4 * range.samples) <= 4, `${all.samples} samples in range, ${range.samples} of /a`);

    // The hash keeps the label across a reload.
    await page.selectOption('#label', 'route=/b');
    assert.match(await page.evaluate(() => location.hash), /label=route%3D%2Fb/);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === '1');
    assert.equal(await sfprof(page, 'label'), 'route=/b');
    assert.equal(await page.inputValue('#label'), 'route=/b');
    assert.equal((await rowsOf(page))[0][0], 'shared');
    assert.ok((await sfprof(page, 'range')).samples > 100);
    // A profile without labels has no picker.
    const plain = await open(t, 'no-labels.html', writeHtml(buildBasicProfile()));
    assert.equal(await plain.page.isVisible('#label-box'), false);
    assert.deepEqual(problems, []);
    assert.deepEqual(plain.problems, []);
  });

  test('keys: 1-4 switch views, / searches, arrows and Enter pick a table row', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { page, problems } = await open(t, 'keys.html', writeHtml(buildBasicProfile()));
    for (const [key, view] of [['2', 'reversed'], ['3', 'functions'], ['4', 'sandwich'], ['1', 'flame']]) {
      await page.keyboard.press(key);
      assert.equal(await sfprof(page, 'view'), view);
      assert.equal(await page.isVisible(`#view-${view}`), true);
      assert.equal(await page.getAttribute(`#views button[data-view="${view}"]`, 'aria-selected'), 'true');
    }
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search');
    await page.keyboard.type('2');
    assert.equal(await sfprof(page, 'view'), 'flame', 'keys typed into the search box stay there');
    assert.equal(await page.inputValue('#search'), '2');
    await page.keyboard.press('Escape');
    await page.fill('#search', '');
    await page.keyboard.press('Escape');
    await page.keyboard.press('3');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    assert.equal(await sfprof(page, 'tableCursor'), 1);
    assert.equal(await page.locator('#table-body tr.cursor').count(), 1);
    const second = (await sfprof(page, 'tableRows'))[1];
    await page.keyboard.press('Enter');
    assert.equal(await sfprof(page, 'view'), 'sandwich');
    assert.equal((await sfprof(page, 'selectedFunction')).name, second.name);
    assert.deepEqual(problems, []);
  });

  test('diff page: colours by the change in share, one-sided stacks, width by either side, table columns', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const { base, next } = buildDiffProfiles();
    const html = writeDiffHtml(base, next, { baseName: 'before.folded', newName: 'after.folded' });
    const { page, problems } = await open(t, 'diff.html', html);
    assert.match(await page.textContent('#meta'), /^diff: before\.folded \u2192 after\.folded/);
    assert.equal(await page.textContent('#track-info'), 'diff: no timeline');
    assert.equal(await page.isVisible('#width'), true);
    const kind = async (name) => (await sfprof(page, 'frameColour', name))?.kind ?? null; // on the shown canvas
    assert.equal(await kind('grower'), 'grew');
    assert.equal(await kind('shrinker'), 'shrank');
    assert.equal(await kind('steady'), 'same');
    assert.equal(await kind('main'), 'same');
    assert.equal(await kind('fresh'), 'only-new');
    assert.equal(await kind('gone'), null, 'drawn by NEW, a stack only BEFORE had has no width');
    const colours = { grower: await sfprof(page, 'frameColour', 'grower'), shrinker: await sfprof(page, 'frameColour', 'shrinker') };
    assert.match(colours.grower.colour, /^hsl\(0, /);
    assert.match(colours.shrinker.colour, /^hsl\(218, /);

    await page.mouse.move(...centre(await rect(page, 'grower')));
    await page.waitForSelector('#tooltip:not([hidden])');
    assert.match(await page.textContent('#tooltip'), /NEW 40 samples \(40\.0%\)\nBEFORE 10 samples \(10\.0%\)\nchange \+30\.0 pp/);
    await page.mouse.move(...centre(await rect(page, 'fresh')));
    assert.match(await page.textContent('#tooltip'), /only in NEW/);

    await page.click('#width');
    assert.equal(await kind('gone'), 'only-base');
    assert.equal(await kind('fresh'), null);
    await page.mouse.move(...centre(await rect(page, 'gone')));
    assert.match(await page.textContent('#tooltip'), /NEW 0 samples \(0\.0%\)\nBEFORE 20 samples \(20\.0%\)\nonly in BEFORE/);
    await page.click('#width');

    // The reversed tree and the sandwich are coloured the same way.
    await page.keyboard.press('2');
    assert.equal(await kind('grower'), 'grew');
    assert.equal(await kind('shrinker'), 'shrank');
    assert.equal(await kind('fresh'), 'only-new');
    await page.mouse.move(...centre(await rect(page, 'grower')));
    assert.match(await page.textContent('#tooltip'), /NEW 40 samples \(40\.0%\)\nBEFORE 10 samples \(10\.0%\)\nchange \+30\.0 pp/);

    await page.keyboard.press('3');
    const headers = await page.locator('th').allTextContents();
    assert.deepEqual(headers.map((h) => h.trim()), ['Function', 'Self before', 'Self after', 'Self change', 'Total before', 'Total after', 'Total change']);
    assert.equal(await page.getAttribute('th:has(button[data-key="totalChange"])', 'aria-sort'), 'descending');
    const rows = await sfprof(page, 'tableRows');
    assert.deepEqual(rows.map((r) => [r.name, r.baseTotal, r.total, Math.round(100 * r.totalChange)]), [
      ['grower', 10, 40, 30], ['fresh', 0, 20, 20], ['main', 100, 100, 0], ['steady', 30, 30, 0], ['gone', 20, 0, -20], ['shrinker', 40, 10, -30],
    ]);
    const grower = await page.locator('#table-body tr').first().locator('td').allTextContents();
    assert.deepEqual(grower.slice(1), ['10 (10.0%)', '40 (40.0%)', '+30.0 pp', '10 (10.0%)', '40 (40.0%)', '+30.0 pp']);
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
    const nodes = decodeNodes(JSON.parse(embeddedData(html))).length;
    t.diagnostic(`50k stacks: first paint ${firstPaintMs.toFixed(0)} ms in Chromium, ${drawn} frames drawn of ${nodes} nodes; ` +
      `page ${(html.length / 1e6).toFixed(1)} MB, written in ${writeMs.toFixed(0)} ms`);
    assert.ok(firstPaintMs < 3000, `first paint took ${firstPaintMs} ms`);
    assert.ok(drawn > 500 && drawn < nodes);
    await page.fill('#search', 'fn1');
    const state = await hooks(page);
    assert.ok(Math.abs(state.matched - matchedPercent(profile, 'fn1')) <= 0.1);
    assert.deepEqual(problems, []);
  });

  test('200,000 unique stacks: first paint and search times', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const profile = fillBigProfile(emptyProfile(), { stacks: 200_000, seed: 7 });
    const html = writeHtml(profile, { title: '200k stacks' });
    const { page, problems } = await open(t, 'big200k.html', html, { width: 1200, height: 700 });
    const firstPaintMs = await page.evaluate(() => window.__sfprofFirstPaintMs);
    const searches = [];
    for (const needle of ['fn1', 'module3', '/fn(1|2)3$/', '']) {
      await page.fill('#search', needle);
      searches.push(await sfprof(page, 'lastSearchMs'));
    }
    // The other views, each built on first use.
    await page.keyboard.press('Escape');
    const views = {};
    for (const [key, view] of [['2', 'reversed'], ['3', 'functions'], ['4', 'sandwich']]) {
      const started = Date.now();
      await page.keyboard.press(key);
      await page.evaluate(() => new Promise(requestAnimationFrame));
      views[view] = Date.now() - started;
    }
    await page.keyboard.press('3');
    await page.fill('#search', 'fn1');
    const tableSearchMs = await sfprof(page, 'lastSearchMs');
    assert.match(await sfprof(page, 'tableNote'), /^showing 500 of [\d,]+ functions; search to narrow/);
    assert.equal(await page.locator('#table-body tr').count(), 500);
    const nodes = decodeNodes(JSON.parse(embeddedData(html))).length;
    t.diagnostic(`200k stacks (${nodes} nodes, page ${(html.length / 1e6).toFixed(1)} MB): first paint ${firstPaintMs.toFixed(0)} ms; ` +
      `searches ${searches.map((ms) => ms.toFixed(0)).join(', ')} ms, in the table ${tableSearchMs.toFixed(0)} ms; ` +
      `first showing of reversed ${views.reversed} ms, functions ${views.functions} ms, sandwich ${views.sandwich} ms`);
    // Generous bounds for a shared machine; bench/ measures against the goals (1 s, 100 ms).
    assert.ok(firstPaintMs < 3000, `first paint took ${firstPaintMs} ms`);
    for (const ms of [...searches, tableSearchMs]) assert.ok(ms < 500, `a search took ${ms} ms`);
    assert.deepEqual(problems, []);
  });

  // The README's pictures: the talk's calc demo, recorded through the CLI in line mode, as a flame
  // graph, its functions table and calc's sandwich; and a diff. Written to a temporary directory;
  // SFPROF_UPDATE_SCREENSHOT=1 also replaces the ones in docs/.
  test('the calc demo and a diff: screenshots', async (t) => {
    if (!requireTool(t, 'chromium', browser)) return;
    const html = path.join(dir, 'calc.html');
    const run = runNode([path.join(root, 'bin', 'sfprof.js'), 'record', '-i', '1ms', '--lines', '-o', html, '--', process.execPath, 'examples/calc.js'], {
      env: { CALC_SCALE: '1' },
    });
    assert.equal(run.status, 0, run.stderr);
    const page = fs.readFileSync(html, 'utf8');
    assert.match(page, /examples\/calc\.js:29/);
    assert.match(page, /examples\/calc\.js:30/);
    const { timeline } = JSON.parse(embeddedData(page));
    assert.ok(timeline && timeline.n.length > 100, 'a recorded page has its samples over time');
    const diff = path.join(dir, 'diff.html');
    const { base, next } = buildDemoDiffProfiles();
    fs.writeFileSync(diff, writeDiffHtml(base, next, { baseName: 'server-v1.folded', newName: 'server-v2.folded' }));
    const shots = [
      ['flamegraph.png', html, undefined],
      ['viewer-table.png', html, (p) => p.keyboard.press('3')],
      ['viewer-sandwich.png', html, async (p) => {
        await p.keyboard.press('3');
        const row = (await p.evaluate(() => window.__sfprof.tableRows())).findIndex((r) => r.name === 'calc');
        await p.locator('#table-body tr').nth(row).click();
      }],
      ['viewer-diff.png', diff, undefined],
    ];
    for (const [name, file, prepare] of shots) {
      const png = await screenshotHtml(file, path.join(dir, name), { browser, prepare });
      const bytes = fs.readFileSync(png);
      assert.deepEqual([...bytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
      assert.ok(bytes.length > 10_000, `${name}: screenshot of ${bytes.length} bytes`);
      if (process.env.SFPROF_UPDATE_SCREENSHOT === '1') {
        fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
        fs.copyFileSync(png, path.join(root, 'docs', name));
        t.diagnostic(`updated docs/${name}`);
      }
    }
  });
});
