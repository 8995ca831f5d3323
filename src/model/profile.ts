// The in-memory profile every writer consumes: an interned frame table and unique stacks with counts.
import { DEFAULT_TIMELINE_CAPACITY, SampleTimeline } from './timeline';

export type FrameKind =
  | 'js'
  | 'node'
  | 'builtin'
  | 'bytecode-handler'
  | 'regexp'
  | 'native'
  | 'wasm'
  | 'gc'
  | 'synthetic'
  /** The root of a worker thread's stacks: "[worker N]" or "[worker N file]". */
  | 'thread';

export type Tier = 'interpreted' | 'baseline' | 'maglev' | 'optimized';

export interface Frame {
  /** Function name; '(anonymous)' for unnamed functions, '(…)' for synthetic frames. */
  name: string;
  /** Relative to the working directory when under it, else absolute; 'node:…' for internals. */
  file?: string;
  /** 1-based: the function's first line, or the executing line in line mode. */
  line?: number;
  /** 1-based column where the function starts. */
  column?: number;
  /** 1-based line where the function starts (equal to `line` unless in line mode). */
  startLine?: number;
  kind: FrameKind;
  /** How the JS code ran, where V8's code name says so. */
  tier?: Tier;
  /** Inlined into the frame before it: both run in one optimized code object. */
  inlined?: boolean;
}

/**
 * Longest function name or file name a profile keeps, in UTF-16 code units. Generated code can have
 * names of megabytes (an object literal key names its function), and every format repeats them.
 */
export const MAX_TEXT_LENGTH = 1000;

/** `text` cut to MAX_TEXT_LENGTH, ending in '…', never between the halves of a surrogate pair. */
export function truncateText(text: string): string {
  if (text.length <= MAX_TEXT_LENGTH) return text;
  let end = MAX_TEXT_LENGTH - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return text.slice(0, end) + '…';
}

export interface ProfileStack {
  /** Index in `Profile.stackList`. */
  id: number;
  /** Frame ids, root first. */
  frames: number[];
  count: number;
  /** CPU time measured for the samples whose engine measured it (per-thread engines), ns. */
  cpuNs: number;
  /** Samples without a measured CPU time: they stand for `sampleWeightNs(metadata)` each. */
  unweighted: number;
  /**
   * The labels the samples were taken under (`withLabels`): an index in `Profile.labelSets`, 0 for
   * none. One call stack under two label sets is two stacks.
   */
  labels: number;
}

/** Labels of a sample: key to value, e.g. {route: '/users/:id'}. */
export type Labels = Readonly<Record<string, string>>;

export interface Drops {
  /** Samples lost because the ring was full when the signal arrived. */
  ringFull: number;
  /** Timer signals that landed on a thread without a JS isolate. */
  nonJsThread: number;
  /** Samples whose stack was deeper than maxFrames; kept, cut at the root end. */
  truncated: number;
  /** Signals that arrived while sampling was paused on the JS thread (start/stop). */
  busy: number;
  /**
   * perf: samples the kernel could not signal because the real-time signal queue was full
   * (RLIMIT_SIGPENDING); it sent SIGIO instead. Absent in profiles read from other tools.
   */
  queueFull?: number;
}

export interface ProfileMetadata {
  /** Wall-clock start, ms since the epoch. */
  startTime: number;
  /** Monotonic duration of sampling, ns. */
  durationNs: number;
  intervalUs: number;
  engine: string;
  /** Why this engine (requested, or what auto saw), when known. */
  engineReason?: string;
  lines: boolean;
  pid: number;
  drops: Drops;
  /**
   * CPU time one sample stands for, ns: process CPU time over timer signals, measured over the run.
   * Absent in profiles read from files without it; the interval stands in then.
   */
  sampleWeightNs?: number;
  /** Working directory that relative frame files are relative to, when known. */
  cwd?: string;
}

/** The CPU time one sample stands for, ns, where the engine did not measure it. */
export function sampleWeightNs(metadata: ProfileMetadata): number {
  return metadata.sampleWeightNs ?? metadata.intervalUs * 1000;
}

/** CPU time of a stack's samples, ns: measured where the engine measured it, else estimated. */
export function stackCpuNs(stack: ProfileStack, metadata: ProfileMetadata): number {
  return stack.cpuNs + stack.unweighted * sampleWeightNs(metadata);
}

