// The labels and the stall catcher end to end, as a user runs them: an HTTP server labelled by route
// under the preload writes a pprof that `go tool pprof -tags` splits by route in the routes' CPU
// proportions (1:3), and a handler that holds the loop for 500 ms gets a stall report naming its
// function and its route. Node 24+ read labels from V8; Node 22 does with its flag; Node 20 has no
// readable async context, so it labels through async_hooks (SFPROF_LABELS=hooks).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, preload, requireTool, runNode, tempDir, toolWorks } from '../lib/helpers.mjs';

const major = Number(process.versions.node.split('.')[0]);
const nodeArgs = major === 22 ? ['--experimental-async-context-frame'] : [];
const labelsEnv = major < 22 ? { SFPROF_LABELS: 'hooks' } : {};

/**
 * Runs the labelled server under the preload at 1 ms with the stall catcher at 200 ms, its stall
 * reports as `dir`/stall-<n>.folded; `env` adds the rest. Returns the run, its stall line.
 */
function runServer(dir, env) {
  const run = runNode([...nodeArgs, '-r', preload, path.join(fixtures, 'labelled-server.js')], {
    env: { ...labelsEnv, SFPROF_INTERVAL: '1ms', SFPROF_STALL: '200ms', SFPROF_STALL_OUTPUT: path.join(dir, 'stall-{n}.folded'), ...env },
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  const line = run.stderr.split('\n').find((l) => l.startsWith('sfprof: stall of '));
  assert.ok(line, run.stderr);
  return { run, line };
}

test(`an HTTP server labelled by route: go tool pprof -tags splits 1:3, and a 500 ms handler is a stall report naming it and its route (${major < 22 ? 'async_hooks' : 'V8 async context'})`, (t) => {
  const dir = tempDir('sfprof-labelled-');
  const output = path.join(dir, 'server.pb.gz');
  // The stall: one line on stderr naming the function and the route, and its profile file.
  const { line } = runServer(dir, { SFPROF_OUTPUT: output, SFPROF_TIMER: 'perf' });
  assert.match(line, /blockFor/);
  assert.match(line, /route=\/block/);
  const reports = fs.readdirSync(dir).filter((name) => /^stall-\d+\.folded$/.test(name));
  assert.equal(reports.length, 1, fs.readdirSync(dir).join(', '));
  const folded = fs.readFileSync(path.join(dir, reports[0]), 'utf8');
  assert.match(folded, /blockFor/);

  // The split by route, as go tool pprof reads it.
  if (!requireTool(t, 'go', toolWorks('go', ['version']), 'golang-go')) return;
  const tags = spawnSync('go', ['tool', 'pprof', '-tags', '-sample_index=samples', output], { encoding: 'utf8' });
  assert.equal(tags.status, 0, tags.stderr);
  const section = tags.stdout.split(/\n\s*\n/).find((s) => /^\s*route:/.test(s));
  assert.ok(section, tags.stdout);
  const share = {};
  for (const match of section.matchAll(/^\s*([\d.]+)\s+\(\s*[\d.]+%\): (\S+)$/gm)) share[match[2]] = Number(match[1]);
  assert.ok(share['/light'] > 50 && share['/heavy'] > 150, `samples by route: ${JSON.stringify(share)}\n${tags.stdout}`);
  const heavy = share['/heavy'] / (share['/heavy'] + share['/light']);
  t.diagnostic(`samples by route ${JSON.stringify(share)}: /heavy ${(100 * heavy).toFixed(1)}% of the two (75% expected)`);
  assert.ok(Math.abs(heavy - 0.75) < 0.07, `/heavy's share ${heavy.toFixed(3)}, expected 0.75 ± 0.07`);
  assert.ok(share['/block'] > 100, `the blocking handler's samples carry its route: ${JSON.stringify(share)}`);
});

test('a handler asleep 500 ms in a synchronous native call (Atomics.wait): the stall report names it and its route', () => {
  const dir = tempDir('sfprof-labelled-');
  const { line } = runServer(dir, { RUN_MS: '300', STALL_ROUTE: '/wait', SFPROF_OUTPUT: path.join(dir, 'server.folded') });
  assert.match(line, /waitFor/);
  assert.match(line, /route=\/wait/);
  // No CPU was burned while asleep: the CPU profile has (almost) nothing under waitFor.
  const cpu = fs.readFileSync(path.join(dir, 'server.folded'), 'utf8');
  const asleep = cpu.split('\n').filter((l) => l.includes('waitFor')).reduce((n, l) => n + Number(l.split(' ').at(-1)), 0);
  assert.ok(asleep < 20, `${asleep} CPU samples under waitFor`);
});
