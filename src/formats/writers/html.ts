// A self-contained HTML flame graph: templates/flamegraph.html with the profile's merged call tree
// embedded as JSON. The page needs no network; it draws on a canvas and treats all names as text.
//
// The data sits in <script type="application/json" id="sfprof-data">, one object:
//
//   field     value
//   version   1
//   meta      {total, intervalUs, durationNs, startTime, engine, lines, drops: {ringFull, nonJsThread,
//             truncated, busy}}; total = samples in the profile
//   frames    [[name, where, cls], ...]  where = "file:line", "file" or ""; cls = colour class: js-interpreted,
//             js-baseline, js-maglev, js-optimized, js (tier unknown), node, builtin, bytecode-handler,
//             regexp, native, wasm, gc, synthetic, js-inlined (a function inlined into optimized code). Frames with equal (name, where, cls) are one entry,
//             numbered in order of first use in `nodes`.
//   nodes     flat array, 4 numbers per node: frame, parent, total, self
//             node 0 is the root (frame -1, parent -1, total = meta.total); the rest are in pre-order,
//             so a parent comes before its children; siblings are sorted by name, then where, then cls.
//             total = samples in the node's subtree; self = samples whose stack ends at the node.
//
// Each frame and node starts a line so the data diffs well. In the JSON text "<" is written \u003c
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
  const source = template();
  const title = TITLE_PATTERN.exec(source);
  if (!title) throw new Error(`${templatePath()} lacks its <title>`);
  // Spliced, not String.replace: a name such as "$&" must not be read as a replacement pattern.
  const titleTag = `<title>${escapeHtml(options.title ?? DEFAULT_TITLE)}</title>`;
  const page = source.slice(0, title.index) + titleTag + source.slice(title.index + title[0].length);
  const dataAt = page.indexOf(DATA_PLACEHOLDER);
  if (dataAt < 0 || page.indexOf(DATA_PLACEHOLDER, dataAt + 1) >= 0) {
    throw new Error(`${templatePath()} needs its data placeholder exactly once`);
  }
  const data = `<script type="application/json" id="sfprof-data">${htmlData(profile)}</script>`;
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
  // A worker's root frame is drawn like the other frames sfprof makes up.
  if (frame.kind === 'thread') return 'synthetic';
  return frame.kind;
}

function frameWhere(frame: Frame): string {
  if (!frame.file) return '';
  return frame.line !== undefined ? `${frame.file}:${frame.line}` : frame.file;
}

/** The embedded JSON text, already safe inside a script element. */
export function htmlData(profile: Profile): string {
  // Frames that look the same in the graph are one entry, so their stacks merge.
  const entries: [string, string, string][] = [];
  const entryIds = new Map<string, number>();
  const entryOf = profile.frames.map((frame) => {
    const entry: [string, string, string] = [frame.name, frameWhere(frame), frameClass(frame)];
    const key = entry.join('\u0000');
    let id = entryIds.get(key);
    if (id === undefined) {
      id = entries.length;
      entries.push(entry);
      entryIds.set(key, id);
    }
    return id;
  });

  // The merged tree in flat arrays, node 0 the root; a child is found by (parent, entry).
  const nodeEntry = [-1];
  const nodeTotal = [0];
  const nodeSelf = [0];
  const nodeParent = [-1];
  const childOf = new Map<number, number>();
  const width = entries.length;
  for (const stack of profile.stackList) {
    let node = 0;
    nodeTotal[0]! += stack.count;
    for (const frameId of stack.frames) {
      const entry = entryOf[frameId]!;
      const key = node * width + entry;
      let child = childOf.get(key);
      if (child === undefined) {
        child = nodeEntry.length;
        childOf.set(key, child);
        nodeEntry.push(entry);
        nodeTotal.push(0);
        nodeSelf.push(0);
        nodeParent.push(node);
      }
      nodeTotal[child]! += stack.count;
      node = child;
    }
    nodeSelf[node]! += stack.count;
  }

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

  const frames: string[] = [];
  const finalId = new Int32Array(entries.length).fill(-1);
  const index = new Int32Array(count); // tree node -> position in the output
  const nodeLines: string[] = [];
  const work = [0];
  while (work.length) {
    const node = work.pop()!;
    const entry = nodeEntry[node]!;
    let frame = -1;
    if (entry >= 0) {
      if (finalId[entry]! < 0) {
        finalId[entry] = frames.length;
        frames.push(JSON.stringify(entries[entry]));
      }
      frame = finalId[entry]!;
    }
    index[node] = nodeLines.length;
    const parent = node === 0 ? -1 : index[nodeParent[node]!]!;
    nodeLines.push(`${frame},${parent},${nodeTotal[node]},${nodeSelf[node]}`);
    for (let c = firstChild[node + 1]! - 1; c >= firstChild[node]!; c--) work.push(children[c]!);
  }

  const { metadata } = profile;
  const meta = {
    total: nodeTotal[0],
    intervalUs: metadata.intervalUs,
    durationNs: metadata.durationNs,
    startTime: metadata.startTime,
    engine: metadata.engine,
    lines: metadata.lines,
    drops: metadata.drops,
  };
  const json =
    `{"version":1,\n"meta":${JSON.stringify(meta)},\n` +
    `"frames":[\n${frames.join(',\n')}],\n` +
    `"nodes":[\n${nodeLines.join(',\n')}]}`;
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
