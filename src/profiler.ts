// start/stop, the unref'd drain loop, and the sample → stack pipeline:
//   native ring ─► decodeSamples ─► replay code events up to each sample ─► symbolize ─► Profile
import { isMainThread } from 'node:worker_threads';

import { CodeMap } from './code-map';
import { findEmbeddedCopyInProcess } from './embedded-copy';
import { NativeSymbols } from './native-symbols';
import {
  loadNative,
  nativeErrorCode,
  unpackEvents,
  type NativeBatch,
  type NativeBinding,
  type NativeCodeEvent,
  type NativeStats,
  type NativeThreadBatch,
  type PackedThreadBatch,
} from './native';
import { checkRate, engineCandidates, readKernelFacts } from './engine';
import { resolveOptions, type ResolvedOptions, type StartOptions } from './options';
import { Profile, SYNTHETIC, type Drops, type Frame } from './profile';
import { decodeSamples, SAMPLE_TRUNCATED, VmState, type RawSample } from './records';
import { stderrLine } from './stderr';
import { Symbolizer } from './symbolize';
import { joinSession } from './worker';

export interface SamplerStats {
  running: boolean;
  engine: string;
  /** Why this engine: "requested", or what auto saw (and which engines it could not start). */
  engineReason: string;
  intervalUs: number;
  /** Samples per second requested (1 s / interval) and achieved per CPU second of what the engine
   * samples (the process for itimer, the sampled JS threads for perf and thread-cpu). */
  requestedRateHz: number;
  engineRateHz: number;
  /** Set when engineRateHz is under 80% of requestedRateHz: the likely cause. */
  rateWarning?: string;
  /** The timer's signal: SIGPROF (itimer) or the real-time signal of a per-thread engine. */
  signal: number;
  /** Timer signals received, on any thread. */
  signalsReceived: number;
  /** Stacks captured on the JS thread. */
  samplesRecorded: number;
  drops: Drops;
  /** SIGPROF not sent by our timer (another profiler's), handed to the previous handler. */
  signalsForwarded: number;
  /** SIGPROF not sent by our timer with no previous handler to take it: ignored, not fatal. */
  foreignSignalsIgnored: number;
  /** Times our handler was found replaced by the default disposition while sampling, and put back. */
  handlerReinstalls: number;
  /** Watcher checks that found another live SIGPROF handler in our place (V8's profiler while it runs). */
  handlerDisplaced: number;
  /** Foreign signals dropped because the previous handler forwarded them back to us. */
  forwardLoops: number;
  /** Times a long synchronous stretch of JS was interrupted to move samples out of the ring. */
  spillInterrupts: number;
  /** Timer signals per second of process CPU time. */
  achievedRateHz: number;
  /** Samples recorded per second of JS-thread CPU time. */
  jsThreadRateHz: number;
  processCpuMs: number;
  jsThreadCpuMs: number;
  handlerTimeMedianUs: number;
  handlerTimeP99Us: number;
  /** Frames V8's walk returned on the JS thread, and how many no code event or symbol covered. */
  framesTotal: number;
  /** ... of which were C++ frames named from the symbol table. */
  framesNative: number;
  framesUnresolved: number;
  /** Threads sampled: the main thread and the workers attached so far (finished ones included until drained). */
  threads: number;
}

/** Value at quantile `q` of a histogram of equal-width buckets (midpoints; last bucket open-ended). */
export function histogramQuantile(buckets: ArrayLike<number>, bucketWidth: number, q: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i]!;
  if (total === 0) return 0;
  const target = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= target) return i === buckets.length - 1 ? i * bucketWidth : (i + 0.5) * bucketWidth;
  }
  return (buckets.length - 1) * bucketWidth;
}

/** Turns drained batches into stacks of one Profile. Pure given its inputs; tested offline. */
export class SampleIngester {
  readonly codeMap = new CodeMap();
  readonly symbolizer: Symbolizer;
  readonly nativeSymbols: NativeSymbols | undefined;
  framesTotal = 0;
  framesNative = 0;
  framesUnresolved = 0;
  private pendingEvents: NativeCodeEvent[] = [];

  /** Frame ids every stack of this thread starts with (a worker's "[worker N]" root). */
  rootFrames: number[];
  /** Subtracted from sample times: where the current profile starts on the session's clock. */
  private timeOffsetNs = 0;
  /** Where a worker looks up V8's embedded builtins: the main thread's map, which has them. */
  private readonly shared: { map: CodeMap; ranges: [number, number][] } | undefined;

