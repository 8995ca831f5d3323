// Which addon binary the loader takes: a local build only when it was built for this Node's ABI
// (from node-gyp's config.gypi or the tag in the file, before anything is loaded), else the prebuild
// for this ABI.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { builtAbi, chooseBinary, configuredAbi } from '../../dist/native/binding.js';
import { root, tempDir } from '../lib/helpers.mjs';

const ABI = Number(process.versions.modules);

function packageWith({ localAbi, prebuild, configured }) {
  const dir = tempDir('sfprof-choice-');
  if (configured !== undefined) {
    fs.mkdirSync(path.join(dir, 'build'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'build', 'config.gypi'), `{\n  "variables": {\n    "node_module_version": ${configured},\n    "napi_build_version": "9"\n  }\n}\n`);
  }
  if (localAbi !== undefined) {
    fs.mkdirSync(path.join(dir, 'build', 'Release'), { recursive: true });
    const tag = localAbi === null ? '' : `sfprof-abi:${localAbi};`;
    fs.writeFileSync(path.join(dir, 'build', 'Release', 'sfprof.node'), Buffer.concat([Buffer.alloc(4096, 7), Buffer.from(tag), Buffer.alloc(64)]));
  }
  if (prebuild) {
    fs.mkdirSync(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
    fs.writeFileSync(path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${ABI}.node`), 'x');
  }
  return dir;
}

const viaNodeGypBuild = (dir) => `node-gyp-build:${dir}`;

test('the tag is read from a binary without loading it', () => {
  const dir = packageWith({ localAbi: 137 });
  assert.equal(builtAbi(path.join(dir, 'build', 'Release', 'sfprof.node')), 137);
  assert.equal(builtAbi(path.join(packageWith({ localAbi: null }), 'build', 'Release', 'sfprof.node')), undefined);
});

test('a local build for this ABI is taken; without one, node-gyp-build finds the prebuild', () => {
  const dir = packageWith({ localAbi: ABI, prebuild: true });
  assert.equal(chooseBinary(dir, viaNodeGypBuild), path.join(dir, 'build', 'Release', 'sfprof.node'));
  const bare = packageWith({ prebuild: true });
  assert.equal(chooseBinary(bare, viaNodeGypBuild), `node-gyp-build:${bare}`);
});

test('a local build for another ABI is never loaded: the prebuild for this ABI is, or the error says why', () => {
  const dir = packageWith({ localAbi: ABI + 1, prebuild: true });
  assert.equal(chooseBinary(dir, viaNodeGypBuild), path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${ABI}.node`));
  const alone = packageWith({ localAbi: ABI + 1 });
  assert.throws(() => chooseBinary(alone, viaNodeGypBuild), new RegExp(`compiled against a different Node\\.js version \\(NODE_MODULE_VERSION ${ABI + 1}; this Node\\.js needs ${ABI}\\)`));
});

test('the build folder\'s config.gypi, where node-gyp wrote one, says the ABI without reading the binary', () => {
  const dir = packageWith({ localAbi: ABI, configured: ABI + 1, prebuild: true });
  assert.equal(configuredAbi(path.join(dir, 'build', 'config.gypi')), ABI + 1);
  assert.equal(chooseBinary(dir, viaNodeGypBuild), path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${ABI}.node`));
  const agreeing = packageWith({ localAbi: ABI + 1, configured: ABI, prebuild: true });
  assert.equal(chooseBinary(agreeing, viaNodeGypBuild), path.join(agreeing, 'build', 'Release', 'sfprof.node'));
  assert.equal(configuredAbi(path.join(packageWith({}), 'build', 'config.gypi')), undefined);
});

test('the local build made for the tests carries this Node\'s ABI', () => {
  const local = path.join(root, 'build', 'Release', 'sfprof.node');
  assert.ok(fs.existsSync(local), 'npm install builds it');
  assert.equal(builtAbi(local), ABI);
  assert.equal(configuredAbi(path.join(root, 'build', 'config.gypi')), ABI);
});
