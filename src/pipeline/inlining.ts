// Inlined functions inside optimized code, recovered from V8's code events. Longer than the ~350
// lines other files keep to: the attribution, the caller chain and their helpers only make sense together.
//
// V8 tells a JIT code object's positions as (pc offset, script offset) pairs but drops which inlined
// function each offset belongs to. Optimized code takes its positions from the bytecode of every
// function it inlined, so an offset that is not one of the code's own function's bytecode positions
// is looked up among the bytecode positions of every function seen (all scripts: an inlinee can come
// from another module). Each foreign offset goes to the function that explains the most of this code's
// foreign offsets; a tie, or an offset no known function has, is marked instead of guessed.
//
// The chain between the outer function and the innermost inlinee is not in the events either. The
// caller of an inlinee is the one function of that code (outer or inlined) that can call it: defines
// it or names it in its source. When none does (a callback, a method reference) or several do, the
// code its inlined body mostly follows in the code decides, since TurboFan places a body at its call
// site; when that does not decide among several, an `(inlined: unknown)` frame marks missing frames.
//
// Needs the bytecode positions, which V8 sends for code compiled while the session listens: with the
// preload that is all of the app's code; `start()` late in a run recovers less (docs/limitations.md).
import * as fs from 'node:fs';
import type { CodeEntry } from './code-map';
import { scriptFile } from './script-file';
import type { ParsedName } from './symbolize';

export interface InlineFunction {
  readonly id: number;
  readonly name: string;
  readonly url: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly scriptId: number;
  /** Sorted, unique script offsets of its bytecode. */
  readonly offsets: Uint32Array;
}

/** What one position of an optimized code object is, from the outermost inlinee inward. */
export type InlineChain = readonly InlineStep[];
export type InlineStep = InlineFunction | typeof UNKNOWN_CALLER | typeof AMBIGUOUS;
/** Frames are missing between the previous step and the next. */
export const UNKNOWN_CALLER = Symbol('unknown caller');
/** Inlined code no known function (or more than one) explains. */
export const AMBIGUOUS = Symbol('ambiguous');

/**
 * A script's bytecode offsets and their functions, as sorted runs of keys offset × ID_SPAN + function
 * id (exact in a double). New functions wait in `pending` until a lookup; a run joins the one before
 * it when that is at most twice its size, so each offset is re-sorted O(log n) times in all.
 */
interface ScriptIndex {
  runs: Float64Array[];
  pending: number[];
}

const ID_SPAN = 2 ** 21;

export interface InlineStats {
  /** Positions of optimized code that lie in inlined functions. */
  inlinedPositions: number;
  /** ... of which no function, or more than one, explains. */
  unattributed: number;
}

export class InlineIndex {
  private readonly functions: InlineFunction[] = [];
  private readonly byStart = new Map<string, number>();
  private readonly scripts = new Map<number, ScriptIndex>();
  private readonly chains = new WeakMap<CodeEntry, (InlineChain | undefined)[]>();
  private readonly sources: SourceTexts;
  readonly stats: InlineStats = { inlinedPositions: 0, unattributed: 0 };

  constructor(readText?: (url: string) => string | undefined) {
    this.sources = new SourceTexts(readText);
  }

  get functionCount(): number {
    return this.functions.length;
  }

  /** Records an interpreted code object's function and its bytecode offsets. */
  addBytecode(entry: CodeEntry, parsed: ParsedName): void {
    if (!entry.positions || entry.positions.length < 2 || entry.scriptId < 0 || parsed.line === undefined) return;
    // Ids share a number with the offset in the index's keys: past 2^21 functions, no more are learned.
    if (this.functions.length >= ID_SPAN) return;
    const key = startKey(entry.scriptId, parsed.line, parsed.column);
    if (this.byStart.has(key)) return; // recompiled after a flush: same offsets
    const offsets = sortedOffsets(entry.positions);
    const fn: InlineFunction = {
      id: this.functions.length,
      name: parsed.name,
      url: parsed.url,
      line: parsed.line,
      column: parsed.column,
      scriptId: entry.scriptId,
      offsets,
    };
    this.functions.push(fn);
    this.byStart.set(key, fn.id);
    let script = this.scripts.get(entry.scriptId);
    if (!script) {
      script = { runs: [], pending: [] };
      this.scripts.set(entry.scriptId, script);
    }
    script.pending.push(fn.id);
  }

