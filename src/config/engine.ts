// Which timer engine samples, and why. Pure given the kernel facts, which are read once (and can be
// injected in tests):
//
//   itimer      setitimer(ITIMER_PROF) + SIGPROF: every platform; at most ~CONFIG_HZ signals/s per
//               process, landing on whichever thread runs
//   perf        a perf_event_open task-clock event per JS thread + a real-time signal (Linux): user
//               CPU time only, not tied to the tick
//   thread-cpu  a CLOCK_THREAD_CPUTIME_ID timer per JS thread + a real-time signal (Linux): exact
//               thread, still tick-capped
//   pacer       one sampler thread reads each JS thread's CPU clock and signals the thread with a
//               real-time signal each interval of its CPU time (Linux): exact thread, not tick-capped,
//               the timer's cost off the sampled thread's core
//
// auto: itimer when the interval is at or above the kernel's tick (it then delivers the rate asked
// for and also shows other threads' CPU); otherwise perf, and thread-cpu when perf is refused. pacer is
// only used when asked for (docs/overhead.md has the measurement that decides).
import * as fs from 'node:fs';

import { OptionError } from './option-error';

export const TIMERS = ['auto', 'itimer', 'perf', 'thread-cpu', 'pacer'] as const;
export type TimerChoice = (typeof TIMERS)[number];
export type Engine = Exclude<TimerChoice, 'auto'>;

export interface KernelFacts {
  platform: NodeJS.Platform;
  /** CONFIG_HZ when it could be read from the kernel's config. */
  configHz?: number;
}

/** CONFIG_HZ assumed when the kernel's config cannot be read (Debian's and Ubuntu's default). */
export const ASSUMED_HZ = 250;

export function parseTimer(value: string, what: string): TimerChoice {
  const word = value.trim().toLowerCase();
  if ((TIMERS as readonly string[]).includes(word)) return word as TimerChoice;
  throw new OptionError(`sfprof: ${what} is ${JSON.stringify(value)}; expected one of ${TIMERS.join(', ')}`);
}

let cachedFacts: KernelFacts | undefined;

/** CONFIG_HZ from /boot/config-<release> or /proc/config.gz, when either is readable. */
export function readKernelFacts(): KernelFacts {
  if (cachedFacts) return cachedFacts;
  const facts: KernelFacts = { platform: process.platform };
  if (process.platform === 'linux') {
    const sources: (() => string)[] = [
      // node:os only here: the preload's start does not otherwise load it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      () => fs.readFileSync(`/boot/config-${(require('node:os') as typeof import('node:os')).release()}`, 'utf8'),
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      () => (require('node:zlib') as typeof import('node:zlib')).gunzipSync(fs.readFileSync('/proc/config.gz')).toString('utf8'),
    ];
    for (const read of sources) {
      try {
        const match = /^CONFIG_HZ=(\d+)$/m.exec(read());
        if (match) {
          facts.configHz = Number(match[1]);
          break;
        }
      } catch {
        // not readable here; try the next source
      }
    }
  }
  cachedFacts = facts;
  return facts;
}

export interface EngineCandidate {
  engine: Engine;
  /** Why this engine, in a few words (stats, profile metadata and the CLI summary show it). */
  reason: string;
}

/** The longest tick a Linux kernel has (CONFIG_HZ=100): an interval at least this long is never below it. */
export const LONGEST_TICK_US = 10_000;

/**
 * The engines to try, in order: the first that starts wins; later ones are fallbacks. `facts` may be
 * a function, called only when the choice depends on the tick: reading CONFIG_HZ (inflating
 * /proc/config.gz) cost every preloaded process about 3 ms at start, and at the default interval the
 * answer is itimer whatever the tick.
 */
export function engineCandidates(choice: TimerChoice, intervalUs: number, factsOrRead: KernelFacts | (() => KernelFacts)): EngineCandidate[] {
  if (choice !== 'auto') return [{ engine: choice, reason: 'requested' }];
  if (typeof factsOrRead === 'function' && process.platform === 'linux' && intervalUs >= LONGEST_TICK_US) {
    return [{ engine: 'itimer', reason: `auto: interval ${intervalUs} us is at or above the kernel tick (at most ${LONGEST_TICK_US} us on Linux)` }];
  }
  const facts = typeof factsOrRead === 'function' ? factsOrRead() : factsOrRead;
  if (facts.platform !== 'linux') return [{ engine: 'itimer', reason: `auto: the only engine on ${facts.platform}` }];
  const hz = facts.configHz ?? ASSUMED_HZ;
  const tickUs = 1e6 / hz;
  const hzText = facts.configHz ? `CONFIG_HZ=${hz}` : `CONFIG_HZ unknown, ${hz} assumed`;
  if (intervalUs >= tickUs) {
    return [{ engine: 'itimer', reason: `auto: interval ${intervalUs} us is at or above the kernel tick (${hzText})` }];
  }
  const below = `interval ${intervalUs} us is below the kernel tick (${hzText})`;
  return [
    { engine: 'perf', reason: `auto: ${below}` },
    { engine: 'thread-cpu', reason: `auto: ${below}` },
  ];
}

export interface RateCheck {
  requestedHz: number;
  achievedHz: number;
  /** Set when the achieved rate is under 80% of the requested one: what likely happened. */
  warning?: string;
}

/**
 * Compares the achieved rate with the requested one. The rate is per CPU second of what the engine
 * counts: the whole process for itimer, the JS thread for the per-thread engines.
 */
export function checkRate(input: {
  engine: string;
  intervalUs: number;
  samples: number;
  cpuSeconds: number;
  lost: number;
  /** CONFIG_HZ, or how to read it: only a warning about a tick-capped engine needs it. */
  configHz?: number | (() => number | undefined);
}): RateCheck {
  const requestedHz = 1e6 / input.intervalUs;
  const achievedHz = input.cpuSeconds > 0 ? input.samples / input.cpuSeconds : 0;
  const check: RateCheck = { requestedHz, achievedHz };
  // Too little CPU time to judge a rate (a run of a few samples).
  if (input.cpuSeconds * requestedHz < 20 || achievedHz >= 0.8 * requestedHz) return check;
  const hz = (typeof input.configHz === 'function' ? input.configHz() : input.configHz) ?? ASSUMED_HZ;
  let cause: string;
  if (input.lost > 0.1 * (input.samples + input.lost)) {
    cause = `${input.lost} samples were lost (ring full or sampling paused)`;
  } else if ((input.engine === 'itimer' || input.engine === 'thread-cpu') && requestedHz > 0.8 * hz) {
    cause = `the ${input.engine} engine is held to the kernel tick (~${hz} signals/s); use --timer perf (Linux) for higher rates`;
  } else if (input.engine === 'perf' || input.engine === 'pacer') {
    cause = 'signal delivery cannot keep up at this interval on this machine; use a longer interval';
  } else {
    cause = 'the process was mostly idle or its CPU time was spent where the timer does not count';
  }
  check.warning =
    `achieved ${achievedHz.toFixed(0)} samples/s of CPU time, ${((100 * achievedHz) / requestedHz).toFixed(0)}% of the ` +
    `${requestedHz.toFixed(0)} requested: ${cause}`;
  return check;
}
