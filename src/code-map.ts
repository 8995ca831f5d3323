// Address → code object, rebuilt by replaying V8's code events in order.
//
// Entries never overlap: V8 sends no "code removed" events, so an add evicts whatever it overlaps
// (that memory was freed and reused). Moves re-key an entry. V8 logs a code object's line positions
// just before its add, so a table waits for the next add at its address (an entry still there is
// the old code the add is about to evict).
import type { NativeCodeEvent } from './native';

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

export class CodeMap {
  private readonly entries: CodeEntry[] = [];
  private readonly pendingPositions = new Map<number, Uint32Array>();
  private aliasStart = 0;
  private aliasSize = 0;
  private aliasTarget = 0;
  movesUnmatched = 0;

  get size(): number {
    return this.entries.length;
  }

  /**
   * V8 reports builtins at their address in the node binary but may run them from a remapped copy
   * (see embedded-copy.ts). Addresses in [copyStart, copyStart + size) are looked up at `reported`.
   */
  setAlias(copyStart: number, size: number, reported: number): void {
    this.aliasStart = copyStart;
    this.aliasSize = size;
    this.aliasTarget = reported;
  }

  apply(event: NativeCodeEvent): void {
    switch (event.type) {
      case 0:
        this.add({
          start: event.start,
          size: event.size,
          name: event.name ?? '',
          scriptId: event.scriptId ?? -1,
          codeType: event.codeType,
        });
        break;
      case 1:
        this.move(event.start, event.newStart ?? event.start);
        break;
      case 2:
        if (event.positions) this.attachPositions(event.start, event.positions);
        break;
    }
  }

  add(entry: CodeEntry): void {
    const end = entry.start + Math.max(entry.size, 1);
    let index = this.firstEndingAfter(entry.start);
    let removeCount = 0;
    while (index + removeCount < this.entries.length && this.entries[index + removeCount]!.start < end) {
      removeCount++;
    }
    const pending = this.pendingPositions.get(entry.start);
    if (pending) {
      entry.positions = pending;
      this.pendingPositions.delete(entry.start);
    }
    this.entries.splice(index, removeCount, entry);
  }

  move(from: number, to: number): boolean {
    const index = this.indexAt(from);
    const entry = index >= 0 ? this.entries[index] : undefined;
    if (!entry || entry.start !== from) {
      this.movesUnmatched++;
      return false;
    }
    this.entries.splice(index, 1);
    this.add({ ...entry, start: to });
    return true;
  }

  attachPositions(start: number, positions: Uint32Array): void {
    this.pendingPositions.set(start, positions);
  }

  lookup(address: number): CodeEntry | undefined {
    const direct = this.find(address);
    if (direct) return direct;
    if (address >= this.aliasStart && address < this.aliasStart + this.aliasSize) {
      return this.find(address - this.aliasStart + this.aliasTarget);
    }
    return undefined;
  }

  private find(address: number): CodeEntry | undefined {
    const index = this.indexAt(address);
    if (index < 0) return undefined;
    const entry = this.entries[index]!;
    return address < entry.start + Math.max(entry.size, 1) ? entry : undefined;
  }

  /** Index of the last entry starting at or before `address`, or -1. */
  private indexAt(address: number): number {
    let low = 0;
    let high = this.entries.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (this.entries[mid]!.start <= address) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found;
  }

  /** Index of the first entry whose end lies after `address`. */
  private firstEndingAfter(address: number): number {
    const index = this.indexAt(address);
    if (index < 0) return 0;
    const entry = this.entries[index]!;
    return entry.start + Math.max(entry.size, 1) > address ? index : index + 1;
  }
}