  /**
   * The inlined functions executing at `pcOffset` of optimized code `entry` (whose own function is
   * `parsed`), outermost first; undefined when the pc is in the function's own code.
   */
  chainAt(entry: CodeEntry, parsed: ParsedName, pcOffset: number): InlineChain | undefined {
    const index = positionIndex(entry, pcOffset);
    return index < 0 ? undefined : this.chainsOf(entry, parsed)[index];
  }

  /** The last script offset at or before `pcOffset` that is the outer function's own code. */
  ownOffsetBefore(entry: CodeEntry, parsed: ParsedName, pcOffset: number): number | undefined {
    const chains = this.chainsOf(entry, parsed);
    for (let index = positionIndex(entry, pcOffset); index >= 0; index--) {
      if (chains[index] === undefined) return entry.positions![2 * index + 1];
    }
    return undefined;
  }

  private chainsOf(entry: CodeEntry, parsed: ParsedName): (InlineChain | undefined)[] {
    let chains = this.chains.get(entry);
    if (!chains) {
      chains = entry.positions && entry.positions.length >= 2 ? this.resolve(entry, parsed) : [];
      this.chains.set(entry, chains);
    }
    return chains;
  }

  /** The function whose own code is at `offset` of optimized code's outer function, if known. */
  ownerOf(entry: CodeEntry, parsed: ParsedName): InlineFunction | undefined {
    if (parsed.line === undefined) return undefined;
    const id = this.byStart.get(startKey(entry.scriptId, parsed.line, parsed.column));
    return id === undefined ? undefined : this.functions[id];
  }

  private resolve(entry: CodeEntry, parsed: ParsedName): (InlineChain | undefined)[] {
    const positions = entry.positions!;
    const own = this.ownerOf(entry, parsed);
    const count = positions.length >> 1;
    // Offsets that are not the outer function's own, with the functions that have them.
    const candidates = new Map<number, number[]>();
    for (let i = 0; i < count; i++) {
      const offset = positions[2 * i + 1]!;
      if (candidates.has(offset) || (own && has(own.offsets, offset))) continue;
      const found = this.functionsAt(offset).filter((id) => id !== own?.id);
      // Optimized code also has positions no bytecode has (the function's start): its own.
      if (found.length > 0 || own === undefined) candidates.set(offset, found);
    }
    const score = new Map<number, number>();
    for (const found of candidates.values()) for (const id of found) score.set(id, (score.get(id) ?? 0) + 1);
    const chosen = new Map<number, InlineFunction | typeof AMBIGUOUS>();
    const inlinees = new Set<number>();
    for (const [offset, found] of candidates) {
      if (found.length === 0) continue; // no function known and no owner known: leave it to the outer
      // Without the outer function's own offsets, one shared offset is too weak a tie: any large
      // script has functions at most offsets.
      if (own === undefined && found.every((id) => score.get(id)! < 2)) continue;
      let best = -1;
      let tie = false;
      for (const id of found) {
        if (best < 0 || score.get(id)! > score.get(best)!) {
          best = id;
          tie = false;
        } else if (score.get(id) === score.get(best)) {
          tie = true;
        }
      }
      chosen.set(offset, tie ? AMBIGUOUS : this.functions[best]!);
      if (!tie) inlinees.add(best);
    }
    // Where each inlinee's runs of code begin, which function's code comes just before: TurboFan
    // places an inlined body at its call site, so that is most often the caller.
    const before = new Map<number, Map<number, number>>();
    let previous = -1;
    for (let i = 0; i < count; i++) {
      const step = chosen.get(positions[2 * i + 1]!);
      const current = step === undefined ? -1 : step === AMBIGUOUS ? -2 : step.id;
      if (current >= 0 && current !== previous && previous !== -2) {
        let votes = before.get(current);
        if (!votes) before.set(current, (votes = new Map()));
        votes.set(previous, (votes.get(previous) ?? 0) + 1);
      }
      previous = current;
    }
    const parents = new Map<number, InlineChain>();
    const full = new Map<number, InlineChain>();
    const chains: (InlineChain | undefined)[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const step = chosen.get(positions[2 * i + 1]!);
      if (step === undefined) continue;
      this.stats.inlinedPositions++;
      if (step === AMBIGUOUS) {
        this.stats.unattributed++;
        chains[i] = [AMBIGUOUS];
        continue;
      }
      let chain = full.get(step.id);
      if (!chain) full.set(step.id, (chain = [...this.callersOf(step, own, inlinees, before, parents), step]));
      chains[i] = chain;
    }
    return chains;
  }