  constructor(
    public profile: Profile,
    options: {
      cwd: string;
      lines: boolean;
      symbolizer?: Symbolizer;
      nativeSymbols?: NativeSymbols;
      rootFrames?: number[];
      shared?: { map: CodeMap; ranges: [number, number][] };
    },
  ) {
    this.symbolizer = options.symbolizer ?? new Symbolizer(options.cwd, options.lines);
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
    const events = this.pendingEvents.length ? this.pendingEvents.concat(batch.events) : batch.events;
    // Events are kept even when the samples cannot be decoded: later samples need them.
    this.pendingEvents = events;
    const samples = decodeSamples(batch.samples);
    let next = 0;
    for (const sample of samples) {
      while (next < events.length && events[next]!.seq <= sample.codeSeq) this.codeMap.apply(events[next++]!);
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

  record(sample: RawSample): void {
    const profile = this.profile;
    const jsFrameCount = sample.frames.length - 1;
    if (jsFrameCount <= 0) {
      // No JS on the stack (GC, idle, or V8 declined to walk): the pc alone would be a partial stack.
      const name =
        sample.vmState === VmState.GC ? SYNTHETIC.gc : sample.vmState === VmState.IDLE ? SYNTHETIC.idle : SYNTHETIC.program;
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
        ids.push(profile.internFrame(this.symbolizer.frame(entry, address, false)));
      } else {
        // V8's walk also returns C++ frames (API callbacks between JS frames).
        const native = this.nativeSymbols?.frame(address);
        if (native) this.framesNative++;
        else this.framesUnresolved++;
        ids.push(profile.internFrame(native ?? { name: SYNTHETIC.unknown, kind: 'synthetic' }));
      }
    }
    const leaf = this.leafFrame(sample.frames[0]!);
    if (leaf) ids.push(profile.internFrame(leaf));
    if (sample.vmState === VmState.GC) ids.push(profile.internFrame({ name: SYNTHETIC.gc, kind: 'gc' }));
    profile.addStack(ids, 1, Math.max(0, sample.timeNs - this.timeOffsetNs), (sample.weightUs ?? 0) * 1000);
  }

  /**
   * The frame for the interrupted pc. V8's walk keeps the top frame only when it is interpreted (the
   * pc is then in the interpreter, which is that function's own time) and leaves out a JIT-compiled
   * one, whose activation the pc alone stands for, even when the walk's first frame is the same code
   * (recursion). A pc in no code object is in C++ (V8, Node, libc).
   */
  private leafFrame(pc: number): Frame | undefined {
    const entry = this.lookup(pc);
    if (!entry) return this.nativeSymbols?.frame(pc) ?? { name: SYNTHETIC.native, kind: 'native' };
    const frame = this.symbolizer.frame(entry, pc, true);
    if (frame.kind === 'bytecode-handler' || frame.name.startsWith('Builtin:Interpreter')) return undefined;
    return frame;
  }
}

function dropsOf(stats: NativeStats): Drops {
  return {
    ringFull: stats.droppedRingFull ?? 0,
    nonJsThread: stats.nonJsThread,
    truncated: stats.truncated ?? 0,
    busy: (stats.droppedBusy ?? 0) + (stats.afterStop ?? 0),
  };
}

/** Adds the counted losses to the profile as synthetic stacks: nothing disappears silently. */
export function addDropStacks(profile: Profile, drops: Drops): void {
  profile.addSynthetic([SYNTHETIC.lost, '(ring full)'], drops.ringFull);
  profile.addSynthetic([SYNTHETIC.lost, '(sampling paused)'], drops.busy);
  profile.addSynthetic([SYNTHETIC.otherThreads], drops.nonJsThread);
}

/** Counters over the span since `base` (the whole session without one); the rest as in `now`. */
function spanOf(now: NativeStats, base: NativeStats | undefined): NativeStats {
  if (!base) return now;
  const minus = (a: number | undefined, b: number | undefined): number => Math.max(0, (a ?? 0) - (b ?? 0));
  return {
    ...now,
    elapsedNs: minus(now.elapsedNs, base.elapsedNs),
    processCpuNs: minus(now.processCpuNs, base.processCpuNs),
    timerSignals: minus(now.timerSignals, base.timerSignals),
    droppedRingFull: minus(now.droppedRingFull, base.droppedRingFull),
    nonJsThread: minus(now.nonJsThread, base.nonJsThread),
    truncated: minus(now.truncated, base.truncated),
    droppedBusy: minus(now.droppedBusy, base.droppedBusy),
    afterStop: minus(now.afterStop, base.afterStop),
  };
}

/** Fills in a finished profile's duration, sample weight and drops from the counters of its span. */
function completeProfile(profile: Profile, span: NativeStats): void {
  profile.metadata.durationNs = span.elapsedNs ?? 0;
  // What a sample without its own measured CPU time (a drop, any itimer sample) stands for. Per-thread
  // engines measure each sample: their mean. itimer signals run below the requested rate when the
  // tick caps the timer: process CPU time over the signals, on every thread the timer counted.
  let weightedNs = 0;
  let weighted = 0;
  for (const stack of profile.stackList) {
    weightedNs += stack.cpuNs;
    weighted += stack.count - stack.unweighted;
  }
  if (weighted > 0) profile.metadata.sampleWeightNs = Math.round(weightedNs / weighted);
  else if ((span.processCpuNs ?? 0) > 0 && span.timerSignals > 0) {
    profile.metadata.sampleWeightNs = Math.round((span.processCpuNs ?? 0) / span.timerSignals);
  }
  profile.metadata.drops = dropsOf(span);
  addDropStacks(profile, profile.metadata.drops);
}

/** The root frame of a worker's stacks. */
export function workerFrameName(threadId: number, name?: string): string {
  return name ? `[worker ${threadId} ${name}]` : `[worker ${threadId}]`;
}

class Session {
  /** One ingester per sampled thread: each has its own code map (isolates have their own code). */
  private readonly ingesters = new Map<number, SampleIngester>();
  /** Counters of threads whose ingester is gone (finished workers), for stats. */
  private finishedFrames = { total: 0, native: 0, unresolved: 0 };
  private readonly timer: NodeJS.Timeout;
  private readonly nativeSymbols: NativeSymbols;
  /** V8's embedded builtins, and the remapped copy they run from when there is one. */
  private readonly embedded: { start: number; size: number; copy?: number };
  drainErrors = 0;

