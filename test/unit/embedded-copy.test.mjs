import { test } from 'node:test';
import assert from 'node:assert/strict';

import { findEmbeddedCopy, findEmbeddedCopyInProcess, parseMaps } from '../../dist/pipeline/embedded-copy.js';

const NODE = '/usr/local/bin/node';

// The node binary's text at 0x55d4a0200000 (file offset 0x200000), and a second executable mapping
// of the same file pages from file offset 0x1000000 at 0x7f2000000000.
const MAPS = [
  `55d4a0000000-55d4a0200000 r--p 00000000 08:01 1234                       ${NODE}`,
  `55d4a0200000-55d4a2000000 r-xp 00200000 08:01 1234                       ${NODE}`,
  `55d4a2000000-55d4a2400000 r--p 02000000 08:01 1234                       ${NODE}`,
  `7f1000000000-7f1000100000 rw-p 00000000 00:00 0 `,
  `7f2000000000-7f2000800000 r-xp 01000000 08:01 1234                       ${NODE}`,
  `7f3000000000-7f3000010000 r-xp 00000000 08:01 999                        /lib/x86_64-linux-gnu/libc.so.6`,
  `7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]`,
  '',
].join('\n');

// The embedded blob: 1 MiB at file offset 0x1001000.
const BLOB_START = 0x55d4a1001000;
const BLOB_SIZE = 0x100000;
const COPY_START = 0x7f2000001000;

test('parseMaps reads every field of every mapping line', () => {
  const mappings = parseMaps(MAPS);
  assert.equal(mappings.length, 7);
  assert.deepEqual(mappings[0], { start: 0x55d4a0000000, end: 0x55d4a0200000, perms: 'r--p', offset: 0, path: NODE });
  assert.deepEqual(mappings[1], { start: 0x55d4a0200000, end: 0x55d4a2000000, perms: 'r-xp', offset: 0x200000, path: NODE });
  assert.deepEqual(mappings[3], { start: 0x7f1000000000, end: 0x7f1000100000, perms: 'rw-p', offset: 0, path: '' });
  assert.deepEqual(mappings[4], { start: 0x7f2000000000, end: 0x7f2000800000, perms: 'r-xp', offset: 0x1000000, path: NODE });
  assert.equal(mappings[5].path, '/lib/x86_64-linux-gnu/libc.so.6');
  assert.deepEqual(mappings[6], { start: 0x7ffd00000000, end: 0x7ffd00021000, perms: 'rw-p', offset: 0, path: '[stack]' });
});

test('parseMaps skips lines that are not mappings and keeps spaces in paths', () => {
  const mappings = parseMaps(
    [
      'not a mapping',
      '',
      '1000-2000 r-xp 00003000 fd:00 42 /opt/my app/node (deleted)',
      'zzzz-2000 r-xp 00000000 fd:00 42 /bad/start',
    ].join('\n'),
  );
  assert.deepEqual(mappings, [{ start: 0x1000, end: 0x2000, perms: 'r-xp', offset: 0x3000, path: '/opt/my app/node (deleted)' }]);
  assert.deepEqual(parseMaps(''), []);
});

test('findEmbeddedCopy finds the second executable mapping of the same file offset', () => {
  assert.equal(findEmbeddedCopy(parseMaps(MAPS), BLOB_START, BLOB_SIZE), COPY_START);
});

test('findEmbeddedCopy accepts a copy that ends exactly at its mapping end', () => {
  const maps = MAPS.replace('7f2000000000-7f2000800000', '7f2000000000-7f2000101000');
  assert.equal(findEmbeddedCopy(parseMaps(maps), BLOB_START, BLOB_SIZE), COPY_START);
});

test('findEmbeddedCopy: no second mapping of the file → undefined', () => {
  const maps = MAPS.split('\n').filter((line) => !line.startsWith('7f2000000000')).join('\n');
  assert.equal(findEmbeddedCopy(parseMaps(maps), BLOB_START, BLOB_SIZE), undefined);
});

test('findEmbeddedCopy: the only other mapping is not executable → undefined', () => {
  const maps = MAPS.replace('7f2000000000-7f2000800000 r-xp', '7f2000000000-7f2000800000 r--p');
  assert.equal(findEmbeddedCopy(parseMaps(maps), BLOB_START, BLOB_SIZE), undefined);
});

test('findEmbeddedCopy: a copy too short to hold the whole range → undefined', () => {
  // One byte short of BLOB_SIZE past the copy start.
  const maps = MAPS.replace('7f2000000000-7f2000800000', '7f2000000000-7f2000100fff');
  assert.equal(findEmbeddedCopy(parseMaps(maps), BLOB_START, BLOB_SIZE), undefined);
});

test('findEmbeddedCopy: a mapping of another file or of later file pages is not a copy', () => {
  const otherFile = MAPS.replace(`7f2000000000-7f2000800000 r-xp 01000000 08:01 1234                       ${NODE}`,
    '7f2000000000-7f2000800000 r-xp 01000000 08:01 1234                       /usr/bin/other');
  assert.equal(findEmbeddedCopy(parseMaps(otherFile), BLOB_START, BLOB_SIZE), undefined);
  // Maps the file from 0x1002000 on: the blob's first page (0x1001000) is not in it.
  const laterPages = MAPS.replace('r-xp 01000000 08:01 1234', 'r-xp 01002000 08:01 1234');
  assert.equal(findEmbeddedCopy(parseMaps(laterPages), BLOB_START, BLOB_SIZE), undefined);
});

test('findEmbeddedCopy: a start in no file mapping → undefined', () => {
  const mappings = parseMaps(MAPS);
  assert.equal(findEmbeddedCopy(mappings, 0x7f1000000100, 0x10), undefined); // anonymous mapping
  assert.equal(findEmbeddedCopy(mappings, 0x1000, 0x10), undefined); // unmapped
});

test('findEmbeddedCopyInProcess finds nothing for an empty range', () => {
  assert.equal(findEmbeddedCopyInProcess(0x1000, 0), undefined);
});
