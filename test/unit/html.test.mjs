// The HTML writer's embedded data and template, offline. The page itself runs in Chromium in
// test/viewers/html.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { templatePath, writeHtml } from '../../dist/formats/writers/html.js';
import { buildBasicProfile, DATA_RE, embeddedData, emptyProfile, SCRIPT_CLOSE, TITLE, XSS } from '../lib/html-profiles.mjs';
import { root } from '../lib/helpers.mjs';

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