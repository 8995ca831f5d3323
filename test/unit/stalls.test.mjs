// The stall catcher offline: its options, the profile of a stall's samples (probes and labels kept),
// the stderr line, and the bound on report files. Samples are built by hand.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { parseCommandLine, recordEnv } from '../../dist/cli/args.js';
import { optionsFromEnv } from '../../dist/config/env.js';
import { OptionError, resolveOptions } from '../../dist/config/options.js';
import { Profile } from '../../dist/model/profile.js';
import { StallCollector, stallProfile } from '../../dist/pipeline/stalls.js';
import { reportStall, resetStallReportsForTests, stallLine, STALL_REPORT_GAP_MS } from '../../dist/delivery/stall-reports.js';
import { tempDir } from '../lib/helpers.mjs';

const METADATA = { startTime: Date.UTC(2026, 0, 1, 12, 0, 1, 234), durationNs: 512e6, intervalUs: 10_000, engine: 'itimer', pid: 42, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } };

test('stall option: off by default; a duration from 10ms to 60s; errors name the option, value and range', () => {
  assert.equal(resolveOptions({}).stallUs, 0);
  assert.equal(resolveOptions({ stall: '200ms' }).stallUs, 200_000);
  assert.equal(resolveOptions({ stall: '1.5s' }).stallUs, 1_500_000);
  for (const bad of ['5ms', '61s', 'soon', '', -1]) {
    assert.throws(() => resolveOptions({ stall: bad }), (error) => {
      assert.ok(error instanceof OptionError);
      assert.match(error.message, /option "stall" is .*; expected a duration from 10ms to 60s/);
      return true;
    });
  }
  assert.throws(() => resolveOptions({ stallMax: -1 }), /option "stallMax" is -1; expected an integer from 0 to 10000/);
  assert.throws(() => resolveOptions({ stallOutput: 'dir/' }), /option "stallOutput" is "dir\/"/);
});

test('SFPROF_STALL and --stall: reports beside the profile unless SFPROF_STALL_OUTPUT says where', () => {
  const config = optionsFromEnv({ SFPROF_STALL: '250ms', SFPROF_OUTPUT: 'out/app.folded', SFPROF_STALL_MAX: '3' }, 7);
  assert.equal(config.options.stall, 250_000);
  assert.equal(config.options.stallOutput, path.join('out', 'sfprof-stall-{pid}-{n}.html'));
  assert.equal(config.options.stallMax, 3);
  assert.equal(optionsFromEnv({ SFPROF_STALL: '1s', SFPROF_STALL_OUTPUT: 's-{n}.folded' }).options.stallOutput, 's-{n}.folded');
  assert.equal(optionsFromEnv({}).options.stall, undefined);
  assert.throws(() => optionsFromEnv({ SFPROF_STALL: '1ms' }), /SFPROF_STALL is "1ms"; expected a duration from 10ms to 60s/);
  assert.throws(() => optionsFromEnv({ SFPROF_STALL: '1s', SFPROF_STALL_MAX: 'many' }), /SFPROF_STALL_MAX is "many"/);
  const command = parseCommandLine(['record', '--stall', '300ms', '--', 'node', 'app.js']);
  assert.equal(command.stall, '300ms');
  assert.equal(recordEnv(command).SFPROF_STALL, '300ms');
  assert.throws(() => parseCommandLine(['record', '--stall', '2ms', 'node']), /--stall is "2ms"/);
});

/** A CPU sample as the ingester taps it: its stack interned in `profile`. */
function cpuSample(profile, timeNs, names, labels = {}) {
  const ids = names.map((name) => profile.internFrame({ name, file: 'app.js', line: 1, kind: 'js' }));
  const labelId = profile.internLabels(labels);
  profile.addStack(ids, 1, timeNs, undefined, labelId);
  return { timeNs, probe: false, profile, frameIds: ids, labels: labelId };
}

