// C++ frames (Node, V8's runtime, libc, addons) named from the dynamic symbol table. Each answer is
// cached for the whole function it covers, or for the whole unnamed gap between symbols.
import * as path from 'node:path';

import type { NativeSymbol } from '../native/binding';
import type { Frame } from '../model/profile';

/** "ns::Class::method(args) const" → "ns::Class::method". Keeps "(anonymous namespace)". */
export function shortCppName(symbol: string): string {
  let depth = 0;
  for (let i = symbol.length - 1; i >= 0; i--) {
    const c = symbol[i];
    if (c === ')') depth++;
    else if (c === '(') {
      depth--;
      if (depth === 0) {
        const head = symbol.slice(0, i);
        return head.endsWith('(anonymous namespace)') || head === '' ? symbol : head;
      }
    }
  }
  return symbol;
}

interface CachedRange {
  start: number;
  end: number;
  frame: Frame | undefined;
}

export class NativeSymbols {
  private readonly ranges: CachedRange[] = [];
  private readonly exact = new Map<number, Frame | undefined>();
  lookups = 0;

  constructor(private readonly resolve: (address: number) => NativeSymbol | null) {}

  frame(address: number): Frame | undefined {
    const cached = this.cachedRange(address);
    if (cached) return cached.frame;
    if (this.exact.has(address)) return this.exact.get(address);
    this.lookups++;
    let found: NativeSymbol | null = null;
    try {
      found = this.resolve(address);
    } catch {
      found = null;
    }
    const frame = found ? toFrame(found) : undefined;
    if (found?.start !== undefined && found.size) {
      this.insertRange({ start: found.start, end: found.start + found.size, frame });
    } else {
      this.exact.set(address, frame);
    }
    return frame;
  }

  private cachedRange(address: number): CachedRange | undefined {
    let low = 0;
    let high = this.ranges.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const range = this.ranges[mid]!;
      if (address < range.start) high = mid - 1;
      else if (address >= range.end) low = mid + 1;
      else return range;
    }
    return undefined;
  }

  private insertRange(range: CachedRange): void {
    let index = 0;
    while (index < this.ranges.length && this.ranges[index]!.start < range.start) index++;
    this.ranges.splice(index, 0, range);
  }
}

function toFrame(found: NativeSymbol): Frame {
  const object = path.basename(found.object);
  const name = found.symbol ? shortCppName(found.symbol) : '(native)';
  return { name: `${name} [${object}]`, kind: 'native' };
}
