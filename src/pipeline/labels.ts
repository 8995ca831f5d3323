// Labels of the current async context: withLabels, setLabels, getLabels. Each JS thread (this module
// instance) has its own AsyncLocalStorage, whose store is the id of a label set in the thread's table
// (native/labels.h: the table the drain's ingester reads), and its own native reader
// (native/label_reader.h) that the signal handler asks for the id of each sample.
//
// How a sample gets the id, by mode (config/labels.ts): auto reads V8's continuation-preserved
// embedder data where AsyncLocalStorage keeps its frame there (Node 24+, 22 with
// --experimental-async-context-frame), learned and checked once per thread inside a probe run;
// hooks keeps a word up to date with async_hooks before/after; off records nothing.
//
// Nothing here throws because of the profiler's state: without the addon, or before start(), labels
// still apply to the async context (getLabels sees them) and samples, if any, carry none.
import { AsyncLocalStorage, createHook, type AsyncHook } from 'node:async_hooks';

import { stderrLine } from '../common/stderr';
import { checkLabels, labelsModeFromEnv, type LabelsMode } from '../config/labels';
import type { Labels } from '../model/profile';
import { loadNative, onMainThread, type NativeBinding } from '../native/binding';

/** How this thread's samples get their labels now. */
export type LabelsCapture = 'cped' | 'hooks' | 'none' | 'off';

// native/label_reader.h LabelsMode.
const NATIVE_NONE = 0;
const NATIVE_CPED = 1;
const NATIVE_HOOKS = 2;
// The store the CPED layout is learned from: a Smi no label set id reaches (the tables hold 4,096).
const PROBE_ID = 0x3ffffff0;

interface ThreadLabels {
  als: AsyncLocalStorage<number>;
  mode: LabelsMode;
  capture: LabelsCapture;
  /** Sets by store: ids > 0 are the native table's; ids < 0 only this thread's (table full, no addon). */
  sets: Map<number, Labels>;
  ids: Map<string, number>;
  nextLocalId: number;
  /** The word async_hooks write (hooks mode); the native reader holds its address: never dropped. */
  word: Int32Array;
  hook: AsyncHook | undefined;
  native: NativeBinding | undefined;
  threadId: number;
  /** Why the CPED read is not available on this thread (undefined: not tried, or it works). */
  cpedRefused: string | undefined;
  warned: boolean;
}

let thread: ThreadLabels | undefined;
/** start()'s `labels` option, kept for a thread that has not used labels yet. */
let requestedMode: LabelsMode | undefined;
// start()'s option crosses to the workers through the addon (LABELS_MODES order).
const REQUEST_CODES: LabelsMode[] = ['auto', 'hooks', 'off'];

/** The mode start() asked for on the main thread, as a worker sees it; undefined when none. */
function requestedInProcess(): LabelsMode | undefined {
  try {
    return REQUEST_CODES[loadNative().labelsRequest()];
  } catch {
    return undefined;
  }
}

function threadIdOf(): number {
  if (onMainThread()) return 0;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:worker_threads') as typeof import('node:worker_threads')).threadId;
}

function defaultMode(): LabelsMode {
  try {
    return requestedMode ?? requestedInProcess() ?? labelsModeFromEnv(process.env) ?? 'auto';
  } catch (error) {
    // A bad SFPROF_LABELS must not break the app's withLabels: said once, then auto.
    stderrLine(error instanceof Error ? error.message : String(error));
    return 'auto';
  }
}

function ensureThread(): ThreadLabels {
  if (thread) return thread;
  const state: ThreadLabels = {
    als: new AsyncLocalStorage<number>(),
    mode: defaultMode(),
    capture: 'none',
    sets: new Map(),
    ids: new Map(),
    nextLocalId: -1,
    word: new Int32Array(1),
    hook: undefined,
    native: undefined,
    threadId: 0,
    cpedRefused: undefined,
    warned: false,
  };
  thread = state;
  try {
    const native = loadNative();
    state.threadId = threadIdOf();
    native.labelsInit(state.threadId, state.word);
    state.native = native;
  } catch {
    // No addon, or one without labels: labels still apply to the async context.
  }
  applyMode(state, state.mode);
  return state;
}

