// Builds test/fixtures/source-maps/ (a small TypeScript app) with the real tools into a fresh
// directory: tsc with sourceMap, tsc with inlineSourceMap, and an esbuild --bundle --minify
// --sourcemap bundle. Also finds where V8 would say each function starts in the generated code.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { fixtures, root, tempDir } from './helpers.mjs';

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const esbuild = path.join(root, 'node_modules', '.bin', 'esbuild');

/** The hot functions and where they start in src/*.ts (1-based lines). */
export const ORIGINAL = {
  crunchNumbers: { file: 'src/hot.ts', line: 10 },
  mixStrings: { file: 'src/hot.ts', line: 18 },
  runFor: { file: 'src/main.ts', line: 7 },
};

/** A copy of the fixture project in a temporary directory, built three ways. */
export function buildFixtureProject() {
  const dir = tempDir('sfprof-source-maps-');
  fs.cpSync(path.join(fixtures, 'source-maps'), dir, { recursive: true });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, stdio: 'pipe' });
  execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--sourceMap', 'false', '--inlineSourceMap', '--outDir', 'inline'], { cwd: dir, stdio: 'pipe' });
  execFileSync(esbuild, ['src/main.ts', '--bundle', '--minify', '--sourcemap', '--platform=node', '--outfile=bundle/app.js', '--log-level=warning'], { cwd: dir, stdio: 'pipe' });
  return dir;
}

/**
 * Where V8 says a function starts: its parameter list's "(" as 1-based line and column, found by
 * `function <name>(` in `file` (relative to `dir`). With a number instead of a name, the n-th
 * function declaration of the file (a minified bundle's names are not known in advance).
 */
export function functionStart(dir, file, which) {
  const text = fs.readFileSync(path.join(dir, file), 'utf8');
  const pattern = /function ([\w$]+)\(/g;
  let index = 0;
  for (const match of text.matchAll(pattern)) {
    if (match[1] === which || index++ === which) {
      const offset = match.index + match[0].length - 1;
      const before = text.slice(0, offset).split('\n');
      return { name: match[1], line: before.length, column: before.at(-1).length + 1 };
    }
  }
  throw new Error(`no function ${which} in ${file}`);
}
