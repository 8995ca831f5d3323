// The code at start lies packed below the code map's entries: an entry is made for listed code only
// when a lookup hits it or a move takes it, and the map answers as if every listed code object had
// been added in address order before any event.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CodeMap } from '../../dist/pipeline/code-map.js';
import { listingOf } from '../../dist/pipeline/listed-code.js';
import { EVENT_TYPES } from '../../dist/native/binding.js';

const listed = (seq, start, size, name) => ({ seq, type: EVENT_TYPES.listed, codeType: 0, start, size, name, scriptId: 3 });

function mapWith(...events) {
  const map = new CodeMap();
  const listing = listingOf(events);
  const starts = Float64Array.from(events.map((e) => e.start));
  const at = Uint32Array.from(events.map((_e, i) => i));
  map.setListing(listing, starts, at);
  return map;
}

test('a lookup makes an entry of the listed code it hits, once', () => {
  const map = mapWith(listed(1, 0x1000, 0x100, 'a'), listed(2, 0x2000, 0x100, 'b'), listed(3, 0x3000, 0, 'c'));
  assert.equal(map.size, 3);
  const a = map.lookup(0x1010);
  assert.deepEqual(a, { start: 0x1000, size: 0x100, name: 'a', scriptId: 3, codeType: 0 });
  assert.equal(map.lookup(0x10ff), a, 'the same entry on the next hit');
  assert.equal(map.lookup(0x1100), undefined);
  assert.equal(map.lookup(0x3000)?.name, 'c', 'an empty code object covers its first byte');
  assert.equal(map.lookup(0x3001), undefined);
  assert.equal(map.size, 3);
});

test('listed code that overlaps the next is left out, as its add would have been evicted', () => {
  const map = mapWith(listed(1, 0x1000, 0x200, 'a'), listed(2, 0x1100, 0x100, 'b'));
  assert.equal(map.size, 1);
  assert.equal(map.lookup(0x1010), undefined);
  assert.equal(map.lookup(0x1110)?.name, 'b');
});

test('an add evicts the listed code it overlaps, a move takes listed code along', () => {
  const map = mapWith(listed(1, 0x1000, 0x100, 'a'), listed(2, 0x2000, 0x100, 'b'), listed(3, 0x3000, 0x100, 'c'), listed(4, 0x4000, 0x100, 'd'));
  map.add({ start: 0x10f0, size: 0xf20, name: 'new', scriptId: 1, codeType: 1 });
  assert.equal(map.size, 3, 'a and b evicted');
  assert.equal(map.lookup(0x1010), undefined);
  assert.equal(map.lookup(0x200f)?.name, 'new');
  assert.equal(map.move(0x3000, 0x9000), true);
  assert.equal(map.lookup(0x3010), undefined);
  assert.deepEqual(map.lookup(0x9010), { start: 0x9000, size: 0x100, name: 'c', scriptId: 3, codeType: 0 });
  assert.equal(map.move(0x4010, 0x9100), false, 'a move names the code by its start');
  map.attachPositions(0xa000, Uint32Array.from([0, 1]));
  assert.equal(map.move(0x4000, 0xa000), true);
  assert.deepEqual([...map.lookup(0xa000).positions], [0, 1], 'moved code takes the table waiting at its new address');
  assert.equal(map.size, 3);
  assert.equal(map.movesUnmatched, 1);
});

test('a listing into a map that has entries is added as entries', () => {
  const map = new CodeMap();
  map.add({ start: 0x1080, size: 0x10, name: 'old', scriptId: 1, codeType: 1 });
  const events = [listed(1, 0x1000, 0x100, 'a'), listed(2, 0x2000, 0x100, 'b')];
  map.setListing(listingOf(events), Float64Array.from([0x1000, 0x2000]), Uint32Array.from([0, 1]));
  assert.equal(map.size, 2);
  assert.equal(map.lookup(0x1088)?.name, 'a');
});
