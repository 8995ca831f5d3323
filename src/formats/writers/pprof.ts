// pprof: a gzipped profile.proto (github.com/google/pprof/blob/main/proto/profile.proto), encoded by
// the pprof-format package. The fields sfprof fills:
//
//   Profile   1 sample_type  [samples/count, cpu/nanoseconds]; only samples/count when the CPU time per
//                            sample is unknown (a profile read from folded stacks)
//             2 sample       one per unique stack: location_id leaf first, value [count, CPU ns],
//                            label thread="main" | "worker N …" when workers were sampled;
//                            label gc="scavenge" | "mark-sweep-compact" | … on GC samples charged
//                            to the stack that began their GC
//                            CPU ns = the sum of the samples' measured CPU time (per-thread engines),
//                            else count × the CPU time a sample stood for over the run
//             4 location     one per distinct (function, line), with the functions inlined there:
//                            line [{function_id, line}], innermost first (pprof's inlining)
//             5 function     name = system_name, filename, start_line
//             6 string_table  9 time_nanos  10 duration_nanos  11 period_type cpu/nanoseconds
//            12 period (the interval in ns)  13 comment: "sfprof.<key>=<value>" metadata
//
// Drops are ordinary samples under a "(lost samples)" function, so `go tool pprof -top` shows them.
import { gzipSync } from 'node:zlib';

import { Function as PprofFunction, Label, Location, Profile as PprofProfile, Sample, StringTable, ValueType } from 'pprof-format';

import { gcTypeOf, sampleWeightNs, stackCpuNs, SYNTHETIC, type Frame, type Profile } from '../../model/profile';
import { sfprofVersion } from '../../common/version';

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

export function encodePprof(profile: Profile): Uint8Array {
  const strings = new StringTable();
  const functions: PprofFunction[] = [];
  const functionIds = new Map<string, number>();
  const locations: Location[] = [];
  const locationIds = new Map<string, number>();

  const functionOf = (frame: Frame): number => {
    const startLine = frame.startLine ?? frame.line ?? 0;
    const key = `${frame.name}\u0000${frame.file ?? ''}\u0000${startLine}`;
    let id = functionIds.get(key);
    if (id === undefined) {
      id = functions.length + 1;
      const name = strings.dedup(frame.name);
      functions.push(
        new PprofFunction({ id, name, systemName: name, filename: strings.dedup(frame.file ?? ''), startLine }),
      );
      functionIds.set(key, id);
    }
    return id;
  };

  // A frame and the frames inlined into it (the run of `inlined` frames after it) share a location.
  const lineOf = (id: number): { functionId: number; line: number } => {
    const frame = profile.frames[id]!;
    return { functionId: functionOf(frame), line: frame.line ?? 0 };
  };
  const locationOf = (group: number[]): number => {
    const lines = group.map(lineOf).reverse();
    const key = lines.map((l) => `${l.functionId}:${l.line}`).join(',');
    let id = locationIds.get(key);
    if (id === undefined) {
      id = locations.length + 1;
      locations.push(new Location({ id, line: lines }));
      locationIds.set(key, id);
    }
    return id;
  };
  /** Location ids of a stack's frames, leaf first. */
  const locationsOf = (frames: number[]): number[] => {
    const ids: number[] = [];
    let group: number[] = [];
    for (const id of frames) {
      if (group.length && !profile.frames[id]!.inlined) {
        ids.push(locationOf(group));
        group = [];
      }
      group.push(id);
    }
    if (group.length) ids.push(locationOf(group));
    return ids.reverse();
  };

  // With workers or named other threads, every sample says which thread it is from (go tool pprof
  // -tags, -tagfocus): "worker N …", "main", or an other thread's name ("other threads" unrecorded).
  const threadKey = strings.dedup('thread');
  const hasThreads = profile.frames.some((frame) => frame.kind === 'thread');
  const threadLabel = (frames: number[]): Label[] => {
    if (!hasThreads) return [];
    const root = frames.length ? profile.frames[frames[0]!] : undefined;
    let name = 'main';
    if (root?.kind === 'thread') name = root.name.replace(/^\[|\]$/g, '');
    else if (root?.name === SYNTHETIC.otherThreads) {
      const thread = frames.length > 1 ? profile.frames[frames[1]!] : undefined;
      name = thread?.kind === 'thread' ? thread.name : 'other threads';
    }
    return [new Label({ key: threadKey, str: strings.dedup(name) })];
  };
  // GC charged to its cause (go tool pprof -tagfocus gc=scavenge): the type its leaf frame names.
  const gcKey = strings.dedup('gc');
  const gcLabel = (frames: number[]): Label[] => {
    const leaf = frames.length ? profile.frames[frames[frames.length - 1]!] : undefined;
    const type = leaf?.kind === 'gc' ? gcTypeOf(leaf.name) : undefined;
    return type ? [new Label({ key: gcKey, str: strings.dedup(type) })] : [];
  };
  const periodNs = profile.metadata.intervalUs * 1000;
  const weightNs = sampleWeightNs(profile.metadata);
  // Zero nanoseconds per sample would make go tool pprof's default view show an empty profile.
  const timed = weightNs > 0;
  const samples: Sample[] = [];
  for (const stack of profile.stackList) {
    if (stack.count <= 0) continue;
    const locationId = locationsOf(stack.frames);
    const cpuNs = Math.round(stackCpuNs(stack, profile.metadata));
    samples.push(new Sample({ locationId, value: timed ? [stack.count, cpuNs] : [stack.count], label: [...threadLabel(stack.frames), ...gcLabel(stack.frames)] }));
  }

  const samplesCount = { type: strings.dedup('samples'), unit: strings.dedup('count') };
  const cpuNanoseconds = { type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') };
  const encoded = new PprofProfile({
    sampleType: timed ? [new ValueType(samplesCount), new ValueType(cpuNanoseconds)] : [new ValueType(samplesCount)],
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    timeNanos: BigInt(Math.round(profile.metadata.startTime)) * 1_000_000n,
    durationNanos: Math.round(profile.metadata.durationNs),
    periodType: new ValueType(timed ? cpuNanoseconds : samplesCount),
    period: timed ? periodNs : 1,
    comment: metadataComments(profile).map((text) => strings.dedup(text)),
  });
  return encoded.encode();
}

/** The gzipped bytes `go tool pprof` and Pyroscope read. */
export function writePprof(profile: Profile): Buffer {
  return gzipSync(encodePprof(profile));
}
