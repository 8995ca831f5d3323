// The sfprof bin end to end: help, errors, exit status passthrough, a recorded profile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { readProfile, renderProfile } from '../../dist/formats/render.js';
import { emptyProfile } from '../lib/html-profiles.mjs';
import { fixtures, parseFoldedFile, preload, root, runNode, tempDir, total } from '../lib/helpers.mjs';

const bin = path.join(root, 'bin', 'sfprof.js');

test('--help prints usage and exits 0; a bad option exits 2 naming it', () => {
  const help = runNode([bin, '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /sfprof record \[options\] \[--\] <command>/);
  assert.match(help.stdout, /sfprof report <file>/);
  assert.match(help.stdout, /sfprof top <file>/);
  assert.match(runNode([bin, 'record', '--help']).stdout, /--interval/);
  const bad = runNode([bin, 'record', '--interval', 'soon', '--', 'node', '-e', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--interval is "soon"; expected a duration from 100us to 1s/);
});

test('record writes the profile of the child and passes its exit code through', () => {
  const dir = tempDir();
  const output = path.join(dir, 'rec.folded');
  const run = runNode([bin, 'record', '-i', '1ms', '-o', output, '--', process.execPath, path.join(fixtures, 'exit-paths.js')], {
    env: { EXIT_MODE: 'exit' },
  });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /app ran/);
  assert.ok(total(parseFoldedFile(output), (s) => s.frames.some((f) => f.startsWith('spin ('))) > 10);
});

test('record of an app in continuous mode prints its summary: the period files, not a missing profile', () => {
  const dir = tempDir();
  const run = runNode([bin, 'record', '-o', path.join(dir, 'app.pb.gz'), '--', process.execPath, path.join(fixtures, 'busy-slices.js')], {
    env: { RUN_MS: '2500', SFPROF_PERIOD: '1s' },
  });
  assert.equal(run.status, 0, run.stderr);
  const files = fs.readdirSync(dir).sort();
  assert.ok(files.length >= 2, files.join());
  const samples = files.reduce((sum, file) => sum + readProfile(fs.readFileSync(path.join(dir, file)), file).totalSamples, 0);
  assert.match(run.stderr, new RegExp(`sfprof: process \\d+: ${samples} samples over `));
  assert.match(run.stderr, new RegExp(`wrote pprof to ${files.length} period files, the newest ${files.length} kept \\(the last: .*${files.at(-1).replace(/\./g, '\\.')}\\)`));
  assert.doesNotMatch(run.stderr, /no profile was written/);
});

test('record reports a child killed by a signal like a shell does', () => {
  const pipe = runNode([bin, 'record', '--', 'sh', '-c', 'kill -PIPE $$']);
  assert.equal(pipe.status, 128 + 13);
  const term = runNode([bin, 'record', '--', 'sh', '-c', 'kill -TERM $$']);
  assert.equal(term.signal, 'SIGTERM');
});

test('Ctrl-C during record: the Node child writes its profile and dies of SIGINT, record reports and does too', () => {
  const dir = tempDir();
  const output = path.join(dir, 'rec.folded');
  // The child sends SIGINT to its whole process group, as a terminal's Ctrl-C does; `detached` gives
  // record a group of its own, so the test runner is not in it.
  const app = "const end = Date.now() + 300; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); process.kill(0, 'SIGINT'); setTimeout(() => {}, 30000);";
  const run = spawnSync(process.execPath, [bin, 'record', '-i', '1ms', '-o', output, '--', process.execPath, '-e', app], {
    encoding: 'utf8',
    detached: true,
    timeout: 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(run.signal, 'SIGINT', run.stderr);
  assert.match(run.stderr, new RegExp(`wrote folded to ${output.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.ok(total(parseFoldedFile(output), () => true) > 10, 'the profile holds the samples');
});

test('record of a command that does not exist exits 127 with a message', () => {
  const run = runNode([bin, 'record', '--', 'no-such-command-sfprof']);
  assert.equal(run.status, 127);
  assert.match(run.stderr, /could not start "no-such-command-sfprof"/);
  assert.ok(!fs.existsSync(path.join(root, 'sfprof-undefined.folded')));
});

const calcJs = path.join(root, 'examples', 'calc.js');

test('record writes every format, named by --format or by the extension, and prints the summary', () => {
  const dir = tempDir();
  const runs = [
    ['folded', ['-o', path.join(dir, 'p.folded')]],
    ['pprof', ['-o', path.join(dir, 'p.pb.gz')]],
    ['cpuprofile', ['--format', 'cpuprofile', '-o', path.join(dir, 'p.cpuprofile')]],
    ['html', ['-f', 'html', '-o', path.join(dir, 'p.html')]],
  ];
  for (const [format, flags] of runs) {
    const run = runNode([bin, 'record', '-i', '1ms', '-t', 'itimer', ...flags, '--', process.execPath, calcJs], { env: { CALC_SCALE: '0.3' } });
    assert.equal(run.status, 0, run.stderr);
    const output = flags.at(-1);
    assert.match(run.stderr, new RegExp(`^sfprof: process \\d+: (\\d+) samples over \\d+\\.\\d\\d s, engine itimer \\(requested\\)$`, 'm'));
    assert.match(run.stderr, /^  rate: requested 1000 Hz \(1000 us\), achieved \d+ Hz of process CPU, \d+ Hz of JS-thread CPU$/m);
    assert.match(run.stderr, /^  drops: \d+ lost \(\d+ ring full, \d+ while paused\), \d+ on other threads, \d+ truncated stacks$/m);
    assert.ok(run.stderr.includes(`  wrote ${format} to ${output}\n`), run.stderr);
    // mix's loop is the work; optimized, it runs inlined in calc and is named as such.
    assert.match(run.stderr, /^  top functions by self samples:\n +\d+ +\d+\.\d% +mix \(examples\/calc\.js:13\)$/m);
    const samples = Number(/ (\d+) samples over/.exec(run.stderr)[1]);
    if (format === 'html') {
      assert.match(fs.readFileSync(output, 'utf8'), /^<!DOCTYPE html>/i);
      continue;
    }
    const profile = readProfile(fs.readFileSync(output), output);
    assert.equal(profile.totalSamples, samples, `${format}: samples in the file equal the summary's`);
  }
  // The default name follows the format.
  const cwd = tempDir();
  const run = runNode([bin, 'record', '-f', 'pprof', '--', process.execPath, '-e', 'for (let i = 0; i < 1e7; i++);'], { cwd });
  assert.equal(run.status, 0, run.stderr);
  const files = fs.readdirSync(cwd);
  assert.equal(files.length, 1);
  assert.match(files[0], /^sfprof-\d+\.pb\.gz$/);
  assert.ok(run.stderr.includes(path.join(cwd, files[0])));
});

test('record --tiers marks JS frames in folded output', () => {
  const dir = tempDir();
  const output = path.join(dir, 't.folded');
  const run = runNode([bin, 'record', '-i', '1ms', '--tiers', '-o', output, '--', process.execPath, calcJs], { env: { CALC_SCALE: '0.3' } });
  assert.equal(run.status, 0, run.stderr);
  const text = fs.readFileSync(output, 'utf8');
  assert.match(text, /calc \(examples\/calc\.js:21\)_\[j\]/);
  assert.match(text, /\(node:internal[^)]*\)_\[[ij]\]/);
});

test('the talk\'s pipeline: the app writes folded stacks to stdout, report turns them into HTML', () => {
  const dir = tempDir();
  const quiet = path.join(dir, 'quiet.js');
  fs.writeFileSync(quiet, 'function spin(){let s=0;for(let i=0;i<4e7;i++)s+=i%7;return s}\nspin();\n');
  const html = path.join(dir, 'flame.html');
  const command = `SFPROF_OUTPUT=- "${process.execPath}" -r "${preload}" "${quiet}" | "${process.execPath}" "${bin}" report - --format html > "${html}"`;
  const run = spawnSync('sh', ['-c', command], { encoding: 'utf8', cwd: dir });
  assert.equal(run.status, 0, run.stderr);
  const page = fs.readFileSync(html, 'utf8');
  assert.match(page, /spin/);
  assert.match(page, /^<!DOCTYPE html>/i);
});

test('report converts folded and pprof input, to stdout or a file; top prints self and total', () => {
  const dir = tempDir();
  const folded = path.join(dir, 'in.folded');
  fs.writeFileSync(folded, 'main (app.js:1);calc (app.js:9) 6\nmain (app.js:1) 2\n(garbage collector) 2\n');
  const toPprof = runNode([bin, 'report', folded, '-o', path.join(dir, 'out.pb.gz')]);
  assert.equal(toPprof.status, 0, toPprof.stderr);
  assert.equal(toPprof.stdout, '');
  const back = runNode([bin, 'report', path.join(dir, 'out.pb.gz')]);
  assert.equal(back.status, 0, back.stderr);
  assert.equal(back.stdout, fs.readFileSync(folded, 'utf8').split('\n').filter(Boolean).sort().join('\n') + '\n');
  const fromStdin = runNode([bin, 'report', '-', '-f', 'cpuprofile'], { input: fs.readFileSync(folded, 'utf8') });
  assert.equal(fromStdin.status, 0, fromStdin.stderr);
  assert.equal(JSON.parse(fromStdin.stdout).samples.length, 10);
  const top = runNode([bin, 'top', path.join(dir, 'out.pb.gz'), '-n', '2']);
  assert.equal(top.status, 0, top.stderr);
  assert.equal(
    top.stdout,
    [
      '10 samples',
      '    self  self%    total total%  function',
      '       6  60.0%        6  60.0%  calc (app.js:9)',
      '       2  20.0%        8  80.0%  main (app.js:1)',
      '',
    ].join('\n'),
  );
});

test('report --label-root route: a labelled pprof becomes folded stacks rooted by route; a bad key exits 2', () => {
  const dir = tempDir();
  const p = emptyProfile();
  const main = p.internFrame({ name: 'main', file: 'app.js', line: 1, kind: 'js' });
  const handle = p.internFrame({ name: 'handle', file: 'app.js', line: 5, kind: 'js' });
  p.addStack([main, handle], 3, undefined, undefined, p.internLabels({ route: '/users/:id', tenant: 'a' }));
  p.addStack([main, handle], 1, undefined, undefined, p.internLabels({ route: '/posts' }));
  p.addStack([main], 2);
  const input = path.join(dir, 'in.pb.gz');
  fs.writeFileSync(input, renderProfile(p, 'pprof'));
  const output = path.join(dir, 'out.folded');
  const run = runNode([bin, 'report', '--label-root', 'route', input, '-o', output]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(
    fs.readFileSync(output, 'utf8'),
    '[route=/posts];main (app.js:1);handle (app.js:5) 1\n[route=/users/:id];main (app.js:1);handle (app.js:5) 3\nmain (app.js:1) 2\n',
  );
  // Without the option the routes are one line; read back, the root frame is synthetic again.
  assert.equal(runNode([bin, 'report', input]).stdout, 'main (app.js:1) 2\nmain (app.js:1);handle (app.js:5) 4\n');
  assert.equal(readProfile(fs.readFileSync(output), output).frames.find((f) => f.name === '[route=/posts]').kind, 'synthetic');
  const bad = runNode([bin, 'report', input, '--label-root', 'a;b']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr, 'sfprof: --label-root is "a;b"; expected a label key such as route: not empty, without ";" or line breaks\n');
});

test('usage errors exit 2, unreadable or malformed files exit 1, each with the reason and no stack trace', () => {
  const dir = tempDir();
  const cases = [
    [['report'], 2, /^sfprof report: no input file given; use - for standard input/],
    [['report', 'x', '--format', 'svg'], 2, /^sfprof: --format is "svg"; expected one of folded, pprof, cpuprofile, html$/],
    [['top', 'x', '-n', 'many'], 2, /^sfprof top: -n\/--count is "many"; expected a whole number from 1 to 100000$/],
    [['frob'], 2, /^sfprof: unknown command "frob"/],
    [['report', path.join(dir, 'missing.folded')], 1, /^sfprof report: cannot read .*missing\.folded: no such file$/],
    [['top', dir], 1, /^sfprof top: cannot read .*: it is a directory$/],
  ];
  const bad = path.join(dir, 'bad.folded');
  fs.writeFileSync(bad, 'a;b 1\na;b;c twelve\n');
  cases.push([['report', bad], 1, /^sfprof report: .*bad\.folded \(folded\): line 2: expected "frame;frame;… count" with a whole-number count, got "a;b;c twelve"$/]);
  const html = path.join(dir, 'x.html');
  fs.writeFileSync(html, '<!DOCTYPE html><html></html>');
  cases.push([['top', html], 1, /an HTML flame graph cannot be read back/]);
  cases.push([['report', bad, '-o', path.join(dir, 'no', 'such', 'dir', 'out.folded')], 1, /line 2/]);
  const good = path.join(dir, 'good.folded');
  fs.writeFileSync(good, 'a;b 1\n');
  cases.push([['report', good, '-o', path.join(dir, 'no', 'such', 'dir', 'out.folded')], 1, /^sfprof report: cannot write .*out\.folded: ENOENT/]);
  for (const [args, status, pattern] of cases) {
    const run = runNode([bin, ...args]);
    assert.equal(run.status, status, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr.trimEnd(), pattern, args.join(' '));
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('outputs: a symlink is followed, a FIFO is written in place, not replaced', () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.folded');
  fs.writeFileSync(input, 'a;b 2\n');
  fs.writeFileSync(path.join(dir, 'real.folded'), 'old\n');
  fs.symlinkSync('real.folded', path.join(dir, 'link.folded'));
  const viaLink = runNode([bin, 'report', input, '-o', path.join(dir, 'link.folded')]);
  assert.equal(viaLink.status, 0, viaLink.stderr);
  assert.ok(fs.lstatSync(path.join(dir, 'link.folded')).isSymbolicLink());
  assert.equal(fs.readFileSync(path.join(dir, 'real.folded'), 'utf8'), 'a;b 2\n');
  const fifo = path.join(dir, 'out.fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawnSync('sh', ['-c', `cat "${fifo}" > "${fifo}.got" & "${process.execPath}" "${bin}" report "${input}" -o "${fifo}"; wait`], { encoding: 'utf8' });
  assert.equal(reader.status, 0, reader.stderr);
  assert.ok(fs.statSync(fifo).isFIFO(), 'still a FIFO');
  assert.equal(fs.readFileSync(`${fifo}.got`, 'utf8'), 'a;b 2\n');
});

test('record without a usable temporary directory still runs the command and writes the profile', () => {
  const dir = tempDir();
  const output = path.join(dir, 'p.folded');
  const run = runNode([bin, 'record', '-o', output, '--', process.execPath, '-e', 'for (let i = 0; i < 3e7; i++);'], {
    env: { TMPDIR: path.join(dir, 'missing') },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^sfprof record: no summary this time \(cannot create a directory in /m);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
  assert.ok(fs.existsSync(output));
});

test('a process that outlives record (its summary file gone) reports on stderr instead', () => {
  const dir = tempDir();
  const output = path.join(dir, 'late.folded');
  const run = runNode(['-r', preload, '-e', 'for (let i = 0; i < 3e7; i++);'], {
    env: { SFPROF_OUTPUT: output, SFPROF_SUMMARY_FILE: path.join(dir, 'gone', 'summary.jsonl') },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^sfprof: wrote \d+ samples to .*late\.folded/m);
  assert.doesNotMatch(run.stderr, /could not write/);
  assert.ok(fs.existsSync(output));
});

test('record: flags win over SFPROF_FORMAT from the shell', () => {
  const dir = tempDir();
  const output = path.join(dir, 'p.html');
  const run = runNode([bin, 'record', '-o', output, '--', process.execPath, '-e', 'for (let i = 0; i < 3e7; i++);'], {
    env: { SFPROF_FORMAT: 'pprof' },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /wrote html to /);
  assert.match(fs.readFileSync(output, 'utf8'), /^<!DOCTYPE html>/i);
});

test('--help on every command tells the truth about its options', () => {
  for (const verb of ['record', 'report', 'top']) {
    const run = runNode([bin, verb, '--help']);
    assert.equal(run.status, 0);
    assert.match(run.stdout, new RegExp(`^Usage: sfprof ${verb} `));
  }
  const version = runNode([bin, '--version']);
  assert.equal(version.stdout.trim(), JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
});
