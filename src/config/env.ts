// Every SFPROF_* variable the preload reads, parsed here and nowhere else: sampling, output, continuous
// mode, snapshots, and (through http.ts and push.ts) the HTTP endpoint and the push. Every error names
// the variable, its value and what is allowed.
import { chooseFormat, parseFormat, type Format } from './format-names';
import { parseHttpEnv, type HttpConfig } from './http';
import { OptionError } from './option-error';
import { DEFAULT_KEEP, defaultOutput, parseIntervalUs, parseLabelRoot, parsePeriodMs, parseStallMax, parseStallOutput, parseStallUs, type StartOptions } from './options';
import * as path from 'node:path';
import { parseTimer } from './engine';
import { labelsModeFromEnv } from './labels';
import { parsePushEnv, type PushConfig } from './push';
import { booleanVariable, describe } from './values';

export interface EnvConfig {
  options: StartOptions;
  /** Output path with {pid} expanded; "-" is standard output. */
  output: string;
  format: Format;
  /** Folded output: tier suffixes on JS frames. */
  tiers: boolean;
  /** Every format: stacks rooted by their value of this label key (SFPROF_LABEL_ROOT). */
  labelRoot?: string;
  /** Where `sfprof record` asked for a one-line JSON summary per process, if it did. */
  summaryFile?: string;
  /** Continuous mode (SFPROF_PERIOD): a profile file every this many milliseconds. */
  periodMs?: number;
  /** Continuous mode: how many of its newest files the process keeps (SFPROF_KEEP). */
  keep: number;
}


/** Reads SFPROF_* variables. Throws OptionError naming the variable, its value and what is allowed. */
export function optionsFromEnv(env: NodeJS.ProcessEnv, pid: number = process.pid): EnvConfig {
  const options: StartOptions = {};
  const interval = env.SFPROF_INTERVAL;
  if (interval !== undefined && interval !== '') {
    options.interval = parseIntervalUs(interval, 'SFPROF_INTERVAL');
  }
  const timer = env.SFPROF_TIMER;
  if (timer !== undefined && timer !== '') options.timer = parseTimer(timer, 'SFPROF_TIMER');
  const lines = booleanVariable(env, 'SFPROF_LINES');
  if (lines !== undefined) options.lines = lines;
  const inlines = booleanVariable(env, 'SFPROF_INLINES');
  if (inlines !== undefined) options.inlines = inlines;
  const gcCause = booleanVariable(env, 'SFPROF_GC_CAUSE');
  if (gcCause !== undefined) options.gcCause = gcCause;
  // Unset: follow Node's own source-map setting when the profile is written.
  const sourceMaps = booleanVariable(env, 'SFPROF_SOURCE_MAPS');
  if (sourceMaps !== undefined) options.sourceMaps = sourceMaps;
  const labels = labelsModeFromEnv(env);
  if (labels !== undefined) options.labels = labels;
  const tiers = booleanVariable(env, 'SFPROF_TIERS') ?? false;
  const formatText = env.SFPROF_FORMAT;
  const given = formatText ? parseFormat(formatText, 'SFPROF_FORMAT') : undefined;
  let output = env.SFPROF_OUTPUT;
  if (output !== undefined && output !== '' && output !== '-' && output.endsWith('/')) {
    throw new OptionError(`sfprof: SFPROF_OUTPUT is ${describe(output)}; expected a file path (or - for standard output), not a directory`);
  }
  const format = chooseFormat(given, output || undefined, 'SFPROF_FORMAT');
  if (output === undefined || output === '') output = defaultOutput(format);
  const config: EnvConfig = { options, output: output.split('{pid}').join(String(pid)), format, tiers, keep: DEFAULT_KEEP };
  const labelRoot = env.SFPROF_LABEL_ROOT;
  if (labelRoot !== undefined && labelRoot !== '') config.labelRoot = parseLabelRoot(labelRoot, 'SFPROF_LABEL_ROOT');
  const stall = env.SFPROF_STALL;
  if (stall !== undefined && stall !== '' && stall !== 'off') {
    options.stall = parseStallUs(stall, 'SFPROF_STALL');
    // Reports go beside the profile unless told where.
    const stallOutput = env.SFPROF_STALL_OUTPUT;
    if (stallOutput !== undefined && stallOutput !== '') options.stallOutput = parseStallOutput(stallOutput, 'SFPROF_STALL_OUTPUT');
    else if (output !== '-') options.stallOutput = path.join(path.dirname(output), 'sfprof-stall-{pid}-{n}.html');
    const stallMax = env.SFPROF_STALL_MAX;
    if (stallMax !== undefined && stallMax !== '') options.stallMax = parseStallMax(stallMax, 'SFPROF_STALL_MAX');
  }
  if (env.SFPROF_SUMMARY_FILE) config.summaryFile = env.SFPROF_SUMMARY_FILE;
  const period = env.SFPROF_PERIOD;
  if (period !== undefined && period !== '') {
    config.periodMs = parsePeriodMs(period, 'SFPROF_PERIOD');
  }
  const keep = env.SFPROF_KEEP;
  if (keep !== undefined && keep !== '') {
    const value = /^\s*\d+\s*$/.test(keep) ? Number(keep) : NaN;
    if (!(value >= 1 && value <= 100_000)) {
      throw new OptionError(`sfprof: SFPROF_KEEP is ${describe(keep)}; expected an integer from 1 to 100000 (the newest files continuous mode keeps)`);
    }
    config.keep = value;
  }
  return config;
}