function applyMode(state: ThreadLabels, mode: LabelsMode): void {
  state.mode = mode;
  if (state.hook && mode !== 'hooks') {
    state.hook.disable();
    state.hook = undefined;
    state.word[0] = 0;
  }
  const native = state.native;
  state.capture = mode === 'off' ? 'off' : 'none';
  if (!native) return;
  try {
    if (mode === 'off') {
      native.labelsMode(NATIVE_NONE);
    } else if (mode === 'hooks') {
      if (!state.hook) {
        const { als, word } = state;
        state.hook = createHook({
          before() {
            const id = als.getStore();
            word[0] = id !== undefined && id > 0 ? id : 0;
          },
          after() {
            word[0] = 0;
          },
        }).enable();
      }
      const id = state.als.getStore();
      state.word[0] = id !== undefined && id > 0 ? id : 0;
      if (native.labelsMode(NATIVE_HOOKS)) state.capture = 'hooks';
    } else {
      if (state.cpedRefused === undefined) {
        const refused = state.als.run(PROBE_ID, () => native.labelsLearn(PROBE_ID));
        if (refused !== null) state.cpedRefused = refused;
      }
      if (state.cpedRefused === undefined && native.labelsMode(NATIVE_CPED)) state.capture = 'cped';
      else native.labelsMode(NATIVE_NONE);
    }
  } catch {
    state.capture = 'none';
  }
}

/** The first withLabels/setLabels in auto mode where V8's async context cannot be read: said once. */
function warnOnce(state: ThreadLabels): void {
  // Without the addon there is nothing to warn about here: start() says why it cannot run.
  if (state.warned || state.mode !== 'auto' || state.capture !== 'none' || !state.native) return;
  state.warned = true;
  stderrLine(
    'sfprof: labels need Node 24 or later, or Node 22 with --experimental-async-context-frame; samples here ' +
      'carry no labels. SFPROF_LABELS=hooks labels them through async_hooks, at a cost of a few µs per async hop',
  );
}

function keyOf(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}\u0000${labels[k]}`)
    .join('\u0000');
}

/** The store for `labels`: interned in the thread's native table, or a local id when it cannot be. */
function intern(state: ThreadLabels, labels: Labels): number {
  const key = keyOf(labels);
  let id = state.ids.get(key);
  if (id !== undefined) return id;
  const copy: Record<string, string> = {};
  for (const k of Object.keys(labels).sort()) copy[k] = labels[k]!;
  let nativeId = 0;
  try {
    if (state.native) nativeId = state.native.labelSetAdd(state.threadId, JSON.stringify(copy));
  } catch {
    nativeId = 0;
  }
  id = nativeId > 0 ? nativeId : state.nextLocalId--;
  state.ids.set(key, id);
  state.sets.set(id, Object.freeze(copy));
  return id;
}

function currentOf(state: ThreadLabels): Labels {
  const id = state.als.getStore();
  return (id !== undefined && state.sets.get(id)) || {};
}

/**
 * Runs `fn` with `labels` added to the current ones (inner keys override), and labels every async
 * continuation it starts; returns what `fn` returns. Samples taken meanwhile carry the labels.
 */
export function withLabels<T>(labels: Labels, fn: () => T): T {
  checkLabels(labels, 'labels');
  if (typeof fn !== 'function') throw new TypeError('sfprof: withLabels(labels, fn) expects a function as fn');
  const state = ensureThread();
  if (state.capture === 'off') return fn();
  warnOnce(state);
  const id = intern(state, { ...currentOf(state), ...labels });
  if (state.capture !== 'hooks') return state.als.run(id, fn);
  const outer = state.word[0]!;
  state.word[0] = id > 0 ? id : 0;
  try {
    return state.als.run(id, fn);
  } finally {
    state.word[0] = outer;
  }
}

/** Adds `labels` to the current ones for the rest of the current async context (inner keys override). */
export function setLabels(labels: Labels): void {
  checkLabels(labels, 'labels');
  const state = ensureThread();
  if (state.capture === 'off') return;
  warnOnce(state);
  const id = intern(state, { ...currentOf(state), ...labels });
  state.als.enterWith(id);
  if (state.capture === 'hooks') state.word[0] = id > 0 ? id : 0;
}

/** The labels of the current async context ({} when none). */
export function getLabels(): Record<string, string> {
  if (!thread || thread.capture === 'off') return {};
  return { ...currentOf(thread) };
}

/** start()'s `labels` option, for this thread and the workers that use labels later (undefined: SFPROF_LABELS, else auto). */
export function configureLabels(mode: LabelsMode | undefined): void {
  requestedMode = mode;
  if (mode !== undefined) {
    try {
      loadNative().labelsRequest(REQUEST_CODES.indexOf(mode));
    } catch {
      // No addon: start() is about to say why.
    }
  }
  if (thread && mode !== undefined && mode !== thread.mode) applyMode(thread, mode);
}

/** The labels mode and how samples get them on this thread, for stats(). */
export function labelsInEffect(): { mode: LabelsMode; capture: LabelsCapture; reason?: string } {
  const state = thread;
  if (!state) return { mode: defaultMode(), capture: 'none' };
  return { mode: state.mode, capture: state.capture, ...(state.cpedRefused && state.capture === 'none' ? { reason: state.cpedRefused } : {}) };
}
