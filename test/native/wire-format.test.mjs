// The JS decoders against the layout the addon reports (native/wire_format.h as its `wireFormat`),
// and options.ts against the bounds it defends (`optionBounds`): a change on one side only fails
// here rather than as garbage in every profile or a start() that fails for no stated reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { EVENT_FIELDS, EVENT_TYPES, EVENT_WORDS, loadNative } from '../../dist/native/binding.js';
import { unpackCodeEvents, unpackEvents } from '../../dist/native/code-events.js';
import { encodeGcRecords, encodeSamples, GC_FIELDS, GC_HEADER_WORDS, OTHER_THREAD_FIELDS, OTHER_THREAD_WORDS, SAMPLE_FIELDS, SAMPLE_HEADER_WORDS, SAMPLE_STALL_PROBE, SAMPLE_TRUNCATED } from '../../dist/native/records.js';

const wire = loadNative().wireFormat;

/** Code events packed by the addon's field indices, one object of fields each. */
function packEvents(list) {
  const numbers = new Float64Array(list.length * wire.eventWords);
  for (const [at, fields] of list.entries()) {
    for (const [field, value] of Object.entries(fields)) numbers[at * wire.eventWords + wire.eventFields[field]] = value;
  }
  return numbers;
}

test('sample records: records.ts reads the header the addon writes', () => {
  assert.equal(SAMPLE_HEADER_WORDS, wire.sampleHeaderWords);
  assert.deepEqual({ ...SAMPLE_FIELDS }, { ...wire.sampleFields });
  assert.equal(SAMPLE_TRUNCATED, wire.sampleFlags.truncated);
  assert.equal(SAMPLE_STALL_PROBE, wire.sampleFlags.stallProbe);
  // encodeSamples (tests and tools build records with it) puts each field where the addon does.
  const sample = { timeNs: 2 ** 32 * 3 + 11, codeSeq: 2 ** 32 + 22, vmState: 6, flags: 1, weightUs: 44, labels: 3, frames: [0x1000, 0x2000, 0x1000] };
  const { samples: words, addresses } = encodeSamples([sample]);
  const expected = { timeLow: 11, timeHigh: 3, codeSeqLow: 22, codeSeqHigh: 1, frameCount: sample.frames.length };
  for (const [field, index] of Object.entries(wire.sampleFields)) assert.equal(words[index], expected[field] ?? sample[field], field);
  assert.deepEqual([...words.subarray(wire.sampleHeaderWords)].map((i) => addresses[i]), sample.frames);
  assert.equal(addresses.length, 2, 'each distinct address once');
});

test('GC records: records.ts reads the header the addon writes', () => {
  assert.equal(GC_HEADER_WORDS, wire.gcHeaderWords);
  assert.deepEqual({ ...GC_FIELDS }, { ...wire.gcFields });
  const record = { kind: 1, gcType: 4, timeNs: 11, beginNs: 11, codeSeq: 22, flags: 1, frames: [0x1000, 0x2000] };
  const words = encodeGcRecords([record]);
  for (const [field, index] of Object.entries(wire.gcFields)) {
    assert.equal(words[index], field === 'frameCount' ? record.frames.length : record[field], field);
  }
  assert.deepEqual([...words.subarray(wire.gcHeaderWords)], record.frames);
});

test('other-thread records: records.ts reads the (tid, pc) pairs the addon writes', () => {
  assert.equal(OTHER_THREAD_WORDS, wire.otherThreadWords);
  assert.deepEqual({ ...OTHER_THREAD_FIELDS }, { ...wire.otherThreadFields });
});

test('code events: native.ts unpacks the packing the addon writes', () => {
  assert.equal(EVENT_WORDS, wire.eventWords);
  assert.deepEqual({ ...EVENT_FIELDS }, { ...wire.eventFields });
  assert.deepEqual({ ...EVENT_TYPES }, { ...wire.eventTypes });
  // One event of each type, packed by the addon's field indices.
  const numbers = packEvents([
    { seq: 1, type: wire.eventTypes.added, codeType: 1, start: 0x1000, size: 64, scriptId: 7 },
    { seq: 2, type: wire.eventTypes.moved, codeType: 1, start: 0x1000, size: 64, newStart: 0x2000 },
    { seq: 3, type: wire.eventTypes.linePositions, codeType: 0, start: 0x3000, size: 16, positionCount: 2 },
  ]);
  const events = unpackEvents({ numbers, names: 'f\u0000', positions: Uint32Array.from([4, 40]) });
  assert.deepEqual(events.map((e) => ({ ...e, positions: e.positions && [...e.positions] })), [
    { seq: 1, type: 0, codeType: 1, start: 0x1000, size: 64, name: 'f', scriptId: 7, positions: undefined },
    { seq: 2, type: 1, codeType: 1, start: 0x1000, size: 64, newStart: 0x2000, positions: undefined },
    { seq: 3, type: 2, codeType: 0, start: 0x3000, size: 16, positions: [4, 40] },
  ]);
});

test('unpackCodeEvents leaves listed events packed, names read in order', () => {
  const numbers = packEvents([
    { seq: 1, type: wire.eventTypes.listed, codeType: 0, start: 0x1000, size: 64, scriptId: 7 },
    { seq: 2, type: wire.eventTypes.added, codeType: 1, start: 0x2000, size: 32, scriptId: 8 },
    { seq: 3, type: wire.eventTypes.listed, codeType: 2, start: 0x3000, size: 16, scriptId: 9 },
  ]);
  const { events, listed } = unpackCodeEvents({ numbers, names: 'first\u0000second\u0000third', positions: new Uint32Array(0) });
  assert.deepEqual(events, [{ seq: 2, type: 0, codeType: 1, start: 0x2000, size: 32, name: 'second', scriptId: 8 }]);
  assert.equal(listed.count, 2);
  assert.deepEqual([...listed.seq], [1, 3]);
  assert.deepEqual([...listed.start], [0x1000, 0x3000]);
  assert.deepEqual([...listed.codeType], [0, 2]);
  assert.deepEqual([0, 1].map((i) => listed.names.substring(listed.nameFrom[i], listed.nameTo[i])), ['first', 'third']);
  assert.equal(unpackCodeEvents({ numbers: numbers.subarray(wire.eventWords, 2 * wire.eventWords), names: 'x', positions: new Uint32Array(0) }).listed, undefined);
});

test('option bounds: options.ts validates with the bounds the addon defends', async () => {
  const options = await import('../../dist/config/options.js');
  assert.deepEqual({ ...loadNative().optionBounds }, {
    intervalUs: { min: options.INTERVAL_MIN_US, max: options.INTERVAL_MAX_US },
    ringSlots: { min: options.RING_SLOTS_MIN, max: options.RING_SLOTS_MAX },
    maxFrames: { min: options.MAX_FRAMES_MIN, max: options.MAX_FRAMES_MAX },
    stallThresholdUs: { min: options.STALL_MIN_US, max: options.STALL_MAX_US },
  });
});