  /** Native counters where the current profile began: its drops and CPU time are the difference. */
  private base: NativeStats | undefined;

  constructor(
    readonly native: NativeBinding,
    readonly options: ResolvedOptions,
    public profile: Profile,
  ) {
    this.nativeSymbols = new NativeSymbols((address) => native.nativeSymbol(address));
    const range = native.embeddedCodeRange();
    const copy = findEmbeddedCopyInProcess(range.start, range.size);
    this.embedded = { start: range.start, size: range.size, ...(copy !== undefined ? { copy } : {}) };
    this.ingesterFor(0);
    this.timer = setInterval(() => this.drain(), options.drainIntervalMs);
    this.timer.unref();
    (process as NodeJS.EventEmitter).prependListener('removeListener', this.beforeSignalListenerRemoved);
    process.on('removeListener', this.afterSignalListenerRemoved);
  }

  get mainIngester(): SampleIngester {
    return this.ingesterFor(0);
  }

  frameCounts(): { total: number; native: number; unresolved: number } {
    const counts = { ...this.finishedFrames };
    for (const ingester of this.ingesters.values()) {
      counts.total += ingester.framesTotal;
      counts.native += ingester.framesNative;
      counts.unresolved += ingester.framesUnresolved;
    }
    return counts;
  }

  private ingesterFor(threadId: number, name?: string): SampleIngester {
    let ingester = this.ingesters.get(threadId);
    if (!ingester) {
      const rootFrames = threadId === 0 ? [] : [this.profile.internFrame({ name: workerFrameName(threadId, name), kind: 'thread' })];
      const embedded = this.embedded;
      const ranges: [number, number][] = [[embedded.start, embedded.start + embedded.size]];
      if (embedded.copy !== undefined) ranges.push([embedded.copy, embedded.copy + embedded.size]);
      ingester = new SampleIngester(this.profile, {
        cwd: process.cwd(),
        lines: this.options.lines,
        nativeSymbols: this.nativeSymbols,
        rootFrames,
        // Workers' builtin events are left out natively; the main thread's map has them.
        shared: threadId === 0 ? undefined : { map: this.ingesterFor(0).codeMap, ranges },
      });
      if (embedded.copy !== undefined) ingester.codeMap.setAlias(embedded.copy, embedded.size, embedded.start);
      this.ingesters.set(threadId, ingester);
    } else if (threadId !== 0 && name) {
      // The worker's script became known after its first samples: name its root frame.
      const root = this.profile.frames[ingester.rootFrames[0]!];
      if (root) root.name = workerFrameName(threadId, name);
    }
    return ingester;
  }

  /**
   * Removing the app's last SIGPROF listener makes Node's own removeListener listener (registered
   * at bootstrap) have libuv restore the default disposition: a tick of our timer then would kill
   * the app. The timer is off from just before that listener until just after it.
   */
  private readonly beforeSignalListenerRemoved = (event: string | symbol): void => {
    if (event === 'SIGPROF' && process.listenerCount('SIGPROF') === 0) this.native.pauseTimer();
  };

