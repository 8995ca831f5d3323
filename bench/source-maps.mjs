// Cost of mapping a profile through a large source map: bundles and minifies TypeScript's own
// compiler (node_modules/typescript/lib/typescript.js) with esbuild, builds a profile of N distinct
// frames at real function starts of the bundle (default 50,000), and times SourceMapper.mapProfile:
// the first call (read + parse the map + every lookup) and a second profile through the warm cache.
//   node --expose-gc bench/source-maps.mjs [frames]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Profile } from '../dist/model/profile.js';
import { SourceMapper } from '../dist/pipeline/source-maps.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const frameCount = Number(process.argv[2] ?? 50_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-bench-maps-'));
try {
  // The sources must lie in the project (the working directory) for sfprof to use the map.
  fs.copyFileSync(path.join(root, 'node_modules', 'typescript', 'lib', 'typescript.js'), path.join(dir, 'typescript.js'));
  fs.writeFileSync(path.join(dir, 'entry.js'), `module.exports = require('./typescript.js');\n`);
  execFileSync(path.join(root, 'node_modules', '.bin', 'esbuild'), ['entry.js', '--bundle', '--minify', '--sourcemap', '--platform=node', '--outfile=out/bundle.js', '--log-level=warning'], { cwd: dir });
  const bundle = fs.readFileSync(path.join(dir, 'out', 'bundle.js'), 'utf8');
  const mapBytes = fs.statSync(path.join(dir, 'out', 'bundle.js.map')).size;

  // Function starts as V8 reports them: the "(" of each parameter list, 1-based line and column.
  const lineStarts = [0];
  for (let i = bundle.indexOf('\n'); i >= 0; i = bundle.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const starts = [];
  let line = 0;
  for (const match of bundle.matchAll(/function ?[\w$]*\(/g)) {
    const offset = match.index + match[0].length - 1;
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= offset) line++;
    starts.push({ name: /function ?([\w$]*)/.exec(match[0])[1] || '(anonymous)', line: line + 1, column: offset - lineStarts[line] + 1 });
  }

  const build = () => {
    const profile = new Profile({ startTime: 0, durationNs: 0, intervalUs: 1000, engine: 'itimer', lines: false, pid: 1, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 }, cwd: dir });
    for (let i = 0; i < frameCount; i++) {
      const start = starts[i % starts.length];
      // More frames than the bundle has functions: other tiers, then executing lines as line mode gives them.
      const round = Math.floor(i / starts.length);
      const tier = ['interpreted', 'baseline', 'maglev', 'optimized'][round % 4];
      const id = profile.internFrame({ name: start.name, file: 'out/bundle.js', line: start.line + Math.floor(round / 4), startLine: start.line, column: start.column, kind: 'js', tier });
      profile.addStack([id], 1);
    }
    return profile;
  };

  const mapper = new SourceMapper({ warn: (line) => console.error(line) });
  const first = build();
  globalThis.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let time = process.hrtime.bigint();
  const mapped = mapper.mapProfile(first);
  const coldMs = Number(process.hrtime.bigint() - time) / 1e6;
  globalThis.gc?.();
  // The parsed map stays cached for the process's life (run with --expose-gc for a steady figure).
  const cachedMapMB = Math.round((process.memoryUsage().heapUsed - heapBefore) / 1e6);
  const second = build();
  time = process.hrtime.bigint();
  mapper.mapProfile(second);
  const warmMs = Number(process.hrtime.bigint() - time) / 1e6;
  console.log(JSON.stringify({
    node: process.version,
    bundleBytes: bundle.length,
    mapBytes,
    functionsInBundle: starts.length,
    frames: first.frames.length,
    framesMapped: mapped,
    firstMs: Math.round(coldMs),
    cachedMs: Math.round(warmMs),
    cachedMapMB,
    example: first.frames.find((f) => f.name === 'createSourceFile'),
  }));
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
