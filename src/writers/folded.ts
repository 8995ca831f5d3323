// Brendan Gregg's folded stacks, the input of flamegraph.pl, speedscope and inferno:
//
//   line   := frame (";" frame)* " " count "\n"      one line per unique stack, root first
//   frame  := name [" (" file [":" line] ")"]        e.g. "calc (examples/calc.js:21)"
//   count  := decimal integer, samples
//
// ";" inside a name would split a frame and a newline would split a line, so both are replaced.
// Lines are sorted so equal profiles produce equal files.
import type { Frame, Profile } from '../profile';

export function frameLabel(frame: Frame): string {
  const name = sanitize(frame.name);
  if (!frame.file) return name;
  const where = frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
  return `${name} (${sanitize(where)})`;
}

export function sanitize(text: string): string {
  return text.replace(/;/g, ',').replace(/[\r\n]+/g, ' ');
}

export function writeFolded(profile: Profile): string {
  const labels = profile.frames.map(frameLabel);
  // Distinct frames can share a label (one function seen in two code kinds): merge their lines.
  const counts = new Map<string, number>();
  for (const stack of profile.stacks.values()) {
    const text = stack.frames.map((id) => labels[id]).join(';');
    counts.set(text, (counts.get(text) ?? 0) + stack.count);
  }
  const lines = [...counts].map(([text, count]) => `${text} ${count}`);
  lines.sort();
  return lines.length ? lines.join('\n') + '\n' : '';
}
