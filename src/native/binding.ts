// The one place that loads the native addon. Prebuilds (prebuilds/<platform>-<arch>/) come first,
// then a local build/Release; when neither loads, the error says what to do about it.
// Longer than 350 lines because it is also the addon's whole typed surface (every native function
// and the stats it returns), kept beside the loader so one file says what the addon offers.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { PACKAGE_ROOT } from '../common/package-root';
import type { PackedListing } from './code-events';

export { PACKAGE_ROOT };

export interface NativeCodeEvent {
  seq: number;
  /** 0 added, 1 moved, 2 line positions, 3 listed (an add of code that already existed) */
  type: number;
  /** 0 bytecode, 1 JIT, 2 wasm */
  codeType: number;
  start: number;
  size: number;
  name?: string;
  scriptId?: number;
  newStart?: number;
  /** (pc offset, script offset) pairs */
  positions?: Uint32Array;
}

/**
 * The packing of code events (native/wire_format.h): EVENT_WORDS numbers per event. The addon reports
 * it as `wireFormat`; test/wire-format.test.mjs checks that these constants agree with it.
 */
export const EVENT_WORDS = 8;
export const EVENT_FIELDS = { seq: 0, type: 1, codeType: 2, start: 3, size: 4, newStart: 5, scriptId: 6, positionCount: 7 } as const;
/** `listed`: an add from the listing of code that existed before the first sample (see existing-code.ts). */
export const EVENT_TYPES = { added: 0, moved: 1, linePositions: 2, listed: 3 } as const;

/** Code events as the binding hands them over (see EncodeEvents in native/addon.cc). */
export interface PackedCodeEvents {
  numbers: Float64Array;
  names: string;
  positions: Uint32Array;
}

/** What one drain moved out for one sampled thread, as the binding hands it over. */
export interface PackedThreadBatch extends Omit<NativeThreadBatch, 'events'> {
  events: PackedCodeEvents;
}

/** What one drain moved out for one sampled thread. */
export interface NativeThreadBatch {
  /** Node's threadId: 0 for the main thread. */
  threadId: number;
  /** The worker's script, when known. */
  name?: string;
  /** The thread stopped sampling; this is its last batch. */
  finished: boolean;
  /** Encoded samples, each frame an index into `addresses`; see decodeSamples in records.ts. */
  samples: Uint32Array;
  /** The drain's distinct code addresses, which the samples' frames index. */
  addresses: Float64Array;
  sampleCount: number;
  events: NativeCodeEvent[];
  /** The listed events of `events`' drain, left packed (the main thread's existing code). */
  listed?: PackedListing;
  /** GC begins and ends of this thread; see decodeGcRecords in records.ts. Absent from older addons. */
  gc?: Float64Array;
  /** GC begins the full log could not take since the last drain (their samples stay at the root). */
  gcDropped?: number;
}

export type NativeBatch = Pick<NativeThreadBatch, 'samples' | 'addresses' | 'events' | 'listed' | 'gc' | 'gcDropped'>;

export interface NativeDrain {
  threads: PackedThreadBatch[];
  /** Timer signals on threads without a sampler, as (tid, pc) records: decodeOtherThreads in records.ts. */
  otherThreads?: Float64Array;
}

