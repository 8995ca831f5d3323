// What a run amounted to, for the one-line stderr note of the preload and the `sfprof record`
// summary; the self/total table of `sfprof top`; and the call-site split `npm run demo` prints.
import type { PeriodsWritten } from './production';
import type { Drops, Profile } from '../model/profile';
import type { SamplerStats } from '../pipeline/profiler';
import { frameLabel } from '../formats/writers/folded';

export interface FunctionShare {
  label: string;
  self: number;
  total: number;
}

/** Self samples (leaf frame) and total samples (anywhere on the stack, once per stack) per function label. */
export function functionShares(profile: Profile): FunctionShare[] {
  const labels = profile.frames.map((frame) => frameLabel(frame));
  const shares = new Map<string, FunctionShare>();
  const entry = (label: string): FunctionShare => {
    let share = shares.get(label);
    if (!share) shares.set(label, (share = { label, self: 0, total: 0 }));
    return share;
  };
  for (const stack of profile.stackList) {
    if (stack.count <= 0 || stack.frames.length === 0) continue;
    entry(labels[stack.frames[stack.frames.length - 1]!]!).self += stack.count;
    const seen = new Set<string>();
    for (const id of stack.frames) seen.add(labels[id]!);
    for (const label of seen) entry(label).total += stack.count;
  }
  return [...shares.values()].sort((a, b) => b.self - a.self || b.total - a.total || (a.label < b.label ? -1 : 1));
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

/** The `sfprof top` table. */
export function formatTopTable(profile: Profile, limit: number): string {
  const total = profile.totalSamples;
  const rows = functionShares(profile).slice(0, limit);
  const lines = [`${total} samples`, '    self  self%    total total%  function'];
  for (const row of rows) {
    lines.push(
      `${String(row.self).padStart(8)} ${percent(total ? row.self / total : 0)} ${String(row.total).padStart(8)} ${percent(total ? row.total / total : 0)}  ${row.label}`,
    );
  }
  return lines.join('\n') + '\n';
}
