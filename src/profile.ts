// The in-memory profile every writer consumes: an interned frame table and unique stacks with counts.
import { writeFolded } from './writers/folded';

export type FrameKind =
  | 'js'
  | 'node'
  | 'builtin'
  | 'bytecode-handler'
  | 'regexp'
  | 'native'
  | 'wasm'
  | 'gc'
  | 'synthetic';

export type Tier = 'interpreted' | 'baseline' | 'maglev' | 'optimized';

export interface Frame {
  /** Function name; '(anonymous)' for unnamed functions, '(…)' for synthetic frames. */
  name: string;
  /** Relative to the working directory when under it, else absolute; 'node:…' for internals. */
  file?: string;
  /** 1-based: the function's first line, or the executing line in line mode. */
  line?: number;
  column?: number;
  kind: FrameKind;
}

export interface ProfileStack {
  /** Frame ids, root first. */
  frames: number[];
  count: number;
}

export interface Drops {
  /** Samples lost because the ring was full when the signal arrived. */
  ringFull: number;
  /** Timer signals that landed on a thread without a JS isolate. */
  nonJsThread: number;
  /** Samples whose stack was deeper than maxFrames; kept, cut at the root end. */
  truncated: number;
  /** Signals that arrived while sampling was paused on the JS thread (start/stop). */
  busy: number;
}

export interface ProfileMetadata {
  /** Wall-clock start, ms since the epoch. */
  startTime: number;
  /** Monotonic duration of sampling, ns. */
  durationNs: number;
  intervalUs: number;
  engine: string;
  lines: boolean;
  pid: number;
  drops: Drops;
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
} as const;

export class Profile {
  readonly frames: Frame[] = [];
  readonly stacks = new Map<string, ProfileStack>();
  readonly metadata: ProfileMetadata;
  private readonly frameIds = new Map<string, number>();

  constructor(metadata: ProfileMetadata) {
    this.metadata = metadata;
  }

  internFrame(frame: Frame): number {
    const key = `${frame.kind}\u0000${frame.name}\u0000${frame.file ?? ''}\u0000${frame.line ?? ''}`;
    let id = this.frameIds.get(key);
    if (id === undefined) {
      id = this.frames.length;
      this.frames.push(frame);
      this.frameIds.set(key, id);
    }
    return id;
  }

  /** Adds `count` samples of a stack given as frame ids, root first. */
  addStack(frameIds: number[], count = 1): void {
    if (count <= 0) return;
    const key = frameIds.join(',');
    const stack = this.stacks.get(key);
    if (stack) stack.count += count;
    else this.stacks.set(key, { frames: frameIds.slice(), count });
  }

  addSynthetic(names: string[], count: number): void {
    this.addStack(names.map((name) => this.internFrame({ name, kind: 'synthetic' })), count);
  }

  /** Folded stacks (see writers/folded.ts). */
  toFolded(): string {
    return writeFolded(this);
  }

  get totalSamples(): number {
    let total = 0;
    for (const stack of this.stacks.values()) total += stack.count;
    return total;
  }
}
