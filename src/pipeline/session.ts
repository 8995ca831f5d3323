// One sampling session's drain loop: the unref'd timer that moves samples out of the native rings,
// one ingester per sampled thread, the signals on other threads, the cut between continuous-mode
// periods, and the counted drops added to each finished profile.
import { findEmbeddedCopiesInProcess } from './embedded-copy';
import { addCounts, emptyCounts, SampleIngester, type IngestCounts } from './ingest';
import { NativeSymbols } from './native-symbols';
import { OtherThreads, UNRECORDED } from './other-threads';
import { dropsOf } from './stats';
import type { ResolvedOptions } from '../config/options';
import { decodeOtherThreads } from '../native/records';
import { unpackEvents, type NativeBinding, type NativeStats, type NativeThreadBatch, type PackedThreadBatch } from '../native/binding';
import { Profile, SYNTHETIC, type Drops } from '../model/profile';
import { stderrLine } from '../common/stderr';

/**
 * Adds the counted losses to the profile as synthetic stacks: nothing disappears silently. Of the
 * signals on other threads, `otherRecorded` are in the profile already (other-threads.ts); the rest
 * are `[other threads];(unrecorded)`.
 */
export function addDropStacks(profile: Profile, drops: Drops, otherRecorded = 0): void {
  profile.addSynthetic([SYNTHETIC.lost, '(ring full)'], drops.ringFull);
  profile.addSynthetic([SYNTHETIC.lost, '(sampling paused)'], drops.busy);
  profile.addSynthetic([SYNTHETIC.otherThreads, UNRECORDED], drops.nonJsThread - otherRecorded);
}

/** The signals on other threads that belong to one profile: recorded ones, and ones without a record. */
export interface OtherThreadCounts {
  recorded: number;
  unrecorded: number;
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
    otherThreadsUnrecorded: minus(now.otherThreadsUnrecorded, base.otherThreadsUnrecorded),
    truncated: minus(now.truncated, base.truncated),
    droppedBusy: minus(now.droppedBusy, base.droppedBusy),
    afterStop: minus(now.afterStop, base.afterStop),
  };
}

/**
 * Fills in a finished profile's duration, sample weight and drops from the counters of its span.
 * With `other`, the profile's count of signals on other threads is what it holds of them: a signal
 * counted just before a cut but drained just after it is in the next period, never in two or none.
 */
export function completeProfile(profile: Profile, span: NativeStats, other?: OtherThreadCounts): void {
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
  if (other) profile.metadata.drops.nonJsThread = other.recorded + other.unrecorded;
  addDropStacks(profile, profile.metadata.drops, other?.recorded ?? 0);
}

/** The root frame of a worker's stacks. */
export function workerFrameName(threadId: number, name?: string): string {
  return name ? `[worker ${threadId} ${name}]` : `[worker ${threadId}]`;
}

