// sfprof diff end to end: the bin reads two profiles and writes the HTML page, the folded diff and the
// pprof diff that go tool pprof reads; bad options and files are refused with the reason.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { requireTool, root, runNode, tempDir, toolWorks } from '../lib/helpers.mjs';

const bin = path.join(root, 'bin', 'sfprof.js');
const sum = (values) => values.reduce((a, b) => a + b, 0);

// calc shrank from 6 to 3, fast is new, the GC stayed, main's own samples are gone.
const BEFORE = 'main (app.js:1);calc (app.js:9) 6\nmain (app.js:1) 2\n(garbage collector) 2\n';
const AFTER = 'main (app.js:1);calc (app.js:9) 3\nmain (app.js:1);fast (app.js:20) 4\n(garbage collector) 2\n';
const FOLDED_DIFF = [
  '(garbage collector) 2 2',
  'main (app.js:1) 2 0',
  'main (app.js:1);calc (app.js:9) 6 3',
  'main (app.js:1);fast (app.js:20) 0 4',
  '',
].join('\n');

function inputs() {
  const dir = tempDir();
  const before = path.join(dir, 'before.folded');
  const after = path.join(dir, 'after.folded');
  fs.writeFileSync(before, BEFORE);
  fs.writeFileSync(after, AFTER);
  return { dir, before, after };
}

test('diff -o diff.html writes a page with both profiles: meta.diff and the base samples per node', () => {
  const { dir, before, after } = inputs();
  const output = path.join(dir, 'diff.html');
  const run = runNode([bin, 'diff', before, after, '-o', output]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout, '');
  const page = fs.readFileSync(output, 'utf8');
  assert.match(page, /^<!DOCTYPE html>/i);
  assert.match(page, /<title>sfprof diff: before\.folded \u2192 after\.folded<\/title>/);
  const json = /<script type="application\/json" id="sfprof-data">([\s\S]*?)<\/script>/.exec(page)[1];
  const data = JSON.parse(json);
  assert.equal(data.meta.total, 9);
  assert.deepEqual(data.meta.diff, { baseTotal: 10, baseName: before, newName: after });
  assert.ok(Array.isArray(data.base), 'the old profile\'s samples per node');
  assert.equal(sum(data.base), 10);
  const titled = runNode([bin, 'diff', before, after, '--format', 'html', '--title', 'calc <fix>']);
  assert.equal(titled.status, 0, titled.stderr);
  assert.match(titled.stdout, /<title>calc &#60;fix&#62;<\/title>/);
});

test('diff writes the folded diff to stdout by default, and to -o diff.folded; either input may be -', () => {
  const { dir, before, after } = inputs();
  const toStdout = runNode([bin, 'diff', before, after]);
  assert.equal(toStdout.status, 0, toStdout.stderr);
  assert.equal(toStdout.stdout, FOLDED_DIFF);
  const output = path.join(dir, 'diff.folded');
  const toFile = runNode([bin, 'diff', before, after, '-o', output]);
  assert.equal(toFile.status, 0, toFile.stderr);
  assert.equal(fs.readFileSync(output, 'utf8'), FOLDED_DIFF);
  const fromStdin = runNode([bin, 'diff', '-', after], { input: BEFORE });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.equal(fromStdin.stdout, FOLDED_DIFF);
});

test('diff matches stacks across formats: a profile against its own pprof and .cpuprofile has equal columns', () => {
  const { dir, before } = inputs();
  for (const name of ['same.pb.gz', 'same.cpuprofile']) {
    const converted = path.join(dir, name);
    const report = runNode([bin, 'report', before, '-o', converted]);
    assert.equal(report.status, 0, report.stderr);
    const run = runNode([bin, 'diff', before, converted]);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3, run.stdout);
    for (const line of lines) {
      const [, , beforeCount, afterCount] = /^(.+) (\d+) (\d+)$/.exec(line);
      assert.equal(beforeCount, afterCount, `${name}: ${line}`);
    }
  }
});

const goWorks = toolWorks('go', ['version']);

test('diff -o diff.pb.gz: go tool pprof -top shows what grew and what shrank', (t) => {
  if (!requireTool(t, 'go', goWorks, 'golang-go')) return;
  const { dir, before, after } = inputs();
  const output = path.join(dir, 'diff.pb.gz');
  const run = runNode([bin, 'diff', before, after, '-o', output]);
  assert.equal(run.status, 0, run.stderr);
  const top = spawnSync('go', ['tool', 'pprof', '-top', output], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(top.status, 0, top.stderr);
  const flat = new Map();
  for (const match of top.stdout.matchAll(/^\s*(-?\d+)\s+-?[\d.]+%\s+-?[\d.]+%\s+-?\d+\s+-?[\d.]+%\s+(\S+)\s*$/gm)) flat.set(match[2], Number(match[1]));
  assert.deepEqual(Object.fromEntries(flat), { fast: 4, calc: -3, main: -2 }, top.stdout);
  const raw = spawnSync('go', ['tool', 'pprof', '-raw', output], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(raw.status, 0, raw.stderr);
  assert.ok(raw.stdout.includes(`Comment: sfprof.diff.base=${before}\n`), raw.stdout);
  assert.ok(raw.stdout.includes(`Comment: sfprof.diff.new=${after}\n`), raw.stdout);
});

test('diff: bad options and unreadable files exit with the reason, naming the option or the file', () => {
  const { dir, before, after } = inputs();
  const diffPprof = path.join(dir, 'diff.pb.gz');
  assert.equal(runNode([bin, 'diff', before, after, '-o', diffPprof]).status, 0);
  const cases = [
    [[before], 2, /^sfprof diff: expected two input files, <base> and <new>, got 1: ".*before\.folded" \(see sfprof diff --help\)$/],
    [[before, after, '--format', 'svg'], 2, /^sfprof diff: --format is "svg"; expected one of html, folded, pprof$/],
    [[before, after, '-o', path.join(dir, 'd.cpuprofile')], 2, /^sfprof diff: --output is ".*d\.cpuprofile"; a diff is written as html \(\.html\), folded/],
    [[before, after, '--title', 'T'], 2, /^sfprof diff: --title applies to the html format only, and the output is folded$/],
    [[before, path.join(dir, 'missing.folded')], 1, /^sfprof diff: cannot read .*missing\.folded: no such file$/],
    [[diffPprof, after], 1, /^sfprof diff: .*diff\.pb\.gz \(pprof\): a differential profile \(written by sfprof diff\) holds differences, not samples/],
  ];
  for (const [args, status, message] of cases) {
    const run = runNode([bin, 'diff', ...args]);
    assert.equal(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr.trimEnd(), message);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(run.stdout, '');
  }
  assert.ok(!fs.existsSync(path.join(dir, 'd.cpuprofile')));
});

test('diff --help and the main help tell of diff and its outputs', () => {
  const help = runNode([bin, 'diff', '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: sfprof diff <base> <new> \[options\]/);
  for (const text of ['--output', '--format', '--title', 'html', 'folded', 'pprof']) assert.ok(help.stdout.includes(text), text);
  assert.match(runNode([bin, '--help']).stdout, /sfprof diff <base> <new>/);
});
