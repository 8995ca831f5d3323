// V8 reports builtins at their place in the node binary, but may run them from a second mapping of
// the same file pages (it remaps the embedded blob next to JIT code for short calls). Samples then
// hold addresses in the copy. This finds the copy in /proc/self/maps so those addresses can be
// looked up at the reported place. Linux only; elsewhere no copy is found and nothing is aliased.
import * as fs from 'node:fs';

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  offset: number;
  path: string;
}

export function parseMaps(text: string): Mapping[] {
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    const match = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+\S+\s+\d+\s*(.*)$/.exec(line);
    if (!match) continue;
    mappings.push({
      start: parseInt(match[1]!, 16),
      end: parseInt(match[2]!, 16),
      perms: match[3]!,
      offset: parseInt(match[4]!, 16),
      path: match[5]!.trim(),
    });
  }
  return mappings;
}

/**
 * Start addresses of the executable copies of [start, start+size): V8 makes one per isolate (the main
 * thread's and each worker's), so a process with workers has several.
 */
export function findEmbeddedCopies(mappings: Mapping[], start: number, size: number): number[] {
  const original = mappings.find((m) => start >= m.start && start < m.end && m.path !== '');
  if (!original) return [];
  const fileOffset = original.offset + (start - original.start);
  const copies: number[] = [];
  for (const m of mappings) {
    if (m === original || m.path !== original.path || !m.perms.includes('x')) continue;
    const copyStart = m.start + (fileOffset - m.offset);
    if (fileOffset >= m.offset && copyStart + size <= m.end && copyStart !== start) copies.push(copyStart);
  }
  return copies;
}

/** The first copy, or undefined when there is none. */
export function findEmbeddedCopy(mappings: Mapping[], start: number, size: number): number | undefined {
  return findEmbeddedCopies(mappings, start, size)[0];
}

export function findEmbeddedCopiesInProcess(start: number, size: number): number[] {
  if (process.platform !== 'linux' || size === 0) return [];
  try {
    return findEmbeddedCopies(parseMaps(fs.readFileSync('/proc/self/maps', 'utf8')), start, size);
  } catch {
    return [];
  }
}

/**
 * This process's mappings as text, read when the session starts and parsed (about 1 ms) only at the
 * first samples (findEmbeddedCopiesIn). Every copy counts: each isolate maps its own.
 */
export function readProcessMaps(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return undefined;
  }
}

export function findEmbeddedCopiesIn(maps: string | undefined, start: number, size: number): number[] {
  if (maps === undefined || size === 0) return [];
  return findEmbeddedCopies(parseMaps(maps), start, size);
}

export function findEmbeddedCopyInProcess(start: number, size: number): number | undefined {
  return findEmbeddedCopiesInProcess(start, size)[0];
}
