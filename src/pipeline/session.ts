// One sampling session's drain loop: the unref'd timer that moves samples out of the native rings,
// one ingester per sampled thread, the signals on other threads, the windows that split the samples
// by their own time (periods, HTTP windows, takeProfile() cuts), and the counted drops added to each
// finished profile.
// Longer than 350 lines because the drain loop's parts (threads, windows, drops, stalls) share its
// state; split, each part would need the whole session anyway.
import { findEmbeddedCopiesIn, findEmbeddedCopiesInProcess, readProcessMaps } from './embedded-copy';
import { addCounts, emptyCounts, SampleIngester, type IngestCounts } from './ingest';
import { NativeSymbols } from './native-symbols';
import { OtherThreads } from './other-threads';
import { completeProfile, spanOf, withoutDrops, type OtherThreadCounts } from './drops';
import type { ResolvedOptions } from '../config/options';
import { decodeOtherThreads } from '../native/records';
import { unpackCodeEvents } from '../native/code-events';
import type { NativeBinding, NativeStats, NativeThreadBatch, PackedThreadBatch } from '../native/binding';
import { Profile, type Drops, type Labels } from '../model/profile';
import { stderrLine } from '../common/stderr';
import { StallCollector, type StallSink, type StallStats } from './stalls';

export { addDropStacks, completeProfile, type OtherThreadCounts } from './drops';

/** A span of the session's samples by their capture time: [startNs, the next window's start). */
interface Window {
  startNs: number;
  profile: Profile;
  /** Signals on other threads recorded into `profile`. */
  otherRecorded: number;
}

/** A finished window: its profile holds exactly the samples taken in [startNs, endNs). */
export interface TakenWindow {
  profile: Profile;
  startNs: number;
  endNs: number;
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
  /**
   * /proc/self/maps as it was at start, searched for the copies only once samples need resolving: a
   * process that exits before its first sample (a build's helper, `node -e 0`) does not parse it.
   */
  private mapsAtStart: string | undefined;
  private embeddedCopySearched = false;
  drainErrors = 0;

  /** The session's start on the wall clock (the first profile's startTime), in milliseconds. */
  private readonly startTimeMs: number;

  /** Native counters where the current profile began: its drops and CPU time are the difference. */
  private base: NativeStats | undefined;

  /**
   * The windows not taken yet, oldest first; the newest is open-ended. A sample goes to the window
   * that holds its capture time, however late it is drained, so a cut that runs late (a busy event
   * loop) still ends its window where it was meant to end.
   */
  private windows: Window[];
  /** Window starts declared ahead (HTTP windows, cuts), ascending, after the newest window's start. */
  private splits: number[] = [];
  /** Continuous mode: a window starts every `periodNs` of the session's clock. */
  private periodNs = 0;
  /** The stall catcher's samples and reports; undefined when it is off. */
  private readonly stalls: StallCollector | undefined;

  constructor(
    readonly native: NativeBinding,
    readonly options: ResolvedOptions,
    profile: Profile,
    stallSink?: StallSink,
  ) {
    this.windows = [{ startNs: 0, profile, otherRecorded: 0 }];
    this.startTimeMs = profile.metadata.startTime;
    this.nativeSymbols = new NativeSymbols((address) => native.nativeSymbol(address));
    this.otherThreads = new OtherThreads((address) => this.nativeSymbols.frame(address));
    const range = native.embeddedCodeRange();
    this.embedded = { start: range.start, size: range.size, copies: [] };
    this.mapsAtStart = readProcessMaps();
    const main = this.ingesterFor(0);
    if (options.stallUs > 0) {
      this.stalls = new StallCollector(stallSink, options, (startNs, endNs) => {
        const { sampleWeightNs: _weight, ...metadata } = profile.metadata;
        const drops = { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 };
        return { ...metadata, startTime: this.startTimeMs + startNs / 1e6, durationNs: endNs - startNs, drops };
      });
      main.tap = this.stalls.tap;
    }
    this.timer = setInterval(() => this.drain(), options.drainIntervalMs);
    this.timer.unref();
    (process as NodeJS.EventEmitter).prependListener('removeListener', this.beforeSignalListenerRemoved);
    process.on('removeListener', this.afterSignalListenerRemoved);
  }

  /** The newest window's profile (the whole remaining run once finish() has run). */
  get profile(): Profile {
    return this.windows.at(-1)!.profile;
  }

  get mainIngester(): SampleIngester {
    return this.ingesterFor(0);
  }

  frameCounts(): IngestCounts {
    const counts = { ...this.finishedFrames };
    for (const ingester of this.ingesters.values()) addCounts(counts, ingester.counts());
    return counts;
  }