export const SYNTHETIC = {
  gc: '(garbage collector)',
  program: '(program)',
  idle: '(idle)',
  unknown: '(unknown)',
  native: '(native)',
  lost: '(lost samples)',
  truncated: '(truncated)',
  otherThreads: '[other threads]',
  /** Inlined frames are missing here: the inlined function's caller is not known. */
  inlinedUnknown: '(inlined: unknown)',
  /** Inlined code that no known function, or more than one, explains. */
  inlinedAmbiguous: '(inlined: ambiguous)',
} as const;

/** The GC frame of a sample charged to the stack that began its GC: "(garbage collector: scavenge)". */
export function gcFrameName(type: string): string {
  return `(garbage collector: ${type})`;
}

/** The GC type a frame name carries ("scavenge"), or undefined (a root "(garbage collector)" too). */
export function gcTypeOf(name: string): string | undefined {
  const match = /^\(garbage collector: (.+)\)$/.exec(name);
  return match ? match[1] : undefined;
}

/** A 31-bit hash of a stack's first `length` frame ids and its label-set id (FNV-1a over the ids). */
function stackHash(frameIds: number[], length: number, labels: number): number {
  let hash = 0x811c9dc5 ^ labels;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ frameIds[i]!, 0x01000193);
  hash = Math.imul(hash ^ length, 0x01000193);
  // A small integer: a Map keyed by it stores and compares no heap numbers.
  return hash & 0x3fffffff;
}

function sameStack(stack: ProfileStack, frameIds: number[], length: number, labels: number): boolean {
  const frames = stack.frames;
  if (stack.labels !== labels || frames.length !== length) return false;
  for (let i = 0; i < length; i++) if (frames[i] !== frameIds[i]) return false;
  return true;
}

function frameKey(frame: Frame): string {
  return [frame.kind, frame.name, frame.file ?? '', frame.line ?? '', frame.startLine ?? '', frame.column ?? '', frame.tier ?? '', frame.inlined ? 'i' : ''].join('\u0000');
}

export class Profile {
  readonly frames: Frame[] = [];
  /** Unique stacks by key; `stackList` holds the same objects by id. */
  readonly stacks = new Map<string, ProfileStack>();
  readonly stackList: ProfileStack[] = [];
  /** Samples in the order they were taken (stack id + time), for formats that show time. */
  readonly timeline: SampleTimeline;
  readonly metadata: ProfileMetadata;
  /** Label sets by id (`ProfileStack.labels`); id 0 is the empty set, samples without labels. */
  readonly labelSets: Labels[] = [{}];
  private readonly frameIds = new Map<string, number>();
  private readonly labelIds = new Map<string, number>([['', 0]]);
  /**
   * The stacks by a hash of their frame ids and labels: one stack, or the stacks sharing the hash.
   * Finding a sample's stack this way builds nothing (the string key of `stacks` is made once per
   * new stack): at 10,000 samples a second, joining ids into a key was a string per sample.
   */
  private readonly stacksByHash = new Map<number, ProfileStack | ProfileStack[]>();

  /** `timeline`: one made for this profile's stack ids (a transformed profile's copy), else a new one. */
  constructor(metadata: ProfileMetadata, options: { timelineCapacity?: number; timeline?: SampleTimeline } = {}) {
    this.metadata = metadata;
    this.timeline = options.timeline ?? new SampleTimeline(options.timelineCapacity ?? DEFAULT_TIMELINE_CAPACITY);
  }

