// End-to-end: the preload on a TypeScript app compiled by tsc and the same app bundled and minified
// by esbuild, run with Node's source maps on: the hot functions read by their source names at their
// src/*.ts lines in folded, pprof (sfprof's reader and go tool pprof), .cpuprofile and the HTML.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { readProfile } from '../../dist/formats/render.js';
import { embeddedData } from '../lib/html-profiles.mjs';
import { parseFoldedFile, preload, requireTool, root, runNode, toolWorks } from '../lib/helpers.mjs';
import { buildFixtureProject, ORIGINAL } from '../lib/source-map-builds.mjs';
import { installedRuntimes } from '../../scripts/runtimes.mjs';

const dir = buildFixtureProject();
const bin = path.join(root, 'bin', 'sfprof.js');
const HOT = ['crunchNumbers', 'mixStrings', 'runFor'];
const where = (fn) => `${ORIGINAL[fn].file}:${ORIGINAL[fn].line}`;

function profileRun(script, output, { nodeArgs = ['--enable-source-maps'], env = {} } = {}) {
  const run = runNode([...nodeArgs, '-r', preload, script], {
    cwd: dir,
    env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: path.join(dir, output), SOURCE_MAPS_FIXTURE_MS: '500', ...env },
  });
  assert.equal(run.status, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /source map/, 'no map is refused');
  return path.join(dir, output);
}

function foldedFrames(file) {
  return new Set(parseFoldedFile(file).flatMap((s) => s.frames));
}

for (const [build, script] of [['tsc', 'dist/main.js'], ['esbuild --minify', 'bundle/app.js']]) {
  describe(`${build} with --enable-source-maps`, () => {
    const tag = build.split(' ')[0];
    test('folded', () => {
      const frames = foldedFrames(profileRun(script, `${tag}.folded`));
      for (const fn of HOT) assert.ok(frames.has(`${fn} (${where(fn)})`), `${fn} (${where(fn)}) in ${[...frames].join('\n')}`);
      assert.ok(![...frames].some((f) => /\((dist|bundle)\/.*\.js:\d+\)$/.test(f) && !f.startsWith('(anonymous)')), [...frames].join('\n'));
    });

    test('pprof, read by sfprof and by go tool pprof', (t) => {
      const file = profileRun(script, `${tag}.pb.gz`);
      const frames = readProfile(fs.readFileSync(file), file).frames;
      for (const fn of HOT) assert.ok(frames.some((f) => f.name === fn && f.file === ORIGINAL[fn].file && f.line === ORIGINAL[fn].line), fn);
      requireTool(t, 'go', toolWorks('go', ['version']), 'golang-go');
      const raw = spawnSync('go', ['tool', 'pprof', '-raw', file], { encoding: 'utf8' });
      assert.equal(raw.status, 0, raw.stderr);
      // -raw lists locations as "id: address M=… function file:line s=start".
      for (const fn of HOT) assert.match(raw.stdout, new RegExp(`\\b${fn} ${ORIGINAL[fn].file.replace('.', '\\.')}:${ORIGINAL[fn].line}\\b`), raw.stdout);
    });

    test('.cpuprofile', () => {
      const profile = JSON.parse(fs.readFileSync(profileRun(script, `${tag}.cpuprofile`), 'utf8'));
      for (const fn of HOT) {
        const node = profile.nodes.find((n) => n.callFrame.functionName === fn);
        assert.ok(node, fn);
        assert.equal(node.callFrame.url, `file://${path.join(dir, ORIGINAL[fn].file)}`);
        assert.equal(node.callFrame.lineNumber + 1, ORIGINAL[fn].line);
      }
    });

    test('HTML', () => {
      const data = JSON.parse(embeddedData(fs.readFileSync(profileRun(script, `${tag}.html`), 'utf8')));
      for (const fn of HOT) assert.ok(data.frames.some(([name, at]) => name === fn && at === where(fn)), fn);
    });
  });
}

test('SFPROF_SOURCE_MAPS=1 maps without Node\'s flag; =0 keeps generated frames with it', () => {
  const on = foldedFrames(profileRun('bundle/app.js', 'on.folded', { nodeArgs: [], env: { SFPROF_SOURCE_MAPS: '1' } }));
  assert.ok(on.has(`mixStrings (${where('mixStrings')})`));
  const off = foldedFrames(profileRun('bundle/app.js', 'off.folded', { env: { SFPROF_SOURCE_MAPS: '0' } }));
  assert.ok(![...off].some((f) => f.includes('src/')), [...off].join('\n'));
  assert.ok([...off].some((f) => f.endsWith('(bundle/app.js:1)') && !f.startsWith('(anonymous)')));
});

test('line mode: tsc output gives the executing lines of src/*.ts', () => {
  const frames = foldedFrames(profileRun('dist/main.js', 'lines.folded', { env: { SFPROF_LINES: '1' } }));
  const lines = [...frames].filter((f) => f.startsWith('crunchNumbers (')).map((f) => Number(/:(\d+)\)$/.exec(f)[1]));
  assert.ok(lines.length > 0, [...frames].join('\n'));
  // The function spans lines 10 to 16 of src/hot.ts; its loop is on 12 and 13.
  for (const line of lines) assert.ok(line >= 10 && line <= 16, `line ${line}`);
  assert.ok(lines.includes(13), `lines ${lines}`);
});

