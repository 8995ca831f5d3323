import { test } from 'node:test';
import assert from 'node:assert/strict';

import { optionsFromEnv } from '../../dist/config/env.js';
import { DEFAULTS, DEFAULT_OUTPUT, OptionError, parseDurationUs, resolveOptions, RING_SLOTS_DEFAULT_MAX, RING_WINDOW_MS, ringSlotsFor } from '../../dist/config/options.js';

test('parseDurationUs accepts durations with units, a bare number is microseconds', () => {
  assert.equal(parseDurationUs('10ms'), 10000);
  assert.equal(parseDurationUs('500us'), 500);
  assert.equal(parseDurationUs('500µs'), 500);
  assert.equal(parseDurationUs('2.5ms'), 2500);
  assert.equal(parseDurationUs('1s'), 1000000);
  assert.equal(parseDurationUs('0.25s'), 250000);
  assert.equal(parseDurationUs('.5ms'), 500);
  assert.equal(parseDurationUs('250'), 250);
  assert.equal(parseDurationUs(' 10 ms '), 10000);
  assert.equal(parseDurationUs('1.6us'), 2); // rounded to whole microseconds
});

test('parseDurationUs returns undefined for anything else', () => {
  for (const text of ['ten', '10 parsecs', '-1ms', '', '   ', 'ms', '1e3', '10ms5', '1.ms', '10h', '+5ms']) {
    assert.equal(parseDurationUs(text), undefined, JSON.stringify(text));
  }
});

test('resolveOptions fills in the defaults', () => {
  const expected = { intervalUs: 10000, lines: false, inlines: true, gcCause: true, ringSlots: 64, maxFrames: 128, drainIntervalMs: 100, timelineSamples: 1048576, timer: 'auto', stallUs: 0, stallOutput: 'sfprof-stall-{pid}-{n}.html', stallMax: 10 };
  assert.deepEqual(resolveOptions(), expected);
  assert.deepEqual(resolveOptions({}), expected);
  assert.deepEqual(DEFAULTS, expected);
  // The defaults object itself is not handed out.
  const resolved = resolveOptions();
  resolved.intervalUs = 1;
  assert.equal(DEFAULTS.intervalUs, 10000);
});

test('the default ring holds 200 ms of samples at the interval, from 64 to 4096 slots', () => {
  // A slot is about 1 KB and every slot is touched once the ring wraps: the ring follows the interval.
  // The watcher thread spills a half-full ring every 20 ms, so 200 ms leaves room for it to be late.
  const slots = (options) => resolveOptions(options).ringSlots;
  assert.equal(slots({}), 64, '10 ms: 20 samples in 200 ms, so the minimum');
  assert.equal(slots({ interval: '4ms' }), 64);
  assert.equal(slots({ interval: '1ms' }), 256);
  assert.equal(slots({ interval: '500us' }), 512);
  assert.equal(slots({ interval: '100us' }), 2048);
  assert.equal(ringSlotsFor(20), 4096, 'capped');
  assert.equal(slots({ interval: '1s' }), 64, 'at least 64');
  assert.equal(slots({ interval: '100ms' }), 64);
  assert.equal(slots({ interval: '10ms', drainIntervalMs: 1000 }), 64, 'the drain period does not size it: the watcher spills');
  assert.equal(slots({ interval: '1s', ringSlots: 16 }), 16, 'an explicit size wins');
  assert.equal(slots({ interval: '100us', ringSlots: 1 << 16 }), 65536);
  for (const us of [100, 150, 999, 1000, 2500, 10_000, 33_333, 1_000_000]) {
    const n = ringSlotsFor(us);
    assert.equal(n & (n - 1), 0, `a power of two at ${us} us`);
    assert.ok(n === RING_SLOTS_DEFAULT_MAX || n * us >= RING_WINDOW_MS * 1000, `${n} slots hold ${RING_WINDOW_MS} ms at ${us} us`);
  }
});

