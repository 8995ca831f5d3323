// Labels in the output formats: pprof string labels written and read back, folded and .cpuprofile
// merging stacks that differ only in labels, the label root (one transform for every format), diff
// columns across labels, and the label-root key's checks in the library, the environment and the CLI.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile, StringTable } from 'pprof-format';

import { parseCommandLine, recordEnv } from '../../dist/cli/args.js';
import { optionsFromEnv } from '../../dist/config/env.js';
import { diffProfiles } from '../../dist/formats/diff.js';
import { readProfile, renderProfile } from '../../dist/formats/render.js';
import { writeFoldedDiff } from '../../dist/formats/writers/folded.js';
import { buildCpuProfile } from '../../dist/formats/writers/cpuprofile.js';
import { rootByLabel } from '../../dist/model/label-root.js';
import { decodeNodes, embeddedData, emptyProfile } from '../lib/html-profiles.mjs';

/** main;handle under two routes (3 and 1 samples, one with a tenant too), main alone unlabelled (2). */
function routesProfile() {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
  const handle = p.internFrame({ name: 'handle', file: 'app.js', line: 5, kind: 'js' });
  const a = p.internLabels({ route: '/a', tenant: 't1' });
  const b = p.internLabels({ route: '/b' });
  p.addStack([main, handle], 1, 1_000_000, undefined, a);
  p.addStack([main, handle], 1, 2_000_000, undefined, b);
  p.addStack([main, handle], 2, undefined, undefined, a);
  p.addStack([main], 1, 3_000_000);
  p.addStack([main], 1);
  return p;
}