export interface NativeStats {
  running: boolean;
  engine: string;
  intervalUs: number;
  timerSignals: number;
  nonJsThread: number;
  /** ... of which found the other threads' ring full: counted, thread and pc unknown. */
  otherThreadsUnrecorded?: number;
  forwarded: number;
  foreignIgnored: number;
  handlerReinstalls: number;
  handlerDisplaced: number;
  forwardLoops: number;
  spills: number;
  samplesRecorded?: number;
  /** Threads sampled in this session (the main thread and attached workers). */
  threads?: number;
  /** CPU time of those threads while they were sampled. */
  sampledThreadsCpuNs?: number;
  droppedRingFull?: number;
  droppedBusy?: number;
  /** perf: overflows the kernel turned into SIGIO because the real-time signal queue was full; pacer:
   * signals the kernel refused to queue for the same reason. */
  droppedQueueFull?: number;
  /** pacer: deadlines that passed while the thread's previous signal was still pending. Not lost:
   * the next sample's weight covers their CPU time. */
  signalsCoalesced?: number;
  truncated?: number;
  samplesLabelled?: number;
  /** Label reads timed (one in 16), their total ns and the clock's own share of it. */
  labelReadsTimed?: number;
  labelReadNs?: number;
  labelClockNs?: number;
  handlerTimeHistogram?: Float64Array;
  /** The sum of handlerTimeHistogram. */
  handlerTimeCount?: number;
  handlerBucketNs?: number;
  threadCpuNs?: number;
  processCpuNs?: number;
  elapsedNs?: number;
  /** The timer signal's number (SIGPROF, or the real-time signal of a per-thread engine). */
  signal?: number;
  /** Per-thread timer signals that arrived after their thread stopped sampling. */
  afterStop?: number;
}

/** The `code` of a native start() or attachThread() failure (native/failure.h says when each applies). */
export type NativeErrorCode =
  | 'SFPROF_ALREADY_RUNNING'
  | 'SFPROF_ALREADY_ATTACHED'
  | 'SFPROF_NO_SESSION'
  | 'SFPROF_FORKED_CHILD'
  | 'SFPROF_ENGINE_UNAVAILABLE'
  | 'SFPROF_ENGINE_REFUSED'
  | 'SFPROF_TIMER_UNAVAILABLE'
  | 'SFPROF_SIGNAL_OWNED'
  | 'SFPROF_SIGNAL_FAILED'
  | 'SFPROF_OUT_OF_RESOURCES';

/** The native code of an error the binding threw; undefined for any other error. */
export function nativeErrorCode(error: unknown): NativeErrorCode | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code.startsWith('SFPROF_') ? (code as NativeErrorCode) : undefined;
}

export interface NativeBinding {
  start(options: {
    intervalUs: number;
    ringSlots: number;
    maxFrames: number;
    /** Record the JS stack at each GC's begin (native/gc_cause.h). */
    gcCause?: boolean;
    allowV8Profiler: boolean;
    engine: 'itimer' | 'perf' | 'thread-cpu' | 'pacer';
    simulatePerfFailure?: boolean;
    /** Stall watch threshold (native/stall_watch.h); 0 or absent: off. */
    stallThresholdUs?: number;
  }): { engine: string };
  /** The stall watch: stalls ended since the last call, and where the thread is now. */
  takeStalls(): NativeStalls;
  drain(): NativeDrain;
  stop(): NativeDrain & { stats: NativeStats };
  /** In a worker: join the running session (throws when none runs). */
  attachThread(threadId: number): void;
  detachThread(): void;
  nameThread(name: string): void;
  sessionRunning(): boolean;
  /** Whether this is the process's first thread (Node's main thread when run by `node`). */
  isInitialThread(): boolean;
  stats(): NativeStats;
  embeddedCodeRange(): { start: number; size: number };
  /** Disarms the timer while the app's last JS SIGPROF listener is being removed. */
  pauseTimer(): void;
  /** Reinstalls our handler if the default disposition came back, and re-arms the timer. */
  resumeTimer(): void;
  /** The shared object and (demangled) dynamic symbol containing a C++ address, or null. */
  nativeSymbol(address: number): NativeSymbol | null;
  // ---- labels (native/labels.h), on the calling thread; modes 0 none, 1 CPED, 2 hooks ----
  labelsInit(threadId: number, hooksWord: Int32Array): void;
  /** Inside als.run(probeId): null when the CPED read works on this thread, else why not. */
  labelsLearn(probeId: number): string | null;
  labelsMode(mode: number): boolean; labelsReadNow(): number; labelsRequest(mode?: number): number;
  /** A new set's id in the thread's table (1, 2, ...), 0 when full; the sets from an id on, as JSON. */
  labelSetAdd(threadId: number, json: string): number;
  labelSets(threadId: number, fromId: number): string[];
  /** native/wire_format.h as numbers: the layout the decoders in records.ts and here must match. */
  wireFormat: NativeWireFormat;
  /** The bounds start() defends (native/session.h); options.ts validates with the same ones. */
  optionBounds: Record<'intervalUs' | 'ringSlots' | 'maxFrames' | 'stallThresholdUs', { min: number; max: number }>;
}

