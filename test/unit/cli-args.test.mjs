import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCommandLine, recordEnv, withPreload, USAGE, RECORD_USAGE, REPORT_USAGE, TOP_USAGE, DIFF_USAGE } from '../../dist/cli/args.js';
import { readFolded } from '../../dist/formats/readers/folded.js';
import { childrenOf, functionShares } from '../../dist/delivery/summary.js';

const RECORD_DEFAULTS = { kind: 'record', interval: undefined, timer: undefined, output: undefined, format: undefined, lines: false, tiers: false, sourceMaps: false };

test('record: options before "--" or before the first word, the rest is the command', () => {
  assert.deepEqual(parseCommandLine(['record', '--', 'node', 'app.js', '--port', '3']), {
    ...RECORD_DEFAULTS, command: ['node', 'app.js', '--port', '3'],
  });
  assert.deepEqual(parseCommandLine(['record', '-i', '1ms', '--lines', '-o', 'x.folded', 'node', 'app.js', '--lines']), {
    ...RECORD_DEFAULTS, interval: '1ms', output: 'x.folded', format: 'folded', lines: true, command: ['node', 'app.js', '--lines'],
  });
  assert.equal(parseCommandLine(['record', '--interval=500us', 'node']).interval, '500us');
  assert.equal(parseCommandLine(['record', '-t', 'perf', 'node']).timer, 'perf');
  assert.equal(parseCommandLine(['record', '--timer', 'thread-cpu', '--', 'node']).timer, 'thread-cpu');
  assert.equal(parseCommandLine(['record', '--timer', 'pacer', '--', 'node']).timer, 'pacer');
  assert.throws(() => parseCommandLine(['record', '--timer', 'rdtsc', 'node']), /^OptionError: sfprof: --timer is "rdtsc"; expected one of auto, itimer, perf, thread-cpu, pacer$/);
});

test('record --format: given, or implied by --output; the default name follows the format', () => {
  assert.deepEqual(parseCommandLine(['record', '-f', 'pprof', 'node']), {
    ...RECORD_DEFAULTS, format: 'pprof', output: 'sfprof-{pid}.pb.gz', command: ['node'],
  });
  // The format an --output implies is passed on, so an SFPROF_FORMAT in the shell cannot contradict it.
  assert.deepEqual(parseCommandLine(['record', '-o', 'a.html', 'node']), { ...RECORD_DEFAULTS, output: 'a.html', format: 'html', command: ['node'] });
  assert.deepEqual(parseCommandLine(['record', '-o', 'a.data', 'node']), { ...RECORD_DEFAULTS, output: 'a.data', format: 'folded', command: ['node'] });
  assert.equal(parseCommandLine(['record', '--tiers', 'node']).tiers, true);
  assert.throws(() => parseCommandLine(['record', '--tiers', '-o', 'x.html', 'node']), /^OptionError: sfprof record: --tiers applies to the folded format only, and the output is html$/);
  assert.equal(parseCommandLine(['record', '--format', 'html', '-o', '-', 'node']).output, '-');
  assert.throws(() => parseCommandLine(['record', '-f', 'svg', 'node']), /^OptionError: sfprof: --format is "svg"; expected one of folded, pprof, cpuprofile, html$/);
  assert.throws(() => parseCommandLine(['record', '-f', 'html', '-o', 'x.pb.gz', 'node']), /--format is html but the output "x.pb.gz" has the extension of pprof/);
});

