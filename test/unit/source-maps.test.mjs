// Source maps offline: hand-built profiles at positions of code that tsc and esbuild really
// generated, mapped by the pipeline's SourceMapper, then checked in every format.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

import { renderProfile } from '../../dist/formats/render.js';
import { readCpuProfile } from '../../dist/formats/readers/cpuprofile.js';
import { readPprof } from '../../dist/formats/readers/pprof.js';
import { optionsFromEnv } from '../../dist/config/env.js';
import { nodeSourceMapsEnabled, SourceMapper, sourceMappingUrl, sourceMapsWanted } from '../../dist/pipeline/source-maps.js';
import { formatTopTable } from '../../dist/delivery/summary.js';
import { embeddedData } from '../lib/html-profiles.mjs';
import { emptyProfile } from '../lib/profiles.mjs';
import { buildFixtureProject, functionStart, ORIGINAL } from '../lib/source-map-builds.mjs';

const dir = buildFixtureProject();

/** A frame as the symbolizer makes it for `name` starting at `start` in `file`. */
function generatedFrame(file, start, extra = {}) {
  return { name: start.name, file, line: start.line, startLine: start.line, column: start.column, kind: 'js', tier: 'optimized', ...extra };
}

/** runFor → crunchNumbers (3 samples) and runFor → mixStrings (2), from `file`s of one build. */
function profileOf(files, { names = ['runFor', 'crunchNumbers', 'mixStrings'], cwd = dir } = {}) {
  const p = emptyProfile({ cwd });
  const id = (file, which) => p.internFrame(generatedFrame(file, functionStart(dir, file, which)));
  const main = p.internFrame({ name: '(anonymous)', file: files.main, line: 1, startLine: 1, column: 1, kind: 'js' });
  const runFor = id(files.main, names[0]);
  p.addStack([main, runFor, id(files.hot, names[1])], 3);
  p.addStack([main, runFor, id(files.hot, names[2])], 2);
  p.addStack([p.internFrame({ name: 'Builtin:ToString', kind: 'builtin' })], 1);
  return p;
}

const label = (fn) => `${fn} (${ORIGINAL[fn].file}:${ORIGINAL[fn].line})`;

/** Checks that the mapped profile names the hot functions at their src/*.ts lines in every format. */
function checkEveryFormat(p) {
  const folded = renderProfile(p, 'folded');
  assert.match(folded, new RegExp(`;${escape(label('runFor'))};${escape(label('crunchNumbers'))} 3\\n`), folded);
  assert.match(folded, new RegExp(`;${escape(label('runFor'))};${escape(label('mixStrings'))} 2\\n`), folded);
  assert.match(folded, /^Builtin:ToString 1$/m);

  const pprof = readPprof(renderProfile(p, 'pprof'));
  for (const fn of ['crunchNumbers', 'mixStrings', 'runFor']) {
    const frame = pprof.frames.find((f) => f.name === fn);
    assert.ok(frame, `pprof has ${fn}: ${pprof.frames.map((f) => f.name)}`);
    assert.equal(frame.file, ORIGINAL[fn].file);
    assert.equal(frame.line, ORIGINAL[fn].line);
  }

  const cpuprofile = JSON.parse(renderProfile(p, 'cpuprofile'));
  for (const fn of ['crunchNumbers', 'mixStrings', 'runFor']) {
    const node = cpuprofile.nodes.find((n) => n.callFrame.functionName === fn);
    assert.ok(node, `.cpuprofile has ${fn}`);
    assert.equal(node.callFrame.url, `file://${path.join(dir, ORIGINAL[fn].file)}`);
    assert.equal(node.callFrame.lineNumber, ORIGINAL[fn].line - 1);
  }

  const top = formatTopTable(p, 10);
  for (const fn of ['crunchNumbers', 'mixStrings']) assert.ok(top.includes(label(fn)), `sfprof top shows ${label(fn)}:\n${top}`);

  const html = JSON.parse(embeddedData(renderProfile(p, 'html')));
  for (const fn of ['crunchNumbers', 'mixStrings', 'runFor']) {
    assert.ok(html.frames.some(([name, where]) => name === fn && where === `${ORIGINAL[fn].file}:${ORIGINAL[fn].line}`), `HTML has ${label(fn)}`);
  }
}

