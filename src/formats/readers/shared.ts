// What every reader shares: a frame's kind known only by its name and file, the metadata of a profile
// read from a file, and the bound on its total.
import { gcTypeOf, SYNTHETIC, type FrameKind, type Profile, type ProfileMetadata } from '../../model/profile';
import { InputError } from './input-error';

const PREFIX_KINDS: [string, FrameKind][] = [
  ['Builtin:', 'builtin'],
  ['BytecodeHandler:', 'bytecode-handler'],
  ['RegExp:', 'regexp'],
  ['Wasm:', 'wasm'],
];

export function inferKind(name: string, file: string | undefined): FrameKind {
  if (name === SYNTHETIC.gc || gcTypeOf(name) !== undefined) return 'gc';
  if (/^\[worker \d+[\] ]/.test(name) && !file) return 'thread';
  // A label root's frame, "[route=/users/:id]" (model/label-root.ts).
  if (/^\[[^=\]]+=.*\]$/s.test(name) && !file) return 'synthetic';
  if (file) return file.startsWith('node:') ? 'node' : 'js';
  for (const [prefix, kind] of PREFIX_KINDS) if (name.startsWith(prefix)) return kind;
  // An anonymous function of code without a file (new Function, eval).
  if (name === '(anonymous)') return 'js';
  if ((name.startsWith('(') && name.endsWith(')')) || name === SYNTHETIC.otherThreads) return 'synthetic';
  return 'native';
}

export function emptyMetadata(engine: string): ProfileMetadata {
  return {
    startTime: 0,
    durationNs: 0,
    intervalUs: 0,
    engine,
    lines: false,
    pid: 0,
    drops: { ringFull: 0, nonJsThread: 0, truncated: 0, busy: 0 },
    // Relative files in a profile read from disk are taken as relative to where it is read.
    cwd: process.cwd(),
  };
}

/** Samples are counted in doubles: a total past 2^53 - 1 would no longer be exact. */
export function checkTotal(profile: Profile): Profile {
  if (!Number.isSafeInteger(profile.totalSamples)) {
    throw new InputError(`the sample counts add up to ${profile.totalSamples}, more than ${Number.MAX_SAFE_INTEGER}`);
  }
  return profile;
}
