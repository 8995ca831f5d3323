// start()'s options: their defaults, bounds and checks, and the value parsers the SFPROF_* variables
// and the CLI's flags share (env.ts, cli/args.ts). Every error names the option (or variable), the
// value given and what is allowed.
import { EXTENSIONS, type Format } from './format-names';
import { OptionError } from './option-error';
import { describe } from './values';
import { parseTimer, TIMERS, type TimerChoice } from './engine';
import { parseLabelsMode, type LabelsMode } from './labels';
import { DEFAULT_TIMELINE_CAPACITY } from '../model/timeline';

export interface StartOptions {
  /** Sampling interval of CPU time: microseconds as a number, or a duration such as "10ms", "500us". */
  interval?: number | string;
  /** Line mode: each frame carries the line executing in it, not the line the function starts on. */
  lines?: boolean;
  /**
   * Expand optimized code into the functions V8 inlined there (default true). Off, a sample in
   * optimized code names only the function that was compiled.
   */
  inlines?: boolean;
  /**
   * Charge garbage collection to the JS stack whose allocation began it (default true): a GC sample
   * is written as `caller;…;(garbage collector: scavenge)`. Off, every GC sample is a root
   * `(garbage collector)` frame.
   */
  gcCause?: boolean;
  /**
   * Ring capacity in samples (power of two). Samples beyond it between two of the watcher's spills
   * are dropped and counted. Default: 200 ms of samples at the interval (64 at 10 ms, 256 at 1 ms,
   * 2048 at 100 µs).
   */
  ringSlots?: number;
  /** Deepest stack kept per sample (1–255); deeper stacks are cut and counted as truncated. */
  maxFrames?: number;
  /** How often the ring is drained, in milliseconds. */
  drainIntervalMs?: number;
  /**
   * Samples whose order and time are kept for the .cpuprofile format (0–16777216, default 1048576,
   * 12 bytes each); past it the kept order is thinned. 0 keeps none: folded, pprof and HTML do not
   * need it.
   */
  timelineSamples?: number;
  /**
   * Timer engine: "auto" (default), "itimer", "perf", "thread-cpu" or "pacer" (the last three on
   * Linux). auto takes itimer at or above the kernel's tick, else perf, else thread-cpu; pacer is
   * only used when asked for.
   */
  timer?: TimerChoice;
  /**
   * Map JS frames to their original sources through the scripts' source maps when a profile is taken
   * (stop(), takeProfile()). Default: when Node's source maps are on (--enable-source-maps or
   * process.setSourceMapsEnabled(true)) at that moment.
   */
  sourceMaps?: boolean;
  /**
   * Stall catcher (default off): when the main thread has not returned to its event loop for longer
   * than this duration ("200ms", "1s"; 10ms to 60s; a bare number is microseconds), a line goes to
   * stderr while it lasts and a report of the samples taken during it is written when it ends.
   */
  stall?: number | string;
  /**
   * Where stall reports go: a path pattern with {pid} and {n} (the stall's number); its extension
   * picks the format (.html, .folded/.txt, .pb.gz). Default `sfprof-stall-{pid}-{n}.html`.
   */
  stallOutput?: string;
  /** Most stall report files a process writes (0–10000, default 10); later stalls are counted only. */
  stallMax?: number;
  /**
   * How samples get their labels (withLabels, setLabels): "auto" (default: where Node keeps the async
   * context in V8, else none, with one warning), "hooks" (async_hooks, any Node, a few µs per async
   * hop) or "off". Default: SFPROF_LABELS, else auto.
   */
  labels?: LabelsMode;
}

export interface ResolvedOptions {
  intervalUs: number;
  lines: boolean;
  inlines: boolean;
  gcCause: boolean;
  ringSlots: number;
  maxFrames: number;
  drainIntervalMs: number;
  timelineSamples: number;
  timer: TimerChoice;
  /** undefined: follow Node's source-map setting when the profile is taken. */
  sourceMaps?: boolean;
  /** Stall threshold in microseconds; 0: the stall catcher is off. */
  stallUs: number;
  stallOutput: string;
  stallMax: number;
  /** undefined: SFPROF_LABELS, else auto. */
  labels?: LabelsMode;
}

/**
 * The default ring: what the thread samples in RING_WINDOW_MS at the interval, as a power of two
 * from RING_SLOTS_DEFAULT_MIN to RING_SLOTS_DEFAULT_MAX. A slot holds the deepest stack (about 1 KB
 * at 128 frames) and every slot is touched once the ring wraps: a fixed 4,096 slots cost 4.4 MB of
 * RSS per sampled thread even at 10 ms. The watcher thread checks the rings every 20 ms and moves a
 * half-full one's samples out itself, without waiting for the JS thread or a drain, so the window
 * only has to cover that thread being scheduled late; what does not fit is dropped and counted.
 */
