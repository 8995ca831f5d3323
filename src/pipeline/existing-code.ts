// The code that existed when sampling started, rebuilt from a later listing. Listing existing code
// costs V8 milliseconds (it walks the heap and builds every name), so the main thread lists it only
// once a sample needs it: a process that exits before its first sample never pays. By then code has
// moved and new code was added; undoing the events logged since the start, newest first, gives back
// the layout the earliest samples saw. Code that was freed before the listing is in no listing: its
// samples stay unresolved (as they would have with a listing at start only if it was never replaced).
import type { NativeCodeEvent } from '../native/binding';
import type { PackedListing } from '../native/code-events';
import { EVENT_TYPES } from '../native/binding';

/**
 * The code at the session's start, from a listing and the events logged up to its end (in order),
 * walked back from the newest: a listed event puts its code where it was then, a move takes code back
 * to where it came from, an add removes code that did not exist before it. Moves logged during the
 * listing (the listing allocates, and a GC may run in it) undo like any other. Listed events among
 * `events` are skipped: they are the listing's.
 *
 * Returns where each listed code object that existed at the start was then, in address order, and
 * its slot in the listing: the code map's layer below its entries (listed-code.ts), as if logged at
 * sequence 0. Replaying the events in order later ignores listed ones, so none is added twice.
 */
export function codeAtStart(events: readonly NativeCodeEvent[], listing: PackedListing): { starts: Float64Array; at: Uint32Array } {
  const byStart = new Map<number, number>();
  let slot = listing.count - 1;
  const lastSeq = listing.seq[slot]!;
  let next = events.length - 1;
  while (next >= 0 && events[next]!.seq > lastSeq) next--;
  while (slot >= 0 || next >= 0) {
    if (slot >= 0 && (next < 0 || listing.seq[slot]! > events[next]!.seq)) {
      byStart.set(listing.start[slot]!, slot);
      slot--;
      continue;
    }
    const event = events[next--]!;
    if (event.type === EVENT_TYPES.moved) {
      const to = event.newStart ?? event.start;
      const moved = byStart.get(to);
      if (moved === undefined) continue;
      byStart.delete(to);
      byStart.set(event.start, moved);
    } else if (event.type === EVENT_TYPES.added) {
      byStart.delete(event.start);
    }
  }
  // The addresses are sorted as a Float64Array, without a comparator: outside optimized code every
  // address a comparator reads from an object is a new heap number, tens of thousands for a listing.
  const starts = new Float64Array(byStart.size);
  let count = 0;
  byStart.forEach((_slot, start) => {
    starts[count++] = start;
  });
  starts.sort();
  const at = new Uint32Array(count);
  for (let i = 0; i < count; i++) at[i] = byStart.get(starts[i]!)!;
  return { starts, at };
}
