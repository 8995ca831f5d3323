// The preload on the main thread (see auto.ts): starts sampling before the app loads (line positions
// only exist for code compiled after that) and writes the profile synchronously on exit. Whatever
// goes wrong, the app runs and exits exactly as it would without sfprof: problems are one line on
// stderr.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { renderProfile } from '../formats/render-profile';
import { optionsFromEnv, productionFromEnv, type EnvConfig, type ProductionConfig } from '../config/env';
import { OptionError } from '../config/option-error';
import type { Production } from '../delivery/production';
import { start, stats, stop } from '../pipeline/profiler';
import { stderrLine } from '../common/stderr';
import type * as Summary from '../delivery/summary';
import { writeOutputSync } from '../formats/write-file';

function warn(message: string): void {
  stderrLine(`${message.startsWith('sfprof') ? '' : 'sfprof: '}${message}`);
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
  let productionConfig: ProductionConfig | undefined;
  try {
    config = optionsFromEnv(process.env);
    output = config.output === '-' ? '-' : path.resolve(config.output);
    productionConfig = productionFromEnv(process.env, config, output);
    // The .cpuprofile lists samples in time order and the HTML page draws them over time (its time
    // track filters by range); folded and pprof need no timeline.
    const timed = config.format === 'cpuprofile' || config.format === 'html';
    // The stall catcher's reports (SFPROF_STALL) load only when it is on.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    if (config.options.stall !== undefined) require('../delivery/stall-reports');
    start(timed ? config.options : { ...config.options, timelineSamples: 0 });
  } catch (error) {
    // Bad settings are one line; a missing addon gets the loader's whole list of solutions.
    const message = error instanceof Error ? error.message : String(error);
    const oneLine = error instanceof OptionError || !message.includes('\n');
    warn(oneLine ? `${message.split('\n')[0]}; not profiling` : `${message}\nsfprof: not profiling`);
    return;
  }
  let production: Production | undefined;
  try {
    // Periods, snapshots, HTTP and push load only when configured: most processes use none.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    production = productionConfig ? (require('../delivery/production') as typeof import('../delivery/production')).startProduction(productionConfig, warn) : undefined;
  } catch (error) {
    // Sampling has started: stop it, so the app runs as it would without sfprof.
    stop();
    warn(`${error instanceof Error ? error.message : String(error)}; not profiling`);
    return;
  }
  let written = false;
  const finish = (): void => {
    if (written) return;
    written = true;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const summary = (): typeof Summary => require('../delivery/summary') as typeof Summary;
    try {
      const ended = production ? production.finish() : { profile: stop() };
      if ('periods' in ended) {
        // Continuous mode wrote its periods (and said so); `sfprof record` still gets its summary.
        if (config.summaryFile) appendSummary(config.summaryFile, JSON.stringify(summary().summarizePeriods(ended.periods, stats(), config.format)));
        return;
      }
      const profile = ended.profile;
      const title = `sfprof: ${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`;
      writeOutputSync(output, renderProfile(profile, config.format, { tiers: config.tiers, title, labelRoot: config.labelRoot }));
      const final = stats();
      const where = output === '-' ? 'standard output' : output;
      if (config.summaryFile && appendSummary(config.summaryFile, JSON.stringify(summary().summarizeRun(profile, final, where, config.format)))) {
        return;
      }
      const drops = profile.metadata.drops;
      const lost = drops.ringFull + drops.busy + (drops.queueFull ?? 0);
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
