// End-to-end: the preload on real programs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, preload, root, runNode, tempDir, total } from '../lib/helpers.mjs';

test('line mode splits main() by call site: calc(200_000) gets about 2/3', () => {
  const dir = tempDir();
  const output = path.join(dir, 'calc.folded');
  const run = runNode(['-r', preload, path.join(root, 'examples', 'calc.js')], {
    env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_LINES: '1', SFPROF_OUTPUT: output },
  });
  assert.equal(run.status, 0, run.stderr);
  const stacks = parseFoldedFile(output);
  const mainLine = (line) => (s) => s.frames.some((f) => f === `main (examples/calc.js:${line})`);
  const source = fs.readFileSync(path.join(root, 'examples', 'calc.js'), 'utf8').split('\n');
  const line100k = source.findIndex((l) => /^\s*calc\(100_000\);/.test(l)) + 1;
  const line200k = source.findIndex((l) => /^\s*calc\(200_000\);/.test(l)) + 1;
  const first = total(stacks, mainLine(line100k));
  const second = total(stacks, mainLine(line200k));
  assert.ok(first + second >= 100, `too few samples under main: ${first} + ${second}\n${run.stderr}`);
  const share = second / (first + second);
  assert.ok(Math.abs(share - 2 / 3) <= 0.08, `calc(200_000) share ${(share * 100).toFixed(1)}%, expected 66.7% ± 8 pp`);
  // Function mode would have merged them: line mode must show two branches with calc below each.
  assert.ok(stacks.some((s) => mainLine(line100k)(s) && s.frames.some((f) => f.startsWith('calc ('))));
});

test('function mode: each frame carries the line where its function starts', () => {
  const dir = tempDir();
  const output = path.join(dir, 'calc.folded');
  const run = runNode(['-r', preload, path.join(root, 'examples', 'calc.js')], {
    env: { SFPROF_INTERVAL: '2ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output },
  });
  assert.equal(run.status, 0, run.stderr);
  const source = fs.readFileSync(path.join(root, 'examples', 'calc.js'), 'utf8').split('\n');
  const mainStart = source.findIndex((l) => l.startsWith('function main')) + 1;
  const frames = new Set(parseFoldedFile(output).flatMap((s) => s.frames));
  const mains = [...frames].filter((f) => f.startsWith('main ('));
  assert.deepEqual(mains, [`main (examples/calc.js:${mainStart})`]);
});

const exitCases = [
  { mode: 'normal', status: 0 },
  { mode: 'exit', status: 3 },
  { mode: 'exitCode', status: 5 },
  { mode: 'throw', status: 1, stderr: /boom from the app/ },
  { mode: 'reject', status: 1, stderr: /rejected by the app/ },
  // Without a handler these end the process by the signal, with no 'exit' event.
  { mode: 'SIGINT', status: null, signal: 'SIGINT' },
  { mode: 'SIGTERM', status: null, signal: 'SIGTERM' },
  { mode: 'SIGHUP', status: null, signal: 'SIGHUP' },
  // With one, the app decides: here it logs and ends with exit code 7.
  { mode: 'SIGINT', appHandler: 'on', status: 7, stdout: /app handled SIGINT/ },
  { mode: 'SIGTERM', appHandler: 'on', status: 7, stdout: /app handled SIGTERM/ },
  { mode: 'SIGTERM', appHandler: 'prepend-once', status: 7, stdout: /app handled SIGTERM/ },
];
for (const { mode, appHandler, status, signal = null, stderr, stdout } of exitCases) {
  const name = appHandler ? `${mode} with the app's handler (${appHandler})` : mode;
  test(`exit path "${name}": same exit status or signal as without sfprof, and a complete profile`, () => {
    const dir = tempDir();
    const output = path.join(dir, 'out-{pid}.folded');
    const appEnv = { EXIT_MODE: mode, APP_HANDLER: appHandler ?? 'none' };
    const env = { ...appEnv, SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output };
    const bare = runNode([path.join(fixtures, 'exit-paths.js')], { env: appEnv });
    const profiled = runNode(['-r', preload, path.join(fixtures, 'exit-paths.js')], { env });
    assert.equal(bare.status, status);
    assert.equal(bare.signal, signal);
    assert.equal(profiled.status, bare.status, profiled.stderr);
    assert.equal(profiled.signal, bare.signal, profiled.stderr);
    assert.equal(profiled.stdout, bare.stdout);
    if (stderr) assert.match(profiled.stderr, stderr);
    if (stdout) assert.match(profiled.stdout, stdout);
    assert.match(profiled.stderr, /sfprof: wrote \d+ samples to /);
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1, `expected one profile, got ${files.join(', ')}`);
    assert.match(files[0], /^out-\d+\.folded$/, 'no temporary file left behind, {pid} expanded');
    const stacks = parseFoldedFile(path.join(dir, files[0]));
    assert.ok(total(stacks, (s) => s.frames.some((f) => f.startsWith('spin ('))) > 10, 'spin() was sampled');
  });
}

