// Chrome's .cpuprofile, the JSON `node --cpu-prof` writes and DevTools, VS Code and speedscope open:
//
//   { nodes: [{ id, callFrame: { functionName, scriptId, url, lineNumber, columnNumber },
//               hitCount, children?: [id…], positionTicks?: [{ line, ticks }] }…],
//     startTime, endTime,          µs
//     samples: [node id…],         leaf node of each sample, in time order
//     timeDeltas: [µs…] }          each sample's time minus the previous one's (the first: minus startTime)
//
// nodes[0] is "(root)" (DevTools takes the first node as the root). lineNumber and columnNumber are
// 0-based and mark the function's start; in line mode the executing lines of a node's own samples go
// in positionTicks (1-based), as V8 does. Samples the timeline holds keep their real times; samples
// without one (drops, other threads, or a profile read from folded/pprof) follow the last timed sample,
// spaced by the CPU time they stand for, thinned like the timeline so the file stays bounded.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

import { sampleWeightNs, type Frame, type Profile } from '../../model/profile';
import { DEFAULT_TIMELINE_CAPACITY } from '../../model/timeline';

export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; scriptId: string; url: string; lineNumber: number; columnNumber: number };
  hitCount: number;
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}

export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export function buildCpuProfile(profile: Profile): CpuProfile {
  const metadata = profile.metadata;
  const scriptIds = new Map<string, string>();
  const urlOf = (file: string | undefined): string => {
    if (!file) return '';
    if (file.startsWith('node:') || /^[a-z][a-z0-9+.-]*:\/\//i.test(file)) return file;
    if (path.isAbsolute(file)) return pathToFileURL(file).href;
    return metadata.cwd ? pathToFileURL(path.resolve(metadata.cwd, file)).href : file;
  };
  const callFrameOf = (frame: Frame): CpuProfileNode['callFrame'] => {
    const url = urlOf(frame.file);
    let scriptId = '0';
    if (url) {
      scriptId = scriptIds.get(url) ?? String(scriptIds.size + 1);
      scriptIds.set(url, scriptId);
    }
    const line = frame.startLine ?? frame.line;
    return {
      functionName: frame.name === '(anonymous)' ? '' : frame.name,
      scriptId,
      url,
      lineNumber: line !== undefined ? line - 1 : -1,
      columnNumber: frame.column !== undefined ? frame.column - 1 : -1,
    };
  };

  const root: CpuProfileNode = {
    id: 1,
    callFrame: { functionName: '(root)', scriptId: '0', url: '', lineNumber: -1, columnNumber: -1 },
    hitCount: 0,
    children: [],
  };
  const nodes: CpuProfileNode[] = [root];
  // A node is one function under one parent; the executing line (line mode) is not part of it.
  const childIds = new Map<string, number>();
  const identity = profile.frames.map((frame) => {
    const start = frame.startLine ?? frame.line ?? '';
    return `${frame.kind}\u0000${frame.name}\u0000${frame.file ?? ''}\u0000${start}\u0000${frame.column ?? ''}`;
  });
  const leafOfStack: number[] = [];
  for (const stack of profile.stackList) {
    let parent = root;
    for (const frameId of stack.frames) {
      const key = `${parent.id}\u0000${identity[frameId]}`;
      let id = childIds.get(key);
      if (id === undefined) {
        id = nodes.length + 1;
        nodes.push({ id, callFrame: callFrameOf(profile.frames[frameId]!), hitCount: 0 });
        (parent.children ??= []).push(id);
        childIds.set(key, id);
      }
      parent = nodes[id - 1]!;
    }
    leafOfStack[stack.id] = parent.id;
  }

  const startTime = Math.round(metadata.startTime * 1000);
  const samples: number[] = [];
  const sampleStacks: number[] = [];
  const times: number[] = [];
  const timeline = profile.timeline;
  const timedCount = new Array<number>(profile.stackList.length).fill(0);
  for (let i = 0; i < timeline.length; i++) {
    const stackId = timeline.stackIdAt(i);
    timedCount[stackId]!++;
    samples.push(leafOfStack[stackId]!);
    sampleStacks.push(stackId);
    times.push(startTime + Math.round(timeline.timeNsAt(i) / 1000));
  }
  // Untimed samples, thinned like the timeline (and never past its bound), each standing for its
  // share of the time; a stack with any untimed sample keeps at least one.
  const stride = timeline.stride;
  const intervalUs = Math.max(1, Math.round(sampleWeightNs(metadata) / 1000));
  const untimed = profile.stackList.map((stack) => Math.max(0, stack.count - timedCount[stack.id]! * stride));
  const untimedTotal = untimed.reduce((sum, n) => sum + n, 0);
  const bound = timeline.capacity > 0 ? timeline.capacity : DEFAULT_TIMELINE_CAPACITY;
  const untimedStride = Math.max(stride, Math.ceil(untimedTotal / bound));
  let at = times.length ? times[times.length - 1]! : startTime;
  for (const stack of profile.stackList) {
    const count = untimed[stack.id]!;
    if (count === 0) continue;
    const kept = Math.max(1, Math.round(count / untimedStride));
    const spacing = Math.max(1, Math.round((intervalUs * count) / kept));
    for (let i = 0; i < kept; i++) {
      at += spacing;
      samples.push(leafOfStack[stack.id]!);
      sampleStacks.push(stack.id);
      times.push(at);
    }
  }

  const timeDeltas: number[] = [];
  let previous = startTime;
  for (let i = 0; i < samples.length; i++) {
    // Samples come out of the ring in order; a clock step back must not make a negative delta.
    const time = Math.max(previous, times[i]!);
    timeDeltas.push(time - previous);
    previous = time;
    nodes[samples[i]! - 1]!.hitCount++;
  }

  if (metadata.lines) {
    const ticks = new Map<number, Map<number, number>>();
    for (let i = 0; i < samples.length; i++) {
      const frames = profile.stackList[sampleStacks[i]!]!.frames;
      const line = profile.frames[frames[frames.length - 1]!]?.line;
      if (line === undefined) continue;
      let lines = ticks.get(samples[i]!);
      if (!lines) ticks.set(samples[i]!, (lines = new Map()));
      lines.set(line, (lines.get(line) ?? 0) + 1);
    }
    for (const [id, lines] of ticks) {
      nodes[id - 1]!.positionTicks = [...lines].sort((x, y) => x[0] - y[0]).map(([line, count]) => ({ line, ticks: count }));
    }
  }

  const endTime = Math.max(previous, startTime + Math.round(metadata.durationNs / 1000));
  return { nodes, startTime, endTime, samples, timeDeltas };
}

export function writeCpuProfile(profile: Profile): string {
  return JSON.stringify(buildCpuProfile(profile));
}
