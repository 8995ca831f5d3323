// Address → code object, rebuilt by replaying V8's code events in order.
//
// Entries never overlap: V8 sends no "code removed" events, so an add evicts whatever it overlaps
// (that memory was freed and reused). Moves re-key an entry. V8 logs a code object's line positions
// just before its add, so a table waits for the next add at its address (an entry still there is
// the old code the add is about to evict). The code that existed at the start lies below the entries,
// packed (listed-code.ts), and becomes an entry when a lookup hits it or a move takes it.
import type { NativeCodeEvent } from '../native/binding';
import type { PackedListing } from '../native/code-events';
import { ListedCode, listedEntry } from './listed-code';

export const enum CodeType {
  Bytecode = 0,
  Jit = 1,
  Wasm = 2,
}

export interface CodeEntry {
  start: number;
  size: number;
  name: string;
  scriptId: number;
  codeType: number;
  /** (pc offset, script offset) pairs, in pc order. */
  positions?: Uint32Array;
}

// Entries live in sorted blocks of at most 2 × BLOCK so an add or move costs O(log n + BLOCK), not
// O(n): an app that keeps compiling code adds hundreds of thousands of entries.
const BLOCK = 512;

export class CodeMap {
  private readonly blocks: CodeEntry[][] = [];
  private count = 0;
  private readonly pendingPositions = new Map<number, Uint32Array>();
  private listed: ListedCode | undefined;
  private aliasStarts: readonly number[] = [];
  private aliasSize = 0;
  private aliasTarget = 0;
  /**
   * Where locate() and firstEndingAfter() found an entry: fields, not an object per call, as an
   * add and every frame of every sample look up at least once.
   */
  private atBlock = 0;
  private atIndex = 0;
  movesUnmatched = 0;
  /** Changes whenever what a lookup returns may change: callers caching lookups compare it. */
  version = 1;

  get size(): number {
    return this.count;
  }

  /**
   * V8 reports builtins at their address in the node binary but may run them from a remapped copy
   * (see embedded-copy.ts), one per isolate. Addresses in [copyStart, copyStart + size) of any copy
   * are looked up at `reported`.
   */
  setAlias(copyStart: number, size: number, reported: number): void {
    this.setAliases([copyStart], size, reported);
  }

  setAliases(copyStarts: readonly number[], size: number, reported: number): void {
    this.version++;
    this.aliasStarts = copyStarts;
    this.aliasSize = size;
    this.aliasTarget = reported;
  }

  /** Replays one event; returns the entry an add created. */
  apply(event: NativeCodeEvent): CodeEntry | undefined {
    this.version++;
    switch (event.type) {
      case 0: {
        const entry = this.entryOf(event);
        this.add(entry);
        return entry;
      }
      case 1:
        this.move(event.start, event.newStart ?? event.start);
        break;
      case 2:
        if (event.positions) this.attachPositions(event.start, event.positions);
        break;
      // 3, listed: already known, from the code at start (existing-code.ts, below the entries) or the
      // events logged since; adding it again would drop the line positions its own add came with.
    }
    return undefined;
  }

  /**
   * An add's entry: the event itself when it has every field of one (as unpacked from the addon), so
   * the thousands of adds of a drain are not each copied once more.
   */
  entryOf(event: NativeCodeEvent): CodeEntry {
    if (event.name !== undefined && event.scriptId !== undefined) return event as CodeEntry;
    return { start: event.start, size: event.size, name: event.name ?? '', scriptId: event.scriptId ?? -1, codeType: event.codeType };
  }

  /**
   * The code at the session's start (existing-code.ts): `starts` sorted, `at` their slots in the
   * listing. It comes before any event is applied; into a map that has entries already (a final
   * ingest applied events without a listing), it is added as entries.
   */
  setListing(listing: PackedListing, starts: Float64Array, at: Uint32Array): void {
    this.version++;
    if (this.count > 0 || this.listed) {
      for (let i = 0; i < starts.length; i++) this.add(listedEntry(listing, at[i]!, starts[i]!));
      return;
    }
    const listed = new ListedCode(listing, starts, at);
    this.listed = listed;
    this.count += listed.liveCount;
  }