test('sfprof record --source-maps, and sfprof report --source-maps on an unmapped .cpuprofile', () => {
  const recorded = path.join(dir, 'recorded.folded');
  const run = runNode([bin, 'record', '--source-maps', '-o', recorded, '--', process.execPath, 'bundle/app.js'], { cwd: dir, env: { SOURCE_MAPS_FIXTURE_MS: '400' } });
  assert.equal(run.status, 0, run.stderr);
  assert.ok(foldedFrames(recorded).has(`crunchNumbers (${where('crunchNumbers')})`));

  const unmapped = profileRun('bundle/app.js', 'unmapped.cpuprofile', { nodeArgs: [] });
  const report = runNode([bin, 'report', '--source-maps', unmapped, '-f', 'folded'], { cwd: dir });
  assert.equal(report.status, 0, report.stderr);
  assert.match(report.stdout, new RegExp(`;crunchNumbers \\(${where('crunchNumbers').replace('.', '\\.')}\\) \\d+$`, 'm'));
  const plain = runNode([bin, 'report', unmapped, '-f', 'folded'], { cwd: dir });
  assert.doesNotMatch(plain.stdout, /src\/hot\.ts/);
});

test('a bundle whose map is gone: one line on stderr, the profile written with generated frames', () => {
  fs.cpSync(path.join(dir, 'bundle'), path.join(dir, 'mapless'), { recursive: true });
  fs.rmSync(path.join(dir, 'mapless', 'app.js.map'));
  const output = path.join(dir, 'mapless.folded');
  const run = runNode(['--enable-source-maps', '-r', preload, 'mapless/app.js'], {
    cwd: dir,
    env: { SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output, SOURCE_MAPS_FIXTURE_MS: '300' },
  });
  assert.equal(run.status, 0, run.stderr);
  const warnings = run.stderr.split('\n').filter((line) => line.includes('source map'));
  assert.deepEqual(warnings, ['sfprof: source map of mapless/app.js: cannot read mapless/app.js.map (no such file); its frames stay as generated']);
  const frames = foldedFrames(output);
  assert.ok([...frames].some((f) => f.endsWith('(mapless/app.js:1)') && !f.startsWith('(anonymous)')), [...frames].join('\n'));
});

// Node 22.18+, 24 and 26 strip types by replacing them with spaces: V8 sees the .ts file itself, its
// positions unchanged, so frames name it with the right lines and no map is needed. Runs on each
// installed runtime (npm run runtimes) that strips types by default and for which the addon is built
// (npm run prebuild).
test('Node\'s type stripping: .ts run directly shows .ts files at their lines, maps on or off', (t) => {
  const strips = (version) => {
    const [major, minor] = version.split('.').map(Number);
    return major > 22 || (major === 22 && minor >= 18);
  };
  const strippers = installedRuntimes().filter((r) => r.arch === process.arch && strips(r.version));
  const usable = strippers.filter((r) => spawnSync(r.node, ['-e', `require(${JSON.stringify(path.join(root, 'dist', 'native', 'binding.js'))}).loadNative()`]).status === 0);
  if (!requireTool(t, 'a Node runtime that strips types (22.18+) with the addon built for it', usable.length > 0, 'npm run runtimes && npm run prebuild')) return;
  const project = path.join(dir, 'stripped');
  fs.mkdirSync(project, { recursive: true });
  for (const name of ['hot.ts', 'main.ts']) {
    // Type stripping resolves imports as written: './hot' needs its extension.
    const text = fs.readFileSync(path.join(dir, 'src', name), 'utf8').replace("from './hot'", "from './hot.ts'");
    fs.writeFileSync(path.join(project, name), text);
  }
  for (const runtime of usable) {
    for (const nodeArgs of [[], ['--enable-source-maps']]) {
      const output = path.join(project, `${runtime.name}-${nodeArgs.length}.folded`);
      const run = spawnSync(runtime.node, [...nodeArgs, '-r', preload, 'main.ts'], {
        cwd: project,
        encoding: 'utf8',
        env: { ...process.env, SFPROF_INTERVAL: '1ms', SFPROF_TIMER: 'itimer', SFPROF_OUTPUT: output, SOURCE_MAPS_FIXTURE_MS: '500' },
      });
      assert.equal(run.status, 0, `${runtime.name}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /source map/);
      const frames = foldedFrames(output);
      for (const fn of ['mixStrings', 'runFor']) {
        const at = `${path.basename(ORIGINAL[fn].file)}:${ORIGINAL[fn].line}`;
        assert.ok(frames.has(`${fn} (${at})`), `${runtime.name} ${nodeArgs}: ${fn} (${at}) in\n${[...frames].join('\n')}`);
      }
    }
  }
});