test('report: one input, output to stdout unless given, format from the flag or the extension', () => {
  assert.deepEqual(parseCommandLine(['report', 'a.folded']), { kind: 'report', input: 'a.folded', output: '-', format: 'folded', tiers: false, sourceMaps: false });
  assert.deepEqual(parseCommandLine(['report', '-', '--format', 'html']), { kind: 'report', input: '-', output: '-', format: 'html', tiers: false, sourceMaps: false });
  assert.deepEqual(parseCommandLine(['report', 'a.pb.gz', '-o', 'b.html', '--title', 'T']), {
    kind: 'report', input: 'a.pb.gz', output: 'b.html', format: 'html', tiers: false, sourceMaps: false, title: 'T',
  });
  assert.throws(() => parseCommandLine(['report']), /^OptionError: sfprof report: no input file given; use - for standard input/);
  assert.throws(() => parseCommandLine(['report', 'a', 'b']), /sfprof report: expected one input file, got 2: "a" "b"/);
  assert.throws(() => parseCommandLine(['report', 'a', '--lines']), /sfprof report: Unknown option '--lines'.*\(see sfprof report --help\)/);
  assert.throws(() => parseCommandLine(['report', 'a', '-o', '']), /--output is empty/);
  assert.throws(() => parseCommandLine(['report', 'a', '--title', 'T']), /sfprof report: --title applies to the html format only, and the output is folded/);
  assert.throws(() => parseCommandLine(['report', 'a', '--tiers', '-f', 'pprof']), /--tiers applies to the folded format only, and the output is pprof/);
});

test('top: one input and a row count', () => {
  assert.deepEqual(parseCommandLine(['top', 'a.folded']), { kind: 'top', input: 'a.folded', count: 20, raw: false });
  assert.equal(parseCommandLine(['top', 'a.folded', '--raw']).raw, true);
  assert.deepEqual(parseCommandLine(['top', '-n', '5', '-']), { kind: 'top', input: '-', count: 5, raw: false });
  for (const bad of ['0', '-1', '2.5', 'ten', '100001']) {
    assert.throws(() => parseCommandLine(['top', 'a', `--count=${bad}`]), /sfprof top: -n\/--count is ".*"; expected a whole number from 1 to 100000/, bad);
  }
});

test('diff: two inputs, output to stdout as folded unless given, html | folded | pprof only', () => {
  assert.deepEqual(parseCommandLine(['diff', 'a.folded', 'b.pb.gz']), { kind: 'diff', base: 'a.folded', next: 'b.pb.gz', output: '-', format: 'folded' });
  assert.deepEqual(parseCommandLine(['diff', 'a', 'b', '-o', 'd.html', '--title', 'T']), { kind: 'diff', base: 'a', next: 'b', output: 'd.html', format: 'html', title: 'T' });
  assert.equal(parseCommandLine(['diff', 'a', 'b', '-o', 'd.pb.gz']).format, 'pprof');
  assert.equal(parseCommandLine(['diff', 'a', 'b', '-o', 'd.txt']).format, 'folded');
  assert.equal(parseCommandLine(['diff', '-', 'b', '--format', 'PPROF']).format, 'pprof');
  assert.throws(() => parseCommandLine(['diff']), /^OptionError: sfprof diff: expected two input files, <base> and <new>, got none/);
  assert.throws(() => parseCommandLine(['diff', 'a']), /^OptionError: sfprof diff: expected two input files, <base> and <new>, got 1: "a"/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', 'c']), /got 3: "a" "b" "c"/);
  assert.throws(() => parseCommandLine(['diff', '-', '-']), /sfprof diff: <base> and <new> are both - \(standard input\)/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', '-f', 'cpuprofile']), /^OptionError: sfprof diff: --format is "cpuprofile"; expected one of html, folded, pprof$/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', '-o', 'd.cpuprofile']), /sfprof diff: --output is "d.cpuprofile"; a diff is written as html/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', '-f', 'html', '-o', 'd.folded']), /--format is html but the output "d.folded" has the extension of folded/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', '--title', 'T']), /sfprof diff: --title applies to the html format only, and the output is folded/);
  assert.throws(() => parseCommandLine(['diff', 'a', 'b', '--tiers']), /sfprof diff: Unknown option '--tiers'.*\(see sfprof diff --help\)/);
  assert.deepEqual(parseCommandLine(['diff', '--help']), { kind: 'help', usage: DIFF_USAGE });
  for (const flag of ['--output', '--format', '--title']) assert.match(DIFF_USAGE, new RegExp(flag));
  assert.match(USAGE, /sfprof diff <base> <new>/);
});

