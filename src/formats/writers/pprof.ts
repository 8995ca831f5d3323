// pprof: a gzipped profile.proto (github.com/google/pprof/blob/main/proto/profile.proto), encoded by
// the pprof-format package. The fields sfprof fills:
//
//   Profile   1 sample_type  [samples/count, cpu/nanoseconds]; only samples/count when the CPU time per
//                            sample is unknown (a profile read from folded stacks)
//             2 sample       one per unique stack: location_id leaf first, value [count, CPU ns],
//                            label thread="main" | "worker N …" when workers were sampled;
//                            label gc="scavenge" | "mark-sweep-compact" | … on GC samples charged
//                            to the stack that began their GC;
//                            the sample's own labels (withLabels) as string labels {key, str},
//                            route="/users/:id", for -tags and -tagfocus; "thread" and "gc" are
//                            sfprof's: a label of that key gives way to sfprof's on the sample
//                            CPU ns = the sum of the samples' measured CPU time (per-thread engines),
//                            else count × the CPU time a sample stood for over the run
//             4 location     one per distinct (function, line), with the functions inlined there:
//                            line [{function_id, line}], innermost first (pprof's inlining)
//             5 function     name = system_name, filename, start_line
//             6 string_table  9 time_nanos  10 duration_nanos  11 period_type cpu/nanoseconds
//            12 period (the interval in ns)  13 comment: "sfprof.<key>=<value>" metadata
//
// Drops are ordinary samples under a "(lost samples)" function, so `go tool pprof -top` shows them.
//
// A differential profile (sfprof diff, formats/diff.ts) has the same fields and sample types, with
// one sample per stack whose count or CPU time changed: value [NEW − BASE count, NEW − BASE CPU ns],
// negative where the stack shrank; unchanged stacks are left out. CPU ns is there only when both
// profiles know a sample's CPU time. Time, duration and period are NEW's; comments name the files:
// "sfprof.diff.base=<file>", "sfprof.diff.new=<file>" and each side's samples.
import { gzipSync } from 'node:zlib';

import { Function as PprofFunction, Label, Location, Profile as PprofProfile, Sample, StringTable, ValueType } from 'pprof-format';

import { gcTypeOf, sampleWeightNs, stackCpuNs, SYNTHETIC, type Frame, type Labels, type Profile, type ProfileMetadata } from '../../model/profile';
import { sfprofVersion } from '../../common/version';
import type { ProfileDiff } from '../diff';

/** Metadata carried in pprof comments, read back by readers/pprof.ts. */
export function metadataComments(profile: Profile): string[] {
  const m = profile.metadata;
  return [
    `sfprof.version=${sfprofVersion()}`,
    `sfprof.engine=${m.engine}`,
    ...(m.engineReason ? [`sfprof.engine_reason=${m.engineReason}`] : []),
    `sfprof.interval_us=${m.intervalUs}`,
    ...(m.sampleWeightNs !== undefined ? [`sfprof.sample_weight_ns=${m.sampleWeightNs}`] : []),
    `sfprof.lines=${m.lines ? 1 : 0}`,
    `sfprof.pid=${m.pid}`,
    ...(m.cwd ? [`sfprof.cwd=${m.cwd}`] : []),
    `sfprof.drops.ring_full=${m.drops.ringFull}`,
    `sfprof.drops.sampling_paused=${m.drops.busy}`,
    `sfprof.drops.other_threads=${m.drops.nonJsThread}`,
    `sfprof.drops.truncated=${m.drops.truncated}`,
    ...(m.drops.queueFull ? [`sfprof.drops.signal_queue_full=${m.drops.queueFull}`] : []),
  ];
}

/**
 * The tables one pprof profile shares between its samples: strings, functions and locations, made
 * as samples ask for them. Stacks come as frames, so a diff of two profiles (whose frame ids differ)
 * is encoded by the same code as one profile.
 */
class PprofTables {
  readonly strings = new StringTable();
  readonly functions: PprofFunction[] = [];
  readonly locations: Location[] = [];
  private readonly functionIds = new Map<string, number>();
  private readonly locationIds = new Map<string, number>();
  private readonly threadKey = this.strings.dedup('thread');
  private readonly gcKey = this.strings.dedup('gc');

  /** With workers or named other threads, every sample says which thread it is from. */
  constructor(private readonly hasThreads: boolean) {}

  private functionOf(frame: Frame): number {
    const startLine = frame.startLine ?? frame.line ?? 0;
    const key = `${frame.name}\u0000${frame.file ?? ''}\u0000${startLine}`;
    let id = this.functionIds.get(key);
    if (id === undefined) {
      id = this.functions.length + 1;
      const name = this.strings.dedup(frame.name);
      this.functions.push(
        new PprofFunction({ id, name, systemName: name, filename: this.strings.dedup(frame.file ?? ''), startLine }),
      );
      this.functionIds.set(key, id);
    }
    return id;
  }

  private locationOf(group: Frame[]): number {
    const lines = group.map((frame) => ({ functionId: this.functionOf(frame), line: frame.line ?? 0 })).reverse();
    const key = lines.map((l) => `${l.functionId}:${l.line}`).join(',');
    let id = this.locationIds.get(key);
    if (id === undefined) {
      id = this.locations.length + 1;
      this.locations.push(new Location({ id, line: lines }));
      this.locationIds.set(key, id);
    }
    return id;
  }

  /** Location ids of a stack's frames (root first), leaf first. */
  locationsOf(frames: Frame[]): number[] {
    // A frame and the frames inlined into it (the run of `inlined` frames after it) share a location.
    const ids: number[] = [];
    let group: Frame[] = [];
    for (const frame of frames) {
      if (group.length && !frame.inlined) {
        ids.push(this.locationOf(group));
        group = [];
      }
      group.push(frame);
    }
    if (group.length) ids.push(this.locationOf(group));
    return ids.reverse();
  }

