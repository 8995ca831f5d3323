// The HTML flame graph: the writer's embedded data, and the page itself in headless Chromium.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { Profile } from '../dist/profile.js';
import { templatePath, writeHtml } from '../dist/writers/html.js';
import { launchChromium, requireTool, screenshotHtml } from './browser.mjs';
import { fillBigProfile } from './fixtures/big-profile.mjs';
import { root, runNode, tempDir } from './helpers.mjs';

const XSS = '<img src=x onerror=alert(1)>';
const SCRIPT_CLOSE = '</script><script>alert(2)</script>';
const TITLE = 'calc <b>"bold"</b> & \'co\'';

function emptyProfile(drops = { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 }) {
  return new Profile({ startTime: 0, durationNs: 2_500_000_000, intervalUs: 1000, engine: 'itimer', lines: false, pid: 1, drops });
}

function buildBasicProfile() {
  const p = emptyProfile({ ringFull: 3, nonJsThread: 1, truncated: 0, busy: 0 });
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'baseline' });
  const calc = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, column: 14, kind: 'js', tier: 'optimized' });
  // Differs from calc only in column: the same box in the graph, so its stacks merge with calc's.
  const calcColumn = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, column: 3, kind: 'js', tier: 'optimized' });
  const calcMaglev = p.internFrame({ name: 'calc', file: 'examples/calc.js', line: 21, kind: 'js', tier: 'maglev' });
  const helper = p.internFrame({ name: 'helper', file: 'lib/help.js', line: 7, kind: 'js', tier: 'interpreted' });
  const anon = p.internFrame({ name: '(anonymous)', file: 'lib/x.js', kind: 'js' });
  const emit = p.internFrame({ name: 'emit', file: 'node:events', line: 517, kind: 'node' });
  const toString = p.internFrame({ name: 'Builtin:ToString', kind: 'builtin' });
  const regexp = p.internFrame({ name: 'RegExp: \\d+<b>', kind: 'regexp' });
  const native = p.internFrame({ name: 'v8::internal::Runtime_StringAdd', kind: 'native' });
  const wasm = p.internFrame({ name: 'wasm-function[3]', file: 'mod.wasm', kind: 'wasm' });
  const gc = p.internFrame({ name: '(garbage collector)', kind: 'gc' });
  const xss = p.internFrame({ name: XSS, file: `evil${SCRIPT_CLOSE}.js`, line: 2, kind: 'js', tier: 'interpreted' });
  const dollars = p.internFrame({ name: "$& $' $` $$", kind: 'js' });
  const separators = p.internFrame({ name: 'line\u2028para\u2029end', kind: 'native' });

  p.addStack([main, calc], 9);
  p.addStack([main, calcColumn], 2);
  p.addStack([main, calcMaglev], 3);
  p.addStack([main, calc, toString], 4);
  p.addStack([main, calc, helper, calc], 2); // recursion: a search for calc counts these samples once
  p.addStack([main, calc, native], 2);
  p.addStack([main, emit, anon, regexp], 3);
  p.addStack([main, emit], 1);
  p.addStack([main, wasm], 1);
  p.addStack([main, xss], 6);
  p.addStack([main, xss, dollars], 2);
  p.addStack([main, separators], 1);
  p.addStack([main], 2);
  p.addStack([gc], 4);
  p.addSynthetic(['(lost samples)', '(ring full)'], 3);
  p.addSynthetic(['[other threads]'], 1);
  return p;
}

const DATA_RE = /<script type="application\/json" id="sfprof-data">([\s\S]*?)<\/script>/;

function embeddedData(html) {
  const match = DATA_RE.exec(html);
  assert.ok(match, 'the page embeds its data');
  return match[1];
}

function where(frame) {
  if (!frame.file) return '';
  return frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
}

/** Share of samples with a frame whose name or file:line contains `needle` (case-insensitive). */
function matchedPercent(profile, needle) {
  const lower = needle.toLowerCase();
  const hit = profile.frames.map((f) => f.name.toLowerCase().includes(lower) || where(f).toLowerCase().includes(lower));
  let samples = 0;
  for (const stack of profile.stackList) if (stack.frames.some((id) => hit[id])) samples += stack.count;
  return (100 * samples) / profile.totalSamples;
}