export const RING_WINDOW_MS = 200;
export const RING_SLOTS_DEFAULT_MIN = 64;
export const RING_SLOTS_DEFAULT_MAX = 4096;

export function ringSlotsFor(intervalUs: number): number {
  const wanted = Math.ceil((RING_WINDOW_MS * 1000) / intervalUs);
  const slots = 2 ** Math.ceil(Math.log2(Math.max(1, wanted)));
  return Math.min(RING_SLOTS_DEFAULT_MAX, Math.max(RING_SLOTS_DEFAULT_MIN, slots));
}

export const DEFAULTS: ResolvedOptions = {
  intervalUs: 10_000,
  lines: false,
  inlines: true,
  gcCause: true,
  ringSlots: ringSlotsFor(10_000),
  maxFrames: 128,
  drainIntervalMs: 100,
  timelineSamples: DEFAULT_TIMELINE_CAPACITY,
  timer: 'auto',
  stallUs: 0,
  stallOutput: 'sfprof-stall-{pid}-{n}.html',
  stallMax: 10,
};

// native/stall_watch.h has the same bounds.
export const STALL_MIN_US = 10_000;
export const STALL_MAX_US = 60_000_000;
export const STALL_MAX_REPORTS = 10_000;

/** A stall threshold in microseconds, or OptionError naming `what` (an option, variable or flag). */
export function parseStallUs(value: number | string, what: string): number {
  const allowed = `a duration from 10ms to 60s, such as 200ms or 1s (a bare number is microseconds)`;
  const us = typeof value === 'number' ? value : typeof value === 'string' ? parseDurationUs(value) : undefined;
  if (us === undefined || !Number.isFinite(us) || us < STALL_MIN_US || us > STALL_MAX_US) {
    throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected ${allowed}`);
  }
  return Math.round(us);
}

/** The most stall report files a process writes, or OptionError naming `what`. */
export function parseStallMax(value: unknown, what: string): number {
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return integerIn(number, what, 0, STALL_MAX_REPORTS, ' (stall report files a process writes)');
}

/** A stall report path pattern, or OptionError naming `what`. */
export function parseStallOutput(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value === '-' || value.endsWith('/')) {
    throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected a file path pattern such as sfprof-stall-{pid}-{n}.html`);
  }
  return value;
}

// The addon defends against garbage with the same bounds (native/session.h); a test compares them.
export const INTERVAL_MIN_US = 100;
export const INTERVAL_MAX_US = 1_000_000;
export const RING_SLOTS_MIN = 16;
export const RING_SLOTS_MAX = 1 << 20;
export const MAX_FRAMES_MIN = 1;
export const MAX_FRAMES_MAX = 255;

export { OptionError };

const UNIT_US: Record<string, number> = { us: 1, 'µs': 1, ms: 1000, s: 1_000_000 };

/**
 * Parses a duration into microseconds: "10ms", "500us", "2.5ms", "1s"; a bare number is
 * microseconds. Returns undefined when the text is not a duration.
 */
export function parseDurationUs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(us|µs|ms|s)?\s*$/.exec(text);
  if (!match) return undefined;
  const value = Number(match[1]) * UNIT_US[match[2] ?? 'us']!;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Interval in microseconds, or OptionError naming `what` (an option, variable or flag) and the value. */
export function parseIntervalUs(value: number | string, what: string): number {
  const allowed = `a duration from 100us to 1s, such as 10ms, 500us or 2.5ms (a bare number is microseconds)`;
  const us = typeof value === 'number' ? value : typeof value === 'string' ? parseDurationUs(value) : undefined;
  if (us === undefined || !Number.isFinite(us)) {
    throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected ${allowed}`);
  }
  if (us < INTERVAL_MIN_US || us > INTERVAL_MAX_US) {
    throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected ${allowed}`);
  }
  return Math.round(us);
}

function integerIn(value: unknown, what: string, min: number, max: number, extra = ''): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OptionError(
      `sfprof: ${what} is ${describe(value)}; expected an integer from ${min} to ${max}${extra}`,
    );
  }
  return value;
}

