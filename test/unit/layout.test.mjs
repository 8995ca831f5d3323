// The source tree's shape: imports point down the flow (a stage imports only stages before it), the
// model imports no format, each folder says what it is, and no source file grows past ~350 lines
// without saying why at its top.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { root } from '../lib/helpers.mjs';

const SRC = path.join(root, 'src');
// The flow, from what everything may use to the entry points. Same rank: may not import each other.
const RANK = { common: 0, model: 1, config: 2, native: 3, pipeline: 4, formats: 5, delivery: 6, preload: 7, cli: 7 };
const LONG_LINES = 350;

function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** The top folder of src/ a file is in ('' for src/index.ts). */
function stageOf(file) {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length > 1 ? parts[0] : '';
}

function relativeImports(text) {
  const specs = [];
  for (const match of text.matchAll(/(?:from\s+|import\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) specs.push(match[1]);
  return specs;
}

test('every stage folder is known to this test, and every file is in one (but the public index)', () => {
  const folders = fs.readdirSync(SRC, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.deepEqual(folders, Object.keys(RANK).sort());
  const loose = fs.readdirSync(SRC).filter((name) => name.endsWith('.ts'));
  assert.deepEqual(loose, ['index.ts']);
});

test('imports point down the flow: a stage imports only its own folder and earlier stages', () => {
  const wrong = [];
  let checked = 0;
  for (const file of sourceFiles(SRC)) {
    const from = stageOf(file);
    if (from === '') continue; // index.ts re-exports the public surface from every stage
    for (const spec of relativeImports(fs.readFileSync(file, 'utf8'))) {
      const target = path.resolve(path.dirname(file), spec);
      const to = stageOf(target + '.ts');
      checked++;
      if (to === '' || (to !== from && !(RANK[to] < RANK[from]))) {
        wrong.push(`${path.relative(root, file)} imports ${spec} (${from} → ${to || 'index'})`);
      }
    }
  }
  assert.ok(checked > 50, `only ${checked} imports found: the pattern missed them`);
  assert.deepEqual(wrong, []);
});

test('the model imports nothing outside itself', () => {
  for (const file of sourceFiles(path.join(SRC, 'model'))) {
    for (const spec of relativeImports(fs.readFileSync(file, 'utf8'))) {
      assert.ok(spec.startsWith('./'), `${path.relative(root, file)} imports ${spec}`);
    }
  }
});

test('each folder of src/ says what it is', () => {
  for (const folder of Object.keys(RANK)) {
    const readme = path.join(SRC, folder, 'README.md');
    assert.ok(fs.existsSync(readme), `${folder}/ has no README.md`);
    assert.ok(fs.readFileSync(readme, 'utf8').trim().length > 40, `${folder}/README.md says almost nothing`);
  }
});

test(`no source file over ${LONG_LINES} lines without a reason stated at its top`, () => {
  const dirs = ['src', 'native'].map((d) => path.join(root, d));
  const files = dirs.flatMap((dir) => fs.readdirSync(dir, { recursive: true }).map((f) => path.join(dir, f)))
    .filter((f) => /\.(ts|cc|h)$/.test(f));
  assert.ok(files.length > 20);
  const long = [];
  for (const file of files) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    const head = lines.slice(0, 12).join('\n');
    if (lines.length > LONG_LINES && !/\b(long because|longer than)\b/i.test(head)) long.push(`${path.relative(root, file)}: ${lines.length} lines`);
  }
  assert.deepEqual(long, []);
});