describe('writeHtml', () => {
  test('embedded data matches the golden file', () => {
    const golden = fs.readFileSync(path.join(root, 'test', 'golden', 'basic.html-data.json'), 'utf8');
    assert.equal(embeddedData(writeHtml(buildBasicProfile())) + '\n', golden);
  });

  test('the data parses back to a tree whose totals add up', () => {
    const profile = buildBasicProfile();
    const data = JSON.parse(embeddedData(writeHtml(profile)));
    assert.equal(data.version, 1);
    assert.equal(data.meta.total, profile.totalSamples);
    assert.deepEqual(data.meta.drops, profile.metadata.drops);
    assert.equal(data.nodes.length % 4, 0);
    const count = data.nodes.length / 4;
    const node = (i) => ({ frame: data.nodes[4 * i], parent: data.nodes[4 * i + 1], total: data.nodes[4 * i + 2], self: data.nodes[4 * i + 3] });
    assert.deepEqual(node(0), { frame: -1, parent: -1, total: profile.totalSamples, self: 0 });
    const childTotals = new Array(count).fill(0);
    let selfSum = 0;
    for (let i = 1; i < count; i++) {
      const { frame, parent, total, self } = node(i);
      assert.ok(parent >= 0 && parent < i, 'pre-order: parents come first');
      assert.ok(frame >= 0 && frame < data.frames.length);
      childTotals[parent] += total;
      selfSum += self;
    }
    for (let i = 0; i < count; i++) assert.equal(node(i).total, node(i).self + childTotals[i], `node ${i}`);
    assert.equal(selfSum, profile.totalSamples);
    // Names survive the escaping unchanged.
    const names = data.frames.map(([name]) => name);
    for (const name of [XSS, "$& $' $` $$", 'line\u2028para\u2029end', 'RegExp: \\d+<b>']) assert.ok(names.includes(name), name);
    assert.ok(data.frames.some(([, file]) => file === `evil${SCRIPT_CLOSE}.js:2`));
    // calc with another column merged into calc: one node under main for each colour class.
    const mainIndex = [...Array(count).keys()].find((i) => node(i).parent === 0 && data.frames[node(i).frame][0] === 'main');
    const calcs = [...Array(count).keys()].filter((i) => node(i).parent === mainIndex && data.frames[node(i).frame][0] === 'calc');
    assert.deepEqual(calcs.map((i) => [data.frames[node(i).frame][2], node(i).total]), [['js-maglev', 3], ['js-optimized', 19]]);
  });

  test('hostile names and titles stay text', () => {
    const html = writeHtml(buildBasicProfile(), { title: TITLE });
    assert.ok(!html.includes('<img src=x'), 'no raw <img');
    assert.ok(!html.includes('alert(2)</script>'), 'no closing script tag from a file name');
    assert.ok(!/[\u2028\u2029]/.test(html));
    assert.ok(html.includes('\\u003cimg src=x onerror=alert(1)>'));
    assert.match(html, /<title>calc &#60;b&#62;&#34;bold&#34;&#60;\/b&#62; &#38; &#39;co&#39;<\/title>/);
    assert.equal(html.match(/<script/g).length, 2, 'the data script and the page script, nothing more');
    assert.equal(html.match(/<\/script>/g).length, 2);
    // Replacement patterns in names are not expanded.
    assert.ok(html.includes("\"$& $' $` $$\""));
  });

  test('the page loads nothing from anywhere', () => {
    const html = writeHtml(buildBasicProfile());
    assert.doesNotMatch(html, /https?:\/\//i);
    const code = html.replace(DATA_RE, '');
    assert.doesNotMatch(code, /\b(src|href|action|srcset|poster)\s*=/i);
    assert.doesNotMatch(code, /\bfetch\s*\(|\bimport\s*\(|@import|url\s*\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon|<link|<iframe|<object|<embed/i);
    assert.match(code, /Content-Security-Policy" content="default-src 'none';/);
  });

  test('the template is the page without data', () => {
    const template = fs.readFileSync(templatePath(), 'utf8');
    assert.ok(template.includes('<script type="application/json" id="sfprof-data">null</script>'));
    const html = writeHtml(emptyProfile());
    assert.deepEqual(JSON.parse(embeddedData(html)).nodes, [-1, -1, 0, 0]);
  });
});

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
