// The public lifecycle of sampling: start() picks an engine (falling back when the kernel refuses a
// per-thread one), stop(), takeProfile(), stats(), and workers joining the session. The stages it
// drives live beside it: session.ts (drain loop), ingest.ts (symbolize and aggregate), stats.ts.

import { engineCandidates, readKernelFacts } from '../config/engine';
import { perfRefusedForTests } from '../config/env';
import { resolveOptions, type StartOptions } from '../config/options';
import { Profile } from '../model/profile';
import { loadNative, nativeErrorCode, onMainThread } from '../native/binding';
import { completeProfile, Session, type TakenWindow } from './session';
import { SourceMapper, sourceMapsWanted } from './source-maps';
import { stderrLine } from '../common/stderr';
import { toStats, type SamplerStats } from './stats';
import { joinSession } from './worker';
import type { StallSink } from './stalls';
import { configureLabels, labelsInEffect } from './labels';

export type { SamplerStats };

let session: Session | undefined;
/**
 * The final stats of the last session, made on the first stats() after stop(): most processes never
 * ask, and stop() runs at exit, where every allocation adds to the peak.
 */
let lastStats: SamplerStats | (() => SamplerStats) | undefined;
/** start()'s sourceMaps option: undefined follows Node's setting when a profile is taken. */
let sourceMapsChoice: boolean | undefined;
/** Maps stay parsed while the session runs: each file's map is read once, its warning said once. */
let sourceMapper: SourceMapper | undefined;
/** Where ended stalls go (src/delivery/stall-reports.ts sets it when loaded). */
let stallSink: StallSink | undefined;

/** For the delivery stage: receives every stall that ended while the stall catcher is on. */
export function setStallSink(sink: StallSink | undefined): void {
  stallSink = sink;
}

/**
 * Profiles are mapped as they leave the session, never while sampling. Periods keep the parsed maps
 * for the next period; the last profile lets them go (a large bundle's map holds tens of MB).
 */
