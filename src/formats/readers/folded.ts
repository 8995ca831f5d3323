// Reads folded stacks (writers/folded.ts, flamegraph.pl's input) back into a Profile. Frames written
// as "name (file:line)" get their file and line back, and "_[j]" / "_[i]" their tier.
import { Profile, type Frame, type Tier } from '../../model/profile';
import { checkTotal, emptyMetadata, inferKind } from './shared';
import { InputError } from './input-error';

// A file is never empty, and a line is a whole number as a writer prints it (no leading zero, at most
// 15 digits so it stays exact): "f ()" is a name and "f (x:007)" has the file "x:007", so both are
// written back as they were read.
const LOCATED = /^(.*) \(([^()]+?)(?::([1-9]\d{0,14}))?\)$/s;
const TIERS: Record<string, Tier> = { '_[j]': 'optimized', '_[i]': 'interpreted' };

export function frameFromLabel(label: string): Frame {
  let text = label;
  let tier: Tier | undefined;
  const suffix = text.slice(-4);
  if (TIERS[suffix]) {
    tier = TIERS[suffix];
    text = text.slice(0, -4);
  }
  const match = LOCATED.exec(text);
  const frame: Frame = match
    ? { name: match[1]!, file: match[2]!, kind: 'js' }
    : { name: text, kind: 'js' };
  if (match?.[3] !== undefined) frame.line = Number(match[3]);
  frame.kind = inferKind(frame.name, frame.file);
  if (tier) frame.tier = tier;
  return frame;
}

/** Parses folded text. Throws InputError naming the first bad line. */
export function readFolded(text: string): Profile {
  const profile = new Profile(emptyMetadata('unknown'), { timelineCapacity: 0 });
  const frameIds = new Map<string, number>();
  let lineNumber = 0;
  for (const rawLine of text.split('\n')) {
    lineNumber++;
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (!line.trim()) continue;
    const space = line.lastIndexOf(' ');
    const countText = line.slice(space + 1);
    // A line may start with its count's space: a stack whose one frame has an empty name.
    if (space < 0 || !/^\d+$/.test(countText)) {
      const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      throw new InputError(`line ${lineNumber}: expected "frame;frame;… count" with a whole-number count, got ${JSON.stringify(shown)}`);
    }
    const count = Number(countText);
    if (!Number.isSafeInteger(count)) throw new InputError(`line ${lineNumber}: count ${countText} is too large`);
    const ids = line
      .slice(0, space)
      .split(';')
      .map((label) => {
        let id = frameIds.get(label);
        if (id === undefined) {
          id = profile.internFrame(frameFromLabel(label));
          frameIds.set(label, id);
        }
        return id;
      });
    profile.addStack(ids, count);
  }
  return checkTotal(profile);
}
