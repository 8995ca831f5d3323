// The symbolize → aggregate stage: drained samples and code events of one thread become stacks of one
// Profile. Pure given its inputs (no native calls), so it is tested offline on hand-built records.
// Longer than 350 lines because a sample's whole path (GC causes, labels, stall probes, inlined
// frames, the frame-id cache) is one class, read top to bottom.
import { CodeMap, type CodeEntry } from './code-map';
import type { NativeBatch, NativeCodeEvent } from '../native/binding';
import { gcFrameName, Profile, SYNTHETIC, type Frame, type Labels } from '../model/profile';
import { checkSamples, decodeGcRecords, decodeSamples, eachCheckedSample, encodeSamples, GC_BEGIN, gcTypeName, isIdle, SAMPLE_STALL_PROBE, SAMPLE_TRUNCATED, sampleAddresses, VmState, type GcRecord, type RawSample, type SampleRecords, type SampleView } from '../native/records';
import { codeAtStart } from './existing-code';
import { listingOf } from './listed-code';
import { GcCauses } from './gc-causes';
import type { NativeSymbols } from './native-symbols';
import { Symbolizer } from './symbolize';

/** Slots of an ingester's cache of walk addresses (pushFrameIds): a power of two, 20 bytes each. */
const WALK_CACHE_SIZE = 2048;

/** What an ingester counts, summed over threads for stats(). */
export interface IngestCounts {
  total: number;
  native: number;
  unresolved: number;
  /** GC samples charged to the stack that began their GC, and those left at the root. */
  gcCharged: number;
  gcAtRoot: number;
  /** GC begins the native log had no room for. */
  gcCausesDropped: number;
}

export function addCounts(into: IngestCounts, from: IngestCounts): void {
  for (const key of Object.keys(into) as (keyof IngestCounts)[]) into[key] += from[key];
}

export function emptyCounts(): IngestCounts {
  return { total: 0, native: 0, unresolved: 0, gcCharged: 0, gcAtRoot: 0, gcCausesDropped: 0 };
}

/** A sample as the stall catcher keeps it (stalls.ts): a CPU sample as its stack in its profile,
 * a stall probe as its frames (probes never enter the profile). */
export type TappedSample =
  | { timeNs: number; probe: false; profile: Profile; frameIds: number[]; labels: number }
  | { timeNs: number; probe: true; frames: Frame[]; labels: Labels };

/** Turns drained batches into stacks of one Profile. Pure given its inputs; tested offline. */
export class SampleIngester {
  readonly codeMap = new CodeMap();
  readonly symbolizer: Symbolizer;
  readonly nativeSymbols: NativeSymbols | undefined;
  framesTotal = 0;
  framesNative = 0;
  framesUnresolved = 0;
  /** The GCs this thread recorded, to charge its GC samples to their cause. */
  readonly gcCauses = new GcCauses();
  private pendingEvents: NativeCodeEvent[] = [];
  /**
   * The main thread's code existing at start is listed at the first sample (existing-code.ts): its
   * first samples wait here until the listing arrives (a drain later at most), then resolve against
   * the code of their moment. False when every event is logged in order (workers, offline tests).
   */
  private awaitingListing: boolean;
  private heldSamples: RawSample[] = [];
  private heldGc: GcRecord[] = [];
  /**
   * The profile's frame ids for a pc of a code object, per code object (keyed address × 2 + leaf).
   * What a pc symbolizes to never changes once asked (names are parsed once per code object, its
   * inlined chains resolved once), so a sample repeats the work of the ones before it only for pcs
   * not seen yet: symbolizing and interning every frame of every sample was most of the JS cost per
   * sample. Ids are the profile's: a new profile (the next window or period) starts a new cache.
   */
  private frameIdCache = new WeakMap<CodeEntry, Map<number, number[]>>();
  /**
   * The frame ids of the sample being recorded, `depth` of them: one array for every sample, which
   * the profile copies only for a stack it has not seen. A new array per sample, grown push by push,
   * was most of what ingesting allocated at high sampling rates.
   */
  private scratch: number[] = [];
  private depth = 0;
  /**
   * The frame ids of walk addresses found in this thread's code map, direct-mapped by address, each
   * stamped with the map's version when cached. A hit skips the lookup, whose call made a heap
   * number of every address (over 2^31) of every sample; any change to the map (its version) or
   * the profile (retarget) makes the entries stale.
   */
  private readonly walkCacheAddress = new Float64Array(WALK_CACHE_SIZE);
  private readonly walkCacheVersion = new Uint32Array(WALK_CACHE_SIZE);
  private readonly walkCacheIds: (number[] | undefined)[] = new Array<number[] | undefined>(WALK_CACHE_SIZE).fill(undefined);
  /**
   * The same for the drain being ingested, by the index of an address in its table (records.ts): a
   * sample's frames are such indices, so a frame seen before in the drain is found without reading
   * its address, which outside optimized code would be a new heap number. Walk frames and leaf pcs
   * apart (a pc symbolizes as a leaf differently); each entry stamped with the code map's version.
   * `drainWalkKinds` says whether a walk frame was resolved (0), named as C++ (1) or not at all (2).
   */
  private drainWalkVersion = new Uint32Array(0);
  private drainWalkIds: (number[] | undefined)[] = [];
  private drainWalkKinds = new Uint8Array(0);
  private drainLeafVersion = new Uint32Array(0);
  private drainLeafIds: (number[] | undefined)[] = [];

