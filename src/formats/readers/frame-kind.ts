// The kind of a frame known only by its name and file, for profiles read back from files.
import { SYNTHETIC, type FrameKind } from '../../model/profile';

const PREFIX_KINDS: [string, FrameKind][] = [
  ['Builtin:', 'builtin'],
  ['BytecodeHandler:', 'bytecode-handler'],
  ['RegExp:', 'regexp'],
  ['Wasm:', 'wasm'],
];

export function inferKind(name: string, file: string | undefined): FrameKind {
  if (name === SYNTHETIC.gc) return 'gc';
  if (/^\[worker \d+[\] ]/.test(name) && !file) return 'thread';
  if (file) return file.startsWith('node:') ? 'node' : 'js';
  for (const [prefix, kind] of PREFIX_KINDS) if (name.startsWith(prefix)) return kind;
  if ((name.startsWith('(') && name.endsWith(')')) || name === SYNTHETIC.otherThreads) return 'synthetic';
  return 'native';
}
