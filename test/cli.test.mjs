// The sfprof bin end to end: help, errors, exit status passthrough, a recorded profile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, root, runNode, tempDir, total } from './helpers.mjs';

const bin = path.join(root, 'bin', 'sfprof.js');

test('--help prints usage and exits 0; a bad option exits 2 naming it', () => {
  const help = runNode([bin, '--help']);
  assert.equal(help.status, 0);
  assert.match(help.stdout, /sfprof record \[options\] \[--\] <command>/);
  assert.match(help.stdout, /--interval/);
  const bad = runNode([bin, 'record', '--interval', 'soon', '--', 'node', '-e', '0']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--interval is "soon"; expected a duration from 100us to 1s/);
});

test('record writes the profile of the child and passes its exit code through', () => {
  const dir = tempDir();
  const output = path.join(dir, 'rec.folded');
  const run = runNode([bin, 'record', '-i', '1ms', '-o', output, '--', process.execPath, path.join(fixtures, 'exit-paths.js')], {
    env: { EXIT_MODE: 'exit' },
  });
  assert.equal(run.status, 3, run.stderr);
  assert.match(run.stdout, /app ran/);
  assert.ok(total(parseFoldedFile(output), (s) => s.frames.some((f) => f.startsWith('spin ('))) > 10);
});

test('record reports a child killed by a signal like a shell does', () => {
  const pipe = runNode([bin, 'record', '--', 'sh', '-c', 'kill -PIPE $$']);
  assert.equal(pipe.status, 128 + 13);
  const term = runNode([bin, 'record', '--', 'sh', '-c', 'kill -TERM $$']);
  assert.equal(term.signal, 'SIGTERM');
});

test('record of a command that does not exist exits 127 with a message', () => {
  const run = runNode([bin, 'record', '--', 'no-such-command-sfprof']);
  assert.equal(run.status, 127);
  assert.match(run.stderr, /could not start "no-such-command-sfprof"/);
  assert.ok(!fs.existsSync(path.join(root, 'sfprof-undefined.folded')));
});
