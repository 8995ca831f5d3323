// Generated JavaScript → original sources, through each script's source map, when a profile is
// written (never while sampling). A frame's generated position is the function's start as V8's code
// event gives it (startLine:column, 1-based) and, in line mode, the executing line; the map gives the
// original file, lines, column and, where it kept one, the function's original name (a minified
// bundle's "a" reads "crunchNumbers" again). Maps are found the way Node finds them: the script's last
// `//# sourceMappingURL=` comment, a file beside it or an inline data: URL; index maps (sections) and
// sourceRoot are @jridgewell/trace-mapping's work.
//
// Each generated file's map is read and parsed once (cached by file). A file whose map is missing,
// unreadable, malformed, does not fit the file, or names sources outside the project keeps its
// generated frames, and `warn` hears of it once for that file; nothing throws.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type * as TraceMapping from '@jridgewell/trace-mapping';
import type { TraceMap } from '@jridgewell/trace-mapping';

let traceMapping: typeof TraceMapping | undefined;
/** Loaded at the first map: a process without source maps never pays for it (~5 ms at start). */
function tm(): typeof TraceMapping {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (traceMapping ??= require('@jridgewell/trace-mapping') as typeof TraceMapping);
}

import type { Frame, Profile } from '../model/profile';
import { displayFile } from './script-file';
import { lineStarts } from './symbolize';

