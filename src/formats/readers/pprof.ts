// Reads pprof (gzipped or raw profile.proto, from sfprof or any other producer) into a Profile.
// A sample's string labels become its label set (the first value of a key that repeats); numeric
// labels (bytes, span ids) are left out: as label values each number would split its stack in two.
// In sfprof's own files "thread" and "gc" are left out too: the writer makes them from the frames.
import { gunzipSync } from 'node:zlib';

import { Profile as PprofProfile } from 'pprof-format';

import { Profile, SYNTHETIC, type Frame, type Labels } from '../../model/profile';
import { checkTotal, emptyMetadata, inferKind } from './shared';
import { InputError } from './input-error';

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/** A line number, or undefined for 0 (pprof's "unknown") and for values no source file has. */
function lineNumber(value: number | bigint | undefined): number | undefined {
  const line = Number(value ?? 0);
  return Number.isSafeInteger(line) && line > 0 ? line : undefined;
}

/** A count doubles hold exactly. pprof-format reads int64 as unsigned: a negative one arrives past 2^63. */
const isCount = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

export function readPprof(data: Uint8Array): Profile {
  let raw: Uint8Array = data;
  if (isGzip(data)) {
    try {
      raw = gunzipSync(data);
    } catch (error) {
      throw new InputError(`not a valid gzip stream: ${(error as Error).message}`);
    }
  }
  let decoded: PprofProfile;
  try {
    decoded = PprofProfile.decode(raw);
  } catch (error) {
    throw new InputError(`not a pprof profile (protobuf decoding failed: ${(error as Error).message})`);
  }
  const strings = decoded.stringTable.strings;
  const text = (index: number | bigint | undefined, what: string): string => {
    const i = Number(index ?? 0);
    const value = strings[i];
    if (value === undefined) throw new InputError(`${what} refers to string ${i}, beyond the string table (${strings.length})`);
    return value;
  };
  if (decoded.sampleType.length === 0) throw new InputError('pprof profile has no sample types');
  const typeNames = decoded.sampleType.map((type) => `${text(type.type, 'sample type')}/${text(type.unit, 'sample unit')}`);
  let valueIndex = typeNames.findIndex((name) => name.endsWith('/count'));
  const cpuIndex = typeNames.findIndex((name) => name === 'cpu/nanoseconds');
  const periodNs = Number(decoded.period ?? 0);
  const periodIsTime = decoded.periodType !== undefined && text(decoded.periodType.unit, 'period unit') === 'nanoseconds';
  let divisor = 1;
  if (valueIndex < 0) {
    // Only a time value (e.g. cpu/nanoseconds): samples are time / period.
    valueIndex = 0;
    if (typeNames[0]!.endsWith('/nanoseconds') && periodIsTime && periodNs > 0) divisor = periodNs;
  }

  const metadata = emptyMetadata('pprof');
  metadata.startTime = Number(decoded.timeNanos ?? 0) / 1e6;
  metadata.durationNs = Number(decoded.durationNanos ?? 0);
  if (periodIsTime && periodNs > 0) metadata.intervalUs = periodNs / 1000;
  let fromSfprof = false;
  for (const index of decoded.comment) {
    const comment = text(index, 'comment');
    if (comment.startsWith('sfprof.version=')) fromSfprof = true;
    // Its values are differences, some negative: read as samples they would be a profile of nothing.
    if (comment.startsWith('sfprof.diff.base=')) {
      throw new InputError('a differential profile (written by sfprof diff) holds differences, not samples; read the two profiles it compares instead');
    }
    const match = /^sfprof\.([\w.]+)=(.*)$/.exec(comment);
    if (!match) continue;
    const [, key, value] = match;
    const number = Number(value);
    if (key === 'engine') metadata.engine = value!;
    else if (key === 'engine_reason') metadata.engineReason = value!;
    else if (key === 'sample_weight_ns' && number > 0 && Number.isFinite(number)) metadata.sampleWeightNs = number;
    else if (key === 'lines') metadata.lines = value === '1';
    else if (key === 'pid' && isCount(number)) metadata.pid = number;
    else if (key === 'cwd') metadata.cwd = value!;
    else if (key === 'drops.ring_full' && isCount(number)) metadata.drops.ringFull = number;
    else if (key === 'drops.sampling_paused' && isCount(number)) metadata.drops.busy = number;
    else if (key === 'drops.signal_queue_full' && isCount(number)) metadata.drops.queueFull = number;
    else if (key === 'drops.other_threads' && isCount(number)) metadata.drops.nonJsThread = number;
    else if (key === 'drops.truncated' && isCount(number)) metadata.drops.truncated = number;
  }

  const profile = new Profile(metadata, { timelineCapacity: 0 });
  const functions = new Map<number, { name: string; file: string; startLine: number | undefined }>();
  for (const fn of decoded.function) {
    functions.set(Number(fn.id), {
      name: text(fn.name, `function ${fn.id} name`),
      file: text(fn.filename, `function ${fn.id} file`),
      startLine: lineNumber(fn.startLine),
    });
  }
  // A location is one frame, or several when the producer inlined: line[0] is the innermost.
  const locationFrames = new Map<number, number[]>();
  for (const location of decoded.location) {
    const ids: number[] = [];
    const lines = location.line.length ? location.line : [{ functionId: 0, line: 0 }];
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      const fn = functions.get(Number(line.functionId));
      const frame: Frame = fn
        ? { name: fn.name || '(anonymous)', kind: 'js' }
        : { name: `0x${Number(location.address ?? 0).toString(16)}`, kind: 'native' };
      if (fn?.file) frame.file = fn.file;
      const at = lineNumber(line.line);
      if (at !== undefined) frame.line = at;
      if (fn?.startLine !== undefined) frame.startLine = fn.startLine;
      frame.kind = inferKind(frame.name, frame.file);
      if (i < lines.length - 1) frame.inlined = true;
      ids.push(profile.internFrame(frame));
    }
    locationFrames.set(Number(location.id), ids);
  }
  decoded.sample.forEach((sample, index) => {
    const value = Number(sample.value[valueIndex] ?? 0);
    const count = Math.round(value / divisor);
    if (!isCount(count)) throw new InputError(`sample ${index}: value ${value} is not a count (a whole number from 0 to 2^53 - 1)`);
    const ids: number[] = [];
    if (sample.locationId.length === 0) ids.push(profile.internFrame({ name: SYNTHETIC.unknown, kind: 'synthetic' }));
    for (let i = sample.locationId.length - 1; i >= 0; i--) {
      const frames = locationFrames.get(Number(sample.locationId[i]));
      if (!frames) throw new InputError(`sample ${index} refers to location ${sample.locationId[i]}, which the profile does not define`);
      ids.push(...frames);
    }
    // Keep the producer's CPU time where it has one.
    const cpuNs = cpuIndex >= 0 ? Number(sample.value[cpuIndex] ?? 0) : 0;
    let labelSet = 0;
    if (sample.label.length) {
      const labels = Object.create(null) as Record<string, string>;
      for (const label of sample.label) {
        if (Number(label.str ?? 0) === 0) continue; // numeric, or an empty string, as go tool pprof reads it
        const key = text(label.key, `sample ${index} label key`);
        if (fromSfprof && (key === 'thread' || key === 'gc')) continue;
        if (!(key in labels)) labels[key] = text(label.str, `sample ${index} label`);
      }
      labelSet = profile.internLabels(labels as Labels);
    }
    profile.addStack(ids, count, undefined, cpuNs > 0 ? cpuNs : undefined, labelSet);
  });
  return checkTotal(profile);
}
