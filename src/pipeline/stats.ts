// The stats() projection: the native counters of a session turned into rates, drops and handler
// times for users, the CLI summary and the profile's metadata.
import { checkRate, readKernelFacts } from '../config/engine';
import type { NativeStats } from '../native/binding';
import type { Drops } from '../model/profile';
import type { IngestCounts } from './ingest';
import type { StallStats } from './stalls';
import type { LabelsMode } from '../config/labels';
import type { LabelsCapture } from './labels';

/** Labels in stats(): the main thread's mode and how its samples get labels, and what they cost. */
export interface LabelsStats {
  mode: LabelsMode;
  /** cped: read from V8's async context; hooks: async_hooks; none: not available here; off. */
  capture: LabelsCapture;
  /** Why the V8 read is not available, when it is not. */
  reason?: string;
  /** Samples (every thread) that carried labels. */
  samplesLabelled: number;
  /** Mean time the signal handler spent finding a sample's label, ns (0 until measured). */
  readNs: number;
}

export interface SamplerStats {
  running: boolean;
  /** The stall catcher (option `stall`): stalls seen, the longest, reported and over the bound. */
  stalls?: StallStats;
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
  /** pacer: deadlines that passed while a thread's previous signal was still pending. No sample is
   * lost: the next one's weight covers their CPU time (0 for the other engines). */
  signalsCoalesced: number;
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
  /** Times the watcher thread moved samples out of a half-full ring before a drain could. */
  spills: number;
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
  /** GC samples written under the JS stack that began their GC (docs/how-it-works.md). */
  gcSamplesCharged: number;
  /** GC samples no recorded GC held (or all of them with gcCause off): a root (garbage collector). */
  gcSamplesAtRoot: number;
  /** GC begins the native log had no room for: their samples are among gcSamplesAtRoot. */
  gcCausesDropped: number;
  /** Threads sampled: the main thread and the workers attached so far (finished ones included until drained). */
  threads: number;
  labels: LabelsStats;
}

/** Value at quantile `q` of a histogram of equal-width buckets (midpoints; last bucket open-ended). */
export function histogramQuantile(buckets: ArrayLike<number>, bucketWidth: number, q: number): number {
  return histogramQuantiles(buckets, bucketWidth, [q])[0]!;
}

/**
 * Several quantiles (ascending) of one histogram in one scan: stats() runs at every exit. `total`,
 * the buckets' sum when the caller has it, spares reading every bucket (the handler's has 8,193).
 */
export function histogramQuantiles(buckets: ArrayLike<number>, bucketWidth: number, qs: number[], total = sumOf(buckets)): number[] {
  if (total === 0) return qs.map(() => 0);
  const last = buckets.length - 1;
  const found: number[] = [];
  let seen = 0;
  for (let i = 0; i < buckets.length && found.length < qs.length; i++) {
    seen += buckets[i]!;
    while (found.length < qs.length && seen >= Math.max(1, Math.ceil(qs[found.length]! * total))) {
      found.push(i === last ? i * bucketWidth : (i + 0.5) * bucketWidth);
    }
  }
  while (found.length < qs.length) found.push(last * bucketWidth);
  return found;
}

function sumOf(values: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i]!;
  return total;
}

/** The handler's mean label read in ns: the timed reads less the clock's own share. */
export function labelReadNs(native: NativeStats): number {
  const timed = native.labelReadsTimed ?? 0;
  if (timed === 0) return 0;
  return Math.max(0, ((native.labelReadNs ?? 0) - (native.labelClockNs ?? 0)) / timed);
}

/** The drops of a span of native counters, by cause. */
export function dropsOf(stats: NativeStats): Drops {
  return {
    ringFull: stats.droppedRingFull ?? 0,
    nonJsThread: stats.nonJsThread,
    truncated: stats.truncated ?? 0,
    busy: (stats.droppedBusy ?? 0) + (stats.afterStop ?? 0),
    queueFull: stats.droppedQueueFull ?? 0,
  };
}

export function toStats(
  native: NativeStats,
  frames: IngestCounts,
  engineReason: string,
  labels: { mode: LabelsMode; capture: LabelsCapture; reason?: string } = { mode: 'auto', capture: 'none' },
): SamplerStats {
  const processCpuMs = (native.processCpuNs ?? 0) / 1e6;
  const jsThreadCpuMs = (native.threadCpuNs ?? 0) / 1e6;
  const samplesRecorded = native.samplesRecorded ?? 0;
  const histogram = native.handlerTimeHistogram ?? [];
  const bucketNs = native.handlerBucketNs ?? 1;
  const [handlerMedianNs, handlerP99Ns] = histogramQuantiles(histogram, bucketNs, [0.5, 0.99], native.handlerTimeCount) as [number, number];
  const drops = dropsOf(native);
  // Each engine's rate over the CPU time it samples: the process's for itimer, the JS thread's
  // (user and system: perf counts only user time, so time in syscalls shows as a lower rate) else.
  const engineCpuNs = native.engine === 'itimer' ? native.processCpuNs : (native.sampledThreadsCpuNs ?? native.threadCpuNs);
  const engineSamples = native.engine === 'itimer' ? native.timerSignals : samplesRecorded + drops.ringFull + drops.busy + (drops.queueFull ?? 0);
  const rate = checkRate({
    engine: native.engine,
    intervalUs: native.intervalUs,
    samples: engineSamples,
    cpuSeconds: (engineCpuNs ?? 0) / 1e9,
    lost: drops.ringFull + drops.busy + (drops.queueFull ?? 0),
    configHz: () => readKernelFacts().configHz,
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
    signalsCoalesced: native.signalsCoalesced ?? 0,
    signalsForwarded: native.forwarded,
    foreignSignalsIgnored: native.foreignIgnored,
    handlerReinstalls: native.handlerReinstalls,
    handlerDisplaced: native.handlerDisplaced,
    forwardLoops: native.forwardLoops,
    spills: native.spills,
    achievedRateHz: processCpuMs > 0 ? native.timerSignals / (processCpuMs / 1000) : 0,
    jsThreadRateHz: jsThreadCpuMs > 0 ? samplesRecorded / (jsThreadCpuMs / 1000) : 0,
    processCpuMs,
    jsThreadCpuMs,
    handlerTimeMedianUs: handlerMedianNs / 1000,
    handlerTimeP99Us: handlerP99Ns / 1000,
    framesTotal: frames.total,
    framesNative: frames.native,
    framesUnresolved: frames.unresolved,
    gcSamplesCharged: frames.gcCharged,
    gcSamplesAtRoot: frames.gcAtRoot,
    gcCausesDropped: frames.gcCausesDropped,
    threads: native.threads ?? 0,
    labels: {
      ...labels,
      samplesLabelled: native.samplesLabelled ?? 0,
      readNs: labelReadNs(native),
    },
  };
}
