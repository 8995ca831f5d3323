// The symbolize → aggregate stage: drained samples and code events of one thread become stacks of one
// Profile. Pure given its inputs (no native calls), so it is tested offline on hand-built records.
import { CodeMap } from './code-map';
import type { NativeBatch, NativeCodeEvent } from '../native/binding';
import { Profile, SYNTHETIC, type Frame } from '../model/profile';
import { decodeSamples, isIdle, SAMPLE_TRUNCATED, VmState, type RawSample } from '../native/records';
import { codeAtStart, lastListed } from './existing-code';
import type { NativeSymbols } from './native-symbols';
import { Symbolizer } from './symbolize';

/** Turns drained batches into stacks of one Profile. Pure given its inputs; tested offline. */
export class SampleIngester {
  readonly codeMap = new CodeMap();
  readonly symbolizer: Symbolizer;
  readonly nativeSymbols: NativeSymbols | undefined;
  framesTotal = 0;
  framesNative = 0;
  framesUnresolved = 0;
  private pendingEvents: NativeCodeEvent[] = [];
  /**
   * The main thread's code existing at start is listed at the first sample (existing-code.ts): its
   * first samples wait here until the listing arrives (a drain later at most), then resolve against
   * the code of their moment. False when every event is logged in order (workers, offline tests).
   */
  private awaitingListing: boolean;
  private heldSamples: RawSample[] = [];

  get holdsSamples(): boolean {
    return this.heldSamples.length > 0;
  }

  /** Frame ids every stack of this thread starts with (a worker's "[worker N]" root). */
  rootFrames: number[];
  /** Subtracted from sample times: where the current profile starts on the session's clock. */
  private timeOffsetNs = 0;
  /**
   * Where each sample goes, by its time: the profile of the window that holds it, and where that
   * window starts on the session's clock. Without one, every sample goes to `profile`.
   */
  router: ((timeNs: number) => { profile: Profile; startNs: number }) | undefined;
  /** Where a worker looks up V8's embedded builtins: the main thread's map, which has them. */
  private readonly shared: { map: CodeMap; ranges: [number, number][] } | undefined;

  constructor(
    public profile: Profile,
    options: {
      cwd: string;
      lines: boolean;
      inlines?: boolean;
      symbolizer?: Symbolizer;
      nativeSymbols?: NativeSymbols;
      rootFrames?: number[];
      shared?: { map: CodeMap; ranges: [number, number][] };
      /** Existing code comes as a listing after the first samples (the main thread of a session). */
      listedLater?: boolean;
    },
  ) {
    this.awaitingListing = options.listedLater ?? false;
    this.symbolizer = options.symbolizer ?? new Symbolizer(options.cwd, options.lines, undefined, { inlines: options.inlines });
    this.nativeSymbols = options.nativeSymbols;
    this.rootFrames = options.rootFrames ?? [];
    this.shared = options.shared;
  }

  /**
   * Goes on into `profile`, which starts `timeOffsetNs` into the session: the code map stays, the
   * root frames are interned again.
   */
  retarget(profile: Profile, timeOffsetNs: number): void {
    const roots = this.rootFrames.map((id) => this.profile.frames[id]!);
    this.profile = profile;
    this.rootFrames = roots.map((frame) => profile.internFrame({ ...frame }));
    this.timeOffsetNs = timeOffsetNs;
  }

  private lookup(address: number) {
    const entry = this.codeMap.lookup(address);
    if (entry || !this.shared) return entry;
    for (const [start, end] of this.shared.ranges) if (address >= start && address < end) return this.shared.map.lookup(address);
    return undefined;
  }

