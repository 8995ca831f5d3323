// A self-contained HTML viewer: templates/flamegraph.html with the profile's merged call tree
// embedded as JSON. The page needs no network; it draws on canvases and treats all names as text.
//
// The data sits in <script type="application/json" id="sfprof-data">, one object:
//
//   field     value
//   version   2
//   meta      {total, intervalUs, durationNs, startTime, engine, lines, drops: {ringFull, nonJsThread,
//             truncated, busy}}; total = samples in the profile. A diff page adds
//             diff: {baseTotal, baseName, newName}.
//   frames    [[name, where, cls], ...]  where = "file:line", "file" or ""; cls = colour class: js-interpreted,
//             js-baseline, js-maglev, js-optimized, js (tier unknown), node, builtin, bytecode-handler,
//             regexp, native, wasm, gc, synthetic, js-inlined (a function inlined into optimized code),
//             thread (the root frame of a worker's or another thread's stacks). Frames with equal
//             (name, where, cls) are one entry, numbered in order of first use in `nodes`.
//   nodes     flat array, 3 numbers per node: frame, up, self, in pre-order (a parent before its
//             children; siblings sorted by name, then where, then cls). Node 0 is the root (frame -1).
//             depth(i) = depth(i - 1) + 1 - up: a first child has up 0, the next sibling up 1; the
//             parent is the nearest earlier node one level up. self = samples whose stack ends at the
//             node (in a diff page: the new profile's); a node's total is the sum over its subtree.
//   timeline  {stride, t, n} or null (no sample times, as in profiles read from folded or pprof):
//             n[j] = the node of the j-th kept sample, t[j] = microseconds since the previous kept
//             one (t[0]: since the start); each kept sample stands for `stride` samples. With
//             labels, l[j] = the label set (index in labels.sets) of the j-th kept sample.
//   base      diff page only: the old profile's self samples per node (same indexes as nodes).
//   labels    only when some sample has labels (withLabels; never on a diff page):
//             {sets: [[[key, value], ...], ...], self: [node, set, count, ...]}. sets: the label
//             sets the samples were taken under, keys sorted, [] for samples without labels;
//             self: 3 numbers per (node, set) with samples, by node then set: the node's self
//             samples under that set (a node's counts add up to its self in nodes).
//
// Depth steps instead of parent indexes keep the numbers small: a page of 200,000 stacks is half
// the size. Each frame starts a line so the data diffs well. In the JSON text "<" is written \u003c
// and U+2028/U+2029 as escapes, so no name can close the script element.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT } from '../../common/package-root';
import type { Frame, Profile } from '../../model/profile';

const DATA_PLACEHOLDER = '<script type="application/json" id="sfprof-data">null</script>';
const TITLE_PATTERN = /<title>[^<]*<\/title>/;
const DEFAULT_TITLE = 'sfprof flame graph';

let templateCache: string | undefined;

export function templatePath(): string {
  return path.join(PACKAGE_ROOT, 'templates', 'flamegraph.html');
}

function template(): string {
  templateCache ??= readFileSync(templatePath(), 'utf8');
  return templateCache;
}

export interface HtmlOptions {
  title?: string;
}

export function writeHtml(profile: Profile, options: HtmlOptions = {}): string {
  return fillTemplate(htmlData(profile), options.title ?? DEFAULT_TITLE);
}

