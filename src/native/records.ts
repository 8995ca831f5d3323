// Decoding of the sample records the native drain hands over, per thread and drain as two arrays:
// `samples`, a Uint32Array of records back to back, and `addresses`, a Float64Array of the drain's
// distinct code addresses:
//
//   record := timeLow timeHigh codeSeqLow codeSeqHigh vmState flags weightUs labels frameCount frame*
//
// timeNs (timeHigh * 2^32 + timeLow) is CLOCK_MONOTONIC nanoseconds since start; codeSeq (likewise
// in two words) the code-event sequence number visible when the sample was taken; vmState a
// v8::StateTag; weightUs the CPU time the sample stands for as the per-thread engines measure it (0:
// unknown, as under itimer); labels the id of the thread's label set the sample was taken under (0:
// none; the thread's label table says which set); each frame is an index into `addresses`, leaf
// first. Uint32 words because JS reads one that fits a small integer without allocating, where every
// float64 read outside optimized code is a new heap number. The layout is native/wire_format.h's: the
// addon reports it as `wireFormat`, and test/wire-format.test.mjs checks that these constants agree
// with it.

export const enum VmState {
  JS = 0,
  GC = 1,
  PARSER = 2,
  BYTECODE_COMPILER = 3,
  COMPILER = 4,
  OTHER = 5,
  EXTERNAL = 6,
  ATOMICS_WAIT = 7,
  IDLE = 8,
  /** V8 13 (Node 24) on. */
  LOGGING = 9,
  /** V8 14 (Node 26) on: idle, in the embedder's code. */
  IDLE_EXTERNAL = 10,
}

/** The values are the same on every supported V8; later ones only add states (Node 20's enum is an
 * int, 22's on a uint16_t: the addon widens it either way). */
export function isIdle(state: number): boolean {
  return state === VmState.IDLE || state === VmState.IDLE_EXTERNAL;
}

export const SAMPLE_TRUNCATED = 1;
/** A stall probe (native/stall_watch.h): a wall-clock sample for stall reports, never CPU time. */
export const SAMPLE_STALL_PROBE = 2;
export const SAMPLE_HEADER_WORDS = 9;
export const SAMPLE_FIELDS = { timeLow: 0, timeHigh: 1, codeSeqLow: 2, codeSeqHigh: 3, vmState: 4, flags: 5, weightUs: 6, labels: 7, frameCount: 8 } as const;
const HEADER_WORDS = SAMPLE_HEADER_WORDS;
const F = SAMPLE_FIELDS;
const TWO_32 = 4294967296;

export interface RawSample {
  timeNs: number;
  codeSeq: number;
  vmState: number;
  flags: number;
  /** CPU time this sample stands for, µs; 0 when the engine does not say. */
  weightUs?: number;
  /** The thread's label-set id at capture; 0 or absent: no labels. */
  labels?: number;
  /** Code addresses, leaf first: the interrupted pc, then V8's JS frames. */
  frames: number[];
}

/** A drain's samples as the addon hands them over. */
export interface SampleRecords {
  samples: Uint32Array;
  addresses: Float64Array;
}

export class RecordFormatError extends Error {}

/**
 * `value` as a small integer when it is one. A number read from a Float64Array is a heap number
 * (outside optimized code), and so is every field an object keeps it in, each read of which copies
 * it again: small integers are neither.
 */
export function smallInt(value: number): number {
  return value === (value | 0) ? value | 0 : value;
}

/** The frame count of the record at word `at`, checked against the words and addresses there are. */
function frameCountAt(words: Uint32Array, addressCount: number, at: number): number {
  if (at + HEADER_WORDS > words.length) {
    throw new RecordFormatError(`truncated sample header at word ${at} of ${words.length}`);
  }
  const frameCount = words[at + F.frameCount]!;
  if (at + HEADER_WORDS + frameCount > words.length) {
    throw new RecordFormatError(`bad frame count ${frameCount} at word ${at}`);
  }
  for (let i = at + HEADER_WORDS; i < at + HEADER_WORDS + frameCount; i++) {
    if (words[i]! >= addressCount) throw new RecordFormatError(`frame index ${words[i]} at word ${i}: the drain has ${addressCount} addresses`);
  }
  return frameCount;
}