test('stall profile: the samples inside the span, probes included, labels kept', () => {
  const cpu = new Profile(METADATA);
  const samples = [
    cpuSample(cpu, 5e6, ['main', 'before']),
    cpuSample(cpu, 20e6, ['main', 'blockFor'], { route: '/slow' }),
    cpuSample(cpu, 30e6, ['main', 'blockFor'], { route: '/slow' }),
    { timeNs: 40e6, probe: true, frames: [{ name: 'main', kind: 'js', file: 'app.js', line: 1 }, { name: 'waitHere', kind: 'js', file: 'app.js', line: 9 }, { name: 'futex_wait', kind: 'native' }] },
    cpuSample(cpu, 90e6, ['main', 'after']),
  ];
  const { profile, probes } = stallProfile(samples, 10e6, 50e6, { ...METADATA });
  assert.equal(probes, 1);
  assert.equal(profile.totalSamples, 3);
  const names = profile.stackList.map((stack) => stack.frames.map((id) => profile.frames[id].name).join(';')).sort();
  assert.deepEqual(names, ['main;blockFor', 'main;waitHere;futex_wait']);
  const labelled = profile.stackList.find((stack) => stack.labels !== 0);
  assert.deepEqual({ ...profile.labelSets[labelled.labels] }, { route: '/slow' });
  const line = stallLine({ index: 1, startNs: 10e6, endNs: 50e6, startTimeMs: METADATA.startTime, durationMs: 512, profile, probes, suppressedBefore: 2 }, 'r.html');
  // The innermost app JS frame names each sample, not the C++ leaf.
  assert.match(line, /^sfprof: stall of 512 ms on the main thread at 12:00:01\.234: blockFor \(app\.js:1\) < main \(app\.js:1\) 67%, waitHere \(app\.js:9\) < main \(app\.js:1\) 33%/);
  assert.match(line, /; labels route=\/slow;/);
  assert.match(line, /; 2 earlier stalls not reported \(over the bound\); report r\.html$/);
});

test('the bound: at most stallMax files and one per gap; the rest counted as suppressed', () => {
  resetStallReportsForTests();
  const dir = tempDir();
  const settings = { stallOutput: path.join(dir, 'stall-{pid}-{n}.folded'), stallMax: 2 };
  let now = 1_000_000;
  const written = [];
  const sink = (report, options) => {
    const ok = reportStall(report, options, now);
    if (ok) written.push(report.index);
    return ok;
  };
  const cpu = new Profile(METADATA);
  const collector = new StallCollector(sink, settings, (startNs, endNs) => ({ ...METADATA, durationNs: endNs - startNs }));
  const stderr = [];
  // sfprof writes its lines straight to fd 2 (common/stderr.ts).
  const writeSync = fs.writeSync;
  fs.writeSync = (fd, data, ...rest) => (fd === 2 ? stderr.push(String(data)) : writeSync(fd, data, ...rest));
  try {
    for (let i = 0; i < 6; i++) {
      collector.tap(cpuSample(cpu, i * 1e9 + 1e6, ['main', 'blockFor']));
      collector.settle([i * 1e9, i * 1e9 + 300e6], { count: i + 1, longestNs: 300e6, notQueued: 0 }, -1);
      now += i === 2 ? STALL_REPORT_GAP_MS : 1000;
    }
  } finally {
    fs.writeSync = writeSync;
  }
  // Stall 1 is written; 2 and 3 fall in its gap; 4 comes after the gap; then stallMax is reached.
  assert.deepEqual(written, [1, 4]);
  assert.deepEqual(collector.stats(), { count: 6, longestMs: 300, reported: 2, suppressed: 4 });
  assert.equal(fs.readdirSync(dir).length, 2);
  assert.equal(stderr.length, 2, stderr.join(''));
  assert.match(stderr[1], /2 earlier stalls not reported/);
  resetStallReportsForTests();
});
