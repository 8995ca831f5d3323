// Output safety: function names with markup, quotes, separators, line breaks and huge lengths are
// escaped or truncated in every format, and an output path that cannot be written costs one line on
// stderr, never the app's exit status.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { readProfile, renderProfile } from '../../dist/formats/render.js';
import { MAX_TEXT_LENGTH } from '../../dist/model/profile.js';
import { fixtures, preload, root, runNode, tempDir } from '../lib/helpers.mjs';
import { emptyProfile } from '../lib/profiles.mjs';

const MARKUP = '<img src=x onerror=alert(1)></script><script>alert(2)</script>';
const HOSTILE = `${MARKUP}"double" 'single' \`tick\` a;b\nline\r\nbreak\u0000nul\u2028sep\u2029end\x1b[31m`;
const HUGE = 'H'.repeat(100_000);
const DATA_RE = /<script type="application\/json" id="sfprof-data">([^<]*)<\/script>/;

function hostileProfile() {
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, startLine: 1, column: 1, kind: 'js' });
  const hostile = p.internFrame({ name: HOSTILE, file: 'evil;"<b>".js', line: 2, startLine: 2, column: 1, kind: 'js' });
  const huge = p.internFrame({ name: HUGE, file: `/${'d'.repeat(50_000)}.js`, line: 3, startLine: 3, column: 1, kind: 'js' });
  p.addStack([main, hostile], 3);
  p.addStack([main, huge], 2);
  p.addStack([main, hostile, huge], 1);
  return p;
}

test('a huge name or file is cut to MAX_TEXT_LENGTH with an ellipsis when the frame is interned', () => {
  const p = hostileProfile();
  const huge = p.frames.find((f) => f.name.startsWith('HHH'));
  assert.equal(huge.name.length, MAX_TEXT_LENGTH);
  assert.ok(huge.name.endsWith('…'));
  assert.equal(huge.file.length, MAX_TEXT_LENGTH);
  // A surrogate pair at the cut is dropped whole, not split.
  const emoji = emptyProfile();
  const id = emoji.internFrame({ name: 'x'.repeat(MAX_TEXT_LENGTH - 2) + '😀'.repeat(10), kind: 'js' });
  const cut = emoji.frames[id].name;
  assert.ok(cut.length <= MAX_TEXT_LENGTH);
  assert.doesNotMatch(cut, /[\ud800-\udbff](?![\udc00-\udfff])/, 'no lone high surrogate');
});

test('folded: one line per stack, no control characters, ";" never splits a frame; reads back', () => {
  const text = renderProfile(hostileProfile(), 'folded');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 3);
  for (const line of lines) {
    assert.match(line, /^[^\r\n]+ \d+$/);
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(line, /[\x00-\x1f\x7f]/);
    assert.ok(line.length < 3 * (2 * MAX_TEXT_LENGTH + 20), 'labels are bounded');
  }
  const back = readProfile(Buffer.from(text), 'x.folded');
  assert.equal(back.totalSamples, 6);
  const depths = back.stackList.map((s) => s.frames.length).sort();
  assert.deepEqual(depths, [2, 2, 3], '";" inside a name did not add frames');
});

test('pprof and .cpuprofile keep hostile names as data (truncated when huge) and read back', () => {
  for (const format of ['pprof', 'cpuprofile']) {
    const data = renderProfile(hostileProfile(), format);
    const back = readProfile(typeof data === 'string' ? Buffer.from(data) : data, `x.${format}`);
    assert.equal(back.totalSamples, 6, format);
    const names = back.frames.map((f) => f.name);
    assert.ok(names.includes(HOSTILE), `${format} keeps the hostile name exactly`);
    const huge = names.find((n) => n.startsWith('HHH'));
    assert.equal(huge.length, MAX_TEXT_LENGTH, `${format} name cut`);
    if (format === 'cpuprofile') assert.doesNotThrow(() => JSON.parse(data));
  }
});

