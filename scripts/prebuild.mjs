// npm run prebuild: the addon for this platform and this Node.js ABI, stripped, into
// prebuilds/<platform>-<arch>/sfprof.abi<N>.node, where node-gyp-build looks first when installed.
// The addon uses V8's C++ API, so the binary is ABI-tagged (not Node-API tagged).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const prebuildify = path.join(root, 'node_modules', 'prebuildify', 'bin.js');
execFileSync(process.execPath, [prebuildify, '--napi=false', '--strip', '--quiet', '--target', process.versions.node], {
  cwd: root,
  stdio: 'inherit',
});
const prebuild = path.join('prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${process.versions.modules}.node`);
// prebuildify moves the binary out of build/Release; keep the local build loadable for development.
const local = path.join(root, 'build', 'Release', 'sfprof.node');
if (!fs.existsSync(local)) fs.copyFileSync(path.join(root, prebuild), local);
console.error(`prebuild: ${prebuild} (${fs.statSync(path.join(root, prebuild)).size} bytes)`);