  /**
   * Samples and events of one drain. An event is applied just before the first sample stamped with
   * its sequence number or later, so every address resolves against the code layout of its moment.
   * Events newer than every sample wait for the next batch (`final` applies them all).
   */
  ingest(batch: Pick<NativeBatch, 'samples' | 'events'>, final = false): void {
    let events = this.pendingEvents.length ? this.pendingEvents.concat(batch.events) : batch.events;
    // Events are kept even when the samples cannot be decoded: later samples need them.
    this.pendingEvents = events;
    let samples = decodeSamples(batch.samples);
    if (this.awaitingListing) {
      const listedTo = lastListed(events);
      if (listedTo >= 0) {
        // Nothing was applied yet (samples were held): the code at start goes first.
        events = codeAtStart(events.slice(0, listedTo + 1)).concat(events);
        this.awaitingListing = false;
      } else if (!final) {
        this.heldSamples = this.heldSamples.concat(samples);
        return;
      }
      if (this.heldSamples.length) samples = this.heldSamples.concat(samples);
      this.heldSamples = [];
    }
    let next = 0;
    for (const sample of samples) {
      while (next < events.length && events[next]!.seq <= sample.codeSeq) this.apply(events[next++]!);
      this.record(sample);
    }
    if (final) {
      // No sample will come after these: applying them would only cost time (a worker that ends
      // brings thousands).
      this.pendingEvents = [];
    } else {
      this.pendingEvents = events.slice(next);
    }
  }

  private apply(event: NativeCodeEvent): void {
    const added = this.codeMap.apply(event);
    if (added?.positions) this.symbolizer.learn(added);
  }

  record(sample: RawSample): void {
    if (this.router) {
      const target = this.router(sample.timeNs);
      if (target.profile !== this.profile) this.retarget(target.profile, target.startNs);
    }
    const profile = this.profile;
    const jsFrameCount = sample.frames.length - 1;
    if (jsFrameCount <= 0) {
      // No JS on the stack (GC, idle, or V8 declined to walk): the pc alone would be a partial stack.
      const name =
        sample.vmState === VmState.GC ? SYNTHETIC.gc : isIdle(sample.vmState) ? SYNTHETIC.idle : SYNTHETIC.program;
      profile.addStack(
        [...this.rootFrames, profile.internFrame({ name, kind: sample.vmState === VmState.GC ? 'gc' : 'synthetic' })],
        1,
        Math.max(0, sample.timeNs - this.timeOffsetNs),
        (sample.weightUs ?? 0) * 1000,
      );
      return;
    }
    const ids: number[] = [...this.rootFrames];
    if (sample.flags & SAMPLE_TRUNCATED) ids.push(profile.internFrame({ name: SYNTHETIC.truncated, kind: 'synthetic' }));
    for (let i = jsFrameCount; i >= 1; i--) {
      const address = sample.frames[i]!;
      const entry = this.lookup(address);
      this.framesTotal++;
      if (entry) {
        for (const frame of this.symbolizer.frames(entry, address, false)) ids.push(profile.internFrame(frame));
      } else {
        // V8's walk also returns C++ frames (API callbacks between JS frames).
        const native = this.nativeSymbols?.frame(address);
        if (native) this.framesNative++;
        else this.framesUnresolved++;
        ids.push(profile.internFrame(native ?? { name: SYNTHETIC.unknown, kind: 'synthetic' }));
      }
    }
    for (const frame of this.leafFrames(sample.frames[0]!)) ids.push(profile.internFrame(frame));
    if (sample.vmState === VmState.GC) ids.push(profile.internFrame({ name: SYNTHETIC.gc, kind: 'gc' }));
    profile.addStack(ids, 1, Math.max(0, sample.timeNs - this.timeOffsetNs), (sample.weightUs ?? 0) * 1000);
  }

  /**
   * The frame for the interrupted pc. V8's walk keeps the top frame only when it is interpreted (the
   * pc is then in the interpreter, which is that function's own time) and leaves out a JIT-compiled
   * one, whose activation the pc alone stands for, even when the walk's first frame is the same code
   * (recursion). A pc in no code object is in C++ (V8, Node, libc).
   */
  private leafFrames(pc: number): Frame[] {
    const entry = this.lookup(pc);
    if (!entry) return [this.nativeSymbols?.frame(pc) ?? { name: SYNTHETIC.native, kind: 'native' }];
    const frames = this.symbolizer.frames(entry, pc, true);
    const frame = frames[0]!;
    if (frame.kind === 'bytecode-handler' || frame.name.startsWith('Builtin:Interpreter')) return [];
    return frames;
  }
}
