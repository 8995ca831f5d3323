// The GCs of one sampled thread as the native GC callbacks recorded them (native/gc_cause.h): when
// each began and ended, its type, and the JS stack that was running at its begin, already
// symbolized. A sample taken in GC state is charged to the GC whose [begin, end] holds its time.
//
// Why a GC is kept one batch past its end: the drain reads a thread's samples before its GC records,
// so every GC a drained sample falls in has its begin in the same batch or an earlier one; but a
// sample taken during a GC on a worker may be published after the drain read the samples and before
// it read the GC's end, and then arrives in the next batch with its GC already closed.
import type { Frame } from '../model/profile';

export interface GcCause {
  beginNs: number;
  /** Infinity while the GC has not ended (yet, in what was drained). */
  endNs: number;
  /** The batch its end came in. */
  endBatch: number;
  /** v8::GCType's name: "scavenge", "mark-sweep-compact", … */
  type: string;
  /** The JS stack at the begin, root first; undefined when it was cut at maxFrames. */
  frames: Frame[] | undefined;
}

export class GcCauses {
  /** GCs still open, or ended in this batch or the one before, in begin order. */
  private causes: GcCause[] = [];
  private batch = 0;
  /** GC-state samples charged to a recorded GC, and those left at the root. */
  charged = 0;
  atRoot = 0;
  /** GC begins the native log had no room for. */
  dropped = 0;

  begin(beginNs: number, type: string, frames: Frame[] | undefined): void {
    this.causes.push({ beginNs, endNs: Infinity, endBatch: Infinity, type, frames });
  }

  end(beginNs: number, endNs: number): void {
    for (let i = this.causes.length - 1; i >= 0; i--) {
      const cause = this.causes[i]!;
      if (cause.beginNs === beginNs && cause.endNs === Infinity) {
        cause.endNs = endNs;
        cause.endBatch = this.batch;
        return;
      }
    }
  }

  /** The innermost GC whose span holds `timeNs` (nested GCs: the one begun last). */
  find(timeNs: number): GcCause | undefined {
    for (let i = this.causes.length - 1; i >= 0; i--) {
      const cause = this.causes[i]!;
      if (cause.beginNs <= timeNs && timeNs <= cause.endNs) return cause;
    }
    return undefined;
  }

  /** After a batch: GCs that ended before it can no longer hold a sample. */
  nextBatch(): void {
    this.batch++;
    this.causes = this.causes.filter((cause) => cause.endBatch >= this.batch - 1);
  }
}