/** [labels as key=value text, count] per pprof sample. */
function pprofSamples(buffer) {
  const decoded = PprofProfile.decode(gunzipSync(buffer));
  const strings = decoded.stringTable.strings;
  return decoded.sample.map((sample) => [
    sample.label.map((l) => `${strings[Number(l.key)]}=${l.str ? strings[Number(l.str)] : `#${l.num}`}`).join(','),
    Number(sample.value[0]),
  ]);
}

test('pprof: each sample carries its label set as string labels, and they read back', () => {
  const profile = routesProfile();
  const written = renderProfile(profile, 'pprof');
  assert.deepEqual(pprofSamples(written), [['route=/a,tenant=t1', 3], ['route=/b', 1], ['', 2]]);
  const back = readProfile(written, 'routes.pb.gz');
  const sets = back.stackList.map((s) => [back.labelSets[s.labels], s.count]);
  assert.deepEqual(sets, [[{ route: '/a', tenant: 't1' }, 3], [{ route: '/b' }, 1], [{}, 2]]);
  // Written again (sfprof report x.pb.gz -o y.pb.gz), the labels are the same.
  assert.deepEqual(pprofSamples(renderProfile(back, 'pprof')), pprofSamples(written));
});

test('pprof: sfprof\'s thread and gc labels are not read back as labels; a label of those keys gives way', () => {
  const p = emptyProfile();
  const worker = p.internFrame({ name: '[worker 1 w.js]', kind: 'thread' });
  const crunch = p.internFrame({ name: 'crunch', file: 'w.js', line: 3, kind: 'js' });
  p.addStack([worker, crunch], 4, undefined, undefined, p.internLabels({ thread: 'mine', job: 'x' }));
  const written = renderProfile(p, 'pprof');
  assert.deepEqual(pprofSamples(written), [['thread=worker 1 w.js,job=x', 4]]);
  const back = readProfile(written, 'w.pb.gz');
  assert.deepEqual(back.labelSets[back.stackList[0].labels], { job: 'x' });
});

test('pprof from other producers: string labels kept (first of a repeated key), numeric labels left out', () => {
  const strings = ['', 'samples', 'count', 'f', 'route', '/x', '/y', 'bytes', 'thread'];
  const encoded = new PprofProfile({
    sampleType: [{ type: 1, unit: 2 }],
    sample: [
      { locationId: [1], value: [5], label: [{ key: 4, str: 5 }, { key: 4, str: 6 }, { key: 7, num: 4096 }, { key: 8, str: 6 }] },
      { locationId: [1], value: [2], label: [{ key: 7, num: 12 }] },
    ],
    location: [{ id: 1, line: [{ functionId: 1, line: 1 }] }],
    function: [{ id: 1, name: 3, systemName: 3, filename: 0 }],
    stringTable: (() => {
      const table = new StringTable();
      for (const s of strings.slice(1)) table.dedup(s);
      return table;
    })(),
  }).encode();
  const profile = readProfile(encoded, 'foreign.pb');
  assert.deepEqual(profile.stackList.map((s) => [profile.labelSets[s.labels], s.count]), [[{ route: '/x', thread: '/y' }, 5], [{}, 2]]);
});

test('folded: stacks that differ only in labels are one line; the label root splits them by value', () => {
  const profile = routesProfile();
  assert.equal(renderProfile(profile, 'folded'), 'main (app.js:1) 2\nmain (app.js:1);handle (app.js:5) 4\n');
  assert.equal(
    renderProfile(profile, 'folded', { labelRoot: 'route' }),
    '[route=/a];main (app.js:1);handle (app.js:5) 3\n[route=/b];main (app.js:1);handle (app.js:5) 1\nmain (app.js:1) 2\n',
  );
  assert.equal(
    renderProfile(profile, 'folded', { labelRoot: 'tenant' }),
    '[tenant=t1];main (app.js:1);handle (app.js:5) 3\nmain (app.js:1) 2\nmain (app.js:1);handle (app.js:5) 1\n',
  );
  // A key no sample has roots nothing; the profile itself is not changed.
  assert.equal(renderProfile(profile, 'folded', { labelRoot: 'user' }), renderProfile(profile, 'folded'));
  assert.equal(profile.frames.length, 2);
});

test('label root: worker stacks are rooted under their thread frame; counts, CPU time and the timeline stay', () => {
  const p = routesProfile();
  const worker = p.internFrame({ name: '[worker 1 w.js]', kind: 'thread' });
  const crunch = p.internFrame({ name: 'crunch', file: 'w.js', line: 3, kind: 'js' });
  p.addStack([worker, crunch], 1, 4_000_000, 7_000, p.internLabels({ route: '/a' }));
  const rooted = rootByLabel(p, 'route');
  const text = (s) => s.frames.map((id) => rooted.frames[id].name).join(';');
  assert.deepEqual(rooted.stackList.map((s) => [text(s), s.count, s.cpuNs, s.unweighted]), [
    ['[route=/a];main;handle', 3, 0, 3],
    ['[route=/b];main;handle', 1, 0, 1],
    ['main', 2, 0, 2],
    ['[worker 1 w.js];[route=/a];crunch', 1, 7_000, 0],
  ]);
  assert.equal(rooted.frames.find((f) => f.name === '[route=/a]').kind, 'synthetic');
  assert.deepEqual(rooted.labelSets[rooted.stackList[0].labels], { route: '/a', tenant: 't1' });
  const order = (profile) => Array.from({ length: profile.timeline.length }, (_, i) => [profile.timeline.stackIdAt(i), profile.timeline.timeNsAt(i)]);
  assert.deepEqual(order(rooted), order(p));
  assert.equal(rooted.totalSamples, p.totalSamples);
});

test('.cpuprofile: stacks that differ only in labels are one node path, unless rooted by a label', () => {
  const profile = routesProfile();
  const plain = buildCpuProfile(profile);
  assert.deepEqual(plain.nodes.map((n) => [n.callFrame.functionName, n.hitCount]), [['(root)', 0], ['main', 2], ['handle', 4]]);
  const rooted = JSON.parse(renderProfile(profile, 'cpuprofile', { labelRoot: 'route' }));
  const names = (ids) => ids.map((id) => rooted.nodes[id - 1].callFrame.functionName);
  assert.deepEqual(names(rooted.nodes[0].children), ['[route=/a]', '[route=/b]', 'main']);
  assert.deepEqual(rooted.nodes.map((n) => [n.callFrame.functionName, n.hitCount]), [
    ['(root)', 0], ['[route=/a]', 0], ['main', 0], ['handle', 3], ['[route=/b]', 0], ['main', 0], ['handle', 1], ['main', 2],
  ]);
  // The timed samples keep their order: /a, /b, then main.
  assert.deepEqual(rooted.samples.slice(0, 3).map((id) => rooted.nodes[id - 1].callFrame.functionName), ['handle', 'handle', 'main']);
  assert.deepEqual(names([rooted.samples[0] - 2, rooted.samples[1] - 2]), ['[route=/a]', '[route=/b]']);
});

test('diff: a stack under several label sets is one row, its columns summed', () => {
  const base = routesProfile();
  const next = routesProfile();
  next.addStack([0, 1], 5, undefined, undefined, next.internLabels({ route: '/c' }));
  const diff = diffProfiles(base, next);
  assert.equal(writeFoldedDiff(diff), 'main (app.js:1) 2 2\nmain (app.js:1);handle (app.js:5) 4 9\n');
  assert.equal(diff.rows.reduce((sum, r) => sum + r.before, 0), base.totalSamples);
  assert.equal(diff.rows.reduce((sum, r) => sum + r.after, 0), next.totalSamples);
});

test('a bad label-root key is refused naming the option, the value and what is allowed', () => {
  const allowed = /expected a label key such as route: not empty, without ";" or line breaks/;
  for (const bad of ['', 'a;b', 'line\nbreak', 42]) {
    assert.throws(() => renderProfile(routesProfile(), 'folded', { labelRoot: bad }), (error) => {
      assert.equal(error.name, 'OptionError');
      assert.ok(error.message.startsWith(`sfprof: option "labelRoot" is ${typeof bad === 'string' ? JSON.stringify(bad) : bad};`), error.message);
      assert.match(error.message, allowed);
      return true;
    });
  }
  assert.throws(() => optionsFromEnv({ SFPROF_LABEL_ROOT: 'route;x' }), /^OptionError: sfprof: SFPROF_LABEL_ROOT is "route;x"; expected a label key/);
  assert.equal(optionsFromEnv({ SFPROF_LABEL_ROOT: '' }).labelRoot, undefined);
  assert.equal(optionsFromEnv({ SFPROF_LABEL_ROOT: 'route' }).labelRoot, 'route');
  for (const verb of [['report', 'x.folded'], ['record', '--', 'node', 'app.js']]) {
    const [name, ...rest] = verb;
    const args = name === 'record' ? [name, '--label-root', 'a\nb', ...rest] : [name, ...rest, '--label-root', ''];
    assert.throws(() => parseCommandLine(args), (error) => {
      assert.match(error.message, /^sfprof: --label-root is "(a\\nb)?"; expected a label key such as route/);
      return true;
    });
  }
});

test('--label-root reaches the report command and, through SFPROF_LABEL_ROOT, the recorded processes', () => {
  const report = parseCommandLine(['report', 'in.pb.gz', '--label-root', 'route', '-o', 'out.folded']);
  assert.equal(report.labelRoot, 'route');
  const record = parseCommandLine(['record', '--label-root', 'route', '--', 'node', 'app.js']);
  assert.deepEqual(record.command, ['node', 'app.js']);
  assert.equal(recordEnv(record).SFPROF_LABEL_ROOT, 'route');
  assert.equal(recordEnv(parseCommandLine(['record', 'node', 'app.js'])).SFPROF_LABEL_ROOT, undefined);
});

test('HTML data: each node\'s self samples per label set and each timed sample\'s set; none without labels', () => {
  const profile = routesProfile();
  const data = JSON.parse(embeddedData(renderProfile(profile, 'html')));
  assert.deepEqual(data.labels.sets, [[['route', '/a'], ['tenant', 't1']], [['route', '/b']], []]);
  const nodes = decodeNodes(data);
  const named = [];
  for (let i = 0; i < data.labels.self.length; i += 3) {
    const [node, set, count] = data.labels.self.slice(i, i + 3);
    named.push([data.frames[nodes[node].frame][0], set, count]);
  }
  assert.deepEqual(named, [['main', 2, 2], ['handle', 0, 3], ['handle', 1, 1]]);
  // Per node, the sets add up to its self samples.
  assert.deepEqual(nodes.map((n) => n.self), [0, 2, 4]);
  assert.deepEqual(data.timeline.l, [0, 1, 2]);
  const plain = emptyProfile();
  plain.addStack([plain.internFrame({ name: 'main', kind: 'js' })], 1, 1000);
  const unlabelled = JSON.parse(embeddedData(renderProfile(plain, 'html')));
  assert.equal(unlabelled.labels, undefined);
  assert.equal(unlabelled.timeline.l, undefined);
  // Rooted by a label, the page shows the root frames too.
  const rooted = JSON.parse(embeddedData(renderProfile(profile, 'html', { labelRoot: 'route' })));
  assert.deepEqual(rooted.frames.map((f) => f[0]).filter((name) => name.startsWith('[')), ['[route=/a]', '[route=/b]']);
});