const badEnvironments = [
  { name: 'SFPROF_INTERVAL', value: 'fast', message: /SFPROF_INTERVAL is "fast"; expected a duration from 100us to 1s/ },
  { name: 'SFPROF_INTERVAL', value: '10', message: /SFPROF_INTERVAL is "10"; expected a duration from 100us to 1s/ },
  { name: 'SFPROF_INTERVAL', value: '5s', message: /SFPROF_INTERVAL is "5s"/ },
  { name: 'SFPROF_LINES', value: 'maybe', message: /SFPROF_LINES is "maybe"; expected 1 or 0/ },
  { name: 'SFPROF_OUTPUT', value: 'some/dir/', message: /SFPROF_OUTPUT is "some\/dir\/"; expected a file path/ },
  { name: 'SFPROF_PERIOD', value: '10', message: /SFPROF_PERIOD is "10"; expected a duration from 1s to 24h with a unit/ },
  { name: 'SFPROF_PERIOD', value: '500ms', message: /SFPROF_PERIOD is "500ms"; expected a duration from 1s to 24h/ },
  { name: 'SFPROF_KEEP', value: '0', message: /SFPROF_KEEP is "0"; expected an integer from 1 to 100000/ },
  { name: 'SFPROF_KEEP', value: 'all', message: /SFPROF_KEEP is "all"; expected an integer from 1 to 100000/ },
  { name: 'SFPROF_LABEL_ROOT', value: 'route;x', message: /SFPROF_LABEL_ROOT is "route;x"; expected a label key such as route: not empty, without ";" or line breaks/ },
];
for (const { name, value, message } of badEnvironments) {
  test(`invalid ${name}=${value}: one line on stderr, profiling off, app unchanged`, () => {
    const dir = tempDir();
    const env = { EXIT_MODE: 'exit', SPIN_MS: '50', [name]: value };
    const bare = runNode([path.join(fixtures, 'exit-paths.js')], { env: { EXIT_MODE: 'exit', SPIN_MS: '50' }, cwd: dir });
    const profiled = runNode(['-r', preload, path.join(fixtures, 'exit-paths.js')], { env, cwd: dir });
    assert.equal(profiled.status, bare.status);
    assert.equal(profiled.stdout, bare.stdout);
    const lines = profiled.stderr.trim().split('\n');
    assert.equal(lines.length, 1, profiled.stderr);
    assert.match(lines[0], message);
    assert.match(lines[0], /not profiling/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });
}

test('the preload loads the network and process modules only for the features that need them', () => {
  // Loading node:http and node:https cost about 18 ms of the preload's start here; most processes
  // use neither the HTTP endpoint nor the push.
  const script = `console.log(JSON.stringify(['http', 'https', 'child_process'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m))))`;
  const dir = tempDir();
  const plain = runNode(['-r', preload, '-e', script], { env: { SFPROF_OUTPUT: path.join(dir, 'plain.folded'), SFPROF_PERIOD: '60s' } });
  assert.equal(plain.status, 0, plain.stderr);
  assert.deepEqual(JSON.parse(plain.stdout), [], 'nothing loaded for continuous mode alone');
  const pushing = runNode(['-r', preload, '-e', script], {
    env: { SFPROF_OUTPUT: path.join(dir, 'push.pb.gz'), SFPROF_PYROSCOPE_URL: 'https://127.0.0.1:9' },
  });
  assert.equal(pushing.status, 0, pushing.stderr);
  // An https:// backend: node:https (which does without the node:http module itself); the exit's
  // child process module only when the last period goes, after this line.
  assert.deepEqual(JSON.parse(pushing.stdout), ['https'], 'the pusher loads what it sends with');
});

test('the preload loads the source-map library only when a profile is mapped', () => {
  // Loading @jridgewell/trace-mapping costs about 5 ms; most processes run without source maps.
  const script = `console.log(JSON.stringify(Object.keys(require.cache).some((file) => file.includes('trace-mapping'))))`;
  const dir = tempDir();
  const plain = runNode(['-r', preload, '-e', script], { env: { SFPROF_OUTPUT: path.join(dir, 'plain.folded') } });
  assert.equal(plain.status, 0, plain.stderr);
  assert.equal(JSON.parse(plain.stdout), false, 'not loaded at start without source maps');
  const mapped = runNode(['-r', preload, '-e', script], { env: { SFPROF_OUTPUT: path.join(dir, 'mapped.folded'), SFPROF_SOURCE_MAPS: '1' } });
  assert.equal(mapped.status, 0, mapped.stderr);
  assert.equal(JSON.parse(mapped.stdout), false, 'not loaded at start with them either: only when a profile is taken');
});

test('at start the preload loads one file of sfprof and its addon: no pprof-format, no Node module the app did not load', () => {
  // Every process with the preload in NODE_OPTIONS pays at start for what it loads there: each file
  // costs a resolution, a read and a compile, so the package runs from one bundle (scripts/bundle.mjs)
  // and leaves pprof-format (needed at exit for pprof) and node:worker_threads (the main thread
  // is told apart by the addon) alone.
  const script =
    `const files = Object.keys(require.cache).map((file) => file.split(require('path').sep).join('/'));` +
    `const builtins = ['net', 'zlib', 'http', 'https', 'worker_threads', 'os'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));` +
    `console.log(JSON.stringify({ builtins, files }))`;
  const dir = tempDir();
  const bare = runNode(['-e', script]);
  assert.equal(bare.status, 0, bare.stderr);
  const run = runNode(['-r', preload, '-e', script], { env: { SFPROF_OUTPUT: path.join(dir, 'start.pb.gz') } });
  assert.equal(run.status, 0, run.stderr);
  const loaded = JSON.parse(run.stdout);
  const ours = loaded.files.filter((f) => !JSON.parse(bare.stdout).files.includes(f)).map((f) => path.relative(root, f).split(path.sep).join('/'));
  assert.deepEqual(ours.filter((f) => !f.endsWith('.node')), ['dist/bundle/auto.js', 'dist/bundle/load.js', 'dist/bundle/sfprof.js']);
  assert.equal(ours.filter((f) => f.endsWith('.node')).length, 1, ours.join());
  assert.deepEqual(loaded.builtins, JSON.parse(bare.stdout).builtins, 'no Node module the app did not load itself');
  assert.ok(fs.statSync(path.join(dir, 'start.pb.gz')).size > 0, 'the pprof writer and pprof-format still load at exit');
});

for (const [file, pprofFormat] of [['exit.folded', false], ['exit.pb.gz', true]]) {
  test(`at exit the preload loads pprof-format only for a pprof profile (${file})`, () => {
    const dir = tempDir();
    const hook = path.join(dir, 'after.cjs');
    // Preloaded after sfprof, so its exit listener runs after the profile was written.
    fs.writeFileSync(
      hook,
      `process.on('exit', () => process.stdout.write(JSON.stringify(Object.keys(require.cache).some((f) => f.split(require('path').sep).includes('pprof-format')))));`,
    );
    const run = runNode(['-r', preload, '-r', hook, '-e', '0'], { env: { SFPROF_OUTPUT: path.join(dir, file) } });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout), pprofFormat);
    assert.ok(fs.existsSync(path.join(dir, file)), 'the profile is written');
  });
}