test('resolveOptions accepts good values at the edges of their ranges', () => {
  assert.deepEqual(resolveOptions({ interval: '2.5ms', lines: true, inlines: false, gcCause: false, ringSlots: 16, maxFrames: 1, drainIntervalMs: 1, timelineSamples: 0 }), {
    intervalUs: 2500,
    lines: true,
    inlines: false,
    gcCause: false,
    ringSlots: 16,
    maxFrames: 1,
    drainIntervalMs: 1,
    timelineSamples: 0,
    timer: 'auto',
    stallUs: 0,
    stallOutput: 'sfprof-stall-{pid}-{n}.html',
    stallMax: 10,
  });
  assert.deepEqual(resolveOptions({ interval: 1000000, ringSlots: 1 << 20, maxFrames: 255, drainIntervalMs: 60000, timelineSamples: 1 << 24 }), {
    intervalUs: 1000000,
    lines: false,
    inlines: true,
    gcCause: true,
    ringSlots: 1048576,
    maxFrames: 255,
    drainIntervalMs: 60000,
    timelineSamples: 16777216,
    timer: 'auto',
    stallUs: 0,
    stallOutput: 'sfprof-stall-{pid}-{n}.html',
    stallMax: 10,
  });
  assert.equal(resolveOptions({ interval: 100 }).intervalUs, 100);
  assert.equal(resolveOptions({ interval: '100us' }).intervalUs, 100);
  assert.equal(resolveOptions({ interval: '1s' }).intervalUs, 1000000);
  assert.equal(resolveOptions({ interval: 150.4 }).intervalUs, 150);
  assert.equal(resolveOptions({ interval: '250' }).intervalUs, 250);
  assert.equal(resolveOptions({ lines: false }).lines, false);
});

function throwsOption(fn, ...patterns) {
  assert.throws(fn, (error) => {
    assert.ok(error instanceof OptionError, `not an OptionError: ${error}`);
    assert.equal(error.name, 'OptionError');
    for (const pattern of patterns) assert.match(error.message, pattern);
    return true;
  });
}

const INTERVAL_RANGE = /expected a duration from 100us to 1s/;

test('a bad interval names the option, the value and the range', () => {
  throwsOption(() => resolveOptions({ interval: '5us' }), /^sfprof: option "interval" is "5us"; /, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: '99us' }), /option "interval" is "99us"/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: '1.5s' }), /option "interval" is "1.5s"/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: 50 }), /option "interval" is 50;/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: 1000001 }), /option "interval" is 1000001;/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: 'ten' }), /option "interval" is "ten";/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: NaN }), /option "interval" is NaN;/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: Infinity }), /option "interval" is Infinity;/, INTERVAL_RANGE);
  throwsOption(() => resolveOptions({ interval: -10 }), /option "interval" is -10;/, INTERVAL_RANGE);
});

test('a bad inlines value names the option, the value and what is allowed; SFPROF_INLINES reads boolean words', () => {
  assert.throws(() => resolveOptions({ inlines: 'yes' }), /^OptionError: sfprof: option "inlines" is "yes"; expected true or false$/);
  assert.deepEqual(optionsFromEnv({ SFPROF_INLINES: '0' }, 1).options, { inlines: false });
  assert.deepEqual(optionsFromEnv({ SFPROF_INLINES: 'on' }, 1).options, { inlines: true });
});

test('a bad gcCause value names the option, the value and what is allowed; SFPROF_GC_CAUSE reads boolean words', () => {
  assert.throws(() => resolveOptions({ gcCause: 1 }), /^OptionError: sfprof: option "gcCause" is 1; expected true or false$/);
  assert.deepEqual(optionsFromEnv({ SFPROF_GC_CAUSE: '0' }, 1).options, { gcCause: false });
  assert.deepEqual(optionsFromEnv({ SFPROF_GC_CAUSE: 'yes' }, 1).options, { gcCause: true });
  assert.throws(() => optionsFromEnv({ SFPROF_GC_CAUSE: 'maybe' }, 1), /SFPROF_GC_CAUSE/);
});

test('a bad lines value names the option, the value and what is allowed', () => {
  throwsOption(() => resolveOptions({ lines: 'yes' }), /^sfprof: option "lines" is "yes"; expected true or false$/);
  throwsOption(() => resolveOptions({ lines: 1 }), /option "lines" is 1; expected true or false/);
  throwsOption(() => resolveOptions({ lines: null }), /option "lines" is null; expected true or false/);
});

