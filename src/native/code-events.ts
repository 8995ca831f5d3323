// Code events as the binding hands them over (PackedCodeEvents), unpacked for the pipeline: one
// object per event, but for the listing of existing code, which stays packed (listed-code.ts).
import { EVENT_FIELDS, EVENT_TYPES, EVENT_WORDS, type NativeCodeEvent, type PackedCodeEvents } from './binding';
import { smallInt } from './records';

/**
 * Listed code events left packed, one slot per event in each array: a listing has thousands, and
 * samples hit a few dozen of them (listed-code.ts makes an entry of one only when a lookup hits it).
 * A name is `names.substring(nameFrom[i], nameTo[i])`. Listed events carry no line positions.
 */
export interface PackedListing {
  count: number;
  seq: Float64Array;
  start: Float64Array;
  size: Float64Array;
  scriptId: Float64Array;
  codeType: Uint8Array;
  names: string;
  nameFrom: Uint32Array;
  nameTo: Uint32Array;
}

/** Unpacks the binding's code events into one object each. */
export function unpackEvents(packed: PackedCodeEvents): NativeCodeEvent[] {
  return unpack(packed, false).events;
}

/** Unpacks the binding's code events into one object each, but for the listed ones, left packed. */
export function unpackCodeEvents(packed: PackedCodeEvents): { events: NativeCodeEvent[]; listed?: PackedListing } {
  return unpack(packed, true);
}

function unpack(packed: PackedCodeEvents, packListed: boolean): { events: NativeCodeEvent[]; listed?: PackedListing } {
  const { numbers, positions, names } = packed;
  const F = EVENT_FIELDS;
  const total = Math.floor(numbers.length / EVENT_WORDS);
  let listedCount = 0;
  if (packListed) for (let at = 0; at + EVENT_WORDS <= numbers.length; at += EVENT_WORDS) if (numbers[at + F.type] === EVENT_TYPES.listed) listedCount++;
  const listed = listedCount > 0 ? newListing(listedCount, names) : undefined;
  // Sized once: grown by push, the array of a listing's thousands of events was copied a dozen times.
  const events: NativeCodeEvent[] = new Array(total - listedCount);
  let count = 0;
  let listedAt = 0;
  // Names are read off the joined string as they come: split() would make a string of every listed name.
  let nameFrom = 0;
  let position = 0;
  for (let at = 0; at + EVENT_WORDS <= numbers.length; at += EVENT_WORDS) {
    const type = smallInt(numbers[at + F.type]!);
    const seq = smallInt(numbers[at + F.seq]!);
    const codeType = smallInt(numbers[at + F.codeType]!);
    const start = numbers[at + F.start]!;
    const size = smallInt(numbers[at + F.size]!);
    if (type === EVENT_TYPES.added || type === EVENT_TYPES.listed) {
      // As split('\0') would: the text after the last separator is a name, past it there is none.
      const separator = names.indexOf('\u0000', nameFrom);
      const nameTo = nameFrom > names.length ? nameFrom : separator < 0 ? names.length : separator;
      const scriptId = smallInt(numbers[at + F.scriptId]!);
      if (type === EVENT_TYPES.listed && listed) {
        const i = listedAt++;
        listed.seq[i] = seq;
        listed.start[i] = start;
        listed.size[i] = size;
        listed.scriptId[i] = scriptId;
        listed.codeType[i] = codeType;
        listed.nameFrom[i] = nameFrom;
        listed.nameTo[i] = nameTo;
      } else {
        // One literal per type, each with all of its fields: properties added after creation would not
        // fit in the object and cost each event a second allocation.
        events[count++] = { seq, type, codeType, start, size, name: names.substring(nameFrom, nameTo), scriptId };
      }
      nameFrom = nameTo + 1;
    } else if (type === EVENT_TYPES.moved) {
      events[count++] = { seq, type, codeType, start, size, newStart: numbers[at + F.newStart]! };
    } else {
      const end = position + numbers[at + F.positionCount]!;
      events[count++] = { seq, type, codeType, start, size, positions: positions.subarray(position, end) };
      position = end;
    }
  }
  return { events, listed };
}

/** An empty listing of `count` slots whose names are in `names`. */
export function newListing(count: number, names: string): PackedListing {
  return {
    count,
    seq: new Float64Array(count),
    start: new Float64Array(count),
    size: new Float64Array(count),
    scriptId: new Float64Array(count),
    codeType: new Uint8Array(count),
    names,
    nameFrom: new Uint32Array(count),
    nameTo: new Uint32Array(count),
  };
}
