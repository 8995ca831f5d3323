// The preload on the main thread (see auto.ts): starts sampling before the app loads (line positions
// only exist for code compiled after that) and writes the profile synchronously on exit. Whatever
// goes wrong, the app runs and exits exactly as it would without sfprof: problems are one line on
// stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EXTENSIONS, renderProfile } from './formats';
import { OptionError, optionsFromEnv, type EnvConfig } from './options';
import type { Format } from './format-names';
import { start, stats, stop, takeProfile } from './profiler';
import type { Profile } from './profile';
import { summarizeRun } from './summary';
import { writeOutputSync } from './write-file';

function warn(message: string): void {
  process.stderr.write(`${message.startsWith('sfprof') ? '' : 'sfprof: '}${message}\n`);
}

/**
 * `sfprof record` prints the summary once its command is done: one JSON line per process. A process
 * that outlives the command finds the file gone and reports on stderr instead.
 */
function appendSummary(file: string, line: string): boolean {
  try {
    fs.appendFileSync(file, line + '\n', { flag: 'a' });
    return fs.existsSync(file);
  } catch {
    return false;
  }
}

export function run(): void {
  let config: EnvConfig;
  let output: string;
  try {
    config = optionsFromEnv(process.env);
    output = config.output === '-' ? '-' : path.resolve(config.output);
    // Only the .cpuprofile shows samples in time order; the others need no timeline.
    start(config.format === 'cpuprofile' ? config.options : { ...config.options, timelineSamples: 0 });
  } catch (error) {
    // Bad settings are one line; a missing addon gets the loader's whole list of solutions.
    const message = error instanceof Error ? error.message : String(error);
    const oneLine = error instanceof OptionError || !message.includes('\n');
    warn(oneLine ? `${message.split('\n')[0]}; not profiling` : `${message}\nsfprof: not profiling`);
    return;
  }
  const continuous = config.periodMs !== undefined ? startContinuous(config, output) : undefined;
  let written = false;
  const finish = (): void => {
    if (written) return;
    written = true;
    if (continuous) {
      continuous.finish();
      return;
    }
    try {
      const profile = stop();
      const title = `sfprof: ${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`;
      writeOutputSync(output, renderProfile(profile, config.format, { tiers: config.tiers, title }));
      const final = stats();
      const where = output === '-' ? 'standard output' : output;
      if (config.summaryFile && appendSummary(config.summaryFile, JSON.stringify(summarizeRun(profile, final, where, config.format)))) {
        return;
      }
      const drops = profile.metadata.drops;
      const lost = drops.ringFull + drops.busy;
      warn(
        `wrote ${profile.totalSamples} samples to ${where}` +
          (final
            ? ` (engine ${final.engine}, ${final.engineRateHz.toFixed(0)} samples/s of CPU time, ${drops.nonJsThread} on other threads, ${lost} lost)`
            : ''),
      );
      if (final?.rateWarning) warn(`warning: ${final.rateWarning}`);
    } catch (error) {
      warn(`could not write the profile to ${output}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  process.on('exit', finish);
  writeOnTerminatingSignals(finish);
}

/** Signals whose default action ends a Node process without an 'exit' event. */
const TERMINATING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * A process killed by SIGINT, SIGTERM or SIGHUP runs no 'exit' listeners, so its profile would be
 * lost. sfprof listens for them, but only acts when the app does not: then it writes the profile,
 * removes its listener (Node puts back the default action) and sends the signal again, so the process
 * dies of it exactly as it would have. When the app listens too, the app decides; if it exits, the
 * 'exit' listener writes the profile.
 */
function writeOnTerminatingSignals(finish: () => void): void {
  // An app's once-listener that runs before ours (prependOnceListener) has already removed itself
  // when ours runs; the removal in the same synchronous stretch still says the app took the signal.
  const removedNow = new Set<string | symbol>();
  process.on('removeListener', (event: string | symbol) => {
    if (!(TERMINATING_SIGNALS as readonly (string | symbol)[]).includes(event)) return;
    if (removedNow.size === 0) process.nextTick(() => removedNow.clear());
    removedNow.add(event);
  });
  for (const signal of TERMINATING_SIGNALS) {
    const listener = (): void => {
      if (process.listenerCount(signal) > 1 || removedNow.has(signal)) return;
      finish();
      process.removeListener(signal, listener);
      process.kill(process.pid, signal);
    };
    process.on(signal, listener);
  }
}

/** "app-1234.pb.gz" → "app-1234-20261127T164512.345Z.pb.gz": the period's end, in UTC. */
export function periodFileName(output: string, format: Format, end: Date): string {
  const stamp = end.toISOString().replace(/[-:]/g, '');
  const extension = EXTENSIONS[format];
  return output.endsWith(extension)
    ? `${output.slice(0, -extension.length)}-${stamp}${extension}`
    : `${output}-${stamp}`;
}

/**
 * Continuous mode: sampling never stops; every period the profile so far is cut at a drain
 * boundary (takeProfile) and written to its own file, and only the newest `keep` files this process
 * wrote are kept. The last period is written at exit.
 */
function startContinuous(config: EnvConfig, output: string): { finish(): void } {
  const title = `sfprof: ${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`;
  const files: string[] = [];
  let periods = 0;
  let samples = 0;
  let failures = 0;
  const write = (profile: Profile): void => {
    const file = periodFileName(output, config.format, new Date());
    try {
      writeOutputSync(file, renderProfile(profile, config.format, { tiers: config.tiers, title }));
      periods++;
      samples += profile.totalSamples;
      files.push(file);
      while (files.length > config.keep) {
        try {
          fs.unlinkSync(files.shift()!);
        } catch {
          // already gone: nothing to keep track of
        }
      }
    } catch (error) {
      // One line for the first failure and a count at exit: a full disk must not flood stderr.
      if (failures++ === 0) warn(`could not write a profile to ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const timer = setInterval(() => {
    try {
      write(takeProfile());
    } catch (error) {
      if (failures++ === 0) warn(`could not cut a profile: ${error instanceof Error ? error.message : String(error)}`);
    }
  }, config.periodMs);
  timer.unref();
  return {
    finish(): void {
      clearInterval(timer);
      try {
        write(stop());
      } catch (error) {
        failures++;
        warn(`could not stop sampling: ${error instanceof Error ? error.message : String(error)}`);
      }
      const signals = stats()?.signalsReceived;
      warn(
        `wrote ${periods} period profiles (${samples} samples` +
          (signals !== undefined ? ` of ${signals} timer signals` : '') +
          `), kept the newest ${files.length}` +
          (failures ? `; ${failures} writes failed` : ''),
      );
    },
  };
}
