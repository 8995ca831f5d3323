// The published package: packed, installed into a fresh project with install scripts disabled (as
// npm 11 does for dependencies by default), and used the three ways people use it.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';

import { parseFoldedFile, requireTool, root, tempDir, total } from '../lib/helpers.mjs';
import { emulatedEnv, ensureArm64Emulation } from '../../scripts/arm64-emulation.mjs';
import { currentRuntime, declaredRuntimes, elfArch, installedRuntimes, toolchainFor } from '../../scripts/runtimes.mjs';

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let project;
let installed;

const app = `function spin(ms) { const u = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; }; const e = u() + ms; let x = 0; while (u() < e) for (let i = 0; i < 1000; i++) x += Math.sqrt(x + 1); return x; }
spin(300);
console.log('app ran');
`;

function run(command, args, options = {}) {
  return spawnSync(command, args, { cwd: project, encoding: 'utf8', timeout: 120_000, ...options, env: { ...process.env, NODE_OPTIONS: '', ...options.env } });
}

/** `run` without blocking the test process, so emulated runs can overlap: {status, stdout, stderr}. */
function runAsync(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: project, timeout: 240_000, ...options, env: { ...process.env, NODE_OPTIONS: '', ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    child.on('error', (error) => resolve({ status: null, stdout, stderr: `${stderr}${error.message}` }));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

before(() => {
  const packDir = tempDir('sfprof-pack-');
  // prepack builds the prebuild for this platform and Node ABI into the tarball.
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--pack-destination', packDir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  const tarball = path.join(packDir, packed[0].filename);
  project = tempDir('sfprof-consumer-');
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  const install = run(npm, ['install', tarball, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error']);
  assert.equal(install.status, 0, install.stderr);
  installed = path.join(project, 'node_modules', 'sfprof');
  fs.writeFileSync(path.join(project, 'app.js'), app);
  fs.writeFileSync(path.join(project, 'app.mjs'), app);
  fs.copyFileSync(path.join(root, 'examples', 'calc.js'), path.join(project, 'calc.js'));
});

test('the tarball carries dist, a stripped prebuild and no sources of tests', () => {
  const prebuild = path.join(installed, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${process.versions.modules}.node`);
  assert.ok(fs.existsSync(prebuild), 'prebuild present');
  assert.ok(fs.existsSync(path.join(installed, 'dist', 'bundle', 'auto.js')));
  assert.ok(fs.existsSync(path.join(installed, 'binding.gyp')), 'sources for a fallback build');
  assert.ok(!fs.existsSync(path.join(installed, 'test')));
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'no local build: scripts were disabled');
});

test('node -r sfprof/auto writes a profile, from the prebuild', () => {
  const output = path.join(project, 'cjs.folded');
  const result = run(process.execPath, ['-r', 'sfprof/auto', 'app.js'], { env: { SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms' } });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /app ran/);
  assert.ok(total(parseFoldedFile(output), (s) => s.frames.some((f) => f.startsWith('spin (app.js:'))) > 10);
  const which = run(process.execPath, ['-e', "const s = require('sfprof'); s.start(); s.stop(); console.log(s.nativePath())"]);
  assert.match(which.stdout.trim(), /node_modules\/sfprof\/prebuilds\/.*\/sfprof\.abi\d+\.node$/);
});

// Every supported Node besides the one running the tests (runtimes/package.json; npm run runtimes),
// and the arm64 builds of all of them (runtimes/arm64/package.json), run under qemu-user on x64.
const RUNTIMES = declaredRuntimes().filter((name) => /^node-\d+$/.test(name));
const ARM64_RUNTIMES = declaredRuntimes().filter((name) => /^node-\d+-arm64$/.test(name));

test('the tarball carries a prebuild for every supported Node ABI', (t) => {
  const installedNow = installedRuntimes();
  if (!requireTool(t, 'the Node runtimes of runtimes/package.json', RUNTIMES.every((name) => installedNow.some((r) => r.name === name)), 'npm run runtimes')) return;
  const dir = path.join(installed, 'prebuilds', `${process.platform}-${process.arch}`);
  // The Node that packed (npm's) and every runtime; the tests may run under any of them.
  const abis = new Set([Number(process.versions.modules), ...installedNow.filter((r) => r.arch === process.arch).map((r) => r.abi)]);
  const shipped = fs.readdirSync(dir);
  for (const abi of abis) assert.ok(shipped.includes(`sfprof.abi${abi}.node`), `no prebuild for ABI ${abi}: ${shipped.join(', ')}`);
  assert.deepEqual(shipped.filter((name) => !/^sfprof\.abi\d+\.node$/.test(name)), []);
});

test('the tarball carries a stripped linux-arm64 prebuild for every supported Node ABI', (t) => {
  const arm64 = installedRuntimes().filter((r) => r.arch === 'arm64');
  if (!requireTool(t, 'the arm64 Node runtimes of runtimes/arm64/package.json', arm64.length === ARM64_RUNTIMES.length, 'npm run runtimes')) return;
  if (process.arch !== 'arm64' && !requireTool(t, 'an arm64 cross compiler', toolchainFor('arm64') !== undefined, 'g++-aarch64-linux-gnu')) return;
  const dir = path.join(installed, 'prebuilds', 'linux-arm64');
  assert.deepEqual(fs.readdirSync(dir).sort(), arm64.map((r) => `sfprof.abi${r.abi}.node`).sort());
  for (const name of fs.readdirSync(dir)) {
    const file = path.join(dir, name);
    assert.equal(elfArch(file), 'arm64', name);
    const sections = spawnSync('readelf', ['-S', '-W', file], { encoding: 'utf8' });
    assert.equal(sections.status, 0, sections.stderr);
    assert.doesNotMatch(sections.stdout, /\.symtab\b/, `${name} is not stripped`);
  }
});

/**
 * Profiles examples/calc.js in the consumer with `runtime`'s node and checks the split and the
 * prebuild it loaded. `runner` is `run`, or `runAsync` for runs that may overlap.
 */
async function profileCalc(runtime, { env = process.env, engine = 'itimer', runner = run } = {}) {
  const output = path.join(project, `${runtime.name}.folded`);
  const result = await runner(runtime.node, ['-r', 'sfprof/auto', 'calc.js'], {
    env: { ...env, SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms', SFPROF_LINES: '1', SFPROF_TIMER: engine },
  });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'no local build: scripts were disabled');
  const stacks = parseFoldedFile(output);
  // main's two call sites, by line: calc(100_000) then calc(200_000).
  const sites = new Map();
  for (const stack of stacks) {
    const site = stack.frames.find((f) => /^main \(calc\.js:\d+\)$/.test(f));
    if (site && stack.frames.some((f) => f.startsWith('calc ('))) sites.set(site, (sites.get(site) ?? 0) + stack.count);
  }
  const [first, second] = [...sites].sort((a, b) => a[0].localeCompare(b[0], 'en', { numeric: true })).map(([, n]) => n);
  assert.ok(first > 50 && second > 50, `samples per call site: ${JSON.stringify([...sites])}`);
  const share = second / (first + second);
  assert.ok(share > 0.55 && share < 0.78, `calc(200_000)'s share ${share.toFixed(3)}, expected about 0.67`);
  const probe =
    "const s = require('sfprof'); s.start(); s.stop();" +
    "const bundle = Object.values(require.cache).find((m) => m.filename.endsWith('/dist/bundle/sfprof.js'));" +
    'console.log(JSON.stringify({ arch: process.arch, binary: s.nativePath(), codeCache: bundle.codeCache }))';
  const which = await runner(runtime.node, ['-e', probe], { env });
  assert.equal(which.status, 0, which.stderr);
  const loaded = JSON.parse(which.stdout);
  assert.ok(loaded.binary.endsWith(`/prebuilds/${process.platform}-${runtime.arch}/sfprof.abi${runtime.abi}.node`), which.stdout);
  assert.equal(loaded.arch, runtime.arch);
  // The tarball has V8's code cache of the bundle for each Node of the packing machine's architecture.
  assert.equal(loaded.codeCache, runtime.arch === process.arch ? 'used' : 'none', which.stdout);
  return share;
}

for (const name of ['current', ...RUNTIMES]) {
  test(`${name === 'current' ? `Node ${process.versions.node} (running the tests)` : name}: installed with scripts disabled, the prebuild for its ABI profiles examples/calc.js with the known 1:2 split`, async (t) => {
    const runtime = name === 'current' ? { ...currentRuntime(), name: 'current' } : installedRuntimes().find((r) => r.name === name);
    if (!requireTool(t, `${name} (runtimes/package.json)`, runtime !== undefined, 'npm run runtimes')) return;
    await profileCalc(runtime);
  });
}

// Emulated, each run takes 15-25 s of one core: two at a time (the machines that run this have two).
describe('linux-arm64 prebuilds', { concurrency: 2 }, () => {
  for (const name of ARM64_RUNTIMES) {
    test(`${name}: installed with scripts disabled, the linux-arm64 prebuild for its ABI profiles examples/calc.js with the known 1:2 split${process.arch === 'arm64' ? '' : ' (under qemu-user)'}`, async (t) => {
      const runtime = installedRuntimes().find((r) => r.name === name);
      if (!requireTool(t, `${name} (runtimes/arm64/package.json)`, runtime !== undefined, 'npm run runtimes')) return;
      let emulation;
      try {
        emulation = ensureArm64Emulation();
      } catch (error) {
        emulation = undefined;
        t.diagnostic(error.message);
      }
      if (!requireTool(t, 'arm64 emulation (qemu-aarch64 registered with binfmt_misc)', emulation !== undefined, 'qemu-user-static; then node scripts/arm64-emulation.mjs as root')) return;
      // thread-cpu: its real-time signal keeps sfprof's handler after stop. Under qemu-user an itimer
      // SIGPROF that another thread took just before the timer stopped can still be delivered after
      // SIGPROF's default action is back, and end the process (docs/development.md, "Linux arm64").
      // Twice the work: emulated, the unoptimized start of calc(100_000) costs 10-30 times more CPU
      // time, which pulls calc(200_000)'s share to about 0.6 under Node 24 and 26 (0.62-0.64 doubled).
      const emulated = process.arch !== 'arm64';
      const share = await profileCalc(runtime, {
        env: { ...emulatedEnv(), ...(emulated && { CALC_SCALE: '2' }) },
        engine: emulated ? 'thread-cpu' : 'itimer',
        runner: runAsync,
      });
      t.diagnostic(`${emulation}: calc(200_000)'s share ${share.toFixed(3)}`);
    });
  }
});

test('node --import sfprof/auto profiles an ES module app', () => {
  const output = path.join(project, 'esm.folded');
  const result = run(process.execPath, ['--import', 'sfprof/auto', 'app.mjs'], { env: { SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms' } });
  assert.equal(result.status, 0, result.stderr);
  assert.ok(total(parseFoldedFile(output), (s) => s.frames.some((f) => f.startsWith('spin (app.mjs:'))) > 10);
});

test('every format works from the installed package (the HTML template and pprof-format ship with it)', () => {
  for (const [file, pattern] of [['p.html', /^<!DOCTYPE html>/i], ['p.pb.gz', /^\x1f\x8b/], ['p.cpuprofile', /^\{"nodes":/]]) {
    const output = path.join(project, file);
    const result = run(process.execPath, ['-r', 'sfprof/auto', 'app.js'], { env: { SFPROF_OUTPUT: output } });
    assert.equal(result.status, 0, result.stderr);
    assert.match(fs.readFileSync(output, 'latin1'), pattern, file);
  }
  const top = run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no', '--', 'sfprof', 'top', 'p.pb.gz', '-n', '3']);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /spin \(app\.js:1\)/);
});

test('npx sfprof --help works from the installed package', () => {
  const result = run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no', '--', 'sfprof', '--help']);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /sfprof record \[options\]/);
});

test('the TypeScript types compile in a consumer', () => {
  fs.writeFileSync(
    path.join(project, 'consumer.ts'),
    `import { start, stop, stats, renderProfile, OptionError, type SamplerStats, type Profile } from 'sfprof';
start({ interval: '1ms', lines: true });
const profile: Profile = stop();
const folded = renderProfile(profile, 'folded') as string;
const s: SamplerStats | undefined = stats();
const rate: number | undefined = s?.achievedRateHz;
const bad: OptionError = new OptionError('x');
console.log(folded.length, rate, bad.message);
`,
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = run(process.execPath, [
    tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--target', 'es2022',
    '--types', 'node', '--typeRoots', path.join(root, 'node_modules', '@types'), 'consumer.ts',
  ]);
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('without a usable binary the preload explains why once and the app runs unprofiled', () => {
  fs.rmSync(path.join(installed, 'prebuilds'), { recursive: true, force: true });
  const output = path.join(project, 'none.folded');
  const result = run(process.execPath, ['-r', 'sfprof/auto', 'app.js'], { env: { SFPROF_OUTPUT: output } });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, 'app ran\n');
  assert.match(result.stderr, /sfprof: could not load the native addon for node v\d+.* \(ABI \d+\) on \w+-\w+/);
  assert.match(result.stderr, /no prebuilt binary in this package matches/);
  assert.match(result.stderr, /npx node-gyp rebuild/);
  assert.equal(result.stderr.match(/could not load the native addon/g).length, 1);
  assert.match(result.stderr, /sfprof: not profiling/);
  assert.ok(!fs.existsSync(output));
});
