// Address → code object, rebuilt by replaying V8's code events in order.
//
// Entries never overlap: V8 sends no "code removed" events, so an add evicts whatever it overlaps
// (that memory was freed and reused). Moves re-key an entry. V8 logs a code object's line positions
// just before its add, so a table waits for the next add at its address (an entry still there is
// the old code the add is about to evict).
import type { NativeCodeEvent } from '../native/binding';

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

interface Position {
  block: number;
  index: number;
}

export class CodeMap {
  private readonly blocks: CodeEntry[][] = [];
  private count = 0;
  private readonly pendingPositions = new Map<number, Uint32Array>();
  private aliasStarts: readonly number[] = [];
  private aliasSize = 0;
  private aliasTarget = 0;
  movesUnmatched = 0;

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
    this.aliasStarts = copyStarts;
    this.aliasSize = size;
    this.aliasTarget = reported;
  }

  /** Replays one event; returns the entry an add created. */
  apply(event: NativeCodeEvent): CodeEntry | undefined {
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
      // 3, listed: already known, from the adds of the code at start (existing-code.ts) or the events
      // logged since; adding it again would drop the line positions its own add came with.
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

  add(entry: CodeEntry): void {
    const end = entry.start + Math.max(entry.size, 1);
    const at = this.firstEndingAfter(entry.start);
    // Evict everything the new code overlaps.
    while (at.block < this.blocks.length) {
      const block = this.blocks[at.block]!;
      if (at.index >= block.length) {
        at.block++;
        at.index = 0;
        continue;
      }
      if (block[at.index]!.start >= end) break;
      block.splice(at.index, 1);
      this.count--;
      if (block.length === 0) this.blocks.splice(at.block, 1);
    }
    const pending = this.pendingPositions.get(entry.start);
    if (pending) {
      entry.positions = pending;
      this.pendingPositions.delete(entry.start);
    }
    this.insertAt(at, entry);
  }

  move(from: number, to: number): boolean {
    const at = this.locate(from);
    const entry = at ? this.blocks[at.block]![at.index] : undefined;
    if (!at || !entry || entry.start !== from) {
      this.movesUnmatched++;
      return false;
    }
    const block = this.blocks[at.block]!;
    block.splice(at.index, 1);
    this.count--;
    if (block.length === 0) this.blocks.splice(at.block, 1);
    this.add({ ...entry, start: to });
    return true;
  }

  attachPositions(start: number, positions: Uint32Array): void {
    this.pendingPositions.set(start, positions);
  }

  lookup(address: number): CodeEntry | undefined {
    const direct = this.find(address);
    if (direct) return direct;
    for (const copy of this.aliasStarts) {
      if (address >= copy && address < copy + this.aliasSize) return this.find(address - copy + this.aliasTarget);
    }
    return undefined;
  }

  private find(address: number): CodeEntry | undefined {
    const at = this.locate(address);
    if (!at) return undefined;
    const entry = this.blocks[at.block]![at.index]!;
    return address < entry.start + Math.max(entry.size, 1) ? entry : undefined;
  }

  /** The last entry starting at or before `address`, or undefined. */
  private locate(address: number): Position | undefined {
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
    if (block < 0) return undefined;
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
    return { block, index };
  }

  /** Position of the first entry whose end lies after `address` (may be one past the last). */
  private firstEndingAfter(address: number): Position {
    const at = this.locate(address);
    if (!at) return { block: 0, index: 0 };
    const entry = this.blocks[at.block]![at.index]!;
    if (entry.start + Math.max(entry.size, 1) > address) return at;
    return { block: at.block, index: at.index + 1 };
  }

  private insertAt(at: Position, entry: CodeEntry): void {
    this.count++;
    if (this.blocks.length === 0) {
      this.blocks.push([entry]);
      return;
    }
    let block = at.block;
    let index = at.index;
    if (block >= this.blocks.length) {
      block = this.blocks.length - 1;
      index = this.blocks[block]!.length;
    }
    const entries = this.blocks[block]!;
    entries.splice(index, 0, entry);
    if (entries.length > 2 * BLOCK) this.blocks.splice(block + 1, 0, entries.splice(BLOCK));
  }
}