export class Session {
  /** One ingester per sampled thread: each has its own code map (isolates have their own code). */
  private readonly ingesters = new Map<number, SampleIngester>();
  /** Counters of threads whose ingester is gone (finished workers), for stats. */
  private finishedFrames = emptyCounts();
  private readonly timer: NodeJS.Timeout;
  private readonly nativeSymbols: NativeSymbols;
  private readonly otherThreads: OtherThreads;
  /**
   * V8's embedded builtins, and the remapped copies they run from: one per isolate, so listed again
   * when a thread first shows up (a worker's isolate maps its own).
   */
  private readonly embedded: { start: number; size: number; copies: number[] };
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
    this.otherThreads = new OtherThreads((address) => this.nativeSymbols.frame(address));
    const range = native.embeddedCodeRange();
    this.embedded = { start: range.start, size: range.size, copies: findEmbeddedCopiesInProcess(range.start, range.size) };
    this.ingesterFor(0);
    this.timer = setInterval(() => this.drain(), options.drainIntervalMs);
    this.timer.unref();
    (process as NodeJS.EventEmitter).prependListener('removeListener', this.beforeSignalListenerRemoved);
    process.on('removeListener', this.afterSignalListenerRemoved);
  }

  get mainIngester(): SampleIngester {
    return this.ingesterFor(0);
  }

  frameCounts(): IngestCounts {
    const counts = { ...this.finishedFrames };
    for (const ingester of this.ingesters.values()) addCounts(counts, ingester.counts());
    return counts;
  }

  private ingesterFor(threadId: number, name?: string): SampleIngester {
    let ingester = this.ingesters.get(threadId);
    if (!ingester) {
      const rootFrames = threadId === 0 ? [] : [this.profile.internFrame({ name: workerFrameName(threadId, name), kind: 'thread' })];
      const embedded = this.embedded;
      if (threadId !== 0) this.refreshEmbeddedCopies();
      const ranges: [number, number][] = [[embedded.start, embedded.start + embedded.size]];
      for (const copy of embedded.copies) ranges.push([copy, copy + embedded.size]);
      ingester = new SampleIngester(this.profile, {
        cwd: process.cwd(),
        lines: this.options.lines,
        inlines: this.options.inlines,
        nativeSymbols: this.nativeSymbols,
        rootFrames,
        // Workers' builtin events are left out natively; the main thread's map has them.
        shared: threadId === 0 ? undefined : { map: this.ingesterFor(0).codeMap, ranges },
      });
      ingester.codeMap.setAliases(embedded.copies, embedded.size, embedded.start);
      this.ingesters.set(threadId, ingester);
    } else if (threadId !== 0 && name) {
      // The worker's script became known after its first samples: name its root frame.
      const root = this.profile.frames[ingester.rootFrames[0]!];
      if (root) root.name = workerFrameName(threadId, name);
    }
    return ingester;
  }

  /** Lists the builtins' copies again and gives every thread's code map the new list. */
  private refreshEmbeddedCopies(): void {
    const embedded = this.embedded;
    const copies = findEmbeddedCopiesInProcess(embedded.start, embedded.size);
    if (copies.length === embedded.copies.length && copies.every((copy, i) => copy === embedded.copies[i])) return;
    embedded.copies = copies;
    for (const ingester of this.ingesters.values()) ingester.codeMap.setAliases(copies, embedded.size, embedded.start);
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
        addCounts(this.finishedFrames, ingester.counts());
        this.ingesters.delete(batch.threadId);
      }
    }
  }

  private ingestOtherThreads(records: Float64Array | undefined): void {
    if (records && records.length > 0) this.otherThreads.add(this.profile, decodeOtherThreads(records));
  }

  drain(): void {
    try {
      const drained = this.native.drain();
      this.ingestAll(drained.threads, false);
      this.ingestOtherThreads(drained.otherThreads);
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
    completeProfile(ended, span, { recorded: this.otherThreads.recordedInProfile, unrecorded: span.otherThreadsUnrecorded ?? 0 });
    this.otherThreads.cut();
    return ended;
  }

  /** Stops sampling; `other` is what the last profile holds of the signals on other threads. */
  finish(): { whole: NativeStats; span: NativeStats; other: OtherThreadCounts } {
    clearInterval(this.timer);
    process.off('removeListener', this.beforeSignalListenerRemoved);
    process.off('removeListener', this.afterSignalListenerRemoved);
    const final = this.native.stop();
    this.ingestAll(final.threads, true);
    this.ingestOtherThreads(final.otherThreads);
    const whole = final.stats;
    const span = spanOf(whole, this.base);
    // Signals counted whose record never came (a handler still between count and record after the
    // stop's wait: see native/other_threads.h) are unrecorded too, so the session adds up.
    const missing = Math.max(0, whole.nonJsThread - this.otherThreads.recordedTotal - (whole.otherThreadsUnrecorded ?? 0));
    const other = { recorded: this.otherThreads.recordedInProfile, unrecorded: (span.otherThreadsUnrecorded ?? 0) + missing };
    return { whole, span, other };
  }
}
