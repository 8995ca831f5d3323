// Reads a Chrome .cpuprofile (sfprof's, `node --cpu-prof`'s or DevTools') into a Profile, keeping
// the sample order and times on the timeline.
import { Profile, type Frame } from '../profile';
import { displayFile } from '../symbolize';
import type { CpuProfile, CpuProfileNode } from '../writers/cpuprofile';
import { emptyMetadata } from './folded';
import { inferKind } from './frame-kind';
import { InputError } from './input-error';

/** A frame's file as sfprof shows it: file:// URLs become paths, relative to the working directory. */
function fileOf(url: string): string | undefined {
  if (!url) return undefined;
  return url.startsWith('file://') ? displayFile(url, process.cwd()) : url;
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
    byId.set(node.id, node);
  }
  const parentOf = new Map<number, number>();
  for (const node of data.nodes) {
    for (const child of node.children ?? []) {
      if (!byId.has(child)) throw new InputError(`node ${node.id} lists child ${child}, which does not exist`);
      if (parentOf.has(child)) throw new InputError(`node ${child} has two parents`);
      parentOf.set(child, node.id);
    }
  }
  const rootId = data.nodes[0]!.id;
  const startTime = Number(data.startTime ?? 0);
  const endTime = Number(data.endTime ?? startTime);
  const metadata = emptyMetadata('cpuprofile');
  metadata.startTime = startTime / 1000;
  metadata.durationNs = Math.max(0, endTime - startTime) * 1000;
  const profile = new Profile(metadata);

  const stacks = new Map<number, number[]>();
  const stackOf = (id: number): number[] => {
    const cached = stacks.get(id);
    if (cached) return cached;
    const path: number[] = [];
    let at: number | undefined = id;
    let guard = 0;
    while (at !== undefined && at !== rootId) {
      if (guard++ > byId.size) throw new InputError(`node ${id}: its parent links form a cycle`);
      const call = byId.get(at)!.callFrame;
      const file = fileOf(String(call.url ?? ''));
      const frame: Frame = { name: String(call.functionName ?? '') || '(anonymous)', kind: 'js' };
      if (file) frame.file = file;
      if (typeof call.lineNumber === 'number' && call.lineNumber >= 0) frame.line = frame.startLine = call.lineNumber + 1;
      if (typeof call.columnNumber === 'number' && call.columnNumber >= 0) frame.column = call.columnNumber + 1;
      frame.kind = inferKind(frame.name, frame.file);
      path.push(profile.internFrame(frame));
      at = parentOf.get(at);
    }
    path.reverse();
    stacks.set(id, path);
    return path;
  };

  // A sample on the root itself has no frames; it still counts.
  const stackOrRoot = (id: number): number[] => {
    const path = stackOf(id);
    return path.length ? path : [profile.internFrame({ name: '(root)', kind: 'synthetic' })];
  };

  const samples = data.samples;
  if (Array.isArray(samples) && samples.length > 0) {
    const deltas = data.timeDeltas;
    if (Array.isArray(deltas) && deltas.length !== samples.length) {
      throw new InputError(`"samples" has ${samples.length} entries but "timeDeltas" has ${deltas.length}`);
    }
    let time = startTime;
    samples.forEach((id, index) => {
      if (!byId.has(id)) throw new InputError(`samples[${index}] is node ${id}, which does not exist`);
      time += Array.isArray(deltas) ? Number(deltas[index]) || 0 : 0;
      profile.addStack(stackOrRoot(id), 1, Array.isArray(deltas) ? (time - startTime) * 1000 : undefined);
    });
    const last = time;
    metadata.intervalUs = samples.length > 1 ? Math.max(1, Math.round((last - startTime) / samples.length)) : 0;
  } else {
    for (const node of data.nodes) if (node.hitCount > 0) profile.addStack(stackOrRoot(node.id), node.hitCount);
  }
  return profile;
}
