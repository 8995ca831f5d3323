// The preload's production mode, for processes that never exit: continuous mode (a file per period,
// SFPROF_PERIOD/SFPROF_KEEP), snapshots on a signal, the HTTP endpoint and the push to a Pyroscope
// backend. Every consumer gets its samples from one place: each cut (takeProfile) is merged into the
// profile of the current period (the whole run without periods) and into the open HTTP window, so
// no sample is in two files of one kind or in none.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EXTENSIONS } from '../config/format-names';
import { renderProfile } from '../formats/render-profile';
import type { ProductionConfig } from '../config/env';
import type { Format } from '../config/format-names';
import { startProfileServer, type ProfileServer } from './http-server';
import type { Profile } from '../model/profile';
import { stats, stop, takeProfile } from '../pipeline/profiler';
import { Pusher } from './push';
import { writeOutputSync } from '../formats/write-file';

export type { ProductionConfig };

/** What continuous mode wrote over a run. */
export interface PeriodsWritten {
  periods: number;
  samples: number;
  /** Files this process still keeps (the newest SFPROF_KEEP), and the newest of them. */
  kept: number;
  newest?: string;
  durationMs: number;
}

export interface Production {
  /**
   * At exit: stops sampling. In continuous mode writes the last period and says what was written;
   * otherwise returns the whole run's profile for the caller to write.
   */
  finish(): { profile: Profile } | { periods: PeriodsWritten };
}

/** "app-1234.pb.gz" → "app-1234-20261127T164512.345Z.pb.gz" (a tag goes before the time). */
export function stampedFileName(output: string, format: Format, at: Date, tag?: string): string {
  const stamp = (tag ? `${tag}-` : '') + at.toISOString().replace(/[-:]/g, '');
  const extension = EXTENSIONS[format];
  return output.endsWith(extension)
    ? `${output.slice(0, -extension.length)}-${stamp}${extension}`
    : `${output}-${stamp}`;
}

/** How long an exiting process waits for its last period's upload. */
export const EXIT_PUSH_WAIT_MS = 3000;

function mergeInto(into: Profile | undefined, cut: Profile): Profile {
  const profile = into ?? cut.emptyCopy();
  profile.merge(cut);
  return profile;
}

export function startProduction(config: ProductionConfig, warn: (line: string) => void): Production {
  const title = `sfprof: ${path.basename(process.argv[1] ?? 'node')} (pid ${process.pid})`;
  const startedAt = Date.now();
  let stopped = false;
  /** Samples cut but not yet written: the current period's, or the whole run's without periods. */
  let pending: Profile | undefined;
  /** The HTTP window's samples, while a request waits for them. */
  let window: Profile | undefined;
  let windowOpen = false;

  const collect = (): void => {
    const cut = takeProfile();
    pending = mergeInto(pending, cut);
    if (windowOpen) window = mergeInto(window, cut);
  };

  // Continuous mode: a file per period, the newest `keep` kept.
  const files: string[] = [];
  let periods = 0;
  let samples = 0;
  let failures = 0;
  let periodStart = Date.now();
  const pusher = config.push ? new Pusher({ ...config.push, warn }) : undefined;
  /** Writes a period's file and pushes it; at exit the push waits for its upload, briefly. */
  const writePeriod = (profile: Profile, atExit = false): void => {
    const end = new Date();
    const file = stampedFileName(config.output, config.format, end);
    const from = periodStart;
    periodStart = end.getTime();
    let data: string | Buffer | undefined;
    try {
      data = renderProfile(profile, config.format, { tiers: config.tiers, title });
      writeOutputSync(file, data);
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
    // A pprof period file is the very body the backend takes: rendered once for both.
    const pprof = config.format === 'pprof' && Buffer.isBuffer(data) ? data : undefined;
    if (atExit) pusher?.pushAtExit(profile, from, periodStart, pprof, EXIT_PUSH_WAIT_MS);
    else pusher?.push(profile, from, periodStart, pprof);
  };
  const periodTimer =
    config.periodMs !== undefined
      ? setInterval(() => {
          try {
            collect();
            const profile = pending;
            pending = undefined;
            if (profile) writePeriod(profile);
          } catch (error) {
            if (failures++ === 0) warn(`could not cut a profile: ${error instanceof Error ? error.message : String(error)}`);
          }
        }, config.periodMs).unref()
      : undefined;

  // Snapshots: the profile so far (of the current period in continuous mode), sampling goes on.
  const snapshot = (): void => {
    if (config.snapshotSignal && process.listenerCount(config.snapshotSignal) > 1) return; // the app's signal
    const file = stampedFileName(config.output, config.format, new Date(), 'snapshot');
    try {
      collect();
      writeOutputSync(file, renderProfile(pending!, config.format, { tiers: config.tiers, title }));
      warn(`wrote a snapshot of ${pending!.totalSamples} samples to ${file}`);
    } catch (error) {
      warn(`could not write a snapshot to ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  if (config.snapshotSignal) process.on(config.snapshotSignal, snapshot);

  // The HTTP endpoint: a window of the next N seconds, one at a time (the server refuses others).
  let server: ProfileServer | undefined;
  if (config.http) {
    const http = config.http;
    startProfileServer(http, {
      title,
      profileFor: async (seconds: number): Promise<Profile> => {
        if (stopped) throw new Error('sfprof has stopped sampling');
        collect();
        windowOpen = true;
        window = undefined;
        try {
          await new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000).unref());
          if (stopped) throw new Error('sfprof stopped sampling before the profile was complete');
          collect();
          return window!;
        } finally {
          windowOpen = false;
          window = undefined;
        }
      },
    }).then(
      (started) => {
        server = started;
        const { host, port } = started.address();
        const shown = host.includes(':') ? `[${host}]` : host;
        warn(`serving profiles on http://${shown}:${port}/debug/pprof/profile?seconds=30 and /debug/sfprof/flamegraph`);
        if (stopped) void started.close();
      },
      (error: unknown) => warn(`no HTTP endpoint: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  return {
    finish(): { profile: Profile } | { periods: PeriodsWritten } {
      stopped = true;
      if (periodTimer) clearInterval(periodTimer);
      if (config.snapshotSignal) process.off(config.snapshotSignal, snapshot);
      void server?.close();
      const last = stop();
      const whole = pending ? mergeInto(pending, last) : last;
      pending = undefined;
      if (config.periodMs === undefined) return { profile: whole };
      // The last period, unless it is empty and earlier ones were written (it would only push an
      // older file out of the newest SFPROF_KEEP).
      if (whole.totalSamples > 0 || periods === 0) writePeriod(whole, true);
      const signals = stats()?.signalsReceived;
      const pushed = pusher ? pusher.stats() : undefined;
      const unsent = pusher ? pusher.unsent() : 0;
      warn(
        `wrote ${periods} period profile${periods === 1 ? '' : 's'} (${samples} samples` +
          (signals !== undefined ? ` of ${signals} timer signals` : '') +
          `), kept the newest ${files.length}` +
          (failures ? `; ${failures} periods could not be cut or written` : '') +
          (pushed ? `; pushed ${pushed.sent}, failed ${pushed.failed}, dropped ${pushed.dropped}` : '') +
          (unsent ? `, unsent ${unsent} (still queued or in flight)` : ''),
      );
      return { periods: { periods, samples, kept: files.length, newest: files.at(-1), durationMs: Date.now() - startedAt } };
    },
  };
}