/** Every record as an object of its own, frames as addresses (eachSample's, kept). */
export function decodeSamples(records: SampleRecords): RawSample[] {
  const samples: RawSample[] = [];
  eachSample(records, (s) => {
    samples.push({ timeNs: s.timeNs, codeSeq: s.codeSeq, vmState: s.vmState, flags: s.flags, weightUs: s.weightUs, labels: s.labels, frames: sampleAddresses(s) });
  });
  return samples;
}

/** Throws what decodeSamples would for bad records, decoding nothing. */
export function checkSamples(records: SampleRecords): void {
  const { samples: words, addresses } = records;
  for (let at = 0; at < words.length; ) at += HEADER_WORDS + frameCountAt(words, addresses.length, at);
}

/**
 * A sample as `eachSample` hands it over: its frames are `frameCount` indices into `addresses`,
 * from word `framesAt` of `words`, leaf first.
 */
export interface SampleView extends Omit<RawSample, 'frames'> {
  words: Uint32Array;
  framesAt: number;
  frameCount: number;
  addresses: Float64Array;
}

/**
 * Calls `each` with every record, in order, as one object reused for all of them: for a consumer that
 * keeps no sample past its call. A bad record throws before the first call, as decodeSamples does.
 * Decoding a drain into an object and an array per sample was most of what ingesting one allocated
 * at high sampling rates, for samples dropped right after.
 */
export function eachSample(records: SampleRecords, each: (sample: SampleView) => void): void {
  checkSamples(records);
  eachCheckedSample(records, each);
}

/** eachSample for records checkSamples has already passed (the ingester checks a drain first). */
export function eachCheckedSample(records: SampleRecords, each: (sample: SampleView) => void): void {
  const words = records.samples;
  const sample: SampleView = { timeNs: 0, codeSeq: 0, vmState: 0, flags: 0, weightUs: 0, labels: 0, words, framesAt: 0, frameCount: 0, addresses: records.addresses };
  for (let at = 0; at < words.length; ) {
    const frameCount = words[at + F.frameCount]!;
    // The 64-bit fields written out here: a call per field is most of a cold loop's cost.
    const timeHigh = words[at + F.timeHigh]!;
    const codeSeqHigh = words[at + F.codeSeqHigh]!;
    sample.timeNs = timeHigh === 0 ? words[at + F.timeLow]! : timeHigh * TWO_32 + words[at + F.timeLow]!;
    sample.codeSeq = codeSeqHigh === 0 ? words[at + F.codeSeqLow]! : codeSeqHigh * TWO_32 + words[at + F.codeSeqLow]!;
    sample.vmState = words[at + F.vmState]!;
    sample.flags = words[at + F.flags]!;
    sample.weightUs = words[at + F.weightUs]!;
    sample.labels = words[at + F.labels]!;
    sample.framesAt = at + HEADER_WORDS;
    sample.frameCount = frameCount;
    each(sample);
    at += HEADER_WORDS + frameCount;
  }
}

/** The code addresses of a sample's frames, leaf first. */
export function sampleAddresses(sample: SampleView): number[] {
  const out: number[] = [];
  for (let i = 0; i < sample.frameCount; i++) out.push(sample.addresses[sample.words[sample.framesAt + i]!]!);
  return out;
}

/** The inverse of decodeSamples, for tests, tools that build records by hand, and held samples. */
export function encodeSamples(samples: RawSample[]): SampleRecords {
  const words: number[] = [];
  const table: number[] = [];
  const index = new Map<number, number>();
  const split = (value: number): void => {
    words.push(value % TWO_32, Math.floor(value / TWO_32));
  };
  for (const s of samples) {
    split(s.timeNs);
    split(s.codeSeq);
    words.push(s.vmState, s.flags, s.weightUs ?? 0, s.labels ?? 0, s.frames.length);
    for (const address of s.frames) {
      let at = index.get(address);
      if (at === undefined) {
        at = table.length;
        index.set(address, at);
        table.push(address);
      }
      words.push(at);
    }
  }
  return { samples: Uint32Array.from(words), addresses: Float64Array.from(table) };
}

// Timer signals that landed on a thread without a sampler (native/other_thread_ring.h), one
// Float64Array per drain:
//
//   record := tid pc      (float64 each: the thread's kernel id, the interrupted pc)
export const OTHER_THREAD_WORDS = 2;
export const OTHER_THREAD_FIELDS = { tid: 0, pc: 1 } as const;

