// Builds what the package runs: dist/bundle/sfprof.js, the library and the preload in one file, from
// tsc's output in dist/. One file because a process with the preload in NODE_OPTIONS pays at start
// for every file it loads: resolving, reading and compiling ~30 modules cost it more time and memory
// than one file holding them all (docs/overhead.md). Modules stay lazy inside it (a writer is
// evaluated at exit, the production modules only when configured); pprof-format and the source-map
// library stay outside, loaded from node_modules when a profile needs them.
//
// dist/bundle/index.js (the package's main) and dist/bundle/auto.js (sfprof/auto, on the main
// thread) reach the same file, so a process that preloads sfprof and also requires it has one
// profiler, not two. The bundle
// sits two folders below the package root, like every file tsc writes, so paths computed from
// __dirname (common/package-root.ts) hold in both.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { makeCodeCache } from './code-cache.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const out = path.join(dist, 'bundle');
const require = createRequire(import.meta.url);
const esbuild = require('esbuild');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  external: ['*.node', 'pprof-format', '@jridgewell/trace-mapping'],
  legalComments: 'none',
  // Non-ASCII anywhere (a comment's arrow) makes V8 hold the whole source as two-byte: twice the memory.
  charset: 'ascii',
  logLevel: 'warning',
};

await esbuild.build({
  ...common,
  stdin: {
    contents:
      "exports.library = () => require('./index.js');\n" +
      "exports.run = () => require('./preload/auto-main.js').run();\n",
    resolveDir: dist,
    sourcefile: 'bundle-entry.js',
    loader: 'js',
  },
  outfile: path.join(out, 'sfprof.js'),
});
// charset 'ascii' escapes strings and regexps but leaves comments as they are: what is left is text
// in comments, which an escape spelled out keeps readable and ASCII.
const bundleFile = path.join(out, 'sfprof.js');
fs.writeFileSync(bundleFile, fs.readFileSync(bundleFile, 'utf8').replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`));

// The preload itself is small: a worker only joins the session (the addon and the worker module),
// and does not compile the whole bundle; the main thread goes on to sfprof.js's run(), loaded by
// load.js like the package's main.
await esbuild.build({
  ...common,
  entryPoints: [path.join(dist, 'preload', 'auto.js')],
  outfile: path.join(out, 'auto.js'),
  plugins: [
    {
      name: 'main-thread-in-the-bundle',
      setup(build) {
        build.onResolve({ filter: /^\.\/auto-main$/ }, () => ({ path: 'auto-main', namespace: 'sfprof-bundle' }));
        build.onResolve({ filter: /^\.\/load\.js$/ }, () => ({ path: './load.js', external: true }));
        build.onLoad({ filter: /.*/, namespace: 'sfprof-bundle' }, () => ({
          contents: "module.exports = require('./load.js').load();\n",
          resolveDir: out,
          loader: 'js',
        }));
      },
    },
  ],
});

// The loader, with the bundle's hash; caches made from an older bundle go.
const hash = createHash('sha256').update(fs.readFileSync(path.join(out, 'sfprof.js'))).digest('hex').slice(0, 16);
fs.writeFileSync(path.join(out, 'load.js'), fs.readFileSync(path.join(root, 'scripts', 'bundle', 'load.cjs'), 'utf8').replace('__BUNDLE_HASH__', hash));
for (const name of fs.readdirSync(out)) {
  if (name.endsWith('.cache') && !name.startsWith(`sfprof.js.${hash}.`)) fs.rmSync(path.join(out, name));
}

// Named exports spelled out for `import { start } from 'sfprof'`: Node finds a CommonJS module's
// names by reading its text, and cannot see through the call.
const names = Object.keys(require(path.join(dist, 'index.js'))).filter((name) => /^[A-Za-z_$][\w$]*$/.test(name));
fs.writeFileSync(
  path.join(out, 'index.js'),
  "'use strict';\n// The public API (dist/index.d.ts has its types), from the bundle (scripts/bundle.mjs).\n" +
    "module.exports = require('./load.js').load().library();\n" +
    `0 && (module.exports = { ${names.join(', ')} });\n`,
);

// The code cache for the Node that builds (npm run prebuild adds the other runtimes'). Without one
// the package still works, a few milliseconds slower per process.
try {
  makeCodeCache();
} catch (error) {
  console.error(`bundle: ${error.message}`);
}
