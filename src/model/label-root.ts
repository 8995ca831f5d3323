// The label root (--label-root KEY, SFPROF_LABEL_ROOT, renderProfile's labelRoot): a copy of a profile
// whose stacks start with a synthetic frame naming their value of one label key, "[route=/users/:id]",
// so formats without labels (folded, .cpuprofile) and the flame graphs show the time per value.
// It is a transform of the Profile, done once before any writer, so every format roots alike.
//
//   main thread      [route=/users/:id];main;handle;…
//   worker           [worker 1 w.js];[route=/users/:id];crunch;…   (the thread frame stays the root:
//                                                                   thread pickers and pprof's thread
//                                                                   label read it there)
//   without the key  main;tick;…                                   (no root frame)
import { Profile, SYNTHETIC, type Frame } from './profile';

/** The synthetic frame's name for one label: "[key=value]". */
export function labelRootName(key: string, value: string): string {
  return `[${key}=${value}]`;
}

/** How many frames at a stack's root name its thread: a worker's frame, or "[other threads]" and its thread. */
function threadRootLength(frames: number[], all: Frame[]): number {
  const first = all[frames[0]!];
  if (first?.kind === 'thread') return 1;
  if (first?.name === SYNTHETIC.otherThreads) return all[frames[1]!]?.kind === 'thread' ? 2 : 1;
  return 0;
}

/** A copy of `profile` with each stack rooted by its value of label `key`; stacks keep their label sets. */
export function rootByLabel(profile: Profile, key: string): Profile {
  const rooted = new Profile(
    { ...profile.metadata, drops: { ...profile.metadata.drops } },
    { timeline: profile.timeline.copy() },
  );
  const stackIds = new Array<number>(profile.stackList.length);
  const frameIds = profile.frames.map((frame) => rooted.internFrame(frame));
  const labelIds = profile.labelSets.map((labels) => rooted.internLabels(labels));
  const rootFrames = new Map<string, number>();
  for (const stack of profile.stackList) {
    const frames = stack.frames.map((id) => frameIds[id]!);
    const labels = profile.labelSets[stack.labels];
    // Own keys only: "constructor" is a label key like any other.
    const value = labels && Object.prototype.hasOwnProperty.call(labels, key) ? labels[key] : undefined;
    if (value !== undefined) {
      let root = rootFrames.get(value);
      if (root === undefined) {
        root = rooted.internFrame({ name: labelRootName(key, value), kind: 'synthetic' });
        rootFrames.set(value, root);
      }
      frames.splice(threadRootLength(stack.frames, profile.frames), 0, root);
    }
    // Added as one unweighted sample, taken back, then given the stack's own counts: measured CPU
    // time stays measured.
    const copy = rooted.addStack(frames, 1, undefined, undefined, labelIds[stack.labels]!)!;
    copy.count += stack.count - 1;
    copy.unweighted -= 1;
    copy.cpuNs += stack.cpuNs;
    copy.unweighted += stack.unweighted;
    stackIds[stack.id] = copy.id;
  }
  // Frames equal in all but id are one frame here, so two stacks can become one.
  rooted.timeline.mapStackIds((id) => stackIds[id] ?? id);
  return rooted;
}