test('help for every command, version, and errors that name the problem', () => {
  assert.deepEqual(parseCommandLine([]), { kind: 'help', usage: USAGE });
  assert.deepEqual(parseCommandLine(['--help']), { kind: 'help', usage: USAGE });
  assert.deepEqual(parseCommandLine(['record', '--help']), { kind: 'help', usage: RECORD_USAGE });
  assert.deepEqual(parseCommandLine(['report', '--help']), { kind: 'help', usage: REPORT_USAGE });
  assert.deepEqual(parseCommandLine(['top', '-h']), { kind: 'help', usage: TOP_USAGE });
  assert.deepEqual(parseCommandLine(['--version']), { kind: 'version' });
  assert.throws(() => parseCommandLine(['convert']), /unknown command "convert"; expected record, report, top or diff/);
  assert.throws(() => parseCommandLine(['record', '--interval', '2 weeks', 'node']), /--interval is "2 weeks"; expected a duration from 100us to 1s/);
  assert.throws(() => parseCommandLine(['record', '--interval', '50us', 'node']), /--interval is "50us"/);
  assert.throws(() => parseCommandLine(['record', '--frobnicate', '--', 'node']), /Unknown option '--frobnicate'/);
  assert.throws(() => parseCommandLine(['record', '--lines']), /no command given/);
  assert.match(USAGE, /sfprof record \[options\] \[--\] <command>/);
  // Every option the parser accepts is in the help of its command.
  for (const flag of ['--interval', '--timer', '--output', '--format', '--lines', '--tiers']) assert.match(RECORD_USAGE, new RegExp(flag));
  for (const flag of ['--output', '--format', '--tiers', '--title']) assert.match(REPORT_USAGE, new RegExp(flag));
  assert.match(TOP_USAGE, /-n, --count/);
  assert.match(TOP_USAGE, /--raw/);
});

test('withPreload appends a quoted -r to NODE_OPTIONS', () => {
  assert.equal(withPreload(undefined, '/p/auto.js'), '-r "/p/auto.js"');
  assert.equal(withPreload(' --max-old-space-size=100 ', '/my dir/a"b.js'), '--max-old-space-size=100 -r "/my dir/a\\"b.js"');
});

test('summaries: self and total per function, children of a frame', () => {
  const profile = readFolded('a;b;c 3\na;b 1\na;d 2\n\n');
  assert.deepEqual(functionShares(profile).slice(0, 2).map((r) => [r.label, r.self]), [['c', 3], ['d', 2]]);
  assert.deepEqual(functionShares(profile).find((r) => r.label === 'a'), { label: 'a', self: 0, total: 6 });
  assert.deepEqual([...childrenOf(profile, (f) => f === 'a')], [['b', 4], ['d', 2]]);
  assert.throws(() => readFolded('no count here'), /line 1: expected "frame;frame;… count"/);
});

test('--source-maps: record passes SFPROF_SOURCE_MAPS=1 on, report maps offline', () => {
  const record = parseCommandLine(['record', '--source-maps', '--', 'node', 'app.js']);
  assert.equal(record.sourceMaps, true);
  assert.equal(recordEnv(record).SFPROF_SOURCE_MAPS, '1');
  assert.equal(recordEnv(parseCommandLine(['record', 'node', 'app.js'])).SFPROF_SOURCE_MAPS, undefined);
  assert.equal(parseCommandLine(['report', 'a.cpuprofile', '--source-maps']).sourceMaps, true);
  assert.throws(() => parseCommandLine(['top', 'a.folded', '--source-maps']), /Unknown option '--source-maps'/);
  assert.match(RECORD_USAGE, /--source-maps/);
  assert.match(REPORT_USAGE, /--source-maps/);
});
