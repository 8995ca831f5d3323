// The code map's layer below: the main thread's existing code (existing-code.ts), left packed. A
// listing has thousands of code objects (Node's internals, builtins) and samples hit a few dozen: an
// object, a name and a slot in the map for each was most of what a profile kept at its end, and made
// V8 grow its heap. An entry is made only for listed code a lookup hits or a move takes; the code map
// then holds it like any other, and the slot here is dead. Later adds kill whatever they overlap.
import type { NativeCodeEvent } from '../native/binding';
import { newListing, type PackedListing } from '../native/code-events';
import { EVENT_TYPES } from '../native/binding';
import type { CodeEntry } from './code-map';

export class ListedCode {
  /** Where each listed code object was at the session's start, sorted, none overlapping. */
  private readonly starts: Float64Array;
  private readonly ends: Float64Array;
  /** Its slot in the listing. */
  private readonly at: Uint32Array;
  private readonly live: Uint8Array;
  liveCount = 0;

  /**
   * `starts` sorted, `at` their slots. As adds in address order into an empty map would, code
   * that overlaps the next one is left out (only the previous one kept can overlap the next).
   */
  constructor(
    private readonly listing: PackedListing,
    starts: Float64Array,
    at: Uint32Array,
  ) {
    const count = starts.length;
    this.starts = new Float64Array(count);
    this.ends = new Float64Array(count);
    this.at = new Uint32Array(count);
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const start = starts[i]!;
      if (kept > 0 && this.ends[kept - 1]! > start) kept--;
      this.starts[kept] = start;
      this.ends[kept] = start + Math.max(listing.size[at[i]!]!, 1);
      this.at[kept] = at[i]!;
      kept++;
    }
    this.live = new Uint8Array(kept).fill(1);
    this.liveCount = kept;
    if (kept < count) {
      this.starts = this.starts.subarray(0, kept);
      this.ends = this.ends.subarray(0, kept);
      this.at = this.at.subarray(0, kept);
    }
  }

  /** The live listed code containing `address`, or -1. */
  containing(address: number): number {
    const i = this.lastAtOrBefore(address);
    return i >= 0 && this.live[i] === 1 && address < this.ends[i]! ? i : -1;
  }

  /** The live listed code starting at `address`, or -1. */
  startingAt(address: number): number {
    const i = this.lastAtOrBefore(address);
    return i >= 0 && this.live[i] === 1 && this.starts[i] === address ? i : -1;
  }

  /** Kills the listed code overlapping [start, end); returns how many were live. */
  evict(start: number, end: number): number {
    if (this.liveCount === 0 || end <= this.starts[0]! || start >= this.ends[this.ends.length - 1]!) return 0;
    let i = this.lastAtOrBefore(start);
    const before = this.liveCount;
    if (i >= 0 && this.ends[i]! > start) this.kill(i);
    for (i++; i < this.starts.length && this.starts[i]! < end; i++) this.kill(i);
    return before - this.liveCount;
  }

  /** Listed code `i` as an entry at `start` (where a lookup found it, or where a move takes it); its slot dies. */
  take(i: number, start: number): CodeEntry {
    this.kill(i);
    return listedEntry(this.listing, this.at[i]!, start);
  }

  startOf(i: number): number {
    return this.starts[i]!;
  }

  private kill(i: number): void {
    if (this.live[i] === 0) return;
    this.live[i] = 0;
    this.liveCount--;
  }

  private lastAtOrBefore(address: number): number {
    let low = 0;
    let high = this.starts.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.starts[mid]! <= address) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }
}

/** The entry of the listing's slot `slot`, at `start`. */
export function listedEntry(listing: PackedListing, slot: number, start: number): CodeEntry {
  return {
    start,
    size: listing.size[slot]!,
    name: listing.names.substring(listing.nameFrom[slot]!, listing.nameTo[slot]!),
    scriptId: listing.scriptId[slot]!,
    codeType: listing.codeType[slot]!,
  };
}

/**
 * The listed events among `events` packed as the addon packs them (offline tests, hand-built
 * batches), or undefined when there are none.
 */
export function listingOf(events: readonly NativeCodeEvent[]): PackedListing | undefined {
  let count = 0;
  for (let i = 0; i < events.length; i++) if (events[i]!.type === EVENT_TYPES.listed) count++;
  if (count === 0) return undefined;
  const listing = newListing(count, '');
  const names: string[] = [];
  let offset = 0;
  let slot = 0;
  for (const event of events) {
    if (event.type !== EVENT_TYPES.listed) continue;
    const name = event.name ?? '';
    listing.seq[slot] = event.seq;
    listing.start[slot] = event.start;
    listing.size[slot] = event.size;
    listing.scriptId[slot] = event.scriptId ?? -1;
    listing.codeType[slot] = event.codeType;
    listing.nameFrom[slot] = offset;
    listing.nameTo[slot] = offset + name.length;
    names.push(name);
    offset += name.length + 1;
    slot++;
  }
  listing.names = names.join('\u0000');
  return listing;
}