function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('mapping real builds', () => {
  test('tsc with sourceMap: dist/*.js frames read src/*.ts at the functions\' lines, in every format', () => {
    const p = profileOf({ main: 'dist/main.js', hot: 'dist/hot.js' });
    const warnings = [];
    assert.equal(new SourceMapper({ warn: (w) => warnings.push(w) }).mapProfile(p), 3);
    assert.deepEqual(warnings, []);
    checkEveryFormat(p);
    // The top level of main.js maps to nothing before its first statement: it stays generated.
    assert.match(renderProfile(p, 'folded'), /^\(anonymous\) \(dist\/main\.js:1\);runFor/m);
  });

  test('esbuild --bundle --minify --sourcemap: the minified names come back from the map', () => {
    const p = profileOf({ main: 'bundle/app.js', hot: 'bundle/app.js' }, { names: [2, 0, 1] });
    assert.ok(!p.frames.some((f) => f.name === 'crunchNumbers'), 'the bundle is minified');
    new SourceMapper().mapProfile(p);
    checkEveryFormat(p);
  });

  test('tsc with inlineSourceMap: the map comes from the data: URL', () => {
    assert.match(sourceMappingUrl(fs.readFileSync(path.join(dir, 'inline', 'hot.js'), 'utf8')), /^data:application\/json;base64,/);
    const p = profileOf({ main: 'inline/main.js', hot: 'inline/hot.js' });
    new SourceMapper().mapProfile(p);
    checkEveryFormat(p);
  });

  test('an index map (sections) and a sourceRoot are followed', () => {
    const sub = path.join(dir, 'indexed');
    fs.mkdirSync(sub, { recursive: true });
    for (const name of ['hot', 'main']) {
      const map = JSON.parse(fs.readFileSync(path.join(dir, 'dist', `${name}.js.map`), 'utf8'));
      map.sourceRoot = '../src/';
      map.sources = [`${name}.ts`];
      const text = fs.readFileSync(path.join(dir, 'dist', `${name}.js`), 'utf8').replace(/sourceMappingURL=.*/, `sourceMappingURL=${name}.js.map`);
      fs.writeFileSync(path.join(sub, `${name}.js`), text);
      fs.writeFileSync(path.join(sub, `${name}.js.map`), JSON.stringify({ version: 3, sections: [{ offset: { line: 0, column: 0 }, map }] }));
    }
    const p = profileOf({ main: 'indexed/main.js', hot: 'indexed/hot.js' });
    new SourceMapper().mapProfile(p);
    checkEveryFormat(p);
  });

  test('line mode: an executing line maps to its original line in the same function', () => {
    const text = fs.readFileSync(path.join(dir, 'dist', 'hot.js'), 'utf8').split('\n');
    const loopLine = text.findIndex((l) => l.includes('for (const value of values)')) + 1;
    const start = functionStart(dir, 'dist/hot.js', 'crunchNumbers');
    const p = emptyProfile({ cwd: dir, lines: true });
    p.addStack([p.internFrame(generatedFrame('dist/hot.js', start, { line: loopLine }))], 4);
    new SourceMapper().mapProfile(p);
    assert.deepEqual(
      { ...p.frames[0] },
      { name: 'crunchNumbers', file: 'src/hot.ts', line: 13, startLine: 10, column: 30, kind: 'js', tier: 'optimized' },
    );
    assert.equal(renderProfile(p, 'folded'), 'crunchNumbers (src/hot.ts:13) 4\n');
  });

  test('frames of two builds that map to one function merge in folded output', () => {
    const p = emptyProfile({ cwd: dir });
    const fromDist = p.internFrame(generatedFrame('dist/hot.js', functionStart(dir, 'dist/hot.js', 'crunchNumbers')));
    const fromBundle = p.internFrame(generatedFrame('bundle/app.js', functionStart(dir, 'bundle/app.js', 0)));
    p.addStack([fromDist], 3);
    p.addStack([fromBundle], 4);
    new SourceMapper().mapProfile(p);
    assert.equal(renderProfile(p, 'folded'), 'crunchNumbers (src/hot.ts:10) 7\n');
    assert.equal(readPprof(renderProfile(p, 'pprof')).frames.filter((f) => f.name === 'crunchNumbers').length, 1);
    // The two builds map the start to different columns of line 10: .cpuprofile nodes keep columns.
    const nodes = JSON.parse(renderProfile(p, 'cpuprofile')).nodes.filter((n) => n.callFrame.functionName === 'crunchNumbers');
    assert.deepEqual(nodes.map((n) => n.callFrame.lineNumber), nodes.map(() => 9));
    assert.equal(nodes.reduce((sum, n) => sum + n.hitCount, 0), 7);
    // Interning after the rewrite finds the mapped frame.
    assert.equal(p.internFrame({ ...p.frames[fromDist] }), fromDist);
  });

  test('a .cpuprofile read back maps offline like the live profile (it keeps the start column)', () => {
    const p = profileOf({ main: 'bundle/app.js', hot: 'bundle/app.js' }, { names: [2, 0, 1] });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const read = readCpuProfile(renderProfile(p, 'cpuprofile'));
      new SourceMapper().mapProfile(read, dir);
      assert.ok(read.frames.some((f) => f.name === 'crunchNumbers' && f.file === 'src/hot.ts' && f.line === 10));
    } finally {
      process.chdir(cwd);
    }
  });
});