test('a bad ringSlots names the option, the value and the range', () => {
  const range = /expected an integer from 16 to 1048576 that is a power of two$/;
  throwsOption(() => resolveOptions({ ringSlots: 1000 }), /^sfprof: option "ringSlots" is 1000; /, range);
  throwsOption(() => resolveOptions({ ringSlots: 8 }), /option "ringSlots" is 8; /, range);
  throwsOption(() => resolveOptions({ ringSlots: 1 << 21 }), /option "ringSlots" is 2097152; /, range);
  throwsOption(() => resolveOptions({ ringSlots: 4096.5 }), /option "ringSlots" is 4096.5; /, range);
  throwsOption(() => resolveOptions({ ringSlots: '4096' }), /option "ringSlots" is "4096"; /, range);
  throwsOption(() => resolveOptions({ ringSlots: 48 }), /option "ringSlots" is 48; /, range);
});

test('a bad maxFrames or drainIntervalMs names the option, the value and the range', () => {
  throwsOption(() => resolveOptions({ maxFrames: 0 }), /^sfprof: option "maxFrames" is 0; expected an integer from 1 to 255$/);
  throwsOption(() => resolveOptions({ maxFrames: 256 }), /option "maxFrames" is 256; expected an integer from 1 to 255$/);
  throwsOption(() => resolveOptions({ maxFrames: 2.5 }), /option "maxFrames" is 2.5; /);
  throwsOption(
    () => resolveOptions({ drainIntervalMs: 0 }),
    /^sfprof: option "drainIntervalMs" is 0; expected an integer from 1 to 60000$/,
  );
  throwsOption(() => resolveOptions({ drainIntervalMs: 60001 }), /option "drainIntervalMs" is 60001; expected an integer from 1 to 60000$/);
  throwsOption(() => resolveOptions({ drainIntervalMs: '100' }), /option "drainIntervalMs" is "100"; /);
  throwsOption(() => resolveOptions({ timelineSamples: -1 }), /^sfprof: option "timelineSamples" is -1; expected an integer from 0 to 16777216$/);
  throwsOption(() => resolveOptions({ timelineSamples: 1.5 }), /option "timelineSamples" is 1.5; /);
  assert.equal(resolveOptions({ timer: 'perf' }).timer, 'perf');
  assert.equal(resolveOptions({ timer: ' Thread-CPU ' }).timer, 'thread-cpu');
  assert.equal(resolveOptions({ timer: 'pacer' }).timer, 'pacer');
  throwsOption(() => resolveOptions({ timer: 'hpet' }), /^sfprof: option "timer" is "hpet"; expected one of auto, itimer, perf, thread-cpu, pacer$/);
  throwsOption(() => resolveOptions({ timer: 1 }), /^sfprof: option "timer" is 1; expected one of auto, itimer, perf, thread-cpu, pacer$/);
});

test('an unknown option key is rejected, listing the allowed ones', () => {
  throwsOption(
    () => resolveOptions({ intervall: '10ms' }),
    /^sfprof: unknown option "intervall"; allowed: interval, lines, inlines, gcCause, ringSlots, maxFrames, drainIntervalMs, timelineSamples, timer, sourceMaps, stall, stallOutput, stallMax, labels$/,
  );
  throwsOption(() => resolveOptions({ interval: '10ms', output: 'x' }), /unknown option "output"/);
});

test('options that are not an object are rejected', () => {
  throwsOption(() => resolveOptions(null), /^sfprof: options is null; expected an object$/);
  throwsOption(() => resolveOptions('10ms'), /^sfprof: options is "10ms"; expected an object$/);
  throwsOption(() => resolveOptions(5), /^sfprof: options is 5; expected an object$/);
});

test('optionsFromEnv with nothing set: no options, default output with the pid', () => {
  assert.equal(DEFAULT_OUTPUT, 'sfprof-{pid}.folded');
  assert.deepEqual(optionsFromEnv({}, 4242), { options: {}, output: 'sfprof-4242.folded', format: 'folded', tiers: false, keep: 10 });
  assert.equal(optionsFromEnv({}).output, `sfprof-${process.pid}.folded`);
});

