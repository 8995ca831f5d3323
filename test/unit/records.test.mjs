import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeSamples, eachSample, encodeSamples, RecordFormatError, SAMPLE_TRUNCATED, sampleAddresses } from '../../dist/native/records.js';

test('SAMPLE_TRUNCATED is bit 0', () => {
  assert.equal(SAMPLE_TRUNCATED, 1);
});

test('encode lays out header then frames as indices into the address table, leaf first', () => {
  const { samples, addresses } = encodeSamples([
    { timeNs: 1500, codeSeq: 7, vmState: 0, flags: 1, weightUs: 1000, labels: 3, frames: [0x1000, 0x2000] },
    { timeNs: 2 ** 33 + 5, codeSeq: 9, vmState: 1, flags: 0, frames: [0x2000, 0x7f00_0000_1234] },
  ]);
  assert.ok(samples instanceof Uint32Array);
  assert.ok(addresses instanceof Float64Array);
  assert.deepEqual([...addresses], [0x1000, 0x2000, 0x7f00_0000_1234]);
  assert.deepEqual([...samples], [1500, 0, 7, 0, 0, 1, 1000, 3, 2, 0, 1, 5, 2, 9, 0, 1, 0, 0, 0, 2, 1, 2]);
});

test('encode then decode round-trips every field', () => {
  const samples = [
    { timeNs: 0, codeSeq: 0, vmState: 0, flags: 0, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 123456789, codeSeq: 42, vmState: 6, flags: 1, weightUs: 4000, labels: 7, frames: [0x7f00_0000_1234, 0x55aa, 3, 0x55aa] },
    { timeNs: 2 ** 52, codeSeq: 2 ** 40, vmState: 8, flags: 0, weightUs: 2 ** 32 - 1, labels: 2 ** 32 - 1, frames: [0x1] },
  ];
  const decoded = decodeSamples(encodeSamples(samples));
  assert.deepEqual(decoded, samples);
});

test('empty input decodes to no samples and encodes to no words', () => {
  assert.deepEqual(decodeSamples({ samples: new Uint32Array(0), addresses: new Float64Array(0) }), []);
  const empty = encodeSamples([]);
  assert.equal(empty.samples.length, 0);
  assert.equal(empty.addresses.length, 0);
});

const records = (words, addresses = [0xa0, 0xb0, 0xc0, 0xd0]) => ({ samples: Uint32Array.from(words), addresses: Float64Array.from(addresses) });

test('decodes hand-built records, including zero-frame ones', () => {
  const input = records([
    // timeLow timeHigh codeSeqLow codeSeqHigh vmState flags weightUs labels count frames...
    10, 0, 1, 0, 1, 0, 0, 0, 0,
    20, 0, 2, 0, 0, 0, 250, 4, 3, 0, 1, 2,
    30, 1, 5, 0, 8, 1, 0, 0, 0,
    40, 0, 5, 0, 0, 0, 0, 0, 2, 3, 3,
  ]);
  assert.deepEqual(decodeSamples(input), [
    { timeNs: 10, codeSeq: 1, vmState: 1, flags: 0, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 20, codeSeq: 2, vmState: 0, flags: 0, weightUs: 250, labels: 4, frames: [0xa0, 0xb0, 0xc0] },
    { timeNs: 2 ** 32 + 30, codeSeq: 5, vmState: 8, flags: 1, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 40, codeSeq: 5, vmState: 0, flags: 0, weightUs: 0, labels: 0, frames: [0xd0, 0xd0] },
  ]);
});

test('a truncated header is an error naming the word position', () => {
  // One whole record (9 words), then 3 words of a second header.
  assert.throws(() => decodeSamples(records([10, 0, 1, 0, 0, 0, 0, 0, 0, 20, 0, 2])), (error) => {
    assert.ok(error instanceof RecordFormatError);
    assert.match(error.message, /truncated sample header at word 9 of 12/);
    return true;
  });
  assert.throws(() => decodeSamples(records([1])), RecordFormatError);
});

test('a frame count running past the end is an error', () => {
  // Header says 3 frames but only 2 follow.
  assert.throws(() => decodeSamples(records([10, 0, 1, 0, 0, 0, 0, 0, 3, 0, 1])), (error) => {
    assert.ok(error instanceof RecordFormatError);
    assert.match(error.message, /bad frame count 3 at word 0/);
    return true;
  });
  // Same in a second record.
  const second = records([10, 0, 1, 0, 0, 0, 0, 0, 1, 0, 20, 0, 2, 0, 0, 0, 0, 0, 2, 1]);
  assert.throws(() => decodeSamples(second), /bad frame count 2 at word 10/);
});

test('a frame index past the address table is an error', () => {
  assert.throws(() => decodeSamples(records([10, 0, 1, 0, 0, 0, 0, 0, 2, 0, 4])), /frame index 4 at word 10: the drain has 4 addresses/);
  assert.throws(() => decodeSamples(records([10, 0, 1, 0, 0, 0, 0, 0, 1, 0], [])), /frame index 0 at word 9: the drain has 0 addresses/);
});

test('eachSample hands over what decodeSamples decodes, in one reused object', () => {
  const samples = [
    { timeNs: 0, codeSeq: 0, vmState: 0, flags: 0, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 123456789, codeSeq: 42, vmState: 6, flags: 1, weightUs: 4000, labels: 7, frames: [0x7f00_0000_1234, 0x55aa, 3] },
    { timeNs: 2 ** 52, codeSeq: 2 ** 40, vmState: 8, flags: 0, weightUs: 2 ** 32 - 1, labels: 2 ** 32 - 1, frames: [0x1] },
  ];
  const seen = [];
  const objects = new Set();
  eachSample(encodeSamples(samples), (sample) => {
    objects.add(sample);
    const { words, framesAt, frameCount, addresses, ...fields } = sample;
    seen.push({ ...fields, frames: [...words.subarray(framesAt, framesAt + frameCount)].map((i) => addresses[i]) });
    assert.deepEqual(sampleAddresses(sample), seen.at(-1).frames);
  });
  assert.deepEqual(seen, samples);
  assert.equal(objects.size, 1);
});

test('eachSample throws on a bad record before handing over any', () => {
  const good = encodeSamples([{ timeNs: 1, codeSeq: 1, vmState: 0, flags: 0, frames: [5] }]);
  const bad = { samples: Uint32Array.from([...good.samples, 10, 0, 1, 0, 0, 0, 0, 0, 4, 0]), addresses: good.addresses };
  let calls = 0;
  assert.throws(() => eachSample(bad, () => calls++), RecordFormatError);
  assert.equal(calls, 0);
});
