// What an ended stall becomes: one stderr line naming where the main thread was (the innermost JS
// function of its samples and its callers, with shares, and their labels) and a profile file of the stall's samples
// in the format of the path's extension, pushed too when push is on. Bounded: at most `stallMax`
// files per process and one per STALL_REPORT_GAP_MS; stalls over the bound are counted, and the next
// line says how many went unreported.
import * as path from 'node:path';

import { formatFromPath, type Format } from '../config/format-names';
import type { ResolvedOptions } from '../config/options';
import { renderProfile } from '../formats/render-profile';
import { writeOutputSync } from '../formats/write-file';
import type { Frame, Labels, Profile } from '../model/profile';
import { setStallSink } from '../pipeline/profiler';
import type { StallReport } from '../pipeline/stalls';
import { stderrLine } from '../common/stderr';

/** At most one report file in this span, whatever the count bound. */
export const STALL_REPORT_GAP_MS = 10_000;
const TOP_FUNCTIONS = 3;
const TOP_LABELS = 3;

/** Where a push of stall profiles goes, when push is on (production.ts sets it). */
export interface StallPusher {
  push(profile: Profile, fromMs: number, untilMs: number, pprof?: Buffer): void;
}

let pusher: StallPusher | undefined;
let filesWritten = 0;
let lastWrittenMs = -Infinity;

export function setStallPusher(target: StallPusher | undefined): void {
  pusher = target;
}

/** "app.js:12" style name of a frame: the function and where it is. */
function frameText(frame: Frame): string {
  if (!frame.file) return frame.name;
  return `${frame.name} (${path.basename(frame.file)}${frame.line ? `:${frame.line}` : ''})`;
}

/** A JS function the app wrote or loaded: what the line names, rather than a builtin or C++ leaf. */
function isAppJs(frame: Frame): boolean {
  return frame.kind === 'js' && !(frame.file ?? '').startsWith('node:');
}

function lastOf(frames: Frame[], wanted: (frame: Frame) => boolean): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) if (wanted(frames[i]!)) return frames[i];
  return undefined;
}

/** App JS callers named after the innermost frame: enough to find the handler a helper ran for. */
const CALLERS = 2;

/**
 * Where the thread was: for each stack, its innermost app JS frame (else its innermost JS frame,
 * else its leaf) and the app JS functions that called it ("burn (a.js:3) < blockFor (a.js:9)"),
 * as shares of the stall's samples, most first.
 */
export function stallWhere(profile: Profile): { text: string; share: number }[] {
  const counts = new Map<string, number>();
  let total = 0;
  for (const stack of profile.stackList) {
    const frames = stack.frames.map((id) => profile.frames[id]!);
    const pick = lastOf(frames, isAppJs) ?? lastOf(frames, (frame) => frame.kind === 'js') ?? frames.at(-1);
    let text = pick ? frameText(pick) : '(no stack)';
    if (pick && isAppJs(pick)) {
      let named = 0;
      for (let i = frames.lastIndexOf(pick) - 1; i >= 0 && named < CALLERS; i--) {
        if (!isAppJs(frames[i]!)) continue;
        text += ` < ${frameText(frames[i]!)}`;
        named++;
      }
    }
    counts.set(text, (counts.get(text) ?? 0) + stack.count);
    total += stack.count;
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([text, count]) => ({ text, share: total > 0 ? count / total : 0 }));
}

/** The label sets of the stall's samples, most samples first ("key=value key=value"). */
export function stallLabels(profile: Profile): string[] {
  const counts = new Map<string, number>();
  for (const stack of profile.stackList) {
    const labels: Labels = profile.labelSets[stack.labels] ?? {};
    const keys = Object.keys(labels);
    if (keys.length === 0) continue;
    const text = keys.map((key) => `${key}=${labels[key]}`).join(' ');
    counts.set(text, (counts.get(text) ?? 0) + stack.count);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([text]) => text);
}

/** "12:00:01.234" (UTC) of an epoch time in ms. */
function clockTime(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

/** The stderr line of a stall; `file` when a report was written. */
export function stallLine(report: StallReport, file: string | undefined): string {
  const where = stallWhere(report.profile);
  // Places under 1% are noise next to what held the loop (the drain that ended it, say).
  const top = where
    .slice(0, TOP_FUNCTIONS)
    .filter(({ share }, i) => i === 0 || share >= 0.01)
    .map(({ text, share }) => `${text} ${Math.round(share * 100)}%`);
  const parts = [
    `sfprof: stall of ${Math.round(report.durationMs)} ms on the main thread at ${clockTime(report.startTimeMs)}: ` +
      (top.length ? top.join(', ') : 'no samples taken'),
  ];
  const labels = stallLabels(report.profile);
  if (labels.length) parts.push(`labels ${labels.slice(0, TOP_LABELS).join(', ')}${labels.length > TOP_LABELS ? ', ...' : ''}`);
  if (report.suppressedBefore > 0) parts.push(`${report.suppressedBefore} earlier stall${report.suppressedBefore === 1 ? '' : 's'} not reported (over the bound)`);
  parts.push(file ? `report ${file}` : 'no report file (over the bound)');
  return parts.join('; ');
}

/** The report's path: the pattern with {pid} and {n}. */
export function stallFile(pattern: string, index: number, pid = process.pid): string {
  return pattern.split('{pid}').join(String(pid)).split('{n}').join(String(index));
}

/**
 * The sink (pipeline/stalls.ts): writes the report when the bound allows, and always one line,
 * unless the stall is over the bound (then counted only, and named by the next line).
 */
export function reportStall(report: StallReport, options: Pick<ResolvedOptions, 'stallOutput' | 'stallMax'>, nowMs = Date.now()): boolean {
  if (filesWritten >= options.stallMax || nowMs - lastWrittenMs < STALL_REPORT_GAP_MS) return false;
  const file = stallFile(options.stallOutput, report.index);
  const format: Format = formatFromPath(file) ?? 'html';
  const title = `sfprof: stall of ${Math.round(report.durationMs)} ms in ${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`;
  let data: string | Buffer;
  try {
    data = renderProfile(report.profile, format, { title });
    writeOutputSync(file, data);
  } catch (error) {
    stderrLine(`${stallLine(report, undefined)}; could not write ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  }
  filesWritten++;
  lastWrittenMs = nowMs;
  stderrLine(stallLine(report, file));
  if (pusher) {
    const pprof = format === 'pprof' && Buffer.isBuffer(data) ? data : undefined;
    pusher.push(report.profile, report.startTimeMs, report.startTimeMs + report.durationMs, pprof);
  }
  return true;
}

/** For tests: the bound starts over. */
export function resetStallReportsForTests(): void {
  filesWritten = 0;
  lastWrittenMs = -Infinity;
}

setStallSink(reportStall);