/** Ended stalls as [startNs, endNs, ...] on the session's clock; seenNs: the last moment the main
 * thread was seen in its loop (-1: not watching); count, longestNs, notQueued (no room in the native queue) and probesSent since start. */
export interface NativeStalls { ended: Float64Array; seenNs: number; count: number; longestNs: number; notQueued: number; probesSent: number }

export interface NativeWireFormat {
  sampleHeaderWords: number;
  sampleFields: Record<'timeNs' | 'codeSeq' | 'vmState' | 'flags' | 'weightUs' | 'labels' | 'frameCount', number>;
  sampleFlags: { truncated: number; stallProbe: number };
  gcHeaderWords: number;
  gcFields: Record<'kind' | 'gcType' | 'timeNs' | 'beginNs' | 'codeSeq' | 'flags' | 'frameCount', number>;
  otherThreadWords: number;
  otherThreadFields: Record<'tid' | 'pc', number>;
  eventWords: number;
  eventFields: Record<keyof typeof EVENT_FIELDS, number>;
  eventTypes: Record<keyof typeof EVENT_TYPES, number>;
}

export interface NativeSymbol {
  /** Path of the shared object (the executable's name for the main program). */
  object: string;
  /** Demangled name of the dynamic symbol covering the address. */
  symbol?: string;
  /** The symbol's range; without a symbol, the unnamed gap between symbols around the address. */
  start?: number;
  /** 0 when the symbol table does not say. */
  size?: number;
}

let cached: NativeBinding | undefined;
let cachedPath: string | undefined;


export interface LoadContext {
  version: string;
  abi: string;
  platform: string;
  arch: string;
  execArgv: string[];
  packageRoot: string;
}

/** The loader's error: what failed, for which Node.js, and only the solutions that fit the cause. */
export function explainLoadFailure(message: string, context: LoadContext): string {
  const target = `node ${context.version} (ABI ${context.abi}) on ${context.platform}-${context.arch}`;
  const build = `build it from source: run "npx node-gyp rebuild" in ${context.packageRoot} (needs Python, make and a C++ compiler)`;
  const scripts = "or reinstall with this package's install scripts allowed (npm 11 skips a dependency's install scripts unless they are allowed), which builds it";
  const solutions: string[] = [];
  if (context.execArgv.includes('--no-addons') || /loading addons is disabled|--no-addons/i.test(message)) {
    solutions.push('native addons are disabled (--no-addons): remove that flag; sfprof needs its addon to sample');
  } else if (/NODE_MODULE_VERSION|compiled against a different Node\.js version/.test(message)) {
    solutions.push(`the binary was built for another Node.js: rebuild it for ${target}`, build);
  } else if (/No native build was found/.test(message)) {
    solutions.push(`no prebuilt binary in this package matches ${target}`, build, scripts);
  } else {
    solutions.push(build, scripts);
  }
  return [`sfprof: could not load the native addon for ${target}: ${message.split('\n')[0]}`, 'Possible solutions:', ...solutions.map((s) => `  - ${s}`)].join('\n');
}

function explain(cause: unknown): string {
  return explainLoadFailure(cause instanceof Error ? cause.message : String(cause), {
    version: process.version,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
    execArgv: process.execArgv,
    packageRoot: PACKAGE_ROOT,
  });
}