  /** Finds the builtins' remapped copies (once) and has every code map look their addresses up at the original. */
  private searchEmbeddedCopy(): void {
    if (this.embeddedCopySearched) return;
    this.embeddedCopySearched = true;
    const copies = findEmbeddedCopiesIn(this.mapsAtStart, this.embedded.start, this.embedded.size);
    this.mapsAtStart = undefined;
    this.setEmbeddedCopies(copies);
  }

  private ingesterFor(threadId: number, name?: string): SampleIngester {
    let ingester = this.ingesters.get(threadId);
    if (!ingester) {
      const rootFrames = threadId === 0 ? [] : [this.profile.internFrame({ name: workerFrameName(threadId, name), kind: 'thread' })];
      // A worker's shared ranges are fixed at its creation: they include its own copy.
      if (threadId !== 0) {
        this.searchEmbeddedCopy();
        this.setEmbeddedCopies(findEmbeddedCopiesInProcess(this.embedded.start, this.embedded.size));
      }
      const embedded = this.embedded;
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
        listedLater: threadId === 0,
        labelSets: this.labelTable(threadId),
      });
      ingester.codeMap.setAliases(embedded.copies, embedded.size, embedded.start);
      ingester.router = (timeNs) => this.windowFor(timeNs);
      this.ingesters.set(threadId, ingester);
    } else if (threadId !== 0 && name) {
      // The worker's script became known after its first samples: name its root frame.
      const root = ingester.profile.frames[ingester.rootFrames[0]!];
      if (root) root.name = workerFrameName(threadId, name);
    }
    return ingester;
  }

  /**
   * A thread's label table (native/labels.h), fetched as sample ids past the known ones show up: a
   * set is in the table before any sample can carry its id, so one fetch finds it.
   */
  private labelTable(threadId: number): (id: number) => Labels | undefined {
    const sets: Labels[] = [];
    return (id) => {
      if (id > sets.length) {
        try {
          for (const json of this.native.labelSets(threadId, sets.length + 1)) sets.push(JSON.parse(json) as Labels);
        } catch {
          // The samples stay unlabelled rather than lost.
        }
      }
      return sets[id - 1];
    };
  }

  /** Gives every thread's code map the builtins' copies known now (a copy once seen stays). */
  private setEmbeddedCopies(found: number[]): void {
    const embedded = this.embedded;
    const copies = [...new Set([...embedded.copies, ...found])];
    if (copies.length === embedded.copies.length) return;
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
      if (packed.samples.length > 0) this.searchEmbeddedCopy();
      const ingester = this.ingesterFor(packed.threadId, packed.name);
      // The last batch of a thread without samples: its code events would resolve nothing.
      const last = final || packed.finished;
      const unused = last && packed.samples.length === 0 && !ingester.holdsSamples;
      const unpacked = unused ? undefined : unpackCodeEvents(packed.events);
      const batch: NativeThreadBatch = { ...packed, events: unpacked?.events ?? [], listed: unpacked?.listed };
      ingester.ingest(batch, final || batch.finished);
      if (batch.finished && batch.threadId !== 0) {
        // A worker that ended or was terminated: everything it sampled is in the profile now.
        addCounts(this.finishedFrames, ingester.counts());
        this.ingesters.delete(batch.threadId);
      }
    }
  }

  private ingestOtherThreads(records: Float64Array | undefined): void {
    if (!records || records.length === 0) return;
    const newest = this.windows.at(-1)!;
    const samples = decodeOtherThreads(records);
    this.otherThreads.add(newest.profile, samples);
    newest.otherRecorded += samples.length;
  }

  drain(): void {
    try {
      const drained = this.native.drain();
      this.ingestAll(drained.threads, false);
      this.ingestOtherThreads(drained.otherThreads);
      this.settleStalls();
    } catch (error) {
      // The app must never see a profiler error from a timer callback.
      if (this.drainErrors++ === 0) stderrLine(`sfprof: drain failed, samples may be missing: ${String(error)}`);
    }
  }

  /** Reports the stalls that ended, from the samples drained so far. */
  private settleStalls(): void {
    if (!this.stalls) return;
    const taken = this.native.takeStalls();
    this.stalls.settle(taken.ended, taken, taken.seenNs);
  }

  stallStats(): StallStats | undefined {
    return this.stalls?.stats();
  }

  /** The session's clock: ns since start, as sample times are. */
  nowNs(): number {
    return this.native.stats().elapsedNs ?? 0;
  }

  /** From now on a window starts every `periodNs` of the session's clock (continuous mode). */
  splitEvery(periodNs: number): void {
    this.periodNs = periodNs;
  }

  /** A window starts at `atNs`. Declare it before any later sample is drained (e.g. now, or ahead). */
  splitAt(atNs: number): void {
    if (atNs <= this.windows.at(-1)!.startNs || this.splits.includes(atNs)) return;
    this.splits.push(atNs);
    this.splits.sort((a, b) => a - b);
  }

  private nextSplit(afterNs: number): number | undefined {
    // A loop, not find(): a closure per call, and this runs for every sample (windowFor).
    let next: number | undefined;
    for (let i = 0; i < this.splits.length; i++) {
      if (this.splits[i]! > afterNs) {
        next = this.splits[i];
        break;
      }
    }
    if (this.periodNs > 0) {
      const periodic = (Math.floor(afterNs / this.periodNs) + 1) * this.periodNs;
      if (next === undefined || periodic < next) next = periodic;
    }
    return next;
  }

  /** The window holding `timeNs`, opening the windows up to it. */
  private windowFor(timeNs: number): Window {
    let newest = this.windows.at(-1)!;
    for (let next = this.nextSplit(newest.startNs); next !== undefined && next <= timeNs; next = this.nextSplit(newest.startNs)) {
      const profile = newest.profile.emptyCopy(this.options.timelineSamples);
      // The session's start on the wall clock plus the monotonic time since: each window begins
      // exactly where the previous one ended. Date.now() at the cut drifted from that by however
      // long this thread was held up (32 ms seen under load); only a step of the wall clock shows.
      profile.metadata.startTime = this.startTimeMs + next / 1e6;
      delete profile.metadata.sampleWeightNs;
      newest = { startNs: next, profile, otherRecorded: 0 };
      this.windows.push(newest);
      this.splits = this.splits.filter((at) => at > next!);
    }
    for (let i = this.windows.length - 1; i > 0; i--) if (this.windows[i]!.startNs <= timeNs) return this.windows[i]!;
    // Older than every open window (its signal came just as an earlier window was taken): the oldest.
    return this.windows[0]!;
  }

  /**
   * Drains, then ends every window that starts before `endNs` (a window start, declared before
   * any later sample was drained; the caller's now always is). Each comes back complete: its own
   * samples by capture time, its duration, its sample weight; the counted drops since the last
   * take go with the last of them.
   */
  takeUntil(endNs: number): TakenWindow[] {
    this.splitAt(endNs);
    this.drain();
    this.windowFor(endNs);
    const now = this.native.stats();
    const span = spanOf(now, this.base);
    this.base = now;
    const taken = this.windows.filter((window) => window.startNs < endNs);
    this.windows = this.windows.filter((window) => window.startNs >= endNs);
    return taken.map((window, i) => {
      const last = i === taken.length - 1;
      const windowEndNs = last ? endNs : taken[i + 1]!.startNs;
      // Signals on other threads carry no time: each drain's records went to its newest window.
      const other = { recorded: window.otherRecorded, unrecorded: last ? (span.otherThreadsUnrecorded ?? 0) : 0 };
      completeProfile(window.profile, last ? span : withoutDrops(span), other);
      window.profile.metadata.durationNs = windowEndNs - window.startNs;
      return { profile: window.profile, startNs: window.startNs, endNs: windowEndNs };
    });
  }

  /**
   * Ends the current profile now and starts the next: every sample captured before the cut is in
   * the one returned (complete with its drops and sample weight), every later one in the next.
   */
  cut(): Profile {
    const taken = this.takeUntil(this.nowNs());
    if (taken.length === 1) return taken[0]!.profile;
    const merged = taken[0]!.profile.emptyCopy(this.options.timelineSamples);
    for (const window of taken) merged.merge(window.profile);
    return merged;
  }

  /** Stops sampling; `other` is what the last profile holds of the signals on other threads. */
  finish(): { whole: NativeStats; span: NativeStats; other: OtherThreadCounts } {
    clearInterval(this.timer);
    process.off('removeListener', this.beforeSignalListenerRemoved);
    process.off('removeListener', this.afterSignalListenerRemoved);
    const final = this.native.stop();
    this.ingestAll(final.threads, true);
    this.ingestOtherThreads(final.otherThreads);
    try {
      this.settleStalls();
    } catch (error) {
      stderrLine(`sfprof: stall reports failed: ${String(error)}`);
    }
    if (this.windows.length > 1) {
      // The rest of the run is one profile (stop() returns it): its windows were never taken.
      const merged = this.windows[0]!.profile.emptyCopy(this.options.timelineSamples);
      let otherRecorded = 0;
      for (const window of this.windows) {
        merged.merge(window.profile);
        otherRecorded += window.otherRecorded;
      }
      merged.metadata.durationNs = 0;
      this.windows = [{ startNs: this.windows[0]!.startNs, profile: merged, otherRecorded }];
    }
    const whole = final.stats;
    const span = spanOf(whole, this.base);
    // Signals counted whose record never came (a handler still between count and record after the
    // stop's wait: see native/other_threads.h) are unrecorded too, so the session adds up.
    const missing = Math.max(0, whole.nonJsThread - this.otherThreads.recordedTotal - (whole.otherThreadsUnrecorded ?? 0));
    const other = { recorded: this.windows[0]!.otherRecorded, unrecorded: (span.otherThreadsUnrecorded ?? 0) + missing };
    return { whole, span, other };
  }
}
