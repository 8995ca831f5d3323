// What a run amounted to, for the one-line stderr note of the preload and the `sfprof record`
// summary; the self/total table of `sfprof top`; and the call-site split `npm run demo` prints.
import type { PeriodsWritten } from './production';
import { chargesToCaller, isFunctionFrame, selfIndex } from '../model/charge';
import { SYNTHETIC, type Drops, type Frame, type Profile, type ProfileStack } from '../model/profile';
import type { SamplerStats } from '../pipeline/profiler';
import { frameLabel } from '../formats/writers/folded';

export interface FunctionShare {
  label: string;
  self: number;
  total: number;
  /** GC samples charged to this function's allocation (the JS stack that began the GC); absent when none. */
  gcCaused?: number;
}

/** Whether a stack is a timer signal on a thread without JS (pipeline/other-threads.ts). */
export function isOtherThreadStack(profile: Profile, stack: ProfileStack): boolean {
  const root = stack.frames.length ? profile.frames[stack.frames[0]!] : undefined;
  return root?.name === SYNTHETIC.otherThreads;
}

/**
 * Self samples and total samples (anywhere on the stack, once per stack) per function label, over the
 * JS threads' stacks (those under `[other threads]` are otherThreadShares'). By default builtins and
 * native code are charged to the JS function that called them and get no row of their own
 * (model/charge.ts); `raw` ranks every leaf as it was sampled.
 */
export function functionShares(profile: Profile, options: { raw?: boolean } = {}): FunctionShare[] {
  const charged = !options.raw;
  const labels = profile.frames.map((frame) => frameLabel(frame));
  const shares = new Map<string, FunctionShare>();
  const entry = (label: string): FunctionShare => {
    let share = shares.get(label);
    if (!share) shares.set(label, (share = { label, self: 0, total: 0 }));
    return share;
  };
  for (const stack of profile.stackList) {
    if (stack.count <= 0 || stack.frames.length === 0 || isOtherThreadStack(profile, stack)) continue;
    const self = selfIndex(profile.frames, stack.frames, charged);
    entry(labels[stack.frames[self]!]!).self += stack.count;
    const causedBy = gcCauseIndex(profile.frames, stack.frames);
    if (causedBy >= 0) {
      const cause = entry(labels[stack.frames[causedBy]!]!);
      cause.gcCaused = (cause.gcCaused ?? 0) + stack.count;
    }
    const seen = new Set<string>();
    stack.frames.forEach((id, i) => {
      // Frames charged to the self frame above it have no time of their own in this view.
      if (!charged || i <= self || !chargesToCaller(profile.frames[id]!)) seen.add(labels[id]!);
    });
    for (const label of seen) entry(label).total += stack.count;
  }
  return [...shares.values()].sort((a, b) => b.self - a.self || b.total - a.total || (a.label < b.label ? -1 : 1));
}

/**
 * For a GC sample charged to its cause (`...;churn;(garbage collector: scavenge)`), the index of the
 * JS function whose allocation began that GC: the nearest function below the GC frame, past any
 * builtins. -1 for any other stack, and for GC at the root.
 */
function gcCauseIndex(frames: readonly Frame[], stackFrames: readonly number[]): number {
  const leaf = stackFrames.length - 1;
  if (leaf < 1 || frames[stackFrames[leaf]!]!.kind !== 'gc') return -1;
  let i = leaf - 1;
  while (i >= 0 && chargesToCaller(frames[stackFrames[i]!]!)) i--;
  return i >= 0 && isFunctionFrame(frames[stackFrames[i]!]!) ? i : -1;
}

export interface ThreadShare {
  thread: string;
  samples: number;
  /** The native functions the signals interrupted on that thread, most samples first. */
  functions: { label: string; samples: number }[];
}

/**
 * The stacks under `[other threads]` by thread name, then by function, most samples first. A stack
 * without a thread (a signal the native ring had no room for, or a profile written before threads
 * were named) counts under "(unrecorded)".
 */
