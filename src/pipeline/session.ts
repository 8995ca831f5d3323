// One sampling session's drain loop: the unref'd timer that moves samples out of the native rings,
// one ingester per sampled thread, the cut between continuous-mode periods, and the counted drops
// added to each finished profile.
import { findEmbeddedCopyIn, readProcessMaps } from './embedded-copy';
import { SampleIngester } from './ingest';
import { NativeSymbols } from './native-symbols';
import { dropsOf } from './stats';
import type { ResolvedOptions } from '../config/options';
import { unpackEvents, type NativeBinding, type NativeStats, type NativeThreadBatch, type PackedThreadBatch } from '../native/binding';
import { Profile, SYNTHETIC, type Drops } from '../model/profile';
import { stderrLine } from '../common/stderr';

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
export function completeProfile(profile: Profile, span: NativeStats): void {
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

export class Session {
  /** One ingester per sampled thread: each has its own code map (isolates have their own code). */
  private readonly ingesters = new Map<number, SampleIngester>();
  /** Counters of threads whose ingester is gone (finished workers), for stats. */
  private finishedFrames = { total: 0, native: 0, unresolved: 0 };
  private readonly timer: NodeJS.Timeout;
  private readonly nativeSymbols: NativeSymbols;
  /** V8's embedded builtins, and the remapped copy they run from when there is one. */
  private readonly embedded: { start: number; size: number; copy?: number };
  /**
   * /proc/self/maps as it was at start, searched for the copy only once samples need resolving: a
   * process that exits before its first sample (a build's helper, `node -e 0`) does not parse it.
   */
  private mapsAtStart: string | undefined;
  private embeddedCopySearched = false;
  drainErrors = 0;

  /** The session's start on the wall clock (the first profile's startTime), in milliseconds. */
  private readonly startTimeMs: number;

  /** Native counters where the current profile began: its drops and CPU time are the difference. */
  private base: NativeStats | undefined;

  constructor(
    readonly native: NativeBinding,
    readonly options: ResolvedOptions,
    public profile: Profile,
  ) {
    this.startTimeMs = profile.metadata.startTime;
    this.nativeSymbols = new NativeSymbols((address) => native.nativeSymbol(address));
    const range = native.embeddedCodeRange();
    this.embedded = { start: range.start, size: range.size };
    this.mapsAtStart = readProcessMaps();
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

  /** Finds the builtins' remapped copy (once) and has every code map look its addresses up at the original. */
  private searchEmbeddedCopy(): void {
    if (this.embeddedCopySearched) return;
    this.embeddedCopySearched = true;
    const copy = findEmbeddedCopyIn(this.mapsAtStart, this.embedded.start, this.embedded.size);
    this.mapsAtStart = undefined;
    if (copy === undefined) return;
    this.embedded.copy = copy;
    for (const ingester of this.ingesters.values()) ingester.codeMap.setAlias(copy, this.embedded.size, this.embedded.start);
  }

  private ingesterFor(threadId: number, name?: string): SampleIngester {
    let ingester = this.ingesters.get(threadId);
    if (!ingester) {
      const rootFrames = threadId === 0 ? [] : [this.profile.internFrame({ name: workerFrameName(threadId, name), kind: 'thread' })];
      // A worker's shared ranges are fixed at its creation: they include the copy.
      if (threadId !== 0) this.searchEmbeddedCopy();
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
        listedLater: threadId === 0,
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
      if (packed.samples.length > 0) this.searchEmbeddedCopy();
      const ingester = this.ingesterFor(packed.threadId, packed.name);
      // The last batch of a thread without samples: its code events would resolve nothing.
      const last = final || packed.finished;
      const unused = last && packed.samples.length === 0 && !ingester.holdsSamples;
      const batch: NativeThreadBatch = { ...packed, events: unused ? [] : unpackEvents(packed.events) };
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
    // The session's start on the wall clock plus the monotonic time since: each period begins exactly
    // where the previous one ended (its start + its monotonic duration). Date.now() here drifted from
    // that by however long this thread was held up between the two clock reads (32 ms seen under load).
    // NTP slews both clocks alike; only a step of the wall clock while sampling would show.
    next.metadata.startTime = this.startTimeMs + (now.elapsedNs ?? 0) / 1e6;
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
