// Makes V8's code cache for dist/bundle/sfprof.js under a Node (default: this one), for
// dist/bundle/load.js to use: `node scripts/code-cache.mjs [path/to/node ...]`. Each Node runs
// scripts/bundle/cache-child.cjs, which compiles the bundle the way the loader does, runs the
// preload's path through a short profile and writes the cache at exit, when it holds every function
// that path compiled. A cache only serves the V8 version and architecture it names.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const child = path.join(root, 'scripts', 'bundle', 'cache-child.cjs');

/** Makes the cache under `node`; returns its file, or throws with the child's stderr. */
export function makeCodeCache(node = process.execPath) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'sfprof-cache-'));
  try {
    const env = { ...process.env, NODE_OPTIONS: '', SFPROF_OUTPUT: path.join(scratch, 'cache.folded') };
    for (const name of Object.keys(env)) if (name.startsWith('SFPROF_') && name !== 'SFPROF_OUTPUT') delete env[name];
    const result = spawnSync(node, [child], { cwd: root, env, encoding: 'utf8' });
    const file = result.stdout.trim();
    if (result.status !== 0 || !file || !fs.existsSync(file)) {
      throw new Error(`no code cache made under ${node}: ${(result.stderr || `exit ${result.status}`).trim().split('\n')[0]}`);
    }
    return file;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const node of process.argv.length > 2 ? process.argv.slice(2) : [process.execPath]) {
    const file = makeCodeCache(node);
    console.error(`code cache: ${path.relative(root, file)} (${fs.statSync(file).size} bytes)`);
  }
}
