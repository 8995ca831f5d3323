// The stall catcher's half of the pipeline: keeps the main thread's samples of the stretch it is in
// (CPU samples and stall probes, symbolized by the ingester's tap) and, when the native stall watch
// says a stall ended, makes a profile of the samples taken during it. What becomes of that profile
// (a stderr line, a file, a push) is the delivery's: a sink set with setStallSink().
import type { TappedSample } from './ingest';
import { Profile, type Frame, type Labels, type ProfileMetadata } from '../model/profile';
import type { ResolvedOptions } from '../config/options';

/** A stall that ended, with the profile of its samples. */
export interface StallReport {
  /** 1 for the process's first stall, counting every stall (reported or not). */
  index: number;
  /** On the session's clock (ns since start), and on the wall clock (epoch ms). */
  startNs: number;
  endNs: number;
  startTimeMs: number;
  durationMs: number;
  /** The samples taken during the stall (stall probes included), one stack each, labels kept. */
  profile: Profile;
  /** How many of them were stall probes (wall-clock samples of a thread that burnt no CPU). */
  probes: number;
  /** Stalls since the previous report that no report was made for (over the bound). */
  suppressedBefore: number;
}

/** Where a session's reports go and how many it may write. */
export type StallSettings = Pick<ResolvedOptions, 'stallOutput' | 'stallMax'>;

/** Receives each ended stall; returns whether it was reported (a file written), for stats(). */
export type StallSink = (report: StallReport, settings: StallSettings) => boolean;

export interface StallStats {
  /** Stalls seen (their number past the threshold), the longest in ms. */
  count: number;
  longestMs: number;
  /** Stalls that got a report, and those over the bound (counted only). */
  reported: number;
  suppressed: number;
}

/** The frames of a tapped sample, root first. */
function framesOf(sample: TappedSample): Frame[] {
  if (sample.probe) return sample.frames;
  const frames = sample.profile.frames;
  return sample.frameIds.map((id) => frames[id]!);
}

function labelsOf(sample: TappedSample): Labels {
  return sample.probe ? (sample.labels ?? {}) : (sample.profile.labelSets[sample.labels] ?? {});
}

/**
 * Builds the profile of the samples in [startNs, endNs] (times on the session's clock). Pure: the
 * stall reports' tests call it with samples they make.
 */
export function stallProfile(samples: readonly TappedSample[], startNs: number, endNs: number, metadata: ProfileMetadata): { profile: Profile; probes: number } {
  const profile = new Profile(metadata, { timelineCapacity: 0 });
  let probes = 0;
  for (const sample of samples) {
    if (sample.timeNs < startNs || sample.timeNs > endNs) continue;
    if (sample.probe) probes++;
    const ids = framesOf(sample).map((frame) => profile.internFrame({ ...frame }));
    const labels = labelsOf(sample);
    profile.addStack(ids, 1, sample.timeNs - startNs, undefined, Object.keys(labels).length ? profile.internLabels(labels) : 0);
  }
  return { profile, probes };
}

/** The samples of the main thread's current stretch, and the stalls reported so far. */
export class StallCollector {
  private samples: TappedSample[] = [];
  private reported = 0;
  private suppressed = 0;
  private suppressedSinceReport = 0;
  private notQueuedSeen = 0;
  private count = 0;
  private longestNs = 0;

  constructor(
    private readonly sink: StallSink | undefined,
    private readonly settings: StallSettings,
    private readonly metadataFor: (startNs: number, endNs: number) => ProfileMetadata,
  ) {}

  readonly tap = (sample: TappedSample): void => {
    this.samples.push(sample);
  };

  /**
   * After a drain: reports the stalls that ended (`ended` as [start, end, ...] pairs) and forgets
   * the samples before `keepFromNs` (the last moment the thread was in its loop; -1: all).
   */
  settle(ended: ArrayLike<number>, native: { count: number; longestNs: number; notQueued: number }, keepFromNs: number): void {
    this.count = native.count;
    this.longestNs = native.longestNs;
    // Stalls the native queue had no room for were never seen here: over the bound too.
    if (native.notQueued > this.notQueuedSeen) this.noteSuppressed(native.notQueued - this.notQueuedSeen);
    this.notQueuedSeen = native.notQueued;
    for (let i = 0; i + 1 < ended.length; i += 2) this.report(ended[i]!, ended[i + 1]!);
    if (keepFromNs < 0) this.samples = [];
    else if (this.samples.length && this.samples[0]!.timeNs < keepFromNs) this.samples = this.samples.filter((s) => s.timeNs >= keepFromNs);
  }

  private noteSuppressed(n: number): void {
    this.suppressed += n;
    this.suppressedSinceReport += n;
  }

  private report(startNs: number, endNs: number): void {
    const metadata = this.metadataFor(startNs, endNs);
    const { profile, probes } = stallProfile(this.samples, startNs, endNs, metadata);
    const report: StallReport = {
      index: this.reported + this.suppressed + 1,
      startNs,
      endNs,
      startTimeMs: metadata.startTime,
      durationMs: (endNs - startNs) / 1e6,
      profile,
      probes,
      suppressedBefore: this.suppressedSinceReport,
    };
    let written = false;
    try {
      written = this.sink ? this.sink(report, this.settings) : false;
    } catch {
      // A report must never cost the app: counted as not reported.
    }
    if (written) {
      this.reported++;
      this.suppressedSinceReport = 0;
    } else {
      this.noteSuppressed(1);
    }
  }

  stats(): StallStats {
    return { count: this.count, longestMs: this.longestNs / 1e6, reported: this.reported, suppressed: this.suppressed };
  }
}
