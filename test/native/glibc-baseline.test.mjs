// The addon loads wherever Node.js does: no glibc symbol newer than Node's own baseline (2.28), no
// libstdc++ symbol newer than GCC 8's (RHEL 8, the oldest glibc-2.28 system), and every symbol bound
// at load (-z now), so lazy binding never runs inside the signal handler. Checked on the local build
// and on every prebuild present, whatever its architecture (readelf reads any ELF).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { root } from '../lib/helpers.mjs';

const GLIBC_MAX = [2, 28];
const GLIBCXX_MAX = [3, 4, 25];

function versionNeeds(file) {
  const run = spawnSync('readelf', ['--dyn-syms', '-W', file], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const needs = new Map();
  for (const match of run.stdout.matchAll(/\s(\S+)@(GLIBC|GLIBCXX)_([\d.]+)/g)) {
    const key = `${match[2]}_${match[3]}`;
    if (!needs.has(key)) needs.set(key, match[1]);
  }
  return needs;
}

function newer(version, max) {
  const parts = version.split('.').map(Number);
  for (let i = 0; i < Math.max(parts.length, max.length); i++) {
    if ((parts[i] ?? 0) !== (max[i] ?? 0)) return (parts[i] ?? 0) > (max[i] ?? 0);
  }
  return false;
}

function binaries() {
  const found = [];
  const local = path.join(root, 'build', 'Release', 'sfprof.node');
  if (fs.existsSync(local)) found.push(local);
  const prebuilds = path.join(root, 'prebuilds');
  if (fs.existsSync(prebuilds)) {
    for (const dir of fs.readdirSync(prebuilds).filter((d) => d.startsWith('linux-'))) {
      for (const name of fs.readdirSync(path.join(prebuilds, dir)).filter((n) => n.endsWith('.node'))) found.push(path.join(prebuilds, dir, name));
    }
  }
  return found;
}

test('no glibc or libstdc++ symbol newer than Node\'s baseline, and bound at load', { skip: process.platform !== 'linux' && 'Linux only' }, () => {
  const files = binaries();
  assert.ok(files.length > 0, 'a built addon (npm install builds one)');
  for (const file of files) {
    const needs = versionNeeds(file);
    assert.ok([...needs.keys()].some((k) => k.startsWith('GLIBC_')), `${file}: no glibc version read`);
    const tooNew = [...needs].filter(([key]) => {
      const [lib, version] = key.split('_');
      return newer(version, lib === 'GLIBC' ? GLIBC_MAX : GLIBCXX_MAX);
    });
    assert.deepEqual(tooNew.map(([key, symbol]) => `${symbol}@${key}`), [], path.relative(root, file));
    const dynamic = spawnSync('readelf', ['-d', '-W', file], { encoding: 'utf8' }).stdout;
    assert.match(dynamic, /\(FLAGS_1\).*\bNOW\b/, `${path.relative(root, file)}: linked without -z now`);
  }
});