export function otherThreadShares(profile: Profile): ThreadShare[] {
  const labels = profile.frames.map((frame) => frameLabel(frame));
  const threads = new Map<string, { samples: number; functions: Map<string, number> }>();
  for (const stack of profile.stackList) {
    if (stack.count <= 0 || !isOtherThreadStack(profile, stack)) continue;
    const name = stack.frames.length > 1 ? labels[stack.frames[1]!]! : '(unrecorded)';
    let thread = threads.get(name);
    if (!thread) threads.set(name, (thread = { samples: 0, functions: new Map() }));
    thread.samples += stack.count;
    if (stack.frames.length > 2) {
      const leaf = labels[stack.frames[stack.frames.length - 1]!]!;
      thread.functions.set(leaf, (thread.functions.get(leaf) ?? 0) + stack.count);
    }
  }
  const byCount = <T extends { samples: number }>(a: T, b: T, la: string, lb: string): number => b.samples - a.samples || (la < lb ? -1 : la > lb ? 1 : 0);
  return [...threads.entries()]
    .map(([thread, { samples, functions }]) => ({
      thread,
      samples,
      functions: [...functions.entries()].map(([label, n]) => ({ label, samples: n })).sort((a, b) => byCount(a, b, a.label, b.label)),
    }))
    .sort((a, b) => byCount(a, b, a.thread, b.thread));
}

/** Samples under each distinct frame that directly follows the first frame matching `parent`. */
export function childrenOf(profile: Profile, parent: (label: string) => boolean): Map<string, number> {
  const labels = profile.frames.map((frame) => frameLabel(frame));
  const children = new Map<string, number>();
  for (const stack of profile.stackList) {
    const index = stack.frames.findIndex((id) => parent(labels[id]!));
    if (index < 0 || index + 1 >= stack.frames.length) continue;
    const child = labels[stack.frames[index + 1]!]!;
    children.set(child, (children.get(child) ?? 0) + stack.count);
  }
  return children;
}

export interface RunSummary {
  pid: number;
  samples: number;
  durationMs: number;
  engine: string;
  engineReason?: string;
  intervalUs: number;
  /** Samples per CPU second of what the engine counts, and the warning when under 80% of requested. */
  engineRateHz?: number;
  rateWarning?: string;
  /** Signals per second of process CPU time, and samples per second of JS-thread CPU time. */
  achievedRateHz: number;
  jsThreadRateHz: number;
  drops: { ringFull: number; samplingPaused: number; otherThreads: number; truncated: number; signalQueueFull: number };
  output: string;
  format: string;
  handlerTimeMedianUs?: number;
  handlerTimeP99Us?: number;
  top: { label: string; samples: number; share: number }[];
}

/** The sampler's rates and handler times for a summary (zero rates without stats). */
function samplerFields(stats: SamplerStats | undefined): Pick<RunSummary, 'engineRateHz' | 'rateWarning' | 'achievedRateHz' | 'jsThreadRateHz' | 'handlerTimeMedianUs' | 'handlerTimeP99Us'> {
  return {
    ...(stats ? { engineRateHz: stats.engineRateHz } : {}),
    ...(stats?.rateWarning ? { rateWarning: stats.rateWarning } : {}),
    achievedRateHz: stats?.achievedRateHz ?? 0,
    jsThreadRateHz: stats?.jsThreadRateHz ?? 0,
    ...(stats ? { handlerTimeMedianUs: stats.handlerTimeMedianUs, handlerTimeP99Us: stats.handlerTimeP99Us } : {}),
  };
}

function summaryDrops(drops: Drops | undefined): RunSummary['drops'] {
  return { ringFull: drops?.ringFull ?? 0, samplingPaused: drops?.busy ?? 0, otherThreads: drops?.nonJsThread ?? 0, truncated: drops?.truncated ?? 0, signalQueueFull: drops?.queueFull ?? 0 };
}

export function summarizeRun(profile: Profile, stats: SamplerStats | undefined, output: string, format: string): RunSummary {
  const samples = profile.totalSamples;
  return {
    pid: profile.metadata.pid,
    samples,
    durationMs: profile.metadata.durationNs / 1e6,
    engine: profile.metadata.engine,
    ...(profile.metadata.engineReason ? { engineReason: profile.metadata.engineReason } : {}),
    intervalUs: profile.metadata.intervalUs,
    ...samplerFields(stats),
    drops: summaryDrops(profile.metadata.drops),
    output,
    format,
    top: functionShares(profile)
      .filter((share) => share.self > 0)
      .slice(0, 10)
      .map((share) => ({ label: share.label, samples: share.self, share: samples ? share.self / samples : 0 })),
  };
}

function percent(share: number): string {
  return `${(100 * share).toFixed(1)}%`.padStart(6);
}