/** Checks API options and fills in defaults. Throws OptionError naming the bad option. */
export function resolveOptions(options: StartOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OptionError(`sfprof: options is ${describe(options)}; expected an object`);
  }
  const known = new Set(['interval', 'lines', 'inlines', 'gcCause', 'ringSlots', 'maxFrames', 'drainIntervalMs', 'timelineSamples', 'timer', 'sourceMaps', 'stall', 'stallOutput', 'stallMax', 'labels']);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new OptionError(
        `sfprof: unknown option ${JSON.stringify(key)}; allowed: ${[...known].join(', ')}`,
      );
    }
  }
  const resolved = { ...DEFAULTS };
  if (options.interval !== undefined) resolved.intervalUs = parseIntervalUs(options.interval, 'option "interval"');
  if (options.lines !== undefined) {
    if (typeof options.lines !== 'boolean') {
      throw new OptionError(`sfprof: option "lines" is ${describe(options.lines)}; expected true or false`);
    }
    resolved.lines = options.lines;
  }
  if (options.inlines !== undefined) {
    if (typeof options.inlines !== 'boolean') {
      throw new OptionError(`sfprof: option "inlines" is ${describe(options.inlines)}; expected true or false`);
    }
    resolved.inlines = options.inlines;
  }
  if (options.gcCause !== undefined) {
    if (typeof options.gcCause !== 'boolean') {
      throw new OptionError(`sfprof: option "gcCause" is ${describe(options.gcCause)}; expected true or false`);
    }
    resolved.gcCause = options.gcCause;
  }
  if (options.ringSlots !== undefined) {
    const slots = integerIn(options.ringSlots, 'option "ringSlots"', RING_SLOTS_MIN, RING_SLOTS_MAX, ' that is a power of two');
    if ((slots & (slots - 1)) !== 0) {
      throw new OptionError(
        `sfprof: option "ringSlots" is ${slots}; expected an integer from ${RING_SLOTS_MIN} to ${RING_SLOTS_MAX} that is a power of two`,
      );
    }
    resolved.ringSlots = slots;
  }
  if (options.maxFrames !== undefined) resolved.maxFrames = integerIn(options.maxFrames, 'option "maxFrames"', MAX_FRAMES_MIN, MAX_FRAMES_MAX);
  if (options.drainIntervalMs !== undefined) {
    resolved.drainIntervalMs = integerIn(options.drainIntervalMs, 'option "drainIntervalMs"', 1, 60_000);
  }
  if (options.timer !== undefined) {
    if (typeof options.timer !== 'string') {
      throw new OptionError(`sfprof: option "timer" is ${describe(options.timer)}; expected one of ${TIMERS.join(', ')}`);
    }
    resolved.timer = parseTimer(options.timer, 'option "timer"');
  }
  if (options.sourceMaps !== undefined) {
    if (typeof options.sourceMaps !== 'boolean') {
      throw new OptionError(`sfprof: option "sourceMaps" is ${describe(options.sourceMaps)}; expected true or false`);
    }
    resolved.sourceMaps = options.sourceMaps;
  }
  if (options.labels !== undefined) resolved.labels = parseLabelsMode(options.labels, 'option "labels"');
  if (options.timelineSamples !== undefined) {
    resolved.timelineSamples = integerIn(options.timelineSamples, 'option "timelineSamples"', 0, 1 << 24);
  }
  if (options.stall !== undefined) resolved.stallUs = parseStallUs(options.stall, 'option "stall"');
  if (options.stallOutput !== undefined) resolved.stallOutput = parseStallOutput(options.stallOutput, 'option "stallOutput"');
  if (options.stallMax !== undefined) resolved.stallMax = parseStallMax(options.stallMax, 'option "stallMax"');
  if (options.ringSlots === undefined) resolved.ringSlots = ringSlotsFor(resolved.intervalUs);
  return resolved;
}

export const DEFAULT_KEEP = 10;
export const PERIOD_MIN_MS = 1000;
export const PERIOD_MAX_MS = 24 * 3600 * 1000;
const PERIOD_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A period such as "60s", "5m", "1h" or "1500ms" in milliseconds, or OptionError naming `what`. */
export function parsePeriodMs(text: string, what: string): number {
  const allowed = `a duration from 1s to 24h with a unit: ms, s, m or h (such as 60s or 5m)`;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  const ms = match ? Math.round(Number(match[1]) * PERIOD_UNIT_MS[match[2]!]!) : NaN;
  if (!Number.isFinite(ms) || ms < PERIOD_MIN_MS || ms > PERIOD_MAX_MS) {
    throw new OptionError(`sfprof: ${what} is ${describe(text)}; expected ${allowed}`);
  }
  return ms;
}

/**
 * A label key to root stacks by (SFPROF_LABEL_ROOT, --label-root, renderProfile's labelRoot), or
 * OptionError naming `what`. ";" would split the folded frame "[key=value]" and a line break its line.
 */
export function parseLabelRoot(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || /[;\r\n\u2028\u2029]/.test(value)) {
    throw new OptionError(`sfprof: ${what} is ${describe(value)}; expected a label key such as route: not empty, without ";" or line breaks`);
  }
  return value;
}

/** The default output name before {pid} expansion, by format. */
export function defaultOutput(format: Format): string {
  return `sfprof-{pid}${EXTENSIONS[format]}`;
}

export const DEFAULT_OUTPUT = defaultOutput('folded');