  add(entry: CodeEntry): void {
    this.version++;
    // Listed code is in no block: what the new code overlaps there dies first.
    if (this.listed) this.count -= this.listed.evict(entry.start, entry.start + Math.max(entry.size, 1));
    if (this.pendingPositions.size === 0 && this.blocks.length > 0) {
      // Past the end of the last entry: nothing to evict, appended without a search. The code at
      // start comes in address order, thousands of entries, and outside optimized code each address
      // a search reads is a new heap number.
      const last = this.blocks[this.blocks.length - 1]!;
      const tail = last[last.length - 1]!;
      if (tail.start + Math.max(tail.size, 1) <= entry.start) {
        this.insertAt(this.blocks.length - 1, last.length, entry);
        return;
      }
    }
    const end = entry.start + Math.max(entry.size, 1);
    this.firstEndingAfter(entry.start);
    let block = this.atBlock;
    let index = this.atIndex;
    // Evict everything the new code overlaps.
    while (block < this.blocks.length) {
      const entries = this.blocks[block]!;
      if (index >= entries.length) {
        block++;
        index = 0;
        continue;
      }
      if (entries[index]!.start >= end) break;
      this.removeAt(block, index);
    }
    const pending = this.pendingPositions.get(entry.start);
    if (pending) {
      entry.positions = pending;
      this.pendingPositions.delete(entry.start);
    }
    this.insertAt(block, index, entry);
  }

  move(from: number, to: number): boolean {
    this.version++;
    const entry = this.locate(from) ? this.blocks[this.atBlock]![this.atIndex] : undefined;
    if (!entry || entry.start !== from) {
      const slot = this.listed ? this.listed.startingAt(from) : -1;
      if (slot >= 0) {
        this.count--;
        this.add(this.listed!.take(slot, to));
        return true;
      }
      this.movesUnmatched++;
      return false;
    }
    this.removeAt(this.atBlock, this.atIndex);
    this.add({ ...entry, start: to });
    return true;
  }

  attachPositions(start: number, positions: Uint32Array): void {
    this.version++;
    this.pendingPositions.set(start, positions);
  }

  lookup(address: number): CodeEntry | undefined {
    const direct = this.find(address);
    if (direct) return direct;
    for (let i = 0; i < this.aliasStarts.length; i++) {
      const copy = this.aliasStarts[i]!;
      if (address >= copy && address < copy + this.aliasSize) return this.find(address - copy + this.aliasTarget);
    }
    return undefined;
  }

  private find(address: number): CodeEntry | undefined {
    if (this.locate(address)) {
      const entry = this.blocks[this.atBlock]![this.atIndex]!;
      if (address < entry.start + Math.max(entry.size, 1)) return entry;
    }
    return this.listed ? this.takeListed(address) : undefined;
  }

  /**
   * The listed code containing `address`, made an entry: it overlaps no entry (an add would have
   * killed it), so it goes in without evicting, and without line positions (a listed add has none).
   */
  private takeListed(address: number): CodeEntry | undefined {
    const listed = this.listed!;
    const slot = listed.containing(address);
    if (slot < 0) return undefined;
    const entry = listed.take(slot, listed.startOf(slot));
    this.count--;
    this.firstEndingAfter(entry.start);
    this.insertAt(this.atBlock, this.atIndex, entry);
    return entry;
  }

  /** Finds the last entry starting at or before `address` (atBlock, atIndex); false when none does. */
  private locate(address: number): boolean {
    let low = 0;
    let high = this.blocks.length - 1;
    let block = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.blocks[mid]![0]!.start <= address) {
        block = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    if (block < 0) return false;
    const entries = this.blocks[block]!;
    low = 0;
    high = entries.length - 1;
    let index = 0;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (entries[mid]!.start <= address) {
        index = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    this.atBlock = block;
    this.atIndex = index;
    return true;
  }

  /** Finds the first entry whose end lies after `address` (may be one past the last). */
  private firstEndingAfter(address: number): void {
    if (!this.locate(address)) {
      this.atBlock = 0;
      this.atIndex = 0;
      return;
    }
    const entry = this.blocks[this.atBlock]![this.atIndex]!;
    if (entry.start + Math.max(entry.size, 1) <= address) this.atIndex++;
  }

  // Shifting by hand: splice would return an array of the removed entries (an empty one for an insert).
  private removeAt(block: number, index: number): void {
    const entries = this.blocks[block]!;
    for (let i = index + 1; i < entries.length; i++) entries[i - 1] = entries[i]!;
    entries.pop();
    this.count--;
    if (entries.length === 0) this.blocks.splice(block, 1);
  }

  private insertAt(atBlock: number, atIndex: number, entry: CodeEntry): void {
    this.count++;
    if (this.blocks.length === 0) {
      this.blocks.push([entry]);
      return;
    }
    let block = atBlock;
    let index = atIndex;
    if (block >= this.blocks.length) {
      block = this.blocks.length - 1;
      index = this.blocks[block]!.length;
    }
    const entries = this.blocks[block]!;
    entries.push(entry);
    for (let i = entries.length - 1; i > index; i--) entries[i] = entries[i - 1]!;
    entries[index] = entry;
    if (entries.length > 2 * BLOCK) this.blocks.splice(block + 1, 0, entries.splice(BLOCK));
  }
}
