// Differential profiles (`sfprof diff BASE NEW`): the stacks of two profiles matched by what they
// show, so a change can be measured after it is made (Brendan Gregg's "optimize, then compare").
// The folded and pprof diff writers both read the rows made here.
//
// Matching rule. A frame is its folded label without tier suffix (writers/folded.ts frameLabel):
//
//   name                      when the file is unknown: "Builtin:ToString", "(garbage collector)"
//   name " (" file ")"        when the line is unknown
//   name " (" file ":" line ")"
//
// and a stack is its labels joined by ";", root first: exactly the line the folded writer writes.
// The kind shows only through name and file (the readers infer it from them), so a folded file,
// a pprof and a .cpuprofile of one run match line for line. What a label leaves out does not split a
// stack: the tier (a function optimized in one run and interpreted in the other still matches), the
// column, inlining, a kind the name does not show. Line mode does split: its frames show the
// executing line, the default mode the function's first line, so compare profiles of one mode.
import { SYNTHETIC, sampleWeightNs, stackCpuNs, type Frame, type Profile } from '../model/profile';
import { frameLabel } from './writers/folded';

export interface DiffRow {
  /** The stack as the folded writer writes it: frame labels joined by ";", root first. */
  text: string;
  /** The stack's frames, root first: from NEW where it has the stack, else from BASE. */
  frames: Frame[];
  /** Samples of the stack in BASE (0 where absent). */
  before: number;
  /** Samples of the stack in NEW (0 where absent). */
  after: number;
  /** CPU time of those samples, ns, measured or estimated as the pprof writer does. */
  beforeCpuNs: number;
  afterCpuNs: number;
}

export interface ProfileDiff {
  /** One row per stack present in either profile, sorted by text. */
  rows: DiffRow[];
  /**
   * Both profiles say what CPU time a sample stands for. A profile read from folded stacks does not:
   * a CPU difference against it would be all one side, so only counts are compared then.
   */
  timed: boolean;
  base: Profile;
  next: Profile;
}

/** The label of a stack without frames, as the folded writer writes it (possible in pprof input). */
const EMPTY_STACK = SYNTHETIC.unknown;

export function diffProfiles(base: Profile, next: Profile): ProfileDiff {
  const rows = new Map<string, DiffRow>();
  const add = (profile: Profile, side: 'before' | 'after'): void => {
    const labels = profile.frames.map((frame) => frameLabel(frame));
    for (const stack of profile.stackList) {
      if (stack.count <= 0) continue;
      const text = stack.frames.length ? stack.frames.map((id) => labels[id]).join(';') : EMPTY_STACK;
      let row = rows.get(text);
      if (!row) {
        const frames = stack.frames.map((id) => profile.frames[id]!);
        row = { text, frames, before: 0, after: 0, beforeCpuNs: 0, afterCpuNs: 0 };
        rows.set(text, row);
      } else if (side === 'after' && row.after === 0) {
        // NEW's frames describe the code as it is now (its tiers and inlining, for pprof's locations).
        row.frames = stack.frames.map((id) => profile.frames[id]!);
      }
      const cpuNs = stackCpuNs(stack, profile.metadata);
      if (side === 'before') {
        row.before += stack.count;
        row.beforeCpuNs += cpuNs;
      } else {
        row.after += stack.count;
        row.afterCpuNs += cpuNs;
      }
    }
  };
  add(base, 'before');
  add(next, 'after');
  const sorted = [...rows.values()].sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return {
    rows: sorted,
    timed: sampleWeightNs(base.metadata) > 0 && sampleWeightNs(next.metadata) > 0,
    base,
    next,
  };
}
