// The HTML writer's embedded data and template, offline. The page itself runs in Chromium in
// test/viewers/html.test.mjs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { MAX_PAGE_TIMELINE, templatePath, writeDiffHtml, writeHtml } from '../../dist/formats/writers/html.js';
import { buildBasicProfile, DATA_RE, decodeNodes, embeddedData, emptyProfile, SCRIPT_CLOSE, TITLE, where, XSS } from '../lib/html-profiles.mjs';
import { root } from '../lib/helpers.mjs';

describe('writeHtml', () => {
  test('embedded data matches the golden file', () => {
    const golden = fs.readFileSync(path.join(root, 'test', 'golden', 'basic.html-data.json'), 'utf8');
    assert.equal(embeddedData(writeHtml(buildBasicProfile())) + '\n', golden);
  });

  test('the data parses back to a tree whose totals add up', () => {
    const profile = buildBasicProfile();
    const data = JSON.parse(embeddedData(writeHtml(profile)));
    assert.equal(data.version, 2);
    assert.equal(data.meta.total, profile.totalSamples);
    assert.deepEqual(data.meta.drops, profile.metadata.drops);
    const nodes = decodeNodes(data);
    const count = nodes.length;
    const node = (i) => nodes[i];
    assert.deepEqual(node(0), { frame: -1, parent: -1, depth: 0, total: profile.totalSamples, self: 0 });
    let selfSum = 0;
    for (let i = 1; i < count; i++) {
      const { frame, parent, self } = node(i);
      assert.ok(parent >= 0 && parent < i, 'pre-order: parents come first');
      assert.ok(frame >= 0 && frame < data.frames.length);
      selfSum += self;
    }
    assert.equal(selfSum, profile.totalSamples);
    // Every stack of the profile is one node path with its count as self.
    for (const stack of profile.stackList) {
      let at = [0];
      for (const id of stack.frames) {
        const f = profile.frames[id];
        const key = JSON.stringify([f.name, where(f)]);
        at = nodes.flatMap((n, i) => (i > 0 && at.includes(n.parent) && JSON.stringify(data.frames[n.frame].slice(0, 2)) === key ? [i] : []));
      }
      assert.ok(at.some((n) => nodes[n].self >= stack.count), `stack ${stack.frames.map((i) => profile.frames[i].name).join(';')}`);
    }
    assert.equal(data.timeline, null, 'no sample times in this profile');
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
    assert.deepEqual(JSON.parse(embeddedData(html)).nodes, [-1, 0, 0]);
  });

  test('sample times: the timeline names each kept sample\'s node, in order, with microsecond steps', () => {
    const profile = emptyProfile();
    const main = profile.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
    const f = profile.internFrame({ name: 'f', file: 'app.js', line: 5, kind: 'js' });
    const g = profile.internFrame({ name: 'g', file: 'app.js', line: 9, kind: 'js' });
    // Out of order by a drain period, as two threads' samples can be.
    for (let i = 0; i < 10; i++) profile.addStack([main, f], 1, 1_000_000 * i);
    for (let i = 0; i < 5; i++) profile.addStack([main, g], 1, 500_000 + 2_000_000 * i);
    profile.addStack([main, g], 3); // untimed
    const data = JSON.parse(embeddedData(writeHtml(profile)));
    const nodes = decodeNodes(data);
    const nameOf = (n) => data.frames[nodes[n].frame][0];
    assert.equal(data.timeline.stride, 1);
    assert.equal(data.timeline.n.length, 15);
    let at = 0;
    const times = data.timeline.t.map((dt) => (at += dt));
    assert.deepEqual(times, [0, 500, 1000, 2000, 2500, 3000, 4000, 4500, 5000, 6000, 6500, 7000, 8000, 8500, 9000]);
    assert.equal(data.timeline.n.map(nameOf).join(''), 'fgffgffgffgffgf');
    for (const n of data.timeline.n) assert.ok(nodes[n].self > 0);
  });

  test('a long timeline is thinned evenly, each kept sample standing for more', () => {
    const profile = new (emptyProfile().constructor)(emptyProfile().metadata, { timelineCapacity: 4 * MAX_PAGE_TIMELINE });
    const main = profile.internFrame({ name: 'main', kind: 'js' });
    const samples = 3 * MAX_PAGE_TIMELINE + 7;
    for (let i = 0; i < samples; i++) profile.addStack([main], 1, 1000 * i);
    const { timeline } = JSON.parse(embeddedData(writeHtml(profile)));
    assert.equal(timeline.stride, 4);
    assert.equal(timeline.n.length, Math.ceil(samples / 4));
    assert.ok(timeline.n.length <= MAX_PAGE_TIMELINE);
    assert.ok(timeline.t.slice(1).every((dt) => dt === 4));
  });

  test('thread roots have their own colour class', () => {
    const profile = emptyProfile();
    const worker = profile.internFrame({ name: '[worker 1 w.js]', kind: 'thread' });
    const work = profile.internFrame({ name: 'work', file: 'w.js', line: 1, kind: 'js' });
    profile.addStack([worker, work], 4);
    profile.addSynthetic(['[other threads]'], 1);
    const data = JSON.parse(embeddedData(writeHtml(profile)));
    assert.deepEqual(data.frames.find(([name]) => name === '[worker 1 w.js]'), ['[worker 1 w.js]', '', 'thread']);
    assert.deepEqual(data.frames.find(([name]) => name === '[other threads]'), ['[other threads]', '', 'synthetic']);
  });

  test('a diff page carries both profiles per node, stacks of one side only too', () => {
    const build = (counts) => {
      const p = emptyProfile();
      const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
      for (const [name, count] of Object.entries(counts)) p.addStack([main, p.internFrame({ name, file: 'app.js', line: name.charCodeAt(0), kind: 'js' })], count);
      return p;
    };
    const before = build({ grew: 10, shrank: 30, gone: 5 });
    const after = build({ grew: 40, shrank: 10, added: 6 });
    const html = writeDiffHtml(before, after, { baseName: 'a<b>.folded', newName: 'b.folded' });
    assert.match(html, /<title>sfprof diff: a&#60;b&#62;\.folded \u2192 b\.folded<\/title>/);
    const data = JSON.parse(embeddedData(html));
    assert.deepEqual(data.meta.diff, { baseTotal: 45, baseName: 'a<b>.folded', newName: 'b.folded' });
    assert.equal(data.meta.total, 56);
    assert.equal(data.timeline, null);
    const nodes = decodeNodes(data);
    assert.equal(data.base.length, nodes.length);
    const byName = Object.fromEntries(nodes.slice(1).map((n, i) => [data.frames[n.frame][0], { after: n.self, before: data.base[i + 1] }]));
    assert.deepEqual(byName, {
      main: { after: 0, before: 0 },
      added: { after: 6, before: 0 },
      gone: { after: 0, before: 5 },
      grew: { after: 40, before: 10 },
      shrank: { after: 10, before: 30 },
    });
  });

  test('a diff page compares functions, not tiers: one run\'s optimized calc is the other\'s interpreted calc', () => {
    const build = (tier, inlined) => {
      const p = emptyProfile();
      const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js', tier: 'baseline' });
      const calc = p.internFrame({ name: 'calc', file: 'app.js', line: 5, kind: 'js', tier, ...(inlined && { inlined: true }) });
      p.addStack([main, calc], 7);
      return p;
    };
    const data = JSON.parse(embeddedData(writeDiffHtml(build('interpreted', false), build('optimized', true))));
    assert.deepEqual(data.frames, [['main', 'app.js:1', 'js'], ['calc', 'app.js:5', 'js']]);
    assert.deepEqual(data.base, [0, 0, 7]);
    assert.deepEqual(data.nodes, [-1, 0, 0, 0, 0, 0, 1, 0, 7]);
  });
});