describe('bad input: that file stays generated, one warning per file, nothing else lost', () => {
  /** Writes dist-like `bad/<name>.js` with a copy of dist/hot.js and a map prepared by `setUp`. */
  function badCase(name, setUp) {
    const sub = path.join(dir, 'bad', name);
    fs.mkdirSync(sub, { recursive: true });
    const text = fs.readFileSync(path.join(dir, 'dist', 'hot.js'), 'utf8');
    const map = fs.readFileSync(path.join(dir, 'dist', 'hot.js.map'), 'utf8');
    setUp(sub, text, map);
    return `bad/${name}/hot.js`;
  }

  const cases = {
    missing: (sub, text) => fs.writeFileSync(path.join(sub, 'hot.js'), text),
    unreadable: (sub, text) => {
      fs.writeFileSync(path.join(sub, 'hot.js'), text);
      fs.mkdirSync(path.join(sub, 'hot.js.map'));
    },
    malformed: (sub, text) => {
      fs.writeFileSync(path.join(sub, 'hot.js'), text);
      fs.writeFileSync(path.join(sub, 'hot.js.map'), '{"version":3,"sources":["../src/hot.ts"],"mappings":');
    },
    'malformed mappings': (sub, text, map) => {
      fs.writeFileSync(path.join(sub, 'hot.js'), text);
      fs.writeFileSync(path.join(sub, 'hot.js.map'), JSON.stringify({ ...JSON.parse(map), mappings: 12 }));
    },
    'bad inline': (sub, text) => fs.writeFileSync(path.join(sub, 'hot.js'), text.replace(/sourceMappingURL=.*/, 'sourceMappingURL=data:application/json;base64,bm90IGpzb24=')),
    mismatched: (sub, text) => {
      // The bundle's map: segments far past the end of this file's short lines.
      fs.writeFileSync(path.join(sub, 'hot.js'), text);
      fs.copyFileSync(path.join(dir, 'bundle', 'app.js.map'), path.join(sub, 'hot.js.map'));
    },
    'outside the project': (sub, text, map) => {
      fs.writeFileSync(path.join(sub, 'hot.js'), text);
      fs.writeFileSync(path.join(sub, 'hot.js.map'), JSON.stringify({ ...JSON.parse(map), sourceRoot: '/elsewhere/' }));
    },
  };

  for (const [name, setUp] of Object.entries(cases)) {
    test(name, () => {
      const file = badCase(name.replace(/ /g, '-'), setUp);
      const p = profileOf({ main: 'dist/main.js', hot: file });
      const before = p.frames.filter((f) => f.file === file).map((f) => ({ ...f }));
      assert.equal(before.length, 2);
      const warnings = [];
      const mapper = new SourceMapper({ warn: (w) => warnings.push(w) });
      assert.doesNotThrow(() => mapper.mapProfile(p));
      assert.doesNotThrow(() => mapper.mapProfile(p));
      assert.deepEqual(p.frames.filter((f) => f.file === file), before);
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0], new RegExp(`^sfprof: source map of ${escape(file)}: .*; its frames stay as generated$`));
      // The other file's frames are mapped; every sample is still there.
      assert.ok(p.frames.some((f) => f.name === 'runFor' && f.file === 'src/main.ts'));
      assert.equal(p.totalSamples, 6);
    });
  }

  test('a script without a sourceMappingURL, or gone from disk, stays quietly', () => {
    fs.writeFileSync(path.join(dir, 'plain.js'), 'function plain(a) { return a; }\n');
    const p = emptyProfile({ cwd: dir });
    p.addStack([p.internFrame({ name: 'plain', file: 'plain.js', line: 1, startLine: 1, column: 15, kind: 'js' })], 1);
    p.addStack([p.internFrame({ name: 'gone', file: 'gone.js', line: 1, startLine: 1, column: 1, kind: 'js' })], 1);
    const warnings = [];
    new SourceMapper({ warn: (w) => warnings.push(w) }).mapProfile(p);
    assert.deepEqual(warnings, []);
    assert.equal(renderProfile(p, 'folded'), 'gone (gone.js:1) 1\nplain (plain.js:1) 1\n');
  });
});

