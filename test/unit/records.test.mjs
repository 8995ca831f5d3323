import { test } from 'node:test';
import assert from 'node:assert/strict';

import { decodeSamples, eachSample, encodeSamples, RecordFormatError, SAMPLE_TRUNCATED } from '../../dist/native/records.js';

test('SAMPLE_TRUNCATED is bit 0', () => {
  assert.equal(SAMPLE_TRUNCATED, 1);
});

test('encode lays out header then frames, leaf first', () => {
  const words = encodeSamples([
    { timeNs: 1500, codeSeq: 7, vmState: 0, flags: 1, weightUs: 1000, labels: 3, frames: [0x1000, 0x2000] },
    { timeNs: 2500, codeSeq: 9, vmState: 1, flags: 0, frames: [] },
  ]);
  assert.ok(words instanceof Float64Array);
  assert.deepEqual([...words], [1500, 7, 0, 1, 1000, 3, 2, 0x1000, 0x2000, 2500, 9, 1, 0, 0, 0, 0]);
});

test('encode then decode round-trips every field', () => {
  const samples = [
    { timeNs: 0, codeSeq: 0, vmState: 0, flags: 0, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 123456789, codeSeq: 42, vmState: 6, flags: 1, weightUs: 4000, labels: 7, frames: [0x7f00_0000_1234, 0x55aa, 3] },
    { timeNs: 2 ** 52, codeSeq: 2 ** 40, vmState: 8, flags: 0, weightUs: 2 ** 32 - 1, labels: 2 ** 32 - 1, frames: [0x1] },
  ];
  const decoded = decodeSamples(encodeSamples(samples));
  assert.deepEqual(decoded, samples);
});

test('empty input decodes to no samples and encodes to no words', () => {
  assert.deepEqual(decodeSamples(new Float64Array(0)), []);
  assert.equal(encodeSamples([]).length, 0);
});

test('decodes hand-built records, including zero-frame ones', () => {
  const words = Float64Array.from([
    // timeNs codeSeq vmState flags weightUs labels count frames...
    10, 1, 1, 0, 0, 0, 0,
    20, 2, 0, 0, 250, 4, 3, 0xa0, 0xb0, 0xc0,
    30, 5, 8, 1, 0, 0, 0,
    40, 5, 0, 0, 0, 0, 1, 0xd0,
  ]);
  assert.deepEqual(decodeSamples(words), [
    { timeNs: 10, codeSeq: 1, vmState: 1, flags: 0, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 20, codeSeq: 2, vmState: 0, flags: 0, weightUs: 250, labels: 4, frames: [0xa0, 0xb0, 0xc0] },
    { timeNs: 30, codeSeq: 5, vmState: 8, flags: 1, weightUs: 0, labels: 0, frames: [] },
    { timeNs: 40, codeSeq: 5, vmState: 0, flags: 0, weightUs: 0, labels: 0, frames: [0xd0] },
  ]);
});

test('a truncated header is an error naming the word position', () => {
  // One whole record (7 words), then 3 words of a second header.
  const words = Float64Array.from([10, 1, 0, 0, 0, 0, 0, 20, 2, 0]);
  assert.throws(() => decodeSamples(words), (error) => {
    assert.ok(error instanceof RecordFormatError);
    assert.match(error.message, /truncated sample header at word 7 of 10/);
    return true;
  });
  assert.throws(() => decodeSamples(Float64Array.from([1])), RecordFormatError);
});

test('a frame count running past the end is an error', () => {
  // Header says 3 frames but only 2 follow.
  const words = Float64Array.from([10, 1, 0, 0, 0, 0, 3, 0xa0, 0xb0]);
  assert.throws(() => decodeSamples(words), (error) => {
    assert.ok(error instanceof RecordFormatError);
    assert.match(error.message, /bad frame count 3 at word 0/);
    return true;
  });
  // Same in a second record.
  const second = Float64Array.from([10, 1, 0, 0, 0, 0, 1, 0xa0, 20, 2, 0, 0, 0, 0, 2, 0xb0]);
  assert.throws(() => decodeSamples(second), /bad frame count 2 at word 8/);
});

test('a negative or fractional frame count is an error', () => {
  assert.throws(() => decodeSamples(Float64Array.from([10, 1, 0, 0, 0, 0, -1])), /bad frame count -1 at word 0/);
  assert.throws(() => decodeSamples(Float64Array.from([10, 1, 0, 0, 0, 0, 1.5, 0, 0])), /bad frame count 1.5 at word 0/);
  assert.throws(() => decodeSamples(Float64Array.from([10, 1, 0, 0, 0, 0, NaN])), /bad frame count NaN/);
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
    seen.push({ ...sample, frames: [...sample.frames] });
  });
  assert.deepEqual(seen, samples);
  assert.equal(objects.size, 1);
});

test('eachSample throws on a bad record before handing over any', () => {
  const good = encodeSamples([{ timeNs: 1, codeSeq: 1, vmState: 0, flags: 0, frames: [5] }]);
  const words = Float64Array.from([...good, 10, 1, 0, 0, 0, 0, 4, 1]);
  let calls = 0;
  assert.throws(() => eachSample(words, () => calls++), RecordFormatError);
  assert.equal(calls, 0);
});