function fillTemplate(json: string, titleText: string): string {
  const source = template();
  const title = TITLE_PATTERN.exec(source);
  if (!title) throw new Error(`${templatePath()} lacks its <title>`);
  // Spliced, not String.replace: a name such as "$&" must not be read as a replacement pattern.
  const titleTag = `<title>${escapeHtml(titleText)}</title>`;
  const page = source.slice(0, title.index) + titleTag + source.slice(title.index + title[0].length);
  const dataAt = page.indexOf(DATA_PLACEHOLDER);
  if (dataAt < 0 || page.indexOf(DATA_PLACEHOLDER, dataAt + 1) >= 0) {
    throw new Error(`${templatePath()} needs its data placeholder exactly once`);
  }
  const data = `<script type="application/json" id="sfprof-data">${json}</script>`;
  return page.slice(0, dataAt) + data + page.slice(dataAt + DATA_PLACEHOLDER.length);
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Colour class of a frame, see the field table above. */
export function frameClass(frame: Frame): string {
  // A function V8 inlined into optimized code (runs in its caller's code object).
  if (frame.inlined && (frame.kind === 'js' || frame.kind === 'node')) return 'js-inlined';
  if (frame.kind === 'js') return frame.tier ? `js-${frame.tier}` : 'js';
  return frame.kind;
}

function frameWhere(frame: Frame): string {
  if (!frame.file) return '';
  return frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
}

/** The embedded JSON text of one profile, already safe inside a script element. */
export function htmlData(profile: Profile): string {
  const tree = mergedTree([profile]);
  const labels = labelsData(profile, tree);
  return pageJson(tree, profileMeta(profile, tree.totals[0]!), timelineJson(profile, tree, labels?.setOfStack), undefined, labels?.json);
}

/** The labels field (see the table above), and each stack's set index for the timeline; undefined without labels. */
function labelsData(profile: Profile, tree: MergedTree): { json: string; setOfStack: Int32Array } | undefined {
  if (!profile.stackList.some((stack) => stack.count > 0 && stack.labels !== 0)) return undefined;
  const setIndex = new Map<number, number>();
  const sets: [string, string][][] = [];
  const setOfStack = new Int32Array(profile.stackList.length);
  for (const stack of profile.stackList) {
    let index = setIndex.get(stack.labels);
    if (index === undefined) {
      index = sets.length;
      setIndex.set(stack.labels, index);
      const labels = profile.labelSets[stack.labels] ?? {};
      sets.push(Object.keys(labels).sort().map((key) => [key, labels[key]!]));
    }
    setOfStack[stack.id] = index;
  }
  const stackNode = tree.stackNode[0]!;
  const counts = new Map<number, number>(); // node * sets + set -> self samples
  for (const stack of profile.stackList) {
    if (stack.count <= 0) continue;
    const key = stackNode[stack.id]! * sets.length + setOfStack[stack.id]!;
    counts.set(key, (counts.get(key) ?? 0) + stack.count);
  }
  const self: number[] = [];
  for (const key of [...counts.keys()].sort((a, b) => a - b)) {
    self.push(Math.floor(key / sets.length), key % sets.length, counts.get(key)!);
  }
  return { json: `{"sets":${JSON.stringify(sets)},\n"self":[${self.join(',')}]}`, setOfStack };
}

/** The embedded JSON text of a diff page: `next`'s samples, with `base`'s per node beside them. */
export function htmlDiffData(base: Profile, next: Profile, names: { baseName?: string; newName?: string } = {}): string {
  const tree = mergedTree([next, base], true);
  const meta = {
    ...profileMeta(next, tree.totals[0]!),
    diff: { baseTotal: tree.totals[1]!, baseName: names.baseName ?? 'before', newName: names.newName ?? 'after' },
  };
  return pageJson(tree, meta, 'null', tree.self[1]!);
}

export interface DiffHtmlOptions extends HtmlOptions {
  /** How the page names the old and the new profile (their file names, say). */
  baseName?: string;
  newName?: string;
}

/** A differential page: the frames of both profiles, coloured by the change in their share. */
export function writeDiffHtml(base: Profile, next: Profile, options: DiffHtmlOptions = {}): string {
  const title = options.title ?? `sfprof diff: ${options.baseName ?? 'before'} \u2192 ${options.newName ?? 'after'}`;
  return fillTemplate(htmlDiffData(base, next, options), title);
}

/** The call tree several profiles merge into: node per (parent, entry), self samples per profile. */
interface MergedTree {
  entries: [string, string, string][];
  /** Tree node order: the pre-order walk's output, node 0 the root. */
  nodeEntry: number[];
  nodeUp: number[];
  /** Per profile, self samples per output node. */
  self: number[][];
  totals: number[];
  /** Per profile, stack id -> output node of its leaf. */
  stackNode: Int32Array[];
}

/**
 * With `tierless`, a JS function is one frame whatever tier ran it or whether it was inlined: two
 * runs of one program seldom optimize the same functions, and a diff should compare the functions.
 */
function mergedTree(profiles: Profile[], tierless = false): MergedTree {
  // Frames that look the same in the graph are one entry, so their stacks merge.
  const entries: [string, string, string][] = [];
  const entryIds = new Map<string, number>();
  const entryOf = profiles.map((profile) =>
    profile.frames.map((frame) => {
      const cls = frameClass(frame);
      const entry: [string, string, string] = [frame.name, frameWhere(frame), tierless && cls.startsWith('js-') ? 'js' : cls];
      const key = entry.join('\u0000');
      let id = entryIds.get(key);
      if (id === undefined) {
        id = entries.length;
        entries.push(entry);
        entryIds.set(key, id);
      }
      return id;
    }),
  );

  // The tree in flat arrays, node 0 the root; a child is found by (parent, entry).
  const nodeEntry = [-1];
  const nodeParent = [-1];
  const treeSelf = profiles.map(() => [0]);
  const childOf = new Map<number, number>();
  const width = entries.length;
  const stackLeaf = profiles.map((profile, side) => {
    const leaves = new Int32Array(profile.stackList.length);
    for (const stack of profile.stackList) {
      let node = 0;
      for (const frameId of stack.frames) {
        const entry = entryOf[side]![frameId]!;
        const key = node * width + entry;
        let child = childOf.get(key);
        if (child === undefined) {
          child = nodeEntry.length;
          childOf.set(key, child);
          nodeEntry.push(entry);
          nodeParent.push(node);
          for (const self of treeSelf) self.push(0);
        }
        node = child;
      }
      treeSelf[side]![node]! += stack.count;
      leaves[stack.id] = node;
    }
    return leaves;
  });

  // Children lists, each sorted, then a pre-order walk without recursion (stacks run deep).
  const count = nodeEntry.length;
  const firstChild = new Int32Array(count + 1);
  for (let i = 1; i < count; i++) firstChild[nodeParent[i]! + 1]!++;
  for (let i = 0; i < count; i++) firstChild[i + 1]! += firstChild[i]!;
  const children = new Int32Array(Math.max(0, count - 1));
  const fill = firstChild.slice(0, count);
  for (let i = 1; i < count; i++) children[fill[nodeParent[i]!]!++] = i;
  const rank = entryRank(entries);
  const byRank = (a: number, b: number): number => rank[nodeEntry[a]!]! - rank[nodeEntry[b]!]!;
  for (let i = 0; i < count; i++) {
    if (firstChild[i + 1]! - firstChild[i]! > 1) children.subarray(firstChild[i], firstChild[i + 1]).sort(byRank);
  }

  // Entries are renumbered in order of first use, so the frames table reads top-down like the tree.
  const finalId = new Int32Array(entries.length).fill(-1);
  const usedEntries: [string, string, string][] = [];
  const out = new Int32Array(count); // tree node -> output node
  const depth = new Int32Array(count);
  const outEntry: number[] = [];
  const outUp: number[] = [];
  let previousDepth = -1;
  const work = [0];
  while (work.length) {
    const node = work.pop()!;
    const entry = nodeEntry[node]!;
    let frame = -1;
    if (entry >= 0) {
      if (finalId[entry]! < 0) {
        finalId[entry] = usedEntries.length;
        usedEntries.push(entries[entry]!);
      }
      frame = finalId[entry]!;
    }
    if (node !== 0) depth[node] = depth[nodeParent[node]!]! + 1;
    out[node] = outEntry.length;
    outEntry.push(frame);
    outUp.push(previousDepth + 1 - depth[node]!);
    previousDepth = depth[node]!;
    for (let c = firstChild[node + 1]! - 1; c >= firstChild[node]!; c--) work.push(children[c]!);
  }
  const self = treeSelf.map((perNode) => {
    const ordered = new Array<number>(count);
    for (let node = 0; node < count; node++) ordered[out[node]!] = perNode[node]!;
    return ordered;
  });
  return {
    entries: usedEntries,
    nodeEntry: outEntry,
    nodeUp: outUp,
    self,
    totals: self.map((perNode) => perNode.reduce((sum, n) => sum + n, 0)),
    stackNode: stackLeaf.map((leaves) => leaves.map((node) => out[node]!)),
  };
}

function profileMeta(profile: Profile, total: number): Record<string, unknown> {
  const { metadata } = profile;
  return {
    total,
    intervalUs: metadata.intervalUs,
    durationNs: metadata.durationNs,
    startTime: metadata.startTime,
    engine: metadata.engine,
    lines: metadata.lines,
    drops: metadata.drops,
  };
}

/** Most timeline entries a page holds: 256 Ki, about 2 MB of text. Longer timelines are thinned. */
export const MAX_PAGE_TIMELINE = 1 << 18;

function timelineJson(profile: Profile, tree: MergedTree, setOfStack?: Int32Array): string {
  const timeline = profile.timeline;
  if (timeline.length === 0) return 'null';
  const step = Math.ceil(timeline.length / MAX_PAGE_TIMELINE);
  const kept: number[] = [];
  for (let i = 0; i < timeline.length; i += step) kept.push(i);
  // Threads drain in turns, so entries can be out of order by a drain period: deltas need order.
  kept.sort((a, b) => timeline.timeNsAt(a) - timeline.timeNsAt(b) || a - b);
  const stackNode = tree.stackNode[0]!;
  const nodes: number[] = [];
  const deltas: number[] = [];
  const sets: number[] = [];
  let previousUs = 0;
  for (const i of kept) {
    const us = Math.max(previousUs, Math.round(timeline.timeNsAt(i) / 1000));
    deltas.push(us - previousUs);
    previousUs = us;
    nodes.push(stackNode[timeline.stackIdAt(i)]!);
    if (setOfStack) sets.push(setOfStack[timeline.stackIdAt(i)]!);
  }
  const labels = setOfStack ? `,\n"l":[${sets.join(',')}]` : '';
  return `{"stride":${timeline.stride * step},\n"t":[${deltas.join(',')}],\n"n":[${nodes.join(',')}]${labels}}`;
}

function pageJson(tree: MergedTree, meta: Record<string, unknown>, timeline: string, base?: number[], labels?: string): string {
  const self = tree.self[0]!;
  const nodeLines = new Array<string>(tree.nodeEntry.length);
  for (let i = 0; i < nodeLines.length; i++) nodeLines[i] = `${tree.nodeEntry[i]},${tree.nodeUp[i]},${self[i]}`;
  const json =
    `{"version":2,\n"meta":${JSON.stringify(meta)},\n` +
    `"frames":[\n${tree.entries.map((entry) => JSON.stringify(entry)).join(',\n')}],\n` +
    `"nodes":[\n${nodeLines.join(',\n')}],\n` +
    `"timeline":${timeline}` +
    (base ? `,\n"base":[${base.join(',')}]` : '') +
    (labels ? `,\n"labels":${labels}` : '') +
    '}';
  return escapeScriptJson(json);
}

/** Position of each entry when sorted by name, then where, then cls (code-unit order, not locale). */
function entryRank(entries: [string, string, string][]): Int32Array {
  const order = entries.map((_, i) => i);
  order.sort((a, b) => {
    const x = entries[a]!;
    const y = entries[b]!;
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
    return 0;
  });
  const rank = new Int32Array(entries.length);
  order.forEach((entry, position) => (rank[entry] = position));
  return rank;
}

/** Makes JSON text safe as the content of a script element; JSON.parse reads it back unchanged. */
export function escapeScriptJson(json: string): string {
  return json.replace(/[<\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
