// The code that existed when sampling started, rebuilt from a later listing. Listing existing code
// costs V8 milliseconds (it walks the heap and builds every name), so the main thread lists it only
// once a sample needs it: a process that exits before its first sample never pays. By then code has
// moved and new code was added; undoing the events logged since the start, newest first, gives back
// the layout the earliest samples saw. Code that was freed before the listing is in no listing: its
// samples stay unresolved (as they would have with a listing at start only if it was never replaced).
import type { NativeCodeEvent } from '../native/binding';
import { EVENT_TYPES } from '../native/binding';

/** Index of the last listed event, or -1. */
export function lastListed(events: readonly NativeCodeEvent[]): number {
  for (let i = events.length - 1; i >= 0; i--) if (events[i]!.type === EVENT_TYPES.listed) return i;
  return -1;
}

/**
 * The code at the session's start, from the events logged up to the end of a listing (in order),
 * walked back from the newest: a listed event puts its code where it was then, a move takes code back
 * to where it came from, an add removes code that did not exist before it. Moves logged during the
 * listing (the listing allocates, and a GC may run in it) undo like any other.
 *
 * Returns the listed events themselves, in address order, each with `start` set back to where its
 * code was at the start: they become the code map's entries, added before any other event (as if
 * logged at sequence 0). A listing has thousands of events; copying each (once per move undone, once
 * more as an add) was a third of what the first drain allocated. They stay listed events, which
 * replaying ignores, so applying the events in order later does not add them twice.
 */
export function codeAtStart(events: readonly NativeCodeEvent[]): NativeCodeEvent[] {
  const byStart = new Map<number, NativeCodeEvent>();
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.type === EVENT_TYPES.listed) {
      byStart.set(event.start, event);
    } else if (event.type === EVENT_TYPES.moved) {
      const to = event.newStart ?? event.start;
      const moved = byStart.get(to);
      if (!moved) continue;
      byStart.delete(to);
      byStart.set(event.start, moved);
    } else if (event.type === EVENT_TYPES.added) {
      byStart.delete(event.start);
    }
  }
  // In address order: the code map inserts those at the end of its last block, the cheap case.
  // The addresses are sorted as a Float64Array, without a comparator: outside optimized code every
  // address a comparator reads from an object is a new heap number, tens of thousands for a listing.
  const starts = new Float64Array(byStart.size);
  let count = 0;
  byStart.forEach((event, start) => {
    event.start = start;
    starts[count++] = start;
  });
  starts.sort();
  const atStart: NativeCodeEvent[] = new Array(count);
  for (let i = 0; i < count; i++) atStart[i] = byStart.get(starts[i]!)!;
  return atStart;
}