export interface ProductionConfig {
  output: string;
  format: Format;
  tiers: boolean;
  labelRoot?: string;
  periodMs?: number;
  keep: number;
  /** The signal that writes a snapshot, or undefined for none. */
  snapshotSignal?: NodeJS.Signals;
  http?: HttpConfig;
  push?: PushConfig;
}

/** Production mode's settings from the environment, or undefined when none is set. */
export function productionFromEnv(env: NodeJS.ProcessEnv, config: EnvConfig, output: string): ProductionConfig | undefined {
  const http = parseHttpEnv(env);
  const push = parsePushEnv(env);
  // Pushing needs periods: a minute unless told.
  const periodMs = config.periodMs ?? (push ? 60_000 : undefined);
  const production = periodMs !== undefined || http !== undefined;
  const signalText = (env.SFPROF_SNAPSHOT_SIGNAL ?? '').trim();
  let snapshotSignal: NodeJS.Signals | undefined;
  if (signalText === '') snapshotSignal = production ? 'SIGUSR2' : undefined;
  else if (signalText === 'SIGUSR2' || signalText === 'off') snapshotSignal = signalText === 'off' ? undefined : 'SIGUSR2';
  else throw new OptionError(`sfprof: SFPROF_SNAPSHOT_SIGNAL is ${JSON.stringify(signalText)}; expected SIGUSR2 or off`);
  if (!production && !snapshotSignal) return undefined;
  if (output === '-') {
    throw new OptionError(`sfprof: SFPROF_OUTPUT is "-"; expected a file path when periods, snapshots or the HTTP endpoint are on`);
  }
  return {
    output,
    format: config.format,
    tiers: config.tiers,
    ...(config.labelRoot !== undefined && { labelRoot: config.labelRoot }),
    keep: config.keep,
    ...(periodMs !== undefined && { periodMs }),
    ...(snapshotSignal && { snapshotSignal }),
    ...(http && { http }),
    ...(push && { push }),
  };
}

/**
 * Tests of the engine fall-back make perf_event_open fail as a locked-down kernel would. Not a user
 * setting: docs/development.md names it.
 */
export function perfRefusedForTests(env: NodeJS.ProcessEnv): boolean {
  return env.SFPROF_TEST_REFUSE_PERF === '1';
}
