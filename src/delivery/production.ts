// The preload's production mode, for processes that never exit: continuous mode (a file per period,
// SFPROF_PERIOD/SFPROF_KEEP), snapshots on a signal, the HTTP endpoint and the push to a Pyroscope
// backend. Every consumer gets its samples from one place: the session splits them by their capture
// time into windows (each period, each HTTP window), and each taken window is merged into the
// profile of its period (the whole run without periods) and, when it lies in the open HTTP window,
// into that window's profile: no sample is in two files of one kind or in none, and a period or
// window holds the samples of its own time however late the event loop lets the cut run.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EXTENSIONS } from '../config/format-names';
import { renderProfile } from '../formats/render-profile';
import type { ProductionConfig } from '../config/env';
import type { Format } from '../config/format-names';
import { startProfileServer, type ProfileServer } from './http-server';
import type { Profile } from '../model/profile';
import { sessionNowNs, splitAt, splitEvery, stats, stop, takeWindows } from '../pipeline/profiler';
import { Pusher } from './push';
import { setStallPusher } from './stall-reports';
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
  const periodNs = config.periodMs !== undefined ? config.periodMs * 1e6 : 0;
  if (periodNs > 0) splitEvery(periodNs);
  /** The period a window starts in (periods count from start(); 0 without periods). */
  const periodOf = (startNs: number): number => (periodNs > 0 ? Math.floor(startNs / periodNs) : 0);
  /** Samples taken but not yet written, by period (the whole run's under 0 without periods). */
  const pending = new Map<number, Profile>();
  /** The HTTP window while a request waits for it: [startNs, endNs) on the session's clock. */
  let window: { startNs: number; endNs: number; profile?: Profile } | undefined;

  /** Takes the windows before `endNs` (now by default) into their period and the HTTP window. */
  const collect = (endNs = sessionNowNs()): void => {
    for (const taken of takeWindows(endNs)) {
      const period = periodOf(taken.startNs);
      pending.set(period, mergeInto(pending.get(period), taken.profile));
      if (window && taken.startNs >= window.startNs && taken.startNs < window.endNs) window.profile = mergeInto(window.profile, taken.profile);
    }
  };
  /** Every pending period merged, oldest first (a snapshot's view). */
  const pendingMerged = (): Profile | undefined => {
    let merged: Profile | undefined;
    for (const period of [...pending.keys()].sort((a, b) => a - b)) merged = mergeInto(merged, pending.get(period)!);
    return merged;
  };

  // Continuous mode: a file per period, the newest `keep` kept.
  const files: string[] = [];
  let periods = 0;
  let samples = 0;
  let failures = 0;
  const pusher = config.push ? new Pusher({ ...config.push, warn }) : undefined;
  if (config.push) {
    // Stall reports go to their own series (tag sfprof_kind=stall), so they never add to the periods'.
    const push = config.push;
    let stallPusher: Pusher | undefined;
    setStallPusher({
      push: (profile, fromMs, untilMs, pprof) => {
        stallPusher ??= new Pusher({ ...push, tags: { ...push.tags, sfprof_kind: 'stall' }, warn });
        stallPusher.push(profile, fromMs, untilMs, pprof);
      },
    });
  }
  /**
   * Writes a period's file and pushes it; at exit the push waits for its upload, briefly. The name
   * and the pushed times are the period's own: its first sample's window start plus its duration.
   */
  const writePeriod = (profile: Profile, atExit = false): void => {
    const from = profile.metadata.startTime;
    const to = from + profile.metadata.durationNs / 1e6;
    const file = stampedFileName(config.output, config.format, new Date(to));
    let data: string | Buffer | undefined;
    try {
      data = renderProfile(profile, config.format, { tiers: config.tiers, title, labelRoot: config.labelRoot });
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
    if (atExit) pusher?.pushAtExit(profile, from, to, pprof, EXIT_PUSH_WAIT_MS);
    else pusher?.push(profile, from, to, pprof);
  };
  /** Writes every pending period before `before`, oldest first. */
  const writePeriodsBefore = (before: number): void => {
    for (const period of [...pending.keys()].sort((a, b) => a - b)) {
      if (period >= before) break;
      const profile = pending.get(period)!;
      pending.delete(period);
      writePeriod(profile);
    }
  };
  // A timer at each period's end takes the periods that ended; when the event loop was busy past
  // several ends, each of them still gets its own file.
  let periodTimer: NodeJS.Timeout | undefined;
  const onPeriodEnd = (): void => {
    let nowNs = 0;
    try {
      nowNs = sessionNowNs();
      const current = periodOf(nowNs);
      collect(current * periodNs);
      writePeriodsBefore(current);
    } catch (error) {
      if (failures++ === 0) warn(`could not cut a profile: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (stopped) return;
    // Just after the next end on the session's clock (a timer never fires early on libuv's clock,
    // which may lag this one by a loop iteration: 1 ms more, and a tick finding nothing is harmless).
    const nextEndMs = ((periodOf(nowNs) + 1) * periodNs - nowNs) / 1e6;
    periodTimer = setTimeout(onPeriodEnd, Math.max(1, Math.ceil(nextEndMs) + 1)).unref();
  };
  if (periodNs > 0) periodTimer = setTimeout(onPeriodEnd, config.periodMs! + 1).unref();

  // Snapshots: the profile so far (of the current period in continuous mode), sampling goes on.
  const snapshot = (): void => {
    if (config.snapshotSignal && process.listenerCount(config.snapshotSignal) > 1) return; // the app's signal
    const file = stampedFileName(config.output, config.format, new Date(), 'snapshot');
    try {
      collect();
      const profile = pendingMerged()!;
      writeOutputSync(file, renderProfile(profile, config.format, { tiers: config.tiers, title, labelRoot: config.labelRoot }));
      warn(`wrote a snapshot of ${profile.totalSamples} samples to ${file}`);
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
        // The window is [now, now + seconds) by the samples' own times, declared before any sample
        // in it is drained: it holds those seconds even when the timer below fires late.
        const startNs = sessionNowNs();
        const endNs = startNs + seconds * 1e9;
        splitAt(endNs);
        collect(startNs);
        window = { startNs, endNs };
        try {
          for (let leftMs = seconds * 1000; leftMs > 0; leftMs = (endNs - sessionNowNs()) / 1e6) {
            await new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(leftMs)).unref());
            if (stopped) throw new Error('sfprof stopped sampling before the profile was complete');
          }
          collect(endNs);
          // Never empty-handed: the window's own span was taken, samples or none.
          if (!window.profile) throw new Error('the profile window was not taken');
          return window.profile;
        } finally {
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
      if (periodTimer) clearTimeout(periodTimer);
      if (config.snapshotSignal) process.off(config.snapshotSignal, snapshot);
      void server?.close();
      let current = 0;
      try {
        const nowNs = sessionNowNs();
        current = periodOf(nowNs);
        collect(nowNs);
      } catch (error) {
        if (failures++ === 0) warn(`could not cut a profile: ${error instanceof Error ? error.message : String(error)}`);
      }
      const last = stop();
      // stop()'s profile holds what was captured since the collect above, in the current period.
      const lastPeriod = pending.get(current);
      pending.set(current, lastPeriod ? mergeInto(lastPeriod, last) : last);
      if (config.periodMs === undefined) return { profile: pendingMerged()! };
      writePeriodsBefore(current);
      const whole = pending.get(current)!;
      pending.clear();
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