  internFrame(frame: Frame): number {
    if (frame.name.length > MAX_TEXT_LENGTH || (frame.file?.length ?? 0) > MAX_TEXT_LENGTH) {
      frame = { ...frame, name: truncateText(frame.name), ...(frame.file !== undefined && { file: truncateText(frame.file) }) };
    }
    const key = frameKey(frame);
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(frame);
      this.frameIds.set(key, id);
    }
    return id;
  }

  /**
   * Replaces every frame by `rewrite(frame)`, keeping ids (stacks and the timeline refer to them).
   * Frames that become equal stay distinct ids: writers merge frames by what they show, as they do for
   * one function seen in two code kinds. Later interning finds the first of them.
   */
  rewriteFrames(rewrite: (frame: Frame) => Frame): void {
    this.frameIds.clear();
    for (let id = 0; id < this.frames.length; id++) {
      let frame = rewrite(this.frames[id]!);
      if (frame.name.length > MAX_TEXT_LENGTH || (frame.file?.length ?? 0) > MAX_TEXT_LENGTH) {
        frame = { ...frame, name: truncateText(frame.name), ...(frame.file !== undefined && { file: truncateText(frame.file) }) };
      }
      this.frames[id] = frame;
      const key = frameKey(frame);
      if (!this.frameIds.has(key)) this.frameIds.set(key, id);
    }
  }

  /** The id of a label set (interned: equal sets, in any key order, have one id; {} is 0). */
  internLabels(labels: Labels): number {
    const keys = Object.keys(labels).sort();
    const key = keys.map((k) => `${k}\u0000${labels[k]}`).join('\u0000');
    let id = this.labelIds.get(key);
    if (id === undefined) {
      id = this.labelSets.length;
      const copy: Record<string, string> = {};
      for (const k of keys) copy[k] = String(labels[k]);
      this.labelSets.push(Object.freeze(copy));
      this.labelIds.set(key, id);
    }
    return id;
  }

  /**
   * Adds `count` samples of a stack given as frame ids, root first. With `timeNs` (since the start
   * of the profile) the sample also goes on the timeline; without it the samples are untimed.
   * `labels` is a label set's id (`internLabels`), 0 for none. `length`: only the first `length`
   * ids are the stack (a caller's reused scratch array); the profile keeps a copy of them.
   */
  addStack(frameIds: number[], count = 1, timeNs?: number, weightNs?: number, labels = 0, length = frameIds.length): ProfileStack | undefined {
    if (count <= 0) return undefined;
    const hash = stackHash(frameIds, length, labels);
    const found = this.stacksByHash.get(hash);
    let stack: ProfileStack | undefined;
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (sameStack(found, frameIds, length, labels)) stack = found;
      } else {
        for (let i = 0; i < found.length; i++) {
          if (sameStack(found[i]!, frameIds, length, labels)) {
            stack = found[i];
            break;
          }
        }
      }
    }
    if (!stack) {
      const frames = frameIds.slice(0, length);
      const key = labels === 0 ? frames.join(',') : `${frames.join(',')}#${labels}`;
      stack = { id: this.stackList.length, frames, count: 0, cpuNs: 0, unweighted: 0, labels };
      this.stacks.set(key, stack);
      this.stackList.push(stack);
      if (found === undefined) this.stacksByHash.set(hash, stack);
      else if (Array.isArray(found)) found.push(stack);
      else this.stacksByHash.set(hash, [found, stack]);
    }
    stack.count += count;
    if (weightNs !== undefined && weightNs > 0) stack.cpuNs += weightNs;
    else stack.unweighted += count;
    if (timeNs !== undefined && count === 1) this.timeline.add(stack.id, timeNs);
    return stack;
  }

  /**
   * Adds every stack of `source` (a later span of the same session): frames are interned again,
   * each stack keeps its CPU time, durations and drops add up. Merged samples carry no time order.
   */
  merge(source: Profile): void {
    const ids = source.frames.map((frame) => this.internFrame(frame));
    const labelIds = source.labelSets.map((labels) => this.internLabels(labels));
    for (const stack of source.stackList) {
      this.addStack(stack.frames.map((id) => ids[id]!), stack.count, undefined, stackCpuNs(stack, source.metadata), labelIds[stack.labels]!);
    }
    const into = this.metadata;
    into.durationNs += source.metadata.durationNs;
    const keys = new Set([...Object.keys(into.drops), ...Object.keys(source.metadata.drops)] as (keyof Drops)[]);
    for (const key of keys) into.drops[key] = (into.drops[key] ?? 0) + (source.metadata.drops[key] ?? 0);
    let cpuNs = 0;
    let count = 0;
    for (const stack of this.stackList) {
      cpuNs += stackCpuNs(stack, into);
      count += stack.count;
    }
    if (count > 0) into.sampleWeightNs = Math.round(cpuNs / count);
  }

  /** An empty profile with this one's metadata (no duration, drops zero), to merge spans into. */
  emptyCopy(timelineCapacity = 0): Profile {
    return new Profile({ ...this.metadata, durationNs: 0, drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 } }, { timelineCapacity });
  }

  addSynthetic(names: string[], count: number): void {
    this.addStack(names.map((name) => this.internFrame({ name, kind: 'synthetic' })), count);
  }

  get totalSamples(): number {
    let total = 0;
    for (const stack of this.stackList) total += stack.count;
    return total;
  }
}