  /** The inlinees between the outer function and `fn`, outermost first, ending in a marker when unsure. */
  private callersOf(
    fn: InlineFunction,
    own: InlineFunction | undefined,
    inlinees: Set<number>,
    before: Map<number, Map<number, number>>,
    memo: Map<number, InlineChain>,
    depth = 0,
  ): InlineChain {
    const cached = memo.get(fn.id);
    if (cached) return cached;
    memo.set(fn.id, [UNKNOWN_CALLER]); // a cycle ends in the marker
    // Candidates: the outer function (-1) and the other inlinees that define or name `fn`.
    const named = [...inlinees].filter((id) => id !== fn.id && this.canCall(this.functions[id]!, fn));
    if (own === undefined || this.canCall(own, fn)) named.push(-1);
    // The code its inlined body follows most often (TurboFan places a body at its call site).
    const votes = [...(before.get(fn.id) ?? [])].filter(([id]) => id !== fn.id && id !== -2).sort((x, y) => y[1] - x[1]);
    const total = votes.reduce((sum, [, n]) => sum + n, 0);
    const follows = votes[0] && votes[0][1] * 2 > total ? votes[0][0] : undefined;
    let caller: number | undefined;
    if (named.length === 1) caller = named[0];
    else if (named.length === 0) caller = follows ?? -1; // called through a value: a callback, a method reference
    else if (follows !== undefined && named.includes(follows)) caller = follows;
    let chain: InlineChain;
    if (caller === -1) chain = [];
    else if (caller === undefined || depth >= 16) chain = [UNKNOWN_CALLER];
    else chain = [...this.callersOf(this.functions[caller]!, own, inlinees, before, memo, depth + 1), this.functions[caller]!];
    memo.set(fn.id, chain);
    return chain;
  }

  /** `caller` defines `callee` inside itself, or its source names it. */
  private canCall(caller: InlineFunction, callee: InlineFunction): boolean {
    const calleeFirst = callee.offsets[0]!;
    const callerFirst = caller.offsets[0]!;
    const callerLast = caller.offsets[caller.offsets.length - 1]!;
    if (caller.scriptId === callee.scriptId && calleeFirst > callerFirst && calleeFirst < callerLast) return true;
    const name = baseName(callee.name);
    if (!name || caller.url === undefined) return false;
    const text = this.sources.text(caller.url);
    if (text === undefined) return false;
    const body = text.slice(callerFirst, callerLast + 1);
    let at = body.indexOf(name);
    while (at >= 0) {
      const before = at > 0 ? body.charCodeAt(at - 1) : 32;
      const after = at + name.length < body.length ? body.charCodeAt(at + name.length) : 32;
      if (!isIdentifierCode(before) && !isIdentifierCode(after)) return true;
      at = body.indexOf(name, at + 1);
    }
    return false;
  }