export interface OtherThreadSample {
  /** The thread's kernel id (Linux: its tid, as in /proc/self/task). */
  tid: number;
  /** The instruction the signal interrupted. */
  pc: number;
}

export function decodeOtherThreads(words: Float64Array): OtherThreadSample[] {
  if (words.length % OTHER_THREAD_WORDS !== 0) {
    throw new RecordFormatError(`other-thread records: ${words.length} words is not a whole number of records`);
  }
  const samples: OtherThreadSample[] = [];
  for (let at = 0; at < words.length; at += OTHER_THREAD_WORDS) {
    samples.push({ tid: words[at + OTHER_THREAD_FIELDS.tid]!, pc: words[at + OTHER_THREAD_FIELDS.pc]! });
  }
  return samples;
}

/** The inverse of decodeOtherThreads, for tests and tools. */
export function encodeOtherThreads(samples: OtherThreadSample[]): Float64Array {
  const words = new Float64Array(samples.length * OTHER_THREAD_WORDS);
  samples.forEach((s, i) => {
    words[i * OTHER_THREAD_WORDS + OTHER_THREAD_FIELDS.tid] = s.tid;
    words[i * OTHER_THREAD_WORDS + OTHER_THREAD_FIELDS.pc] = s.pc;
  });
  return words;
}

// GC begins and ends of one sampled thread (native/gc_cause.h), one Float64Array per drain:
//
//   record := kind gcType timeNs beginNs codeSeq flags frameCount frame*      (all float64)
//
// kind GC_BEGIN (frames: the JS stack at the GC's prologue, leaf first, frame 0 the callback's own
// pc) or GC_END (no frames); gcType a v8::GCType; timeNs when, on the samples' clock; beginNs the
// begin the record belongs to (an end names its begin by it); codeSeq the code-event sequence at
// the begin; flags SAMPLE_TRUNCATED when the stack was cut at maxFrames.
export const GC_BEGIN = 1;
export const GC_END = 2;
export const GC_HEADER_WORDS = 7;
export const GC_FIELDS = { kind: 0, gcType: 1, timeNs: 2, beginNs: 3, codeSeq: 4, flags: 5, frameCount: 6 } as const;

/** v8::GCType bits (v8-callbacks.h), the same on every supported V8; the name a profile shows. */
export const GC_TYPE_NAMES: Record<number, string> = {
  1: 'scavenge',
  2: 'minor mark-sweep',
  4: 'mark-sweep-compact',
  8: 'incremental marking',
  16: 'weak callbacks',
};

export function gcTypeName(type: number): string {
  return GC_TYPE_NAMES[type] ?? `type ${type}`;
}

export interface GcRecord {
  kind: number;
  gcType: number;
  timeNs: number;
  beginNs: number;
  codeSeq: number;
  /** SAMPLE_TRUNCATED when the stack was cut; absent means 0. */
  flags?: number;
  frames: number[];
}

export function decodeGcRecords(words: Float64Array): GcRecord[] {
  const records: GcRecord[] = [];
  const G = GC_FIELDS;
  let at = 0;
  while (at < words.length) {
    if (at + GC_HEADER_WORDS > words.length) throw new RecordFormatError(`truncated GC record at word ${at} of ${words.length}`);
    const frameCount = words[at + G.frameCount]!;
    if (!Number.isInteger(frameCount) || frameCount < 0 || at + GC_HEADER_WORDS + frameCount > words.length) {
      throw new RecordFormatError(`bad GC frame count ${frameCount} at word ${at}`);
    }
    records.push({
      kind: words[at + G.kind]!,
      gcType: words[at + G.gcType]!,
      timeNs: words[at + G.timeNs]!,
      beginNs: words[at + G.beginNs]!,
      codeSeq: words[at + G.codeSeq]!,
      flags: words[at + G.flags]!,
      frames: Array.from(words.subarray(at + GC_HEADER_WORDS, at + GC_HEADER_WORDS + frameCount)),
    });
    at += GC_HEADER_WORDS + frameCount;
  }
  return records;
}

/** The inverse of decodeGcRecords, for tests and tools. */
export function encodeGcRecords(records: GcRecord[]): Float64Array {
  const words: number[] = [];
  for (const r of records) words.push(r.kind, r.gcType, r.timeNs, r.beginNs, r.codeSeq, r.flags ?? 0, r.frames.length, ...r.frames);
  return Float64Array.from(words);
}