interface NodeGypBuild {
  (dir: string): NativeBinding;
  /** The file node-gyp-build would load: a local build/Release first, else a matching prebuild. */
  path(dir: string): string;
}

const ABI_TAG = Buffer.from('sfprof-abi:');

/**
 * The Node ABI (NODE_MODULE_VERSION) a binary was built for, read from its file without loading it
 * (native/addon.cc embeds it); undefined for a binary without the tag.
 */
export function builtAbi(file: string): number | undefined {
  const bytes = fs.readFileSync(file);
  const at = bytes.indexOf(ABI_TAG);
  if (at < 0) return undefined;
  const match = /^(\d+);/.exec(bytes.subarray(at + ABI_TAG.length, at + ABI_TAG.length + 12).toString('latin1'));
  return match ? Number(match[1]) : undefined;
}

/**
 * The ABI node-gyp configured the build folder for (its config.gypi, written with the headers'
 * NODE_MODULE_VERSION at every configure): 12 KB to read where the binary is 200 KB, a millisecond
 * less at every start. Undefined without the file or the key; the binary's tag decides then.
 */
export function configuredAbi(file: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  const match = /"node_module_version":\s*(\d+)/.exec(text);
  return match ? Number(match[1]) : undefined;
}

/**
 * The binary to load: a local build when it was made for this Node's ABI, else the prebuild for it.
 * node-gyp-build alone would take any local build first, and a binary built for another Node loads
 * without complaint (Node-API registration skips the version check) and then misreads V8's structures.
 */
export function chooseBinary(packageRoot: string, findPrebuild: (dir: string) => string, abi = Number(process.versions.modules)): string {
  const local = path.join(packageRoot, 'build', 'Release', 'sfprof.node');
  if (!fs.existsSync(local)) return findPrebuild(packageRoot);
  const built = configuredAbi(path.join(packageRoot, 'build', 'config.gypi')) ?? builtAbi(local);
  if (built === undefined || built === abi) return local;
  const prebuild = path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${abi}.node`);
  if (fs.existsSync(prebuild)) return prebuild;
  throw new Error(`${local} was compiled against a different Node.js version (NODE_MODULE_VERSION ${built}; this Node.js needs ${abi})`);
}

/** Loads the addon once. Throws an Error whose message lists possible solutions. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  try {
    const file = chooseBinary(PACKAGE_ROOT, (dir) => {
      // Our own prebuild for this ABI, by the name scripts/prebuild.mjs gives it; node-gyp-build
      // (whose loading costs a process ~2 ms and node:os) only for anything else.
      const ours = path.join(dir, 'prebuilds', `${process.platform}-${process.arch}`, `sfprof.abi${process.versions.modules}.node`);
      if (fs.existsSync(ours)) return ours;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return (require('node-gyp-build') as NodeGypBuild).path(dir);
    });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    cached = require(file) as NativeBinding;
    cachedPath = file;
  } catch (error) {
    throw new Error(explain(error), { cause: error });
  }
  return cached;
}

let mainThread: boolean | undefined;

/**
 * Whether this is Node's main thread. Asks the addon first: on the process's first thread that is
 * the answer without loading node:worker_threads (2-3 ms and 1.5 MB that every process with the
 * preload would pay). Anywhere else, or without the addon, Node decides.
 */
export function onMainThread(): boolean {
  if (mainThread === undefined) {
    let initial = false;
    try {
      initial = loadNative().isInitialThread() === true;
    } catch {
      // No addon (start() says why) or one built before isInitialThread: ask Node.
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mainThread = initial || (require('node:worker_threads') as typeof import('node:worker_threads')).isMainThread;
  }
  return mainThread;
}

/** Path of the loaded addon binary (a prebuild or a local build), once loaded. */
export function nativePath(): string | undefined {
  return cachedPath;
}