  /**
   * thread="worker N …" | "main" | an other thread's name ("other threads" unrecorded), for go tool
   * pprof -tags and -tagfocus; gc=<type> on GC charged to its cause, from the type its leaf names.
   */
  labelsOf(frames: Frame[], own: Labels = {}): Label[] {
    const labels: Label[] = [];
    if (this.hasThreads) {
      const root = frames[0];
      let name = 'main';
      if (root?.kind === 'thread') name = root.name.replace(/^\[|\]$/g, '');
      else if (root?.name === SYNTHETIC.otherThreads) {
        const thread = frames[1];
        name = thread?.kind === 'thread' ? thread.name : 'other threads';
      }
      labels.push(new Label({ key: this.threadKey, str: this.strings.dedup(name) }));
    }
    const leaf = frames[frames.length - 1];
    const type = leaf?.kind === 'gc' ? gcTypeOf(leaf.name) : undefined;
    if (type) labels.push(new Label({ key: this.gcKey, str: this.strings.dedup(type) }));
    for (const key of Object.keys(own)) {
      const keyId = this.strings.dedup(key);
      if (labels.some((label) => label.key === keyId)) continue;
      labels.push(new Label({ key: keyId, str: this.strings.dedup(own[key]!) }));
    }
    return labels;
  }

  /** The sample types: [samples/count, cpu/nanoseconds] when timed, else [samples/count]. */
  sampleTypes(timed: boolean): { sampleType: ValueType[]; periodType: ValueType } {
    const samplesCount = new ValueType({ type: this.strings.dedup('samples'), unit: this.strings.dedup('count') });
    const cpuNanoseconds = new ValueType({ type: this.strings.dedup('cpu'), unit: this.strings.dedup('nanoseconds') });
    return { sampleType: timed ? [samplesCount, cpuNanoseconds] : [samplesCount], periodType: timed ? cpuNanoseconds : samplesCount };
  }
}

const hasThreadFrames = (frames: Iterable<Frame>): boolean => {
  for (const frame of frames) if (frame.kind === 'thread') return true;
  return false;
};

export function encodePprof(profile: Profile): Uint8Array {
  const tables = new PprofTables(hasThreadFrames(profile.frames));
  const weightNs = sampleWeightNs(profile.metadata);
  // Zero nanoseconds per sample would make go tool pprof's default view show an empty profile.
  const timed = weightNs > 0;
  const samples: Sample[] = [];
  for (const stack of profile.stackList) {
    if (stack.count <= 0) continue;
    const frames = stack.frames.map((id) => profile.frames[id]!);
    const cpuNs = Math.round(stackCpuNs(stack, profile.metadata));
    samples.push(new Sample({ locationId: tables.locationsOf(frames), value: timed ? [stack.count, cpuNs] : [stack.count], label: tables.labelsOf(frames, profile.labelSets[stack.labels]) }));
  }
  return encodeWith(tables, samples, timed, profile.metadata, metadataComments(profile));
}

/** The profile message around `samples`: times, period and comments from `metadata`. */
function encodeWith(tables: PprofTables, samples: Sample[], timed: boolean, metadata: ProfileMetadata, comments: string[]): Uint8Array {
  const { sampleType, periodType } = tables.sampleTypes(timed);
  const encoded = new PprofProfile({
    sampleType,
    sample: samples,
    location: tables.locations,
    function: tables.functions,
    stringTable: tables.strings,
    timeNanos: BigInt(Math.round(metadata.startTime)) * 1_000_000n,
    durationNanos: Math.round(metadata.durationNs),
    periodType,
    period: timed ? metadata.intervalUs * 1000 : 1,
    comment: comments.map((text) => tables.strings.dedup(text)),
  });
  return encoded.encode();
}

/** The comment that marks a differential profile; readers/pprof.ts refuses such a file as a profile. */
export const DIFF_BASE_COMMENT = 'sfprof.diff.base=';

export function encodePprofDiff(diff: ProfileDiff, names: { baseName: string; newName: string }): Uint8Array {
  const tables = new PprofTables(diff.rows.some((row) => hasThreadFrames(row.frames)));
  const { timed } = diff;
  const samples: Sample[] = [];
  for (const row of diff.rows) {
    const count = row.after - row.before;
    const cpuNs = Math.round(row.afterCpuNs) - Math.round(row.beforeCpuNs);
    if (count === 0 && (!timed || cpuNs === 0)) continue;
    samples.push(new Sample({ locationId: tables.locationsOf(row.frames), value: timed ? [count, cpuNs] : [count], label: tables.labelsOf(row.frames) }));
  }
  const comments = [
    `sfprof.version=${sfprofVersion()}`,
    `${DIFF_BASE_COMMENT}${names.baseName}`,
    `sfprof.diff.new=${names.newName}`,
    `sfprof.diff.base_samples=${diff.base.totalSamples}`,
    `sfprof.diff.new_samples=${diff.next.totalSamples}`,
    'sfprof.diff.values=NEW minus BASE per stack, unchanged stacks left out',
  ];
  return encodeWith(tables, samples, timed, diff.next.metadata, comments);
}

export function writePprofDiff(diff: ProfileDiff, names: { baseName: string; newName: string }): Buffer {
  return gzipSync(encodePprofDiff(diff, names));
}

/** The gzipped bytes `go tool pprof` and Pyroscope read. */
export function writePprof(profile: Profile): Buffer {
  return gzipSync(encodePprof(profile));
}