test('HTML: the embedded data has no "<" and no raw U+2028/2029, and parses to the same names', () => {
  const page = renderProfile(hostileProfile(), 'html', { title: `${MARKUP} title` });
  const match = DATA_RE.exec(page);
  assert.ok(match, 'the data block ends at its own </script>, not at one inside a name');
  assert.doesNotMatch(match[1], /[<\u2028\u2029]/);
  const data = JSON.parse(match[1]);
  const names = data.frames.map((f) => f[0]);
  assert.ok(names.includes(HOSTILE));
  assert.equal(names.find((n) => n.startsWith('HHH')).length, MAX_TEXT_LENGTH);
  assert.doesNotMatch(page, /<img/, 'no markup from names or the title reaches the page');
  assert.match(page, /<title>&#60;img src=x/);
});

test('sfprof top prints hostile names on one row each, with no terminal control sequences', () => {
  const dir = tempDir();
  const file = path.join(dir, 'hostile.pb.gz');
  fs.writeFileSync(file, renderProfile(hostileProfile(), 'pprof'));
  const run = runNode([path.join(root, 'bin', 'sfprof.js'), 'top', file]);
  assert.equal(run.status, 0, run.stderr);
  const rows = run.stdout.trimEnd().split('\n');
  assert.equal(rows.length, 2 + 3, run.stdout);
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(run.stdout, /[\x00-\x09\x0b-\x1f\x7f\u2028\u2029]/);
});

const HOSTILE_FIXTURE = path.join(fixtures, 'hostile-names.js');

for (const format of ['folded', 'pprof', 'cpuprofile', 'html']) {
  test(`an app with hostile and 100,000-character function names, written as ${format}`, () => {
    const dir = tempDir();
    const output = path.join(dir, `out.${format === 'folded' ? 'folded' : format === 'pprof' ? 'pb.gz' : format}`);
    const run = runNode(['-r', preload, HOSTILE_FIXTURE], {
      env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output, SFPROF_FORMAT: format },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'app ran\n');
    const data = fs.readFileSync(output);
    let names;
    if (format === 'html') {
      const match = DATA_RE.exec(data.toString('utf8'));
      assert.ok(match);
      assert.doesNotMatch(match[1], /[<\u2028\u2029]/);
      names = JSON.parse(match[1]).frames.map((f) => ({ name: f[0], where: f[1] }));
    } else {
      names = readProfile(data, output).frames.map((f) => ({ name: f.name, where: f.file ?? '' }));
    }
    const hostile = names.find((f) => f.name.startsWith('<img src=x onerror=alert(1)>'));
    assert.ok(hostile, 'the hostile function was sampled');
    // Its file was still found behind the line breaks in its name.
    assert.match(hostile.where, /test[\\/]fixtures[\\/]hostile-names\.js/);
    const long = names.find((f) => f.name.startsWith('LLLL'));
    assert.ok(long, 'the long-named function was sampled');
    assert.equal(long.name.length, MAX_TEXT_LENGTH);
    if (format === 'folded') {
      for (const line of data.toString('utf8').trimEnd().split('\n')) assert.match(line, /^[^\r\n]+ \d+$/);
    }
  });
}

function unwritableDirectory(dir) {
  // Root writes through file modes; sysfs refuses to create files for anyone.
  if (process.getuid?.() === 0) return '/sys';
  const locked = path.join(dir, 'locked');
  fs.mkdirSync(locked, { mode: 0o555 });
  return locked;
}

const unwritable = [
  { what: 'a missing directory', output: (dir) => path.join(dir, 'missing', 'x.folded') },
  { what: 'an existing directory', output: (dir) => dir },
  { what: 'a path under a regular file', output: (dir) => (fs.writeFileSync(path.join(dir, 'file'), ''), path.join(dir, 'file', 'x.folded')) },
  { what: 'a directory the user cannot write', output: (dir) => path.join(unwritableDirectory(dir), 'x.folded') },
];
for (const { what, output } of unwritable) {
  test(`output to ${what}: one line on stderr, the app's exit status and output untouched`, () => {
    const dir = tempDir();
    const target = output(dir);
    const env = { EXIT_MODE: 'exit', SPIN_MS: '50' };
    const bare = runNode([path.join(fixtures, 'exit-paths.js')], { env });
    const profiled = runNode(['-r', preload, path.join(fixtures, 'exit-paths.js')], {
      env: { ...env, SFPROF_OUTPUT: target, SFPROF_FORMAT: 'folded' },
    });
    assert.equal(bare.status, 3);
    assert.equal(profiled.status, bare.status);
    assert.equal(profiled.signal, null);
    assert.equal(profiled.stdout, bare.stdout);
    const lines = profiled.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, profiled.stderr);
    assert.ok(lines[0].startsWith(`sfprof: could not write the profile to ${target}: `), lines[0]);
    assert.doesNotMatch(lines[0], /\n|\s+at /, 'no stack trace');
    const left = fs.readdirSync(dir).filter((f) => /sfprof|\.tmp/.test(f));
    assert.deepEqual(left, [], 'no temporary file left behind');
  });
}