  /** Ids of the functions whose bytecode has `offset`, over every script. */
  private functionsAt(offset: number): number[] {
    const ids: number[] = [];
    const from = offset * ID_SPAN;
    const to = from + ID_SPAN;
    for (const script of this.scripts.values()) {
      if (script.pending.length) this.flush(script);
      for (const run of script.runs) {
        let low = 0;
        let high = run.length;
        while (low < high) {
          const mid = (low + high) >>> 1;
          if (run[mid]! < from) low = mid + 1;
          else high = mid;
        }
        for (let i = low; i < run.length && run[i]! < to; i++) ids.push(run[i]! - from);
      }
    }
    return ids;
  }

  /** Sorts the pending functions into a run, merging runs of similar size. */
  private flush(script: ScriptIndex): void {
    let size = 0;
    for (const id of script.pending) size += this.functions[id]!.offsets.length;
    const run = new Float64Array(size);
    let at = 0;
    for (const id of script.pending) for (const offset of this.functions[id]!.offsets) run[at++] = offset * ID_SPAN + id;
    run.sort();
    script.pending = [];
    script.runs.push(run);
    while (script.runs.length > 1 && script.runs[script.runs.length - 2]!.length <= 2 * script.runs[script.runs.length - 1]!.length) {
      const b = script.runs.pop()!;
      const a = script.runs.pop()!;
      script.runs.push(mergeRuns(a, b));
    }
  }
}

function mergeRuns(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i]! <= b[j]! ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** Index of the (pc offset, script offset) pair in force at `pcOffset`, or -1. */
export function positionIndex(entry: CodeEntry, pcOffset: number): number {
  const positions = entry.positions;
  if (!positions) return -1;
  let low = 0;
  let high = (positions.length >> 1) - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (positions[2 * mid]! <= pcOffset) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  // Several positions at one pc offset: the first holds (as in V8's own profiler).
  while (found > 0 && positions[2 * (found - 1)] === positions[2 * found]) found--;
  return found;
}

function startKey(scriptId: number, line: number, column: number | undefined): string {
  return `${scriptId}:${line}:${column ?? 0}`;
}

function sortedOffsets(positions: Uint32Array): Uint32Array {
  const offsets = new Uint32Array(positions.length >> 1);
  for (let i = 0; i < offsets.length; i++) offsets[i] = positions[2 * i + 1]!;
  offsets.sort();
  let unique = 0;
  for (let i = 0; i < offsets.length; i++) if (i === 0 || offsets[i] !== offsets[i - 1]) offsets[unique++] = offsets[i]!;
  return offsets.slice(0, unique);
}

function has(sorted: Uint32Array, value: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = sorted[mid]!;
    if (at === value) return true;
    if (at < value) low = mid + 1;
    else high = mid - 1;
  }
  return false;
}

/** "get size" → "size", "Foo.bar" → "bar"; empty for anonymous functions. */
function baseName(name: string): string {
  if (name === '(anonymous)' || name === '') return '';
  const last = name.replace(/^(?:get|set|async|static) /, '').split(/[.\s]/).pop() ?? '';
  return /^#?[\p{L}_$][\p{L}\p{N}_$]*$/u.test(last) ? last : '';
}

function isIdentifierCode(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 36 || code === 95 || code > 127;
}

/** Script sources for the caller check, the last few kept (a bundle can be megabytes). */
class SourceTexts {
  private readonly cache = new Map<string, string | undefined>();

  constructor(private readonly read: (url: string) => string | undefined = readScript) {}

  text(url: string): string | undefined {
    if (this.cache.has(url)) {
      const text = this.cache.get(url);
      this.cache.delete(url);
      this.cache.set(url, text);
      return text;
    }
    const text = this.read(url);
    this.cache.set(url, text);
    if (this.cache.size > 4) this.cache.delete(this.cache.keys().next().value!);
    return text;
  }
}

function readScript(url: string): string | undefined {
  const file = scriptFile(url);
  if (file === undefined) return undefined;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
