// Other tools read sfprof's files, and sfprof reads theirs: go tool pprof on our pprof, node --cpu-prof's
// .cpuprofile read in. Both need a tool outside the package (Go; a Node run), so they are not unit tests.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { readProfile, renderProfile } from '../../dist/formats/render.js';
import { readFolded } from '../../dist/formats/readers/folded.js';
import { buildCpuProfile } from '../../dist/formats/writers/cpuprofile.js';
import { requireTool, root, tempDir, toolWorks } from '../lib/helpers.mjs';
import { buildTimedProfile, checkCpuProfile } from '../lib/profiles.mjs';
import { emptyProfile } from '../lib/html-profiles.mjs';

const basicFolded = () => fs.readFileSync(path.join(root, 'test', 'golden', 'basic.folded'), 'utf8');
const sum = (values) => values.reduce((a, b) => a + b, 0);

test('a .cpuprofile written by node --cpu-prof reads in, and ours has the same shape', () => {
  const dir = tempDir();
  const run = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-e', 'let s=0;for(let i=0;i<3e7;i++)s+=i'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const file = path.join(dir, fs.readdirSync(dir)[0]);
  const theirs = JSON.parse(fs.readFileSync(file, 'utf8'));
  const profile = readProfile(fs.readFileSync(file), file);
  assert.equal(profile.totalSamples, theirs.samples.length);
  assert.ok(profile.timeline.length > 0);
  const ours = buildCpuProfile(buildTimedProfile());
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(theirs).sort());
  assert.deepEqual(Object.keys(ours.nodes[1].callFrame).sort(), Object.keys(theirs.nodes[1].callFrame).sort());
  checkCpuProfile(buildCpuProfile(profile));
});

const goWorks = toolWorks('go', ['version']);

test('go tool pprof reads sfprof pprof (-top and -raw) with totals equal to the folded totals', (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const dir = tempDir();
  for (const [name, profile] of [['basic', readFolded(basicFolded())], ['timed', buildTimedProfile()]]) {
    const file = path.join(dir, `${name}.pb.gz`);
    fs.writeFileSync(file, renderProfile(profile, 'pprof'));
    const top = spawnSync('go', ['tool', 'pprof', '-top', file], { encoding: 'utf8' });
    assert.equal(top.status, 0, top.stderr);
    assert.match(top.stdout, /flat%/);
    const raw = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8' });
    assert.equal(raw.status, 0, raw.stderr);
    const section = raw.stdout.split('\nSamples:\n')[1].split('\nLocations')[0];
    const counts = section.split('\n').slice(1).map((line) => /^\s*(\d+)(?:\s+(\d+))?:/.exec(line)).filter(Boolean);
    assert.equal(sum(counts.map((m) => Number(m[1]))), profile.totalSamples, `${name}: -raw sample counts`);
    const weight = profile.metadata.sampleWeightNs ?? profile.metadata.intervalUs * 1000;
    if (weight > 0) assert.equal(sum(counts.map((m) => Number(m[2]))), profile.totalSamples * weight);
    // -top's total is the default sample type: never an empty-looking profile.
    assert.match(top.stdout, /Showing nodes accounting for [1-9]/, `${name}: -top total`);
    assert.match(raw.stdout, /Comment: sfprof\.engine=/);
  }
  const hostile = spawnSync('go', ['tool', 'pprof', '-raw', path.join(dir, 'timed.pb.gz')], { encoding: 'utf8' });
  // go pprof shortens names at "(" as if they were argument lists, and shows the whole one after.
  assert.match(hostile.stdout, / evil"\.js:3 s=3\(<img src=x onerror=alert\(1\)>\)/);
});

test('go tool pprof -tags lists the routes with their shares; -tagfocus keeps one route', (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
  const users = p.internFrame({ name: 'users', file: 'app.js', line: 5, kind: 'js' });
  const posts = p.internFrame({ name: 'posts', file: 'app.js', line: 9, kind: 'js' });
  p.addStack([main, users], 30, undefined, undefined, p.internLabels({ route: '/users/:id', tenant: 'a' }));
  p.addStack([main, posts], 10, undefined, undefined, p.internLabels({ route: '/posts' }));
  p.addStack([main], 60);
  const file = path.join(tempDir(), 'routes.pb.gz');
  fs.writeFileSync(file, renderProfile(p, 'pprof'));
  const tags = spawnSync('go', ['tool', 'pprof', '-tags', file], { encoding: 'utf8' });
  assert.equal(tags.status, 0, tags.stderr);
  const route = tags.stdout.split(/\n\s*\n/).find((section) => /^\s*route:/.test(section));
  assert.ok(route, tags.stdout);
  assert.match(route, /\(75\.00%\): \/users\/:id\n/);
  assert.match(route, /\(25\.00%\): \/posts(\n|$)/);
  assert.match(tags.stdout, /tenant: Total .*\n\s+.*\(\s*100%\): a/);
  const focused = spawnSync('go', ['tool', 'pprof', '-top', '-sample_index=samples', '-tagfocus=route=/users', file], { encoding: 'utf8' });
  assert.equal(focused.status, 0, focused.stderr);
  assert.match(focused.stdout, /Showing nodes accounting for 30, 30(\.00)?% of 100 total/);
  assert.match(focused.stdout, / users$/m);
  assert.doesNotMatch(focused.stdout, / posts$/m);
});
