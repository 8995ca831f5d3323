// Brendan Gregg's folded stacks, the input of flamegraph.pl, speedscope and inferno:
//
//   line   := frame (";" frame)* " " count "\n"      one line per unique stack, root first
//   frame  := name [" (" file [":" line] ")"]        e.g. "calc (examples/calc.js:21)"
//   count  := decimal integer, samples
//
// With `tiers`, JS frames end in flamegraph.pl's annotation (`--colors=java` colours them):
//   "_[j]" optimized (TurboFan, Maglev)   "_[i]" interpreted (Ignition) or baseline (Sparkplug)
//
// ";" inside a name would split a frame and a line break would split a line, so both are replaced,
// as are other control characters.
// Lines are sorted so equal profiles produce equal files.
//
// A differential profile (sfprof diff, formats/diff.ts) is written in the two-column form of
// difffolded.pl, which flamegraph.pl draws as a differential flame graph:
//
//   line   := frame (";" frame)* " " before " " after "\n"     one line per stack in either profile
//   before, after := samples of the stack in BASE and in NEW, 0 where it is absent
import { SYNTHETIC, type Frame, type Profile, type Tier } from '../../model/profile';
import type { ProfileDiff } from '../diff';

export interface FoldedOptions {
  /** Append "_[j]" / "_[i]" to JS frames by optimization tier. */
  tiers?: boolean;
}

export const TIER_SUFFIX: Record<Tier, string> = {
  optimized: '_[j]',
  maglev: '_[j]',
  baseline: '_[i]',
  interpreted: '_[i]',
};

export function frameLabel(frame: Frame, options: FoldedOptions = {}): string {
  const name = sanitize(frame.name);
  const suffix = options.tiers && frame.tier ? TIER_SUFFIX[frame.tier] : '';
  if (!frame.file) return name + suffix;
  const where = frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
  return `${name} (${sanitize(where)})${suffix}`;
}

export function sanitize(text: string): string {
  // Control characters would also reach terminals through `sfprof top` and the record summary.
  // eslint-disable-next-line no-control-regex
  // U+2028/2029 end lines for JavaScript's regular expressions, so they go like line breaks.
  return text.replace(/;/g, ',').replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/[\x00-\x09\x0b-\x1f\x7f]/g, '?');
}

export function writeFolded(profile: Profile, options: FoldedOptions = {}): string {
  const labels = profile.frames.map((frame) => frameLabel(frame, options));
  // Distinct frames can share a label (one function seen in two code kinds): merge their lines.
  const counts = new Map<string, number>();
  for (const stack of profile.stackList) {
    if (stack.count <= 0) continue;
    // A stack without frames (possible in pprof input) still needs a frame to be a folded line.
    const text = stack.frames.length ? stack.frames.map((id) => labels[id]).join(';') : SYNTHETIC.unknown;
    counts.set(text, (counts.get(text) ?? 0) + stack.count);
  }
  const lines = [...counts].map(([text, count]) => `${text} ${count}`);
  lines.sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}

/** The two-column diff: the before column adds up to BASE's samples, the after column to NEW's. */
export function writeFoldedDiff(diff: ProfileDiff): string {
  const lines = diff.rows.map((row) => `${row.text} ${row.before} ${row.after}`);
  lines.sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}
