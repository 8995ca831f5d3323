import assert from 'node:assert/strict';
import { test } from 'node:test';

import { explainLoadFailure } from '../../dist/native/binding.js';
import { runNode, preload } from '../lib/helpers.mjs';

const context = { version: 'v20.20.2', abi: '115', platform: 'linux', arch: 'x64', execArgv: [], packageRoot: '/app/node_modules/sfprof' };

test('no prebuild for this platform: names the target, how to build, and npm 11 scripts', () => {
  const text = explainLoadFailure('No native build was found for platform=linux arch=x64 runtime=node abi=115\n    loaded from: /x', context);
  assert.match(text, /^sfprof: could not load the native addon for node v20\.20\.2 \(ABI 115\) on linux-x64: No native build was found for platform=linux/);
  assert.doesNotMatch(text, /loaded from/);
  assert.match(text, /no prebuilt binary in this package matches node v20\.20\.2 \(ABI 115\) on linux-x64/);
  assert.match(text, /"npx node-gyp rebuild" in \/app\/node_modules\/sfprof/);
  assert.match(text, /npm 11 skips a dependency's install scripts/);
});

test('built for another Node.js: says so and how to rebuild', () => {
  const text = explainLoadFailure('The module was compiled against a different Node.js version using NODE_MODULE_VERSION 108.', context);
  assert.match(text, /built for another Node\.js: rebuild it for node v20\.20\.2/);
  assert.doesNotMatch(text, /no prebuilt binary/);
});

test('--no-addons: the only solution is removing the flag', () => {
  const text = explainLoadFailure('Cannot load native addon because loading addons is disabled.', { ...context, execArgv: ['--no-addons'] });
  assert.match(text, /remove that flag/);
  assert.doesNotMatch(text, /node-gyp rebuild/);
});

test('node --no-addons with the preload: the app runs, one explanation on stderr', () => {
  const run = runNode(['--no-addons', '-r', preload, '-e', "console.log('app')"]);
  assert.equal(run.status, 0);
  assert.equal(run.stdout, 'app\n');
  assert.match(run.stderr, /native addons are disabled \(--no-addons\): remove that flag/);
  assert.match(run.stderr, /sfprof: not profiling\n$/);
});
