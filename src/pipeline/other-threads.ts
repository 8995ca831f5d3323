// Timer signals that landed on a thread without JS: the itimer's SIGPROF goes to whichever thread uses
// CPU (V8's GC and compiler helpers, the libuv pool, Node's own threads). Each is a stack
//
//   [other threads];<thread name>;<native function>
//
// The name is the thread's comm as Linux keeps it (15 bytes at most, set by the thread itself: Node 22
// names its pool threads "libuv-worker", Node 24 also V8's "V8Worker"; Node 20 leaves every thread
// "node"), kept as is: one frame per name gathers a whole pool, and a name is what `top -H` and
// /proc show. It is read once per thread id; a thread that ended before its first drain, or a system
// without /proc (macOS), gives "thread <tid>". The function comes from the interrupted pc through the
// same symbol table as the JS threads' C++ frames: "symbol [object]", "(native) [object]" between
// symbols, "(unknown)" outside every loaded object (JIT code of a thread that is not sampled).
// Signals the native ring had no room for are `[other threads];(unrecorded)`, so the stacks under
// `[other threads]` always add up to the count of signals on other threads.
import * as fs from 'node:fs';

import type { OtherThreadSample } from '../native/records';
import { SYNTHETIC, type Frame, type Profile } from '../model/profile';

/** The leaf of the signals the native ring had no room for. */
export const UNRECORDED = '(unrecorded)';

/** Linux: the thread's comm, from /proc; undefined for a thread that has ended, or without /proc. */
export function readThreadName(tid: number): string | undefined {
  try {
    const name = fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').replace(/\n$/, '');
    return name === '' ? undefined : name;
  } catch {
    return undefined;
  }
}

export class OtherThreads {
  private readonly names = new Map<number, string>();
  /** Records added over the whole session (each window counts its own: session.ts). */
  recordedTotal = 0;

  constructor(
    private readonly nativeFrame: (address: number) => Frame | undefined,
    private readonly readName: (tid: number) => string | undefined = readThreadName,
  ) {}

  /** The thread's name, read at its first record; "thread <tid>" when it cannot be read. */
  nameOf(tid: number): string {
    let name = this.names.get(tid);
    if (name === undefined) {
      name = this.readName(tid) ?? `thread ${tid}`;
      this.names.set(tid, name);
    }
    return name;
  }

  add(profile: Profile, samples: OtherThreadSample[]): void {
    if (samples.length === 0) return;
    const root = profile.internFrame({ name: SYNTHETIC.otherThreads, kind: 'synthetic' });
    for (const sample of samples) {
      const thread = profile.internFrame({ name: this.nameOf(sample.tid), kind: 'thread' });
      const leaf = profile.internFrame(this.nativeFrame(sample.pc) ?? { name: SYNTHETIC.unknown, kind: 'synthetic' });
      profile.addStack([root, thread, leaf], 1);
    }
    this.recordedTotal += samples.length;
  }
}