test('a process that preloads sfprof and requires it has one profiler: the API sees the preload\'s session', () => {
  // The package by its folder: its main, as require('sfprof') finds it.
  const script = `const sfprof = require(${JSON.stringify(root)}); let x = 0; for (let i = 0; i < 2e7; i++) x += Math.sqrt(i);` +
    `console.log(JSON.stringify({ running: sfprof.isRunning(), samples: sfprof.stats()?.samplesRecorded ?? -1 }))`;
  const dir = tempDir();
  const run = runNode(['-r', preload, '-e', script], { env: { SFPROF_OUTPUT: path.join(dir, 'one.folded'), SFPROF_INTERVAL: '1ms' } });
  assert.equal(run.status, 0, run.stderr);
  const seen = JSON.parse(run.stdout);
  assert.equal(seen.running, true, 'the required API knows the preload started a session');
  assert.ok(seen.samples > 0, `its stats are the running session's: ${run.stdout}`);
});

test('the bundle loads through its code cache for this Node; a cache V8 rejects, or none, still profiles', () => {
  // A copy of the package whose cache can be spoiled without touching this one's.
  const copy = path.join(tempDir(), 'sfprof');
  fs.mkdirSync(path.join(copy, 'build', 'Release'), { recursive: true });
  fs.cpSync(path.join(root, 'dist'), path.join(copy, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(root, 'package.json'), path.join(copy, 'package.json'));
  fs.copyFileSync(createRequire(import.meta.url)('node-gyp-build').path(root), path.join(copy, 'build', 'Release', 'sfprof.node'));
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  const bundleDir = path.join(copy, 'dist', 'bundle');
  const caches = () => fs.readdirSync(bundleDir).filter((name) => name.endsWith('.cache'));
  const probe = (label) => {
    const output = path.join(tempDir(), 'cache.folded');
    const script = `let x = 0; for (let i = 0; i < 3e7; i++) x += Math.sqrt(i); console.log(require.cache[${JSON.stringify(path.join(bundleDir, 'sfprof.js'))}].codeCache)`;
    const run = runNode(['-r', path.join(bundleDir, 'auto.js'), '-e', script], { env: { SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms' } });
    assert.equal(run.status, 0, `${label}: ${run.stderr}`);
    assert.ok(total(parseFoldedFile(output)) > 0, `${label}: a profile with samples`);
    return run.stdout.trim();
  };
  // The build made one for the Node that ran it, npm pack (the package test) one per runtime.
  const ours = caches().filter((name) => name.includes(`.${process.versions.v8}-${process.arch}.`));
  assert.equal(ours.length, 1, `a cache for this Node's V8 (${process.versions.v8}): ${caches()}`);
  assert.equal(probe('with the cache'), 'used');
  fs.writeFileSync(path.join(bundleDir, ours[0]), Buffer.alloc(4096, 7));
  assert.equal(probe('with a spoiled cache'), 'rejected');
  for (const name of caches()) fs.rmSync(path.join(bundleDir, name));
  assert.equal(probe('without a cache'), 'none');
});

test('an unwritable output path is reported on stderr and does not change the exit status', () => {
  const run = runNode(['-r', preload, path.join(fixtures, 'exit-paths.js')], {
    env: { SPIN_MS: '50', SFPROF_OUTPUT: '/nonexistent-dir/x.folded' },
  });
  assert.equal(run.status, 0);
  assert.match(run.stderr, /could not write the profile to \/nonexistent-dir\/x\.folded/);
});

test('workers load the preload too (execArgv) and are left alone; the main thread profile is written', () => {
  const dir = tempDir();
  const output = path.join(dir, 'w.folded');
  const script = `
    const { Worker } = require('node:worker_threads');
    const w = new Worker('let x=0; const end=Date.now()+200; while(Date.now()<end) x++;', { eval: true });
    w.on('exit', (code) => { console.log('worker exit', code); });
  `;
  const run = runNode(['-r', preload, '-e', script], { env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output } });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /worker exit 0/);
  const stacks = parseFoldedFile(output);
  assert.ok(total(stacks) > 0);
  // The worker's CPU time lands as signals on a thread without a sampler: counted, not hidden.
  assert.ok(total(stacks, (s) => s.frames[0] === '[other threads]') > 0, 'worker time shows as [other threads]');
});

test('the package name resolves: node -r sfprof/auto through the exports map', () => {
  const dir = tempDir();
  const output = path.join(dir, 'self.folded');
  // From the package root, "sfprof/auto" resolves to this package itself (self-reference).
  const run = runNode(['-r', 'sfprof/auto', path.join(fixtures, 'exit-paths.js')], { env: { SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer' } });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(total(parseFoldedFile(output)) > 0);
});