  get holdsSamples(): boolean {
    return this.heldSamples.length > 0;
  }

  counts(): IngestCounts {
    const gc = this.gcCauses;
    return {
      total: this.framesTotal,
      native: this.framesNative,
      unresolved: this.framesUnresolved,
      gcCharged: gc.charged,
      gcAtRoot: gc.atRoot,
      gcCausesDropped: gc.dropped,
    };
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
  /**
   * Sees every sample of this thread once symbolized (the stall catcher, main thread only). Stall
   * probes go only here: they are wall-clock samples and would distort the CPU profile.
   */
  tap: ((sample: TappedSample) => void) | undefined;
  /** The thread's label table: the set of a sample's label id (native/labels.h), or undefined. */
  private readonly labelSetOf: ((id: number) => Labels | undefined) | undefined;
  /** The profile's label-set id for each of the thread's ids (a new profile starts a new map). */
  private profileLabelIds = new Map<number, number>();
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
      /** The thread's label table (samples' label ids); without it samples carry no labels. */
      labelSets?: (id: number) => Labels | undefined;
    },
  ) {
    this.labelSetOf = options.labelSets;
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
    this.frameIdCache = new WeakMap();
    this.walkCacheVersion.fill(0);
    this.walkCacheIds.fill(undefined);
    this.drainWalkVersion.fill(0);
    this.drainLeafVersion.fill(0);
    this.profileLabelIds = new Map();
    this.rootFrames = roots.map((frame) => profile.internFrame({ ...frame }));
    this.timeOffsetNs = timeOffsetNs;
  }

  private lookup(address: number) {
    return this.codeMap.lookup(address) ?? this.lookupShared(address);
  }

  /** The shared map's code (a worker's builtins) at `address`, for one this thread's map missed. */
  private lookupShared(address: number) {
    if (!this.shared) return undefined;
    for (const [start, end] of this.shared.ranges) if (address >= start && address < end) return this.shared.map.lookup(address);
    return undefined;
  }

  /**
   * Samples and events of one drain. An event is applied just before the first sample stamped with
   * its sequence number or later, so every address resolves against the code layout of its moment.
   * Events newer than every sample wait for the next batch (`final` applies them all).
   */
  ingest(batch: NativeBatch, final = false): void {
    let events = this.pendingEvents.length ? this.pendingEvents.concat(batch.events) : batch.events;
    // Events are kept even when the samples cannot be decoded: later samples need them.
    this.pendingEvents = events;
    // Decoded into objects only when they wait for the listing or join samples that did: otherwise
    // each record is read into one reused object as it is recorded (eachCheckedSample, after this check).
    checkSamples(batch);
    let records: SampleRecords = batch;
    // GC records join the samples in time order: a GC's stack resolves against the code of its begin.
    let gcRecords = batch.gc ? decodeGcRecords(batch.gc) : [];
    this.gcCauses.dropped += batch.gcDropped ?? 0;
    if (this.awaitingListing) {
      // Hand-built batches (offline tests) carry the listing as events.
      const listing = batch.listed ?? listingOf(events);
      if (listing) {
        // Nothing was applied yet (samples were held): the code at start goes first.
        const { starts, at } = codeAtStart(events, listing);
        this.codeMap.setListing(listing, starts, at);
        this.awaitingListing = false;
      } else if (!final) {
        this.heldSamples = this.heldSamples.concat(decodeSamples(batch));
        this.heldGc = this.heldGc.concat(gcRecords);
        return;
      }
      // Held samples and these, encoded again as one drain.
      if (this.heldSamples.length) records = encodeSamples(this.heldSamples.concat(decodeSamples(batch)));
      if (this.heldGc.length) gcRecords = this.heldGc.concat(gcRecords);
      this.heldSamples = [];
      this.heldGc = [];
    }
    let next = 0;
    let nextGc = 0;
    const applyUpTo = (seq: number): void => {
      while (next < events.length && events[next]!.seq <= seq) this.apply(events[next++]!);
    };
    // GC records taken up to `timeNs`, each at the code of its moment.
    const learnGcUpTo = (timeNs: number): void => {
      for (; nextGc < gcRecords.length && gcRecords[nextGc]!.timeNs <= timeNs; nextGc++) {
        applyUpTo(gcRecords[nextGc]!.codeSeq);
        this.learnGc(gcRecords[nextGc]!);
      }
    };
    // Indexed loops on this path: for-of allocates an iterator and a result per step outside
    // optimized code, and a drain goes through thousands of samples and frames.
    const step = (sample: SampleView): void => {
      learnGcUpTo(sample.timeNs);
      applyUpTo(sample.codeSeq);
      this.record(sample);
    };
    this.newDrain(records.addresses.length);
    eachCheckedSample(records, step);
    learnGcUpTo(Infinity);
    this.gcCauses.nextBatch();
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

  /** A GC's begin (its stack, symbolized now, at the code of that moment) or its end. */
  private learnGc(record: GcRecord): void {
    if (record.kind !== GC_BEGIN) {
      this.gcCauses.end(record.beginNs, record.timeNs);
      return;
    }
    // A stack cut at maxFrames would put the GC under a partial stack: its samples stay at the root.
    const frames = (record.flags ?? 0) & SAMPLE_TRUNCATED ? undefined : this.walkFrames(record.frames);
    this.gcCauses.begin(record.beginNs, gcTypeName(record.gcType), frames);
  }

  /** The profile's id of the thread's label set `id` (0: none, or a set the table does not have). */
  private labelsOf(id: number | undefined): number {
    if (!id || !this.labelSetOf) return 0;
    let mapped = this.profileLabelIds.get(id);
    if (mapped === undefined) {
      const labels = this.labelSetOf(id);
      mapped = labels ? this.profile.internLabels(labels) : 0;
      this.profileLabelIds.set(id, mapped);
    }
    return mapped;
  }

  /** Keeps nothing of `sample` past the call (eachCheckedSample reuses it). */
  record(sample: SampleView): void {
    if (sample.flags & SAMPLE_STALL_PROBE) {
      const labels = sample.labels && this.labelSetOf ? (this.labelSetOf(sample.labels) ?? {}) : {};
      this.tap?.({ timeNs: sample.timeNs, probe: true, frames: this.probeFrames(sample), labels });
      return;
    }
    if (this.router) {
      const target = this.router(sample.timeNs);
      if (target.profile !== this.profile) this.retarget(target.profile, target.startNs);
    }
    const profile = this.profile;
    // A GC sample carries the labels of the code whose allocation began the GC (the handler took
    // them from the GC's prologue), so its cause's stack and its labels agree.
    const labels = this.labelsOf(sample.labels);
    const jsFrameCount = sample.frameCount - 1;
    const timeNs = Math.max(0, sample.timeNs - this.timeOffsetNs);
    const weightNs = (sample.weightUs ?? 0) * 1000;
    if (sample.vmState === VmState.GC && jsFrameCount <= 0) {
      // V8 walks no stack in GC state: the stack is the one that began the GC, when one was recorded.
      const cause = this.gcCauses.find(sample.timeNs);
      if (cause?.frames) {
        this.gcCauses.charged++;
        this.startStack();
        for (let i = 0; i < cause.frames.length; i++) this.push(profile.internFrame(cause.frames[i]!));
        this.push(profile.internFrame({ name: gcFrameName(cause.type), kind: 'gc' }));
        this.addStack(sample, timeNs, weightNs, labels);
        return;
      }
      this.gcCauses.atRoot++;
    }
    if (jsFrameCount <= 0) {
      // No JS on the stack (GC, idle, or V8 declined to walk): the pc alone would be a partial stack.
      const name =
        sample.vmState === VmState.GC ? SYNTHETIC.gc : isIdle(sample.vmState) ? SYNTHETIC.idle : SYNTHETIC.program;
      const kind = sample.vmState === VmState.GC ? 'gc' : 'synthetic';
      this.startStack();
      this.push(profile.internFrame({ name, kind }));
      this.addStack(sample, timeNs, weightNs, labels);
      return;
    }
    this.startStack();
    if (sample.flags & SAMPLE_TRUNCATED) this.push(profile.internFrame({ name: SYNTHETIC.truncated, kind: 'synthetic' }));
    const words = sample.words;
    const first = sample.framesAt;
    for (let i = first + jsFrameCount; i > first; i--) this.pushWalkFrame(words[i]!, sample.addresses);
    this.pushLeaf(words[first]!, sample.addresses);
    if (sample.vmState === VmState.GC) this.push(profile.internFrame({ name: SYNTHETIC.gc, kind: 'gc' }));
    this.addStack(sample, timeNs, weightNs, labels);
  }

  /** Empties the scratch stack and puts the thread's root frames in it. */
  private startStack(): void {
    const roots = this.rootFrames;
    for (let i = 0; i < roots.length; i++) this.scratch[i] = roots[i]!;
    this.depth = roots.length;
  }

  private push(id: number): void {
    this.scratch[this.depth++] = id;
  }

  /** The scratch stack as one sample; the tap gets the profile's own copy, which never changes. */
  private addStack(sample: SampleView, timeNs: number, weightNs: number, labels: number): void {
    const stack = this.profile.addStack(this.scratch, 1, timeNs, weightNs, labels, this.depth)!;
    this.tap?.({ timeNs: sample.timeNs, probe: false, profile: this.profile, frameIds: stack.frames, labels });
  }

  /** A stall probe's frames, root first, without touching the profile or the frame counters. */
  private probeFrames(sample: SampleView): Frame[] {
    const roots = this.rootFrames.map((id) => this.profile.frames[id]!);
    const addresses = sampleAddresses(sample);
    if (addresses.length <= 1) {
      const name = sample.vmState === VmState.GC ? SYNTHETIC.gc : isIdle(sample.vmState) ? SYNTHETIC.idle : SYNTHETIC.program;
      return [...roots, { name, kind: sample.vmState === VmState.GC ? 'gc' : 'synthetic' }];
    }
    const counted = [this.framesTotal, this.framesNative, this.framesUnresolved];
    const frames = [...roots, ...this.walkFrames(addresses)];
    [this.framesTotal, this.framesNative, this.framesUnresolved] = counted as [number, number, number];
    const pc = addresses[0]!;
    const entry = this.lookup(pc);
    if (entry) frames.push(...this.leafFramesOf(entry, pc));
    else frames.push(this.nativeSymbols?.frame(pc) ?? { name: SYNTHETIC.native, kind: 'native' });
    return frames;
  }

  /** Empty drain caches for a drain of `addressCount` distinct addresses. */
  private newDrain(addressCount: number): void {
    if (this.drainWalkVersion.length < addressCount) {
      const size = Math.max(addressCount, this.drainWalkVersion.length * 2);
      this.drainWalkVersion = new Uint32Array(size);
      this.drainWalkKinds = new Uint8Array(size);
      this.drainLeafVersion = new Uint32Array(size);
    } else {
      this.drainWalkVersion.fill(0, 0, addressCount);
      this.drainLeafVersion.fill(0, 0, addressCount);
    }
    // Entries past addressCount stay stale (their versions cleared when the arrays were made or filled).
    this.drainWalkIds.length = 0;
    this.drainLeafIds.length = 0;
  }

  /**
   * Walk frame `index` of the drain's addresses, through the drain's cache. Addresses the shared map
   * (a worker's builtins) resolves are not cached, as in pushFrameIds; nor is a miss on a thread
   * that has a shared map (another thread's events may give it code later in the drain).
   */
  private pushWalkFrame(index: number, addresses: Float64Array): void {
    const version = this.codeMap.version;
    if (this.drainWalkVersion[index] === version) {
      const ids = this.drainWalkIds[index]!;
      this.framesTotal++;
      const kind = this.drainWalkKinds[index];
      if (kind === 1) this.framesNative++;
      else if (kind === 2) this.framesUnresolved++;
      for (let i = 0; i < ids.length; i++) this.push(ids[i]!);
      return;
    }
    const before = this.depth;
    const native = this.framesNative;
    const unresolved = this.framesUnresolved;
    const cacheable = this.pushFrameIds(addresses[index]!);
    if (!cacheable) return;
    this.drainWalkVersion[index] = version;
    this.drainWalkKinds[index] = this.framesNative !== native ? 1 : this.framesUnresolved !== unresolved ? 2 : 0;
    this.drainWalkIds[index] = this.scratch.slice(before, this.depth);
  }

  /** The interrupted pc, address `index` of the drain, as the leaf's frame ids (through the drain's cache). */
  private pushLeaf(index: number, addresses: Float64Array): void {
    const version = this.codeMap.version;
    let ids = this.drainLeafVersion[index] === version ? this.drainLeafIds[index] : undefined;
    if (!ids) {
      const pc = addresses[index]!;
      const own = this.codeMap.lookup(pc);
      const entry = own ?? this.lookupShared(pc);
      if (entry) ids = this.cachedIds(entry, pc, true);
      else ids = [this.profile.internFrame(this.nativeSymbols?.frame(pc) ?? { name: SYNTHETIC.native, kind: 'native' })];
      if (own || (!entry && !this.shared)) {
        this.drainLeafVersion[index] = version;
        this.drainLeafIds[index] = ids;
      }
    }
    for (let i = 0; i < ids.length; i++) this.push(ids[i]!);
  }

  /**
   * One address of V8's walk as the profile's frame ids (walkFrames' frames, through the cache).
   * True when what it pushed may be cached for the code map's version: not from the shared map.
   */
  private pushFrameIds(address: number): boolean {
    const slot = address % WALK_CACHE_SIZE;
    const version = this.codeMap.version;
    if (this.walkCacheVersion[slot] === version && this.walkCacheAddress[slot] === address) {
      const cached = this.walkCacheIds[slot]!;
      this.framesTotal++;
      for (let i = 0; i < cached.length; i++) this.push(cached[i]!);
      return true;
    }
    // The shared map (a worker's builtins) changes with another thread's events: not cached.
    const own = this.codeMap.lookup(address);
    const entry = own ?? this.lookupShared(address);
    if (entry) {
      const cached = this.cachedIds(entry, address, false);
      if (own) {
        this.walkCacheAddress[slot] = address;
        this.walkCacheVersion[slot] = version;
        this.walkCacheIds[slot] = cached;
      }
      this.framesTotal++;
      for (let i = 0; i < cached.length; i++) this.push(cached[i]!);
      return own !== undefined;
    }
    this.framesTotal++;
    const native = this.nativeSymbols?.frame(address);
    if (native) this.framesNative++;
    else this.framesUnresolved++;
    this.push(this.profile.internFrame(native ?? { name: SYNTHETIC.unknown, kind: 'synthetic' }));
    return !this.shared;
  }

  /** The frame ids for `address` in `entry`: as the walk's frame, or as the interrupted pc (leaf). */
  private cachedIds(entry: CodeEntry, address: number, isLeaf: boolean): number[] {
    let byPc = this.frameIdCache.get(entry);
    if (!byPc) {
      byPc = new Map();
      this.frameIdCache.set(entry, byPc);
    }
    // By the offset in the code object: a small integer, where the address (over 2^31) would be a
    // heap number made at every lookup.
    const key = (address - entry.start) * 2 + (isLeaf ? 1 : 0);
    let ids = byPc.get(key);
    if (!ids) {
      const frames = isLeaf ? this.leafFramesOf(entry, address) : this.symbolizer.frames(entry, address, false);
      ids = frames.map((frame) => this.profile.internFrame(frame));
      byPc.set(key, ids);
    }
    return ids;
  }

  /** The frames of V8's walk (addresses 1.., leaf first), root first; address 0 is left out. */
  private walkFrames(addresses: ArrayLike<number>): Frame[] {
    const frames: Frame[] = [];
    for (let i = addresses.length - 1; i >= 1; i--) {
      const address = addresses[i]!;
      const entry = this.lookup(address);
      this.framesTotal++;
      if (entry) {
        frames.push(...this.symbolizer.frames(entry, address, false));
      } else {
        // V8's walk also returns C++ frames (API callbacks between JS frames).
        const native = this.nativeSymbols?.frame(address);
        if (native) this.framesNative++;
        else this.framesUnresolved++;
        frames.push(native ?? { name: SYNTHETIC.unknown, kind: 'synthetic' });
      }
    }
    return frames;
  }

  /**
   * The frame for the interrupted pc. V8's walk keeps the top frame only when it is interpreted (the
   * pc is then in the interpreter, which is that function's own time) and leaves out a JIT-compiled
   * one, whose activation the pc alone stands for, even when the walk's first frame is the same code
   * (recursion). A pc in no code object is in C++ (V8, Node, libc).
   */
  private leafFramesOf(entry: CodeEntry, pc: number): Frame[] {
    const frames = this.symbolizer.frames(entry, pc, true);
    const frame = frames[0]!;
    if (frame.kind === 'bytecode-handler' || frame.name.startsWith('Builtin:Interpreter')) return [];
    return frames;
  }
}