  private readonly afterSignalListenerRemoved = (event: string | symbol): void => {
    if (event === 'SIGPROF') this.native.resumeTimer();
  };

  private ingestAll(threads: PackedThreadBatch[], final: boolean): void {
    for (const packed of threads) {
      const batch: NativeThreadBatch = { ...packed, events: unpackEvents(packed.events) };
      const ingester = this.ingesterFor(batch.threadId, batch.name);
      ingester.ingest(batch, final || batch.finished);
      if (batch.finished && batch.threadId !== 0) {
        // A worker that ended or was terminated: everything it sampled is in the profile now.
        this.finishedFrames.total += ingester.framesTotal;
        this.finishedFrames.native += ingester.framesNative;
        this.finishedFrames.unresolved += ingester.framesUnresolved;
        this.ingesters.delete(batch.threadId);
      }
    }
  }

  drain(): void {
    try {
      this.ingestAll(this.native.drain().threads, false);
    } catch (error) {
      // The app must never see a profiler error from a timer callback.
      if (this.drainErrors++ === 0) stderrLine(`sfprof: drain failed, samples may be missing: ${String(error)}`);
    }
  }

  /**
   * Ends the current profile at a drain boundary and starts the next: every sample drained so far
   * is in the one returned (complete with its drops and sample weight), every later one in the next.
   */
  cut(): Profile {
    this.drain();
    const now = this.native.stats();
    const ended = this.profile;
    const span = spanOf(now, this.base);
    this.base = now;
    const next = ended.emptyCopy(this.options.timelineSamples);
    next.metadata.startTime = Date.now();
    delete next.metadata.sampleWeightNs;
    for (const ingester of this.ingesters.values()) ingester.retarget(next, now.elapsedNs ?? 0);
    this.profile = next;
    completeProfile(ended, span);
    return ended;
  }

  finish(): { whole: NativeStats; span: NativeStats } {
    clearInterval(this.timer);
    process.off('removeListener', this.beforeSignalListenerRemoved);
    process.off('removeListener', this.afterSignalListenerRemoved);
    const final = this.native.stop();
    this.ingestAll(final.threads, true);
    return { whole: final.stats, span: spanOf(final.stats, this.base) };
  }
}

let session: Session | undefined;
let lastStats: SamplerStats | undefined;

function toStats(
  native: NativeStats,
  frames: { total: number; native: number; unresolved: number },
  engineReason: string,
): SamplerStats {
  const processCpuMs = (native.processCpuNs ?? 0) / 1e6;
  const jsThreadCpuMs = (native.threadCpuNs ?? 0) / 1e6;
  const samplesRecorded = native.samplesRecorded ?? 0;
  const histogram = native.handlerTimeHistogram ?? [];
  const bucketNs = native.handlerBucketNs ?? 1;
  const drops = dropsOf(native);
  // Each engine's rate over the CPU time it samples: the process's for itimer, the JS thread's
  // (user and system: perf counts only user time, so time in syscalls shows as a lower rate) else.
  const engineCpuNs = native.engine === 'itimer' ? native.processCpuNs : (native.sampledThreadsCpuNs ?? native.threadCpuNs);
  const engineSamples = native.engine === 'itimer' ? native.timerSignals : samplesRecorded + drops.ringFull + drops.busy;
  const rate = checkRate({
    engine: native.engine,
    intervalUs: native.intervalUs,
    samples: engineSamples,
    cpuSeconds: (engineCpuNs ?? 0) / 1e9,
    lost: drops.ringFull + drops.busy,
    configHz: readKernelFacts().configHz,
  });
  return {
    running: native.running,
    engine: native.engine,
    engineReason,
    signal: native.signal ?? 0,
    intervalUs: native.intervalUs,
    requestedRateHz: rate.requestedHz,
    engineRateHz: rate.achievedHz,
    ...(rate.warning ? { rateWarning: rate.warning } : {}),
    signalsReceived: native.timerSignals,
    samplesRecorded,
    drops,
    signalsForwarded: native.forwarded,
    foreignSignalsIgnored: native.foreignIgnored,
    handlerReinstalls: native.handlerReinstalls,
    handlerDisplaced: native.handlerDisplaced,
    forwardLoops: native.forwardLoops,
    spillInterrupts: native.spillInterrupts,
    achievedRateHz: processCpuMs > 0 ? native.timerSignals / (processCpuMs / 1000) : 0,
    jsThreadRateHz: jsThreadCpuMs > 0 ? samplesRecorded / (jsThreadCpuMs / 1000) : 0,
    processCpuMs,
    jsThreadCpuMs,
    handlerTimeMedianUs: histogramQuantile(histogram, bucketNs, 0.5) / 1000,
    handlerTimeP99Us: histogramQuantile(histogram, bucketNs, 0.99) / 1000,
    framesTotal: frames.total,
    framesNative: frames.native,
    framesUnresolved: frames.unresolved,
    threads: native.threads ?? 0,
  };
}

/**
 * `node --cpu-prof` starts V8's profiler before any preload and stops it after the exit event, when
 * sfprof has already stopped: the one case where chaining to V8's SIGPROF handler is safe.
 */
function cpuProfFlagGiven(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => flag === '--cpu-prof' || flag.startsWith('--cpu-prof='));
}