test('optionsFromEnv: SFPROF_INTERVAL', () => {
  assert.deepEqual(optionsFromEnv({ SFPROF_INTERVAL: '5ms' }, 1).options, { interval: 5000 });
  assert.deepEqual(optionsFromEnv({ SFPROF_INTERVAL: '250' }, 1).options, { interval: 250 });
  assert.deepEqual(optionsFromEnv({ SFPROF_INTERVAL: '' }, 1).options, {});
  // The result is accepted by resolveOptions.
  assert.equal(resolveOptions(optionsFromEnv({ SFPROF_INTERVAL: '2.5ms' }, 1).options).intervalUs, 2500);
  throwsOption(() => optionsFromEnv({ SFPROF_INTERVAL: 'fast' }, 1), /^sfprof: SFPROF_INTERVAL is "fast"; /, INTERVAL_RANGE);
  throwsOption(() => optionsFromEnv({ SFPROF_INTERVAL: '10' }, 1), /SFPROF_INTERVAL is "10"; /, INTERVAL_RANGE);
  throwsOption(() => optionsFromEnv({ SFPROF_INTERVAL: '2s' }, 1), /SFPROF_INTERVAL is "2s"; /, INTERVAL_RANGE);
});

test('optionsFromEnv: SFPROF_LINES', () => {
  for (const word of ['1', 'true', 'TRUE', 'yes', 'on', ' On ']) {
    assert.deepEqual(optionsFromEnv({ SFPROF_LINES: word }, 1).options, { lines: true }, word);
  }
  for (const word of ['0', 'false', 'False', 'no', 'off', '', '  ']) {
    assert.deepEqual(optionsFromEnv({ SFPROF_LINES: word }, 1).options, { lines: false }, JSON.stringify(word));
  }
  throwsOption(() => optionsFromEnv({ SFPROF_LINES: 'maybe' }, 1), /^sfprof: SFPROF_LINES is "maybe"; expected 1 or 0/);
  throwsOption(() => optionsFromEnv({ SFPROF_LINES: '2' }, 1), /SFPROF_LINES is "2"; expected 1 or 0/);
});

test('optionsFromEnv: SFPROF_OUTPUT with {pid} expanded', () => {
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'out/prof-{pid}.folded' }, 77).output, 'out/prof-77.folded');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p-{pid}-{pid}.txt' }, 77).output, 'p-77-77.txt');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: '/srv/prof/fixed.folded' }, 77).output, '/srv/prof/fixed.folded');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: '' }, 77).output, 'sfprof-77.folded');
  throwsOption(
    () => optionsFromEnv({ SFPROF_OUTPUT: 'profiles/' }, 77),
    /^sfprof: SFPROF_OUTPUT is "profiles\/"; expected a file path \(or - for standard output\), not a directory$/,
  );
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: '-' }, 77).output, '-');
});

test('optionsFromEnv: SFPROF_FORMAT, or the format SFPROF_OUTPUT implies, picks format and default name', () => {
  assert.deepEqual(
    ['folded', 'pprof', 'cpuprofile', 'html'].map((format) => optionsFromEnv({ SFPROF_FORMAT: format }, 5).output),
    ['sfprof-5.folded', 'sfprof-5.pb.gz', 'sfprof-5.cpuprofile', 'sfprof-5.html'],
  );
  assert.equal(optionsFromEnv({ SFPROF_FORMAT: ' HTML ' }, 5).format, 'html');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.pb.gz' }, 5).format, 'pprof');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.pprof' }, 5).format, 'pprof');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.cpuprofile' }, 5).format, 'cpuprofile');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.HTML' }, 5).format, 'html');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.txt' }, 5).format, 'folded');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.unknown' }, 5).format, 'folded');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: '-', SFPROF_FORMAT: 'pprof' }, 5).format, 'pprof');
  assert.equal(optionsFromEnv({ SFPROF_OUTPUT: 'p.data', SFPROF_FORMAT: 'html' }, 5).output, 'p.data');
  throwsOption(() => optionsFromEnv({ SFPROF_FORMAT: 'svg' }, 5), /^sfprof: SFPROF_FORMAT is "svg"; expected one of folded, pprof, cpuprofile, html$/);
  throwsOption(
    () => optionsFromEnv({ SFPROF_FORMAT: 'html', SFPROF_OUTPUT: 'x.folded' }, 5),
    /^sfprof: SFPROF_FORMAT is html but the output "x.folded" has the extension of folded; use a matching extension \(\.html\)/,
  );
});

