// Reads folded stacks back and summarises them: the numbers `npm run demo` and the CLI print.

export interface FoldedStack {
  frames: string[];
  count: number;
}

export function parseFolded(text: string): FoldedStack[] {
  const stacks: FoldedStack[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const space = line.lastIndexOf(' ');
    const count = Number(line.slice(space + 1));
    if (space <= 0 || !Number.isInteger(count) || count < 0) {
      throw new Error(`not a folded-stacks line: ${JSON.stringify(line.slice(0, 120))}`);
    }
    stacks.push({ frames: line.slice(0, space).split(';'), count });
  }
  return stacks;
}

export interface FunctionTime {
  frame: string;
  samples: number;
  share: number;
}

/** Functions ranked by self samples (leaf frame) or total samples (anywhere on the stack). */
export function rankFrames(stacks: FoldedStack[], by: 'self' | 'total', limit = 10): FunctionTime[] {
  const totals = new Map<string, number>();
  let all = 0;
  for (const stack of stacks) {
    all += stack.count;
    const frames = by === 'self' ? stack.frames.slice(-1) : new Set(stack.frames);
    for (const frame of frames) totals.set(frame, (totals.get(frame) ?? 0) + stack.count);
  }
  return [...totals]
    .map(([frame, samples]) => ({ frame, samples, share: all ? samples / all : 0 }))
    .sort((a, b) => b.samples - a.samples || (a.frame < b.frame ? -1 : 1))
    .slice(0, limit);
}

/** Samples under each distinct frame that directly follows a frame matching `parent`. */
export function childrenOf(stacks: FoldedStack[], parent: (frame: string) => boolean): Map<string, number> {
  const children = new Map<string, number>();
  for (const stack of stacks) {
    const index = stack.frames.findIndex(parent);
    if (index < 0 || index + 1 >= stack.frames.length) continue;
    const child = stack.frames[index + 1]!;
    children.set(child, (children.get(child) ?? 0) + stack.count);
  }
  return children;
}