/** Starts a session on the main thread; workers join it (attachWorker(), or the preload). */
export function start(options: StartOptions = {}): void {
  const resolved = resolveOptions(options);
  if (!isMainThread) {
    throw new Error('sfprof: start() runs on the main thread; in a worker, call attachWorker() to be sampled into its profile');
  }
  if (session) throw new Error('sfprof: already running; call stop() first');
  const native = loadNative();
  const startTime = Date.now();
  const candidates = engineCandidates(resolved.timer, resolved.intervalUs, readKernelFacts());
  let engine = '';
  let engineReason = '';
  const refused: string[] = [];
  for (const [index, candidate] of candidates.entries()) {
    try {
      ({ engine } = native.start({
        intervalUs: resolved.intervalUs,
        ringSlots: resolved.ringSlots,
        maxFrames: resolved.maxFrames,
        allowV8Profiler: cpuProfFlagGiven(),
        engine: candidate.engine,
        // Tests of the fallback make perf_event_open fail as a locked-down kernel would.
        simulatePerfFailure: process.env.SFPROF_TEST_REFUSE_PERF === '1',
      }));
      engineReason = candidate.reason + (refused.length ? ` (${refused.join('; ')})` : '');
      break;
    } catch (error) {
      // Only a per-thread engine that the kernel refused falls back; anything else is the answer.
      if (index === candidates.length - 1 || nativeErrorCode(error) !== 'SFPROF_ENGINE_REFUSED') throw error;
      const message = error instanceof Error ? error.message : String(error);
      refused.push(`${candidate.engine}: ${message.replace(/^sfprof: /, '')}`);
    }
  }
  const profile = new Profile({
    startTime,
    durationNs: 0,
    intervalUs: resolved.intervalUs,
    engine,
    engineReason,
    lines: resolved.lines,
    pid: process.pid,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
    cwd: process.cwd(),
  }, { timelineCapacity: resolved.timelineSamples });
  session = new Session(native, resolved, profile);
  lastStats = undefined;
}

/** Stops sampling and returns the profile, drops included. Throws when not running. */
export function stop(): Profile {
  const current = session;
  if (!current) throw new Error('sfprof: not running; call start() first');
  session = undefined;
  const { whole: native, span } = current.finish();
  const profile = current.profile;
  completeProfile(profile, span);
  lastStats = toStats(native, current.frameCounts(), profile.metadata.engineReason ?? '');
  return profile;
}

/**
 * The profile since start() or the previous takeProfile(), while sampling goes on: cut at a drain
 * boundary, so no sample is in two profiles or in none. Throws when not running.
 */
export function takeProfile(): Profile {
  if (!session) throw new Error('sfprof: not running; call start() first');
  return session.cut();
}

/**
 * In a worker thread: sample this thread into the session the main thread started (its stacks go
 * under a "[worker N]" root in that profile). The preload does this for every worker by itself.
 * Throws when called on the main thread or when no session runs.
 */
export function attachWorker(): void {
  if (isMainThread) throw new Error('sfprof: attachWorker() is for worker threads; the main thread uses start()');
  joinSession();
}

/** In a worker thread: stop sampling it. What it sampled stays in the main thread's profile. */
export function detachWorker(): void {
  if (isMainThread) throw new Error('sfprof: detachWorker() is for worker threads; the main thread uses stop()');
  loadNative().detachThread();
}

/** Whether a session runs in this process (started by the main thread). */
export function sessionRunning(): boolean {
  return isMainThread ? session !== undefined : loadNative().sessionRunning();
}

export function isRunning(): boolean {
  return session !== undefined;
}

/** Live counters while running; the final ones after stop(). */
export function stats(): SamplerStats | undefined {
  if (session) return toStats(session.native.stats(), session.frameCounts(), session.profile.metadata.engineReason ?? '');
  return lastStats;
}
