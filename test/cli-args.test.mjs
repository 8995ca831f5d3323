import assert from 'node:assert/strict';
import { test } from 'node:test';

import { parseCommandLine, withPreload, USAGE } from '../dist/cli/args.js';
import { parseFolded, rankFrames, childrenOf } from '../dist/folded-summary.js';

test('record: options before "--" or before the first word, the rest is the command', () => {
  assert.deepEqual(parseCommandLine(['record', '--', 'node', 'app.js', '--port', '3']), {
    kind: 'record', interval: undefined, output: undefined, lines: false, command: ['node', 'app.js', '--port', '3'],
  });
  assert.deepEqual(parseCommandLine(['record', '-i', '1ms', '--lines', '-o', 'x.folded', 'node', 'app.js', '--lines']), {
    kind: 'record', interval: '1ms', output: 'x.folded', lines: true, command: ['node', 'app.js', '--lines'],
  });
  assert.equal(parseCommandLine(['record', '--interval=500us', 'node']).interval, '500us');
});

test('help, version and errors that name the problem', () => {
  assert.deepEqual(parseCommandLine([]), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['--help']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['record', '--help']), { kind: 'help' });
  assert.deepEqual(parseCommandLine(['--version']), { kind: 'version' });
  assert.throws(() => parseCommandLine(['report']), /unknown command "report"; expected "record"/);
  assert.throws(() => parseCommandLine(['record', '--interval', '2 weeks', 'node']), /--interval is "2 weeks"; expected a duration from 100us to 1s/);
  assert.throws(() => parseCommandLine(['record', '--interval', '50us', 'node']), /--interval is "50us"/);
  assert.throws(() => parseCommandLine(['record', '--frobnicate', '--', 'node']), /Unknown option '--frobnicate'/);
  assert.throws(() => parseCommandLine(['record', '--lines']), /no command given/);
  assert.match(USAGE, /sfprof record \[options\] \[--\] <command>/);
});

test('withPreload appends a quoted -r to NODE_OPTIONS', () => {
  assert.equal(withPreload(undefined, '/p/auto.js'), '-r "/p/auto.js"');
  assert.equal(withPreload(' --max-old-space-size=100 ', '/my dir/a"b.js'), '--max-old-space-size=100 -r "/my dir/a\\"b.js"');
});

test('folded summary: parse, rank by self and total, children of a frame', () => {
  const stacks = parseFolded('a;b;c 3\na;b 1\na;d 2\n\n');
  assert.deepEqual(stacks[0], { frames: ['a', 'b', 'c'], count: 3 });
  assert.deepEqual(rankFrames(stacks, 'self', 2).map((r) => [r.frame, r.samples]), [['c', 3], ['d', 2]]);
  assert.deepEqual(rankFrames(stacks, 'total', 1).map((r) => [r.frame, r.samples, r.share]), [['a', 6, 1]]);
  assert.deepEqual([...childrenOf(stacks, (f) => f === 'a')], [['b', 4], ['d', 2]]);
  assert.throws(() => parseFolded('no count here'), /not a folded-stacks line/);
});
