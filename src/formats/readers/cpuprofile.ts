// Reads a Chrome .cpuprofile (sfprof's, `node --cpu-prof`'s or DevTools') into a Profile, keeping
// the sample order and times on the timeline.
import { Profile, type Frame } from '../../model/profile';
import { displayFile } from '../../pipeline/script-file';
import type { CpuProfile, CpuProfileNode } from '../writers/cpuprofile';
import { checkTotal, emptyMetadata, inferKind } from './shared';
import { InputError } from './input-error';

/** A frame's file as sfprof shows it: file:// URLs become paths, relative to the working directory. */
function fileOf(url: string): string | undefined {
  if (!url) return undefined;
  return url.startsWith('file://') ? displayFile(url, process.cwd()) : url;
}

/** A 0-based position from a callFrame as 1-based, or undefined where it is unknown (-1) or not one. */
function position(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value + 1) && value >= 0 ? value + 1 : undefined;
}

/** A value as it appears in the file, cut short for an error message. */
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

/** A callFrame's text field: a string, or absent. */
function textField(value: unknown, what: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InputError(`${what} is ${shown(value)}, not a string`);
  return value;
}

/** A time in µs: a finite number, or absent. */
function timeField(value: unknown, what: string, absent: number): number {
  if (value === undefined || value === null) return absent;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new InputError(`${what} is ${shown(value)}, not a time in µs`);
  return value;
}

export function readCpuProfile(text: string): Profile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`not valid JSON: ${(error as Error).message}`);
  }
  const data = json as Partial<CpuProfile>;
  if (!data || typeof data !== 'object' || !Array.isArray(data.nodes) || data.nodes.length === 0) {
    throw new InputError('not a .cpuprofile: no "nodes" array');
  }
  const byId = new Map<number, CpuProfileNode>();
  for (const [index, node] of data.nodes.entries()) {
    if (!node || typeof node.id !== 'number' || !node.callFrame || typeof node.callFrame !== 'object') {
      throw new InputError(`nodes[${index}]: expected {id, callFrame, …}`);
    }
    if (byId.has(node.id)) throw new InputError(`nodes[${index}]: id ${node.id} appears twice`);
    if (node.children !== undefined && !Array.isArray(node.children)) {
      throw new InputError(`nodes[${index}]: "children" is ${shown(node.children)}, not a list of node ids`);
    }
    const hits = node.hitCount as unknown;
    if (hits !== undefined && !(typeof hits === 'number' && Number.isSafeInteger(hits) && hits >= 0)) {
      throw new InputError(`nodes[${index}]: "hitCount" is ${shown(hits)}, not a count`);
    }
    byId.set(node.id, node);
  }
  const parentOf = new Map<number, number>();
  for (const node of data.nodes) {
    for (const child of node.children ?? []) {
      if (!byId.has(child)) throw new InputError(`node ${node.id} lists child ${shown(child)}, which does not exist`);
      if (parentOf.has(child)) throw new InputError(`node ${child} has two parents`);
      parentOf.set(child, node.id);
    }
  }
  const rootId = data.nodes[0]!.id;
  const startTime = timeField(data.startTime, '"startTime"', 0);
  const endTime = timeField(data.endTime, '"endTime"', startTime);
  const metadata = emptyMetadata('cpuprofile');
  metadata.startTime = startTime / 1000;
  metadata.durationNs = Math.max(0, endTime - startTime) * 1000;
  if (!Number.isFinite(metadata.durationNs)) throw new InputError(`"startTime" ${startTime} and "endTime" ${endTime} are too far apart`);
  const profile = new Profile(metadata);

  // Each node's frame is made once, and each sampled node's stack walked once: a deep recursion
  // sampled at every depth made this quadratic in frames built (minutes for a 1 MB file).
  const frameOf = new Map<number, number>();
  const frameIdOf = (at: number): number => {
    let id = frameOf.get(at);
    if (id !== undefined) return id;
    const call = byId.get(at)!.callFrame;
    const file = fileOf(textField(call.url, `node ${at}: "url"`));
    const frame: Frame = { name: textField(call.functionName, `node ${at}: "functionName"`) || '(anonymous)', kind: 'js' };
    if (file) frame.file = file;
    const line = position(call.lineNumber);
    if (line !== undefined) frame.line = frame.startLine = line;
    const column = position(call.columnNumber);
    if (column !== undefined) frame.column = column;
    frame.kind = inferKind(frame.name, frame.file);
    id = profile.internFrame(frame);
    frameOf.set(at, id);
    return id;
  };
  // The frames of each sampled node's stack, as the profile holds them (no copy per node).
  const stacks = new Map<number, number[]>();
  const stackOf = (id: number): number[] => {
    const path: number[] = [];
    let at: number | undefined = id;
    let above: number[] = [];
    let guard = 0;
    while (at !== undefined && at !== rootId) {
      if (guard++ > byId.size) throw new InputError(`node ${id}: its parent links form a cycle`);
      // From a sampled ancestor up (never the root: the walk stops there), the stack is known.
      const known = stacks.get(at);
      if (known) {
        above = known;
        break;
      }
      path.push(frameIdOf(at));
      at = parentOf.get(at);
    }
    // A sample on the root itself has no frames; it still counts.
    if (above.length === 0 && path.length === 0) return [profile.internFrame({ name: '(root)', kind: 'synthetic' })];
    return above.concat(path.reverse());
  };
  const addSamples = (id: number, count: number, timeNs?: number): void => {
    const stack = profile.addStack(stacks.get(id) ?? stackOf(id), count, timeNs);
    if (stack) stacks.set(id, stack.frames);
  };

  const samples = data.samples;
  if (Array.isArray(samples) && samples.length > 0) {
    const deltas = data.timeDeltas;
    if (Array.isArray(deltas) && deltas.length !== samples.length) {
      throw new InputError(`"samples" has ${samples.length} entries but "timeDeltas" has ${deltas.length}`);
    }
    let time = startTime;
    samples.forEach((id, index) => {
      if (!byId.has(id)) throw new InputError(`samples[${index}] is node ${shown(id)}, which does not exist`);
      if (Array.isArray(deltas)) time += timeField(deltas[index], `timeDeltas[${index}]`, 0);
      const offsetNs = (time - startTime) * 1000;
      if (!Number.isFinite(offsetNs)) throw new InputError(`"timeDeltas" add up past any time at timeDeltas[${index}]`);
      addSamples(id, 1, Array.isArray(deltas) ? offsetNs : undefined);
    });
    const last = time;
    metadata.intervalUs = samples.length > 1 ? Math.max(1, Math.round((last - startTime) / samples.length)) : 0;
  } else {
    for (const node of data.nodes) if (node.hitCount > 0) addSamples(node.id, node.hitCount);
  }
  return checkTotal(profile);
}
