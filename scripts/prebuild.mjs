// npm run prebuild (also run by npm pack): the addon for every supported Node ABI this machine can
// build for, stripped, into prebuilds/<platform>-<arch>/sfprof.abi<N>.node, where the loader looks
// when there is no local build for the running Node. The addon uses V8's C++ API, so each binary is
// ABI-tagged (not Node-API tagged): one per Node major.
//   - the running Node, against its own headers;
//   - every runtime `npm run runtimes` installed (runtimes/package.json: Node 22, 24, 26), against
//     theirs. Without them, only the running Node's ABI is prebuilt, and this says so.
// A prebuild newer than every native source is kept. build/Release is left built for the running
// Node, as `npm install` made it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { buildFor, currentRuntime, installedRuntimes, root } from './runtimes.mjs';

const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((f) => path.join('native', f))];
const newestSource = Math.max(...sources.map((f) => fs.statSync(path.join(root, f)).mtimeMs));
const local = path.join(root, 'build', 'Release', 'sfprof.node');

const current = currentRuntime();
const others = installedRuntimes().filter((r) => r.arch === process.arch && r.abi !== current.abi);
const newerThanSources = (file) => fs.existsSync(file) && fs.statSync(file).mtimeMs > newestSource;
/** The ABI tag native/addon.cc embeds, as the loader reads it. */
const tagOf = (file) => /sfprof-abi:(\d+);/.exec(fs.readFileSync(file).toString('latin1'))?.[1];

// Whatever build/Release holds now (made for this Node by npm install, or for another one by the
// tests under that Node) is put back at the end: prebuilding must not change what the loader finds.
const saved = fs.existsSync(local) ? fs.readFileSync(local) : undefined;
const made = [];
let localIsCurrent = newerThanSources(local) && tagOf(local) === String(current.abi);
for (const runtime of [...others, current]) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${runtime.arch}`);
  const file = path.join(dir, `sfprof.abi${runtime.abi}.node`);
  const fresh = newerThanSources(file);
  if (!fresh) {
    if (runtime !== current || !localIsCurrent) buildFor(runtime, { quiet: true });
    localIsCurrent = runtime === current;
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(local, file);
    if (process.platform === 'linux') execFileSync('strip', ['--strip-unneeded', file]);
    else if (process.platform === 'darwin') execFileSync('strip', ['-x', file]);
  }
  made.push(`${path.relative(root, file)} (Node ${runtime.version}, ${fs.statSync(file).size} bytes${fresh ? ', up to date' : ''})`);
}
// Other ABIs' builds went through build/Release: put back what was there, or leave the running
// Node's build when there was none.
if (saved) fs.writeFileSync(local, saved);
else if (!localIsCurrent) buildFor(current, { quiet: true });
for (const line of made) console.error(`prebuild: ${line}`);
if (others.length === 0) {
  console.error(`prebuild: only ABI ${current.abi} (Node ${current.version}); run "npm run runtimes" first to prebuild Node 22, 24 and 26 too`);
}
