// The counted losses of one span of a session: its counters (spanOf), the drop stacks and sample
// weight a finished profile gets (completeProfile), so that nothing disappears silently.
import type { NativeStats } from '../native/binding';
import { SYNTHETIC, type Drops, type Profile } from '../model/profile';
import { UNRECORDED } from './other-threads';
import { dropsOf } from './stats';

/**
 * Adds the counted losses to the profile as synthetic stacks: nothing disappears silently. Of the
 * signals on other threads, `otherRecorded` are in the profile already (other-threads.ts); the rest
 * are `[other threads];(unrecorded)`.
 */
export function addDropStacks(profile: Profile, drops: Drops, otherRecorded = 0): void {
  profile.addSynthetic([SYNTHETIC.lost, '(ring full)'], drops.ringFull);
  profile.addSynthetic([SYNTHETIC.lost, '(sampling paused)'], drops.busy);
  profile.addSynthetic([SYNTHETIC.lost, '(signal queue full)'], drops.queueFull ?? 0);
  profile.addSynthetic([SYNTHETIC.otherThreads, UNRECORDED], drops.nonJsThread - otherRecorded);
}

/** The signals on other threads that belong to one profile: recorded ones, and ones without a record. */
export interface OtherThreadCounts {
  recorded: number;
  unrecorded: number;
}

/** Counters over the span since `base` (the whole session without one); the rest as in `now`. */
export function spanOf(now: NativeStats, base: NativeStats | undefined): NativeStats {
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
    droppedQueueFull: minus(now.droppedQueueFull, base.droppedQueueFull),
    signalsCoalesced: minus(now.signalsCoalesced, base.signalsCoalesced),
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

/** Counters with the drops left out: for the earlier windows of one take (the last one has them). */
export function withoutDrops(span: NativeStats): NativeStats {
  return { ...span, droppedRingFull: 0, nonJsThread: 0, truncated: 0, droppedBusy: 0, afterStop: 0, droppedQueueFull: 0 };
}