test('optionsFromEnv: SFPROF_TIMER', () => {
  assert.deepEqual(optionsFromEnv({ SFPROF_TIMER: 'perf' }, 5).options, { timer: 'perf' });
  assert.deepEqual(optionsFromEnv({ SFPROF_TIMER: 'pacer' }, 5).options, { timer: 'pacer' });
  assert.deepEqual(optionsFromEnv({ SFPROF_TIMER: '' }, 5).options, {});
  throwsOption(() => optionsFromEnv({ SFPROF_TIMER: 'fast' }, 5), /^sfprof: SFPROF_TIMER is "fast"; expected one of auto, itimer, perf, thread-cpu, pacer$/);
});

test('optionsFromEnv: SFPROF_TIERS', () => {
  assert.equal(optionsFromEnv({ SFPROF_TIERS: '1' }, 5).tiers, true);
  assert.equal(optionsFromEnv({ SFPROF_TIERS: 'off' }, 5).tiers, false);
  throwsOption(() => optionsFromEnv({ SFPROF_TIERS: 'j' }, 5), /^sfprof: SFPROF_TIERS is "j"; expected 1 or 0/);
});

test('optionsFromEnv combines all variables', () => {
  assert.deepEqual(
    optionsFromEnv({ SFPROF_INTERVAL: '1ms', SFPROF_LINES: 'yes', SFPROF_OUTPUT: 'x-{pid}.folded', SFPROF_PERIOD: '2m', SFPROF_KEEP: '4', OTHER: 'ignored' }, 9),
    { options: { interval: 1000, lines: true }, output: 'x-9.folded', format: 'folded', tiers: false, periodMs: 120_000, keep: 4 },
  );
});

test('SFPROF_PERIOD and SFPROF_KEEP: continuous mode settings, each error naming the variable and value', () => {
  assert.equal(optionsFromEnv({ SFPROF_PERIOD: '60s' }, 1).periodMs, 60_000);
  assert.equal(optionsFromEnv({ SFPROF_PERIOD: '5m' }, 1).periodMs, 300_000);
  assert.equal(optionsFromEnv({ SFPROF_PERIOD: '1.5s' }, 1).periodMs, 1500);
  assert.equal(optionsFromEnv({ SFPROF_PERIOD: '24h' }, 1).periodMs, 86_400_000);
  assert.equal(optionsFromEnv({}, 1).periodMs, undefined);
  for (const bad of ['60', '999ms', '25h', 'often', '-1s']) {
    throwsOption(() => optionsFromEnv({ SFPROF_PERIOD: bad }, 1), new RegExp(`SFPROF_PERIOD is "${bad}"; expected a duration from 1s to 24h`));
  }
  assert.equal(optionsFromEnv({ SFPROF_KEEP: '3' }, 1).keep, 3);
  for (const bad of ['0', '1.5', 'x', '100001']) {
    throwsOption(() => optionsFromEnv({ SFPROF_KEEP: bad }, 1), /SFPROF_KEEP is .*; expected an integer from 1 to 100000/);
  }
});

test('labels: the start option and SFPROF_LABELS take auto, hooks or off, and name a bad value', () => {
  assert.equal(resolveOptions({ labels: 'hooks' }).labels, 'hooks');
  assert.equal(resolveOptions({}).labels, undefined);
  throwsOption(() => resolveOptions({ labels: 'cped' }), /^sfprof: option "labels" is "cped"; expected one of auto, hooks, off$/);
  throwsOption(() => resolveOptions({ labels: true }), /^sfprof: option "labels" is true; expected one of auto, hooks, off$/);
  assert.equal(optionsFromEnv({ SFPROF_LABELS: 'off' }).options.labels, 'off');
  assert.equal(optionsFromEnv({}).options.labels, undefined);
  throwsOption(() => optionsFromEnv({ SFPROF_LABELS: 'always' }), /^sfprof: SFPROF_LABELS is "always"; expected one of auto, hooks, off$/);
});