const KEY = 'sourceMappingURL=';
/** What comes before the key on its line, and the URL with the rest of the line after it. */
const BEFORE = /(?:\/\/|\/\*)[#@][ \t]+$/;
const URL_AND_REST = /^([^\s'"*]+)[ \t]*(?:\*\/)?[ \t]*(?:\r?\n|$)/;

/** Node's own choice: `--enable-source-maps` or process.setSourceMapsEnabled(true). */
export function nodeSourceMapsEnabled(proc: NodeJS.Process = process): boolean {
  const enabled = (proc as { sourceMapsEnabled?: unknown }).sourceMapsEnabled;
  if (typeof enabled === 'boolean') return enabled;
  const flags = [...proc.execArgv, ...(proc.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.includes('--enable-source-maps');
}

/** Whether a profile written now is mapped: the explicit choice, else Node's. */
export function sourceMapsWanted(choice: boolean | undefined, proc: NodeJS.Process = process): boolean {
  return choice ?? nodeSourceMapsEnabled(proc);
}

/** The URL of a script's last `//# sourceMappingURL=` comment, if it has one. */
export function sourceMappingUrl(text: string): string | undefined {
  // From the end, without a regular expression over the whole text: bundles run to megabytes, and an
  // inline map makes the comment itself that long.
  for (let at = text.lastIndexOf(KEY); at >= 0; at = at > 0 ? text.lastIndexOf(KEY, at - 1) : -1) {
    if (!BEFORE.test(text.slice(Math.max(0, at - 8), at))) continue;
    const lineEnd = text.indexOf('\n', at);
    const match = URL_AND_REST.exec(text.slice(at + KEY.length, lineEnd < 0 ? text.length : lineEnd + 1));
    if (match) return match[1];
  }
  return undefined;
}

function decodeDataUrl(url: string): string {
  const comma = url.indexOf(',');
  if (comma < 0) throw new Error('a data: URL without a comma');
  const meta = url.slice(5, comma);
  const data = url.slice(comma + 1);
  return /;base64$/i.test(meta) ? Buffer.from(data, 'base64').toString('utf8') : decodeURIComponent(data);
}

function insideRoot(file: string, root: string): boolean {
  const relative = path.relative(root, file);
  return relative === '' || !(relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative));
}

/** A source's path when it names a file (a path or file: URL), else undefined (webpack://, http:). */
function sourcePath(source: string): string | undefined {
  if (source.startsWith('file:')) {
    try {
      return fileURLToPath(source);
    } catch {
      return undefined;
    }
  }
  return path.isAbsolute(source) ? source : undefined;
}

const READ_ERRORS: Record<string, string> = { ENOENT: 'no such file', EISDIR: 'it is a directory', EACCES: 'permission denied' };

interface LoadedMap {
  map: TraceMap;
  /** The resolved source each original position names, to its display form. */
  fileOf: Map<string, string>;
}

export interface SourceMapperOptions {
  /** One line per generated file whose map cannot be used. */
  warn?: (message: string) => void;
  /** Reads a file as UTF-8; tests replace it. */
  readFile?: (file: string) => string;
}

export class SourceMapper {
  /** By project root and generated file: null when the file has no usable map. */
  private readonly maps = new Map<string, LoadedMap | null>();
  private readonly warn: (message: string) => void;
  private readonly readFile: (file: string) => string;

  constructor(options: SourceMapperOptions = {}) {
    this.warn = options.warn ?? (() => {});
    this.readFile = options.readFile ?? ((file) => fs.readFileSync(file, 'utf8'));
  }

  /**
   * Rewrites every JS frame of `profile` whose script has a usable map, in place. Frames that become
   * equal keep their ids: every writer merges frames by what it shows. Returns the frames mapped.
   */
  mapProfile(profile: Profile, cwd: string = profile.metadata.cwd ?? process.cwd()): number {
    let mapped = 0;
    // Frames of one file share its map: each file name is resolved once per profile.
    const byFile = new Map<string, LoadedMap | null>();
    profile.rewriteFrames((frame) => {
      if (frame.kind !== 'js' || !frame.file) return frame;
      let loaded = byFile.get(frame.file);
      if (loaded === undefined) byFile.set(frame.file, (loaded = this.load(path.resolve(cwd, frame.file), cwd)));
      const result = loaded ? mapWith(loaded, frame) : frame;
      if (result !== frame) mapped++;
      return result;
    });
    return mapped;
  }

  /** `frame` through its script's map, or `frame` itself when there is none or no position. */
  mapFrame(frame: Frame, cwd: string): Frame {
    if (frame.kind !== 'js' || !frame.file) return frame;
    const loaded = this.load(path.resolve(cwd, frame.file), cwd);
    return loaded ? mapWith(loaded, frame) : frame;
  }

  private load(generated: string, root: string): LoadedMap | null {
    const key = `${root}\u0000${generated}`;
    let loaded = this.maps.get(key);
    if (loaded === undefined) {
      loaded = this.read(generated, root);
      this.maps.set(key, loaded);
    }
    return loaded;
  }

  private read(generated: string, root: string): LoadedMap | null {
    let text: string;
    try {
      text = this.readFile(generated);
    } catch {
      // The script is gone or was never a file (eval, a vm script's name): nothing to map, nothing to say.
      return null;
    }
    const url = sourceMappingUrl(text);
    if (url === undefined) return null;
    const shown = displayFile(generated, root);
    const fail = (why: string): null => {
      this.warn(`sfprof: source map of ${shown}: ${why}; its frames stay as generated`);
      return null;
    };
    let json: string;
    let mapUrl: string;
    if (url.startsWith('data:')) {
      try {
        json = decodeDataUrl(url);
      } catch (error) {
        return fail(`cannot decode its inline map (${(error as Error).message})`);
      }
      mapUrl = pathToFileURL(generated).href;
    } else {
      let mapFile: string;
      try {
        mapFile = /^[a-z][a-z0-9+.-]*:/i.test(url) ? fileURLToPath(url) : path.resolve(path.dirname(generated), decodeURIComponent(url));
      } catch {
        return fail(`${url} is not a file sfprof can read`);
      }
      try {
        json = this.readFile(mapFile);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        return fail(`cannot read ${displayFile(mapFile, root)} (${READ_ERRORS[code ?? ''] ?? code ?? (error as Error).message})`);
      }
      mapUrl = pathToFileURL(mapFile).href;
    }
    let map: TraceMap;
    try {
      const parsed: unknown = JSON.parse(json);
      if (parsed === null || typeof parsed !== 'object' || (parsed as { version?: unknown }).version !== 3) {
        return fail('not a version 3 source map');
      }
      map = new (tm().AnyMap)(parsed as never, mapUrl);
      // Decoding here finds bad mappings now, not in the middle of a profile.
      if (!fits(tm().decodedMappings(map), text)) return fail('its mappings do not fit the file (a map of another build?)');
    } catch (error) {
      // trace-mapping's message quotes the whole map: the start says enough.
      const message = (error as Error).message.split('\n')[0]!;
      return fail(`malformed (${message.length > 100 ? message.slice(0, 99) + '…' : message})`);
    }
    const fileOf = new Map<string, string>();
    for (const source of map.resolvedSources) {
      const file = sourcePath(source);
      if (file !== undefined && !insideRoot(file, root)) return fail(`its source ${file} lies outside the project (${root})`);
      const display = file !== undefined ? displayFile(file, root) : source;
      fileOf.set(source, display);
    }
    return { map, fileOf };
  }
}

/** `frame` through `loaded`: its start's original position and name, and its executing line. */
function mapWith(loaded: LoadedMap, frame: Frame): Frame {
  if (frame.startLine === undefined && frame.line === undefined) return frame;
  const startLine = frame.startLine ?? frame.line!;
  const startColumn = Math.max(0, (frame.column ?? 1) - 1);
  // V8's start is the parameter list's "(": the mapping at or before it is the function's name.
  // Nothing at or before it (a bundle's top level at 1:1) is generated code: it stays as it is.
  const start = tm().originalPositionFor(loaded.map, { line: startLine, column: startColumn, bias: tm().GREATEST_LOWER_BOUND });
  if (start.source === null) return frame;
  const file = loaded.fileOf.get(start.source) ?? start.source;
  let line = start.line;
  if (frame.line !== undefined && frame.line !== startLine) {
    // Line mode: the first mapping on the executing line, when it lies in the same source.
    const executing = tm().originalPositionFor(loaded.map, { line: frame.line, column: 0, bias: tm().LEAST_UPPER_BOUND });
    if (executing.source === start.source && executing.line >= start.line) line = executing.line;
  }
  const mapped: Frame = { ...frame, file, line, startLine: start.line, column: start.column + 1 };
  if (start.name && frame.name !== '(anonymous)') mapped.name = start.name;
  return mapped;
}

/** Whether every mapped line and column exists in the generated text. */
function fits(mappings: readonly (readonly (readonly number[])[])[], text: string): boolean {
  const starts = lineStarts(text);
  if (mappings.length > starts.length) {
    // Trailing lines without segments are harmless.
    for (let line = starts.length; line < mappings.length; line++) if (mappings[line]!.length > 0) return false;
  }
  for (let line = 0; line < Math.min(mappings.length, starts.length); line++) {
    const segments = mappings[line]!;
    if (segments.length === 0) continue;
    const length = (line + 1 < starts.length ? starts[line + 1]! : text.length + 1) - starts[line]! - 1;
    // Segments are sorted by column; the last may sit at the line's end (a closing mapping).
    if (segments[segments.length - 1]![0]! > length + 1) return false;
  }
  return true;
}