function withSourceMaps(profile: Profile, last: boolean): Profile {
  if (!sourceMapsWanted(sourceMapsChoice)) return profile;
  sourceMapper ??= new SourceMapper({ warn: stderrLine });
  try {
    sourceMapper.mapProfile(profile);
  } catch (error) {
    // A bug here must not cost the profile: it is written as generated.
    stderrLine(`sfprof: source maps not applied: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (last) sourceMapper = undefined;
  return profile;
}

/**
 * `node --cpu-prof` starts V8's profiler before any preload and stops it after the exit event, when
 * sfprof has already stopped: the one case where chaining to V8's SIGPROF handler is safe.
 */
function cpuProfFlagGiven(): boolean {
  const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return flags.some((flag) => flag === '--cpu-prof' || flag.startsWith('--cpu-prof='));
}

/** Starts a session on the main thread; workers join it (attachWorker(), or the preload). */
export function start(options: StartOptions = {}): void {
  const resolved = resolveOptions(options);
  if (!onMainThread()) {
    throw new Error('sfprof: start() runs on the main thread; in a worker, call attachWorker() to be sampled into its profile');
  }
  if (session) throw new Error('sfprof: already running; call stop() first');
  const native = loadNative();
  configureLabels(resolved.labels);
  const startTime = Date.now();
  const candidates = engineCandidates(resolved.timer, resolved.intervalUs, readKernelFacts);
  let engine = '';
  let engineReason = '';
  const refused: string[] = [];
  for (const [index, candidate] of candidates.entries()) {
    try {
      ({ engine } = native.start({
        intervalUs: resolved.intervalUs,
        ringSlots: resolved.ringSlots,
        maxFrames: resolved.maxFrames,
        gcCause: resolved.gcCause,
        allowV8Profiler: cpuProfFlagGiven(),
        engine: candidate.engine,
        // Tests of the fallback make perf_event_open fail as a locked-down kernel would.
        simulatePerfFailure: perfRefusedForTests(process.env),
        stallThresholdUs: resolved.stallUs,
      }));
      engineReason = candidate.reason + (refused.length ? ` (${refused.join('; ')})` : '');
      break;
    } catch (error) {
      // Only a per-thread engine that the kernel refused falls back; anything else is the answer.
      if (index === candidates.length - 1 || nativeErrorCode(error) !== 'SFPROF_ENGINE_REFUSED') throw error;
      const message = error instanceof Error ? error.message : String(error);
      refused.push(`${candidate.engine}: ${message.replace(/^sfprof: /, '')}`);
    }
  }
  const profile = new Profile({
    startTime,
    durationNs: 0,
    intervalUs: resolved.intervalUs,
    engine,
    engineReason,
    lines: resolved.lines,
    pid: process.pid,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
    cwd: process.cwd(),
  }, { timelineCapacity: resolved.timelineSamples });
  session = new Session(native, resolved, profile, stallSink);
  lastStats = undefined;
  sourceMapsChoice = resolved.sourceMaps;
}

/** Stops sampling and returns the profile, drops included. Throws when not running. */
export function stop(): Profile {
  const current = session;
  if (!current) throw new Error('sfprof: not running; call start() first');
  session = undefined;
  const { whole: native, span, other } = current.finish();
  const profile = current.profile;
  completeProfile(profile, span, other);
  const frames = current.frameCounts();
  const labels = labelsInEffect();
  const reason = profile.metadata.engineReason ?? '';
  const stalls = current.stallStats();
  lastStats = () => withStalls(toStats(native, frames, reason, labels), stalls);
  return withSourceMaps(profile, true);
}

/**
 * The profile since start() or the previous takeProfile(), while sampling goes on: cut now by each
 * sample's capture time, so no sample is in two profiles or in none. Throws when not running.
 */
export function takeProfile(): Profile {
  if (!session) throw new Error('sfprof: not running; call start() first');
  return withSourceMaps(session.cut(), false);
}

// ---- for production mode (src/delivery), not part of the public API ----

function running(): Session {
  if (!session) throw new Error('sfprof: not running; call start() first');
  return session;
}

/** The session's clock: ns since start(), the clock sample times are on. */
export function sessionNowNs(): number {
  return running().nowNs();
}

/** From now on the samples are split into windows of `periodNs` from start() (continuous mode). */
export function splitEvery(periodNs: number): void {
  running().splitEvery(periodNs);
}

/** A window starts at `atNs` on the session's clock; declare it now or ahead. */
export function splitAt(atNs: number): void {
  running().splitAt(atNs);
}

/**
 * The windows that start before `endNs` (now, or a window start declared earlier), each with
 * exactly the samples captured in it, however late this runs. Throws when not running.
 */
export function takeWindows(endNs: number): TakenWindow[] {
  return running().takeUntil(endNs).map((window) => ({ ...window, profile: withSourceMaps(window.profile, false) }));
}

/**
 * In a worker thread: sample this thread into the session the main thread started (its stacks go
 * under a "[worker N]" root in that profile). The preload does this for every worker by itself.
 * Throws when called on the main thread or when no session runs.
 */
export function attachWorker(): void {
  if (onMainThread()) throw new Error('sfprof: attachWorker() is for worker threads; the main thread uses start()');
  joinSession();
}

/** In a worker thread: stop sampling it. What it sampled stays in the main thread's profile. */
export function detachWorker(): void {
  if (onMainThread()) throw new Error('sfprof: detachWorker() is for worker threads; the main thread uses stop()');
  loadNative().detachThread();
}

/**
 * Whether a session runs in this process: on the main thread, the one start() began; in a worker,
 * the main thread's (which attachWorker() would join).
 */
export function isRunning(): boolean {
  return onMainThread() ? session !== undefined : loadNative().sessionRunning();
}

/** Live counters while running; the final ones after stop(). */
export function stats(): SamplerStats | undefined {
  if (session) return withStalls(toStats(session.native.stats(), session.frameCounts(), session.profile.metadata.engineReason ?? '', labelsInEffect()), session.stallStats());
  if (typeof lastStats === 'function') lastStats = lastStats();
  return lastStats;
}

/** The stall catcher's counts, when it is on. */
function withStalls(stats: SamplerStats, stalls: SamplerStats['stalls']): SamplerStats {
  return stalls ? { ...stats, stalls } : stats;
}