test('sourceMappingURL: the last real comment, however long its inline map', () => {
  assert.equal(sourceMappingUrl('x();\n//# sourceMappingURL=app.js.map\n'), 'app.js.map');
  assert.equal(sourceMappingUrl('x();\n/*# sourceMappingURL=app.css.map */'), 'app.css.map');
  assert.equal(sourceMappingUrl('x();\r\n//@ sourceMappingURL=old.map\r\n'), 'old.map');
  assert.equal(sourceMappingUrl('const s = "sourceMappingURL=nope";'), undefined);
  assert.equal(sourceMappingUrl('//# sourceMappingURL=first.map\nconst s = "//# sourceMappingURL=" + url;'), 'first.map');
  const inline = `data:application/json;base64,${Buffer.from(JSON.stringify({ version: 3, mappings: 'A'.repeat(300_000) })).toString('base64')}`;
  assert.equal(sourceMappingUrl(`x();\n//# sourceMappingURL=${inline}`), inline);
});

test('each file and its map are read once, however many frames and profiles use them', () => {
  const reads = new Map();
  const mapper = new SourceMapper({
    readFile: (file) => {
      reads.set(file, (reads.get(file) ?? 0) + 1);
      return fs.readFileSync(file, 'utf8');
    },
  });
  mapper.mapProfile(profileOf({ main: 'dist/main.js', hot: 'dist/hot.js' }));
  mapper.mapProfile(profileOf({ main: 'dist/main.js', hot: 'dist/hot.js' }));
  assert.deepEqual([...reads.values()], [1, 1, 1, 1]);
});

test('when: SFPROF_SOURCE_MAPS, else Node\'s own setting', () => {
  assert.equal(optionsFromEnv({ SFPROF_SOURCE_MAPS: '1' }).options.sourceMaps, true);
  assert.equal(optionsFromEnv({ SFPROF_SOURCE_MAPS: 'off' }).options.sourceMaps, false);
  assert.equal(optionsFromEnv({}).options.sourceMaps, undefined);
  assert.throws(() => optionsFromEnv({ SFPROF_SOURCE_MAPS: 'maybe' }), /^OptionError: sfprof: SFPROF_SOURCE_MAPS is "maybe"; expected 1 or 0/);
  const fake = (sourceMapsEnabled, execArgv = [], NODE_OPTIONS) => ({ sourceMapsEnabled, execArgv, env: { NODE_OPTIONS } });
  assert.equal(nodeSourceMapsEnabled(fake(true)), true);
  assert.equal(nodeSourceMapsEnabled(fake(false, ['--enable-source-maps'])), false, 'process.sourceMapsEnabled decides where it exists');
  assert.equal(nodeSourceMapsEnabled(fake(undefined, ['--enable-source-maps'])), true);
  assert.equal(nodeSourceMapsEnabled(fake(undefined, [], '--max-old-space-size=100 --enable-source-maps')), true);
  assert.equal(nodeSourceMapsEnabled(fake(undefined)), false);
  assert.equal(sourceMapsWanted(false, fake(true)), false);
  assert.equal(sourceMapsWanted(true, fake(false)), true);
  assert.equal(sourceMapsWanted(undefined, fake(true)), true);
});
