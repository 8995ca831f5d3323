// Signals on threads without JS, for real: the itimer engine while the libuv pool burns CPU and the
// main thread idles. Each such signal is a stack [other threads];<thread name>;<native function>, the
// stacks under [other threads] add up to the stats' count, and `sfprof top` shows them apart.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, root, runNode, tempDir, total } from '../lib/helpers.mjs';

// OpenSSL's pbkdf2 loop, as Node's dynamic symbol table names it (the hot block function itself is
// local, "(native) [node]").
const CRYPTO = /SHA512|sha512|EVP_|HMAC|OPENSSL_|CRYPTO_|PBKDF2|pbkdf2/;

test('itimer: pool threads\' samples are [other threads];<name>;<function>, adding up to the non-JS-thread count', { skip: process.platform !== 'linux' && 'thread names come from /proc' }, () => {
  const dir = tempDir();
  const file = path.join(dir, 'pool.folded');
  const run = runNode([path.join(fixtures, 'pool-burn.js'), file]);
  assert.equal(run.status, 0, run.stderr);
  const { stats, names, metadataNonJs } = JSON.parse(run.stdout);
  const stacks = parseFoldedFile(file);
  const other = stacks.filter((s) => s.frames[0] === '[other threads]');
  const lines = other.map((s) => `${s.frames.join(';')} ${s.count}`).join('\n');

  // Every signal on another thread is in the profile, recorded or not, exactly once.
  assert.ok(stats.drops.nonJsThread > 20, `few signals on other threads: ${stats.drops.nonJsThread}`);
  assert.equal(total(other), stats.drops.nonJsThread);
  assert.equal(metadataNonJs, stats.drops.nonJsThread);
  assert.equal(total(stacks), stats.signalsReceived);

  // Node 22 on names the pool "libuv-worker"; Node 20 leaves every thread "node".
  const pool = names.includes('libuv-worker') ? 'libuv-worker' : 'node';
  const recorded = other.filter((s) => s.frames.length === 3 && names.includes(s.frames[1]));
  assert.ok(total(recorded) >= 0.9 * total(other), `most are recorded with a thread's name:\n${lines}`);
  const crypto = recorded.filter((s) => s.frames[1] === pool && CRYPTO.test(s.frames[2]));
  assert.ok(crypto.length > 0, `pbkdf2's functions by name under ${pool}:\n${lines}`);
  assert.ok(recorded.every((s) => / \[[^\]]+\]$|^\(unknown\)$/.test(s.frames[2])), `each leaf is a native function with its object:\n${lines}`);

  // top: the JS threads' table first, then the other threads in their own section.
  const top = runNode([path.join(root, 'bin', 'sfprof.js'), 'top', file, '-n', '3']);
  assert.equal(top.status, 0, top.stderr);
  const [jsPart, otherPart] = top.stdout.split('\n\n');
  // The main thread mostly waits for the pool: its table may have no row at all.
  assert.match(jsPart, /^\d+ samples\n {4}self {2}self%(?: {2}self\+GC self\+GC%)? {4}total total% {2}function(?:\n|$)/);
  assert.doesNotMatch(jsPart, /\[other threads\]/);
  assert.match(otherPart, new RegExp(`^${stats.drops.nonJsThread} samples on other threads`));
  assert.match(otherPart, new RegExp(`\\n +\\d+ +[\\d.]+% {2}${pool}\\n +\\d+ +[\\d.]+% {4}\\S`));
});
