// npm run prebuild (also run by npm pack): the addon for every supported Node ABI this machine can
// build for, stripped, into prebuilds/<platform>-<arch>/sfprof.abi<N>.node, where the loader looks
// when there is no local build for the running Node. The addon uses V8's C++ API, so each binary is
// ABI-tagged (not Node-API tagged): one per Node major and architecture.
//   - the running Node, against its own headers;
//   - every runtime `npm run runtimes` installed, against theirs: runtimes/package.json (Node 22, 24,
//     26 for this machine) and runtimes/arm64/package.json (Node 20 to 26 for linux-arm64,
//     cross-compiled with the GNU toolchain: aarch64-linux-gnu-g++, Debian's g++-aarch64-linux-gnu).
//     A missing runtime or cross compiler leaves those prebuilds out, and this says so.
// A prebuild newer than every native source is kept. build/Release is left built for the running
// Node, as `npm install` made it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { makeCodeCache } from './code-cache.mjs';
import { buildFor, currentRuntime, declaredRuntimes, elfArch, installedRuntimes, root, toolchainFor } from './runtimes.mjs';

const sources = ['binding.gyp', ...fs.readdirSync(path.join(root, 'native')).map((f) => path.join('native', f))];
const newestSource = Math.max(...sources.map((f) => fs.statSync(path.join(root, f)).mtimeMs));
const local = path.join(root, 'build', 'Release', 'sfprof.node');

const current = currentRuntime();
const installed = installedRuntimes();
const foreignArchs = [...new Set(installed.map((r) => r.arch).filter((arch) => arch !== process.arch))];
const toolchains = new Map(foreignArchs.map((arch) => [arch, toolchainFor(arch)]));
const others = installed.filter((r) => (r.arch === process.arch ? r.abi !== current.abi : toolchains.get(r.arch) !== undefined));
const newerThanSources = (file) => fs.existsSync(file) && fs.statSync(file).mtimeMs > newestSource;
/** The ABI tag native/addon.cc embeds, as the loader reads it. */
const tagOf = (file) => /sfprof-abi:(\d+);/.exec(fs.readFileSync(file).toString('latin1'))?.[1];

// Whatever build/Release holds now (made for this Node by npm install, or for another one by the
// tests under that Node) is put back at the end: prebuilding must not change what the loader finds.
// A build older than the sources is not put back: the fresh one replaces it.
const saved = newerThanSources(local) ? fs.readFileSync(local) : undefined;
// A binary is replaced by a rename, never rewritten in place: a process that has it loaded (a test,
// an app run from the clone) keeps its pages; writing into the mapped file would end it with SIGBUS.
const replaceWith = (file, bytes) => {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, bytes, { mode: 0o755 });
  fs.renameSync(temporary, file);
};
const made = [];
// Node 20 on arm64 has this Node's ABI: the machine must match too (elfArch: ELF only, so macOS trusts the tag).
let localIsCurrent = newerThanSources(local) && tagOf(local) === String(current.abi) && (elfArch(local) ?? process.arch) === process.arch;
for (const runtime of [...others, current]) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${runtime.arch}`);
  const file = path.join(dir, `sfprof.abi${runtime.abi}.node`);
  const fresh = newerThanSources(file);
  if (!fresh) {
    if (runtime !== current || !localIsCurrent) buildFor(runtime, { quiet: true });
    localIsCurrent = runtime === current;
    fs.mkdirSync(dir, { recursive: true });
    replaceWith(file, fs.readFileSync(local));
    if (process.platform === 'linux') execFileSync(`${toolchains.get(runtime.arch) ?? ''}strip`, ['--strip-unneeded', file]);
    else if (process.platform === 'darwin') execFileSync('strip', ['-x', file]);
  }
  made.push(`${path.relative(root, file)} (Node ${runtime.version} ${runtime.arch}, ${fs.statSync(file).size} bytes${fresh ? ', up to date' : ''})`);
}
// Other ABIs' builds went through build/Release: put back what was there, or leave the running
// Node's build when there was none (or only a stale one).
if (saved) replaceWith(local, saved);
else if (!localIsCurrent) buildFor(current, { quiet: true });
// V8's code cache of the bundle for every Node that runs here (dist/bundle/load.js uses the one for
// its V8; the running Node's was made with the bundle). The arm64 ones would run under emulation.
for (const runtime of others.filter((r) => r.arch === process.arch)) {
  try {
    const file = makeCodeCache(runtime.node);
    made.push(`${path.relative(root, file)} (Node ${runtime.version} ${runtime.arch}, ${fs.statSync(file).size} bytes)`);
  } catch (error) {
    made.push(error.message);
  }
}
for (const line of made) console.error(`prebuild: ${line}`);
const missing = declaredRuntimes().filter((name) => !installed.some((r) => r.name === name));
if (missing.length > 0) console.error(`prebuild: not installed, so not prebuilt: ${missing.join(', ')}; run "npm run runtimes" first`);
for (const [arch, prefix] of toolchains) {
  if (prefix === undefined) console.error(`prebuild: no ${process.platform}-${arch} prebuilds: no cross compiler for ${arch} (Debian: apt-get install g++-aarch64-linux-gnu)`);
}