/** The summary of a process in continuous mode: no whole-run profile is kept, so no top functions. */
export function summarizePeriods(written: PeriodsWritten, stats: SamplerStats | undefined, format: string): RunSummary {
  const files = `${written.periods} period file${written.periods === 1 ? '' : 's'}`;
  return {
    pid: process.pid,
    samples: written.samples,
    durationMs: written.durationMs,
    engine: stats?.engine ?? 'unknown',
    ...(stats?.engineReason ? { engineReason: stats.engineReason } : {}),
    intervalUs: stats?.intervalUs ?? 0,
    ...samplerFields(stats),
    drops: summaryDrops(stats?.drops),
    output: written.newest ? `${files}, the newest ${written.kept} kept (the last: ${written.newest})` : files,
    format,
    top: [],
  };
}

/** The multi-line summary `sfprof record` prints to stderr for each profiled process. */
export function formatRunSummary(summary: RunSummary): string {
  const requestedHz = summary.intervalUs > 0 ? 1e6 / summary.intervalUs : 0;
  const lost = summary.drops.ringFull + summary.drops.samplingPaused + (summary.drops.signalQueueFull ?? 0);
  const perThread = summary.engine !== 'itimer';
  const lines = [
    `sfprof: process ${summary.pid}: ${summary.samples} samples over ${(summary.durationMs / 1000).toFixed(2)} s, engine ${summary.engine}` +
      (summary.engineReason ? ` (${summary.engineReason})` : ''),
    `  rate: requested ${requestedHz.toFixed(0)} Hz (${summary.intervalUs} us), achieved ` +
      (perThread
        ? `${(summary.engineRateHz ?? summary.jsThreadRateHz).toFixed(0)} Hz of JS-thread CPU`
        : `${summary.achievedRateHz.toFixed(0)} Hz of process CPU, ${summary.jsThreadRateHz.toFixed(0)} Hz of JS-thread CPU`),
    `  drops: ${lost} lost (${summary.drops.ringFull} ring full, ${summary.drops.samplingPaused} while paused` +
      (summary.drops.signalQueueFull ? `, ${summary.drops.signalQueueFull} signal queue full` : '') + '), ' +
      `${summary.drops.otherThreads} on other threads, ${summary.drops.truncated} truncated stacks`,
    `  wrote ${summary.format} to ${summary.output}`,
  ];
  if (summary.rateWarning) lines.push(`  warning: ${summary.rateWarning}`);
  if (summary.top.length) {
    lines.push('  top functions by self samples:');
    for (const entry of summary.top) lines.push(`  ${String(entry.samples).padStart(8)} ${percent(entry.share)}  ${entry.label}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The `sfprof top` table: the JS threads' functions, then (when the profile has any) a section of the
 * threads without JS, each with the native functions it was interrupted in. `limit` bounds the
 * function rows of the first section and those under each other thread. Shares are of all samples.
 */
export function formatTopTable(profile: Profile, limit: number, options: { raw?: boolean } = {}): string {
  const total = profile.totalSamples;
  const share = (n: number): string => percent(total ? n / total : 0);
  const all = functionShares(profile, options);
  const rows = all.slice(0, limit);
  // With GC charged to its causes (SFPROF_GC_CAUSE, on by default), a column adds to each function's
  // self time the GC its allocations began; the GC rows themselves keep that time as their own.
  const withGc = all.some((row) => row.gcCaused);
  const lines = [`${total} samples`, withGc ? '    self  self%  self+GC self+GC%    total total%  function' : '    self  self%    total total%  function'];
  for (const row of rows) {
    const selfGc = row.self + (row.gcCaused ?? 0);
    const gcColumns = withGc ? ` ${String(selfGc).padStart(8)}   ${share(selfGc)}` : '';
    lines.push(`${String(row.self).padStart(8)} ${share(row.self)}${gcColumns} ${String(row.total).padStart(8)} ${share(row.total)}  ${row.label}`);
  }
  const others = otherThreadShares(profile);
  if (others.length > 0) {
    const samples = others.reduce((sum, thread) => sum + thread.samples, 0);
    lines.push('', `${samples} samples on other threads (no JS there: GC and compiler helpers, the libuv pool, ...)`, ' samples      %  thread, then the native function it was in');
    for (const thread of others) {
      lines.push(`${String(thread.samples).padStart(8)} ${share(thread.samples)}  ${thread.thread}`);
      for (const fn of thread.functions.slice(0, limit)) lines.push(`${String(fn.samples).padStart(8)} ${share(fn.samples)}    ${fn.label}`);
    }
  }
  return lines.join('\n') + '\n';
}
