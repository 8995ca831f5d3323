// Stack walking from the interrupted registers (native/registers.h: pc, sp, fp and, on arm64, lr): a
// chain of sixteen distinct functions, optimized without inlining, must come out whole and in order
// in every sample of its leaf, under each engine that signals a JS thread mid-loop. A register read
// from the wrong field of the ucontext breaks the walk (no frames, a cut stack or a misplaced leaf),
// and this fails. Runs on every architecture; CI runs it under arm64 Node too (docs/development.md).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { fixtures, parseFoldedFile, runNode, tempDir } from '../lib/helpers.mjs';

const LEVELS = Array.from({ length: 16 }, (_, i) => `level${String(i + 1).padStart(2, '0')}`);
// perf is left out: it works under neither qemu-user nor in containers that block perf_event_open,
// and it signals the same thread at the same points as thread-cpu.
const ENGINES = ['itimer', 'thread-cpu'];
const source = fs.readFileSync(path.join(fixtures, 'deep-stack.js'), 'utf8').split('\n');
const lineOf = (text) => source.findIndex((line) => line.includes(text)) + 1;
// Each caller's frame is on its one line; the leaf's samples on its inner loop's line (a pc taken
// from the wrong register puts them elsewhere).
const LINES = LEVELS.slice(0, -1).map((name) => `deep-stack.js:${lineOf(`function ${name}(`)})`);
const LOOP = `deep-stack.js:${lineOf('Math.imul')})`;
const LEAF_ENTRY = `deep-stack.js:${lineOf(`function ${LEVELS.at(-1)}(`)})`;

for (const engine of ENGINES) {
  test(`${engine}: a known stack of ${LEVELS.length} functions resolves fully, every level in order`, (t) => {
    const output = path.join(tempDir(), 'deep.folded');
    const run = runNode(['--allow-natives-syntax', '--no-turbo-inlining', '--no-maglev-inlining', path.join(fixtures, 'deep-stack.js')], {
      env: { SFPROF_OUTPUT: output, SFPROF_INTERVAL: '1ms', SFPROF_TIMER: engine },
    });
    assert.equal(run.status, 0, run.stderr);
    const stacks = parseFoldedFile(output).map((s) => ({ ...s, names: s.frames.map((f) => f.replace(/ \(.*$/, '')) }));
    let inChain = 0;
    let leaf = 0;
    let inLoop = 0;
    let entry = 0;
    const broken = [];
    for (const stack of stacks) {
      // run()'s samples: the warm-up (warm()) ran the levels before they were optimized.
      if (!stack.names.includes('run') || !stack.names.some((n) => LEVELS.includes(n))) continue;
      inChain += stack.count;
      const leafAt = stack.names.indexOf(LEVELS.at(-1));
      if (leafAt >= 0) leaf += stack.count;
      if (stack.frames[leafAt]?.endsWith(LOOP)) inLoop += stack.count;
      // From the root: Node's main module, the fixture's run(), then level01 … level16 with nothing
      // between and nothing missing.
      const at = stack.names.indexOf('run');
      const whole = at > 0 && stack.frames[0].includes('node:internal/main/') &&
        LEVELS.every((name, i) => stack.names[at + 1 + i] === name) && stack.names.slice(at + 1 + LEVELS.length).every((n) => !LEVELS.includes(n)) &&
        LINES.every((line, i) => stack.frames[at + 1 + i].endsWith(line));
      // The one walk V8 itself gets wrong: a signal right at the leaf's entry, before its frame is
      // built, shows the leaf without its direct caller (seen once in 200 samples on x64).
      const atEntry = leafAt >= 0 && stack.frames[leafAt].endsWith(LEAF_ENTRY) && stack.names[leafAt - 1] === LEVELS.at(-3) &&
        LEVELS.slice(0, -2).every((name, i) => stack.names[at + 1 + i] === name);
      if (atEntry) entry += stack.count;
      else if (leafAt >= 0 && !whole) broken.push(`${stack.count}× ${stack.frames.join(';')}`);
    }
    assert.ok(leaf >= 50, `${leaf} samples in ${LEVELS.at(-1)} (of ${inChain} in the chain); the profile:\n${stacks.map((s) => `${s.count} ${s.frames.join(';')}`).join('\n').slice(0, 4000)}`);
    // The leaf runs nearly all the time: the chain's other samples are calls and returns between levels.
    assert.ok(leaf / inChain >= 0.9, `${leaf} of ${inChain} chain samples in the leaf`);
    assert.deepEqual(broken, [], `stacks of ${LEVELS.at(-1)} not whole (of ${leaf})`);
    assert.ok(entry <= Math.max(1, 0.02 * leaf), `${entry} of ${leaf} leaf samples at its entry without their caller`);
    assert.ok(inLoop / leaf >= 0.8, `${inLoop} of ${leaf} leaf samples on its loop, ${LOOP.slice(0, -1)}`);
    t.diagnostic(`${process.arch}: ${leaf} samples in ${LEVELS.at(-1)}, ${leaf - entry} whole, ${entry} at its entry without its caller, ${inLoop} on its loop; ${inChain} in the chain`);
  });
}
