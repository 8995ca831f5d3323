// Code address → Frame. Names come from V8 code events, whose JS names read
//   "JS:<marker><function> <script>:<line>:<column>"
// marker: ~ interpreted, ^ baseline, + maglev, * optimized (TurboFan); from V8 13 (Node 24) a ' after
// + or * marks context-specialized code, and from V8 14 (Node 26) an o before it marks on-stack
// replacement ("o*spin" is spin's optimized loop). Other code: "Builtin:<name>",
// "BytecodeHandler:<name>", "Stub:<name>", …; regexp code "RegExp:<source>" up to V8 12 (Node 22),
// "RegExp.> src: '<source>' flags: '<flags>'" in V8 13 and "RegExp.< …" in V8 14.
// test/golden/code-names/ holds the names each supported Node really reports.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CodeType, type CodeEntry } from './code-map';
import { displayFile, scriptFile } from './script-file';
import { AMBIGUOUS, InlineIndex, positionIndex, UNKNOWN_CALLER, type InlineFunction } from './inlining';
import { SYNTHETIC, type Frame, type FrameKind, type Tier } from '../model/profile';

export interface ParsedName {
  kind: FrameKind;
  name: string;
  url?: string;
  line?: number;
  column?: number;
  tier?: Tier;
}

const TIERS: Record<string, Tier> = { '~': 'interpreted', '^': 'baseline', '+': 'maglev', '*': 'optimized' };
// The whole marker; OSR and context specialization are kept as the tier they compile to.
const MARKER = /^(?:[~^]|o?[+*]'?)/;
const REGEXP_V13 = /^RegExp\.[<>] src: '(.*)' flags: '[a-z]*'$/s;
// Prefer a script that looks like a path or URL so function names with spaces ("get x") survive.
// the s flag: a name taken from a string key can hold line breaks, U+2028 and U+2029.
const LOCATED = [/^(.*?) ((?:node:|file:\/\/|\/|[A-Za-z]:\\).*):(\d+):(\d+)$/s, /^(.*) (\S*):(\d+):(\d+)$/s];

export function parseCodeName(raw: string): ParsedName {
  const colon = raw.indexOf(':');
  const prefix = colon > 0 ? raw.slice(0, colon) : '';
  const rest = colon > 0 ? raw.slice(colon + 1) : raw;
  switch (prefix) {
    case 'JS':
    case 'Script':
    case 'Function':
    case 'LazyCompile':
    case 'Eval': {
      const marker = MARKER.exec(rest)?.[0] ?? '';
      const tier = marker ? TIERS[marker.replace(/^o/, '').charAt(0)] : undefined;
      const body = rest.slice(marker.length);
      let name = body;
      let url: string | undefined;
      let line: number | undefined;
      let column: number | undefined;
      for (const pattern of LOCATED) {
        const match = pattern.exec(body);
        if (match) {
          name = match[1]!;
          url = match[2] || undefined;
          line = Number(match[3]);
          column = Number(match[4]);
          break;
        }
      }
      if (url === undefined && prefix === 'Script') {
        // "Script:~ /path/app.js": the top level of a script, no position.
        const space = body.indexOf(' ');
        url = space >= 0 ? body.slice(space + 1) || undefined : undefined;
        name = space >= 0 ? body.slice(0, space) : body;
        line = 1;
        column = 1;
      }
      const kind: FrameKind = url?.startsWith('node:') ? 'node' : 'js';
      return { kind, name: name.trim() || '(anonymous)', url, line, column, tier };
    }
    case 'Builtin':
      return { kind: 'builtin', name: raw };
    case 'BytecodeHandler':
      return { kind: 'bytecode-handler', name: raw };
    case 'RegExp':
      return { kind: 'regexp', name: raw };
    case 'Wasm':
      return { kind: 'wasm', name: raw };
    default: {
      const regexp = REGEXP_V13.exec(raw);
      if (regexp) return { kind: 'regexp', name: `RegExp:${regexp[1]}` };
      return { kind: 'native', name: raw || '(unnamed code)' };
    }
  }
}

/** Offsets where lines start, with V8's line terminators: \n, \r\n, a lone \r, U+2028, U+2029. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) continue;
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) starts.push(i + 1);
  }
  return starts;
}

/** Maps script offsets to lines by reading the script's source once. */
export class SourceLines {
  private readonly cache = new Map<string, number[] | null>();
  private readonly lengths = new Map<string, number>();

  constructor(private readonly read: (file: string) => string = (file) => fs.readFileSync(file, 'utf8')) {}

  /**
   * 1-based line of a UTF-16 offset in the script at `url`, or undefined when its source is unknown
   * or the offset lies outside it.
   */
  lineAt(url: string, offset: number): number | undefined {
    const starts = this.lineStarts(url);
    if (!starts || offset < 0 || offset > (this.lengths.get(url) ?? 0)) return undefined;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }

  private lineStarts(url: string): number[] | null {
    let starts = this.cache.get(url);
    if (starts !== undefined) return starts;
    starts = null;
    const file = scriptFile(url);
    if (file !== undefined) {
      try {
        const text = this.read(file);
        starts = lineStarts(text);
        this.lengths.set(url, text.length);
      } catch {
        starts = null;
      }
    }
    this.cache.set(url, starts);
    return starts;
  }
}

/**
 * Script offset executing at `address` inside `entry`, from its position table. A caller frame's
 * address is a return address, which lies after the call, so it is looked up strictly before.
 */
export function scriptOffsetAt(entry: CodeEntry, address: number, isLeaf: boolean): number | undefined {
  const positions = entry.positions;
  if (!positions || positions.length < 2) return undefined;
  const index = positionIndex(entry, pcOffsetOf(entry, address, isLeaf));
  return index < 0 ? undefined : positions[2 * index + 1];
}

/** Resolves code entries to frames, caching the parsed name per entry. */
export class Symbolizer {
  private readonly parsed = new WeakMap<CodeEntry, ParsedName>();
  /** Script URL → its display form: path.relative on every frame was most of a sample's symbolizing. */
  private readonly files = new Map<string, string>();
  readonly sources: SourceLines;
  /** Functions inlined into optimized code; undefined when inlined frames are not expanded. */
  readonly inlines: InlineIndex | undefined;

  constructor(
    private readonly cwd: string,
    private readonly lines: boolean,
    sources?: SourceLines,
    options: { inlines?: boolean } = {},
  ) {
    this.sources = sources ?? new SourceLines();
    this.inlines = options.inlines === false ? undefined : new InlineIndex();
  }

  parse(entry: CodeEntry): ParsedName {
    let parsed = this.parsed.get(entry);
    if (!parsed) {
      parsed = parseCodeName(entry.name);
      this.parsed.set(entry, parsed);
    }
    return parsed;
  }

  /** Learns a function's bytecode offsets (interpreted code), for inlined frames later. */
  learn(entry: CodeEntry): void {
    if (this.inlines && entry.codeType === CodeType.Bytecode && entry.positions) this.inlines.addBytecode(entry, this.parse(entry));
  }

  /**
   * The frames executing at `address`: the code's own function, then the functions inlined there,
   * outermost first (optimized code only).
   */
  frames(entry: CodeEntry, address: number, isLeaf: boolean): Frame[] {
    const parsed = this.parse(entry);
    const frame: Frame = { name: parsed.name, kind: parsed.kind };
    if (parsed.tier) frame.tier = parsed.tier;
    const pcOffset = pcOffsetOf(entry, address, isLeaf);
    // Code without a script URL (new Function, eval) inlines too.
    const chain =
      this.inlines && entry.codeType === CodeType.Jit && (parsed.tier === 'optimized' || parsed.tier === 'maglev')
        ? this.inlines.chainAt(entry, parsed, pcOffset)
        : undefined;
    if (parsed.line !== undefined) {
      // Code without a file (new Function, eval) still has its function's place in its source.
      frame.line = parsed.line;
      frame.startLine = parsed.line;
      frame.column = parsed.column;
    }
    if (parsed.url) {
      frame.file = this.displayFile(parsed.url);
      if (this.lines) {
        const offset = chain ? this.inlines!.ownOffsetBefore(entry, parsed, pcOffset) : scriptOffsetAt(entry, address, isLeaf);
        const line = offset === undefined ? undefined : this.sources.lineAt(parsed.url, offset);
        // Without the inlinees known, optimized code's positions include theirs, whose offsets belong to
        // their own scripts: a line before the function's own start cannot be in this file's function.
        if (line !== undefined && (parsed.line === undefined || line >= parsed.line)) frame.line = line;
      }
    }
    if (!chain) return [frame];
    const frames = [frame];
    const innermost = chain[chain.length - 1];
    for (const step of chain) {
      if (step === UNKNOWN_CALLER) frames.push({ name: SYNTHETIC.inlinedUnknown, kind: 'synthetic', inlined: true });
      else if (step === AMBIGUOUS) frames.push({ name: SYNTHETIC.inlinedAmbiguous, kind: 'synthetic', inlined: true });
      else frames.push(this.inlinedFrame(step, step === innermost ? scriptOffsetAt(entry, address, isLeaf) : undefined, parsed.tier));
    }
    return frames;
  }

  /** A script's display form, computed once per URL (path.relative on every frame was costly). */
  private displayFile(url: string): string {
    let file = this.files.get(url);
    if (file === undefined) {
      file = displayFile(url, this.cwd);
      this.files.set(url, file);
    }
    return file;
  }

  private inlinedFrame(fn: InlineFunction, offset: number | undefined, tier: Tier | undefined): Frame {
    const kind: FrameKind = fn.url?.startsWith('node:') ? 'node' : 'js';
    const frame: Frame = { name: fn.name, kind, inlined: true };
    if (tier) frame.tier = tier;
    if (fn.url !== undefined) {
      frame.file = this.displayFile(fn.url);
      frame.line = fn.line;
      frame.startLine = fn.line;
      frame.column = fn.column;
      if (this.lines && offset !== undefined) frame.line = this.sources.lineAt(fn.url, offset) ?? fn.line;
    }
    return frame;
  }

}

function pcOffsetOf(entry: CodeEntry, address: number, isLeaf: boolean): number {
  const pcOffset = address - entry.start;
  return entry.codeType === CodeType.Jit && !isLeaf ? pcOffset - 1 : pcOffset;
}
