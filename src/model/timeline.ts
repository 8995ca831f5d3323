// The order samples were taken in, for formats that show time (Chrome's .cpuprofile). Aggregated
// formats (folded, pprof, HTML) read exact counts from the Profile's stacks; this only keeps enough
// to redraw the time axis, in bounded memory:
//
//   entry := stack id (Uint32) + time since the profile started (Float64, ns)    12 bytes each
//
// When `capacity` entries are full, every second entry is dropped and from then on only every
// `stride`-th sample is kept (stride doubles each time). Each kept entry then stands for `stride`
// samples; times stay exact, so a viewer that weighs samples by the time between them still adds
// up to the right durations.

/** ~1M samples: 12 MiB at most; 2.9 h of CPU at 10 ms, 17 min at 1 ms before thinning starts. */
export const DEFAULT_TIMELINE_CAPACITY = 1 << 20;

export class SampleTimeline {
  private stackIds: Uint32Array;
  private timesNs: Float64Array;
  private size = 0;
  /** Samples each kept entry stands for. */
  stride = 1;
  /** Samples offered since the last kept one. */
  private skipped = 0;
  /** Every sample ever offered, kept or not. */
  samplesSeen = 0;

  readonly capacity: number;

  constructor(capacity: number = DEFAULT_TIMELINE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`timeline capacity ${capacity}`);
    // Halving keeps kept samples evenly spaced only from an even count.
    this.capacity = capacity + (capacity % 2);
    const initial = Math.min(this.capacity, 1024);
    this.stackIds = new Uint32Array(initial);
    this.timesNs = new Float64Array(initial);
  }

  get length(): number {
    return this.size;
  }

  add(stackId: number, timeNs: number): void {
    this.samplesSeen++;
    if (this.capacity === 0) return;
    if (++this.skipped < this.stride) return;
    if (this.size === this.capacity) {
      // Thin first, then ask again at the new stride, so kept samples stay evenly spaced.
      this.thin();
      if (this.skipped < this.stride) return;
    }
    this.skipped = 0;
    if (this.size === this.stackIds.length) this.grow();
    this.stackIds[this.size] = stackId;
    this.timesNs[this.size] = timeNs;
    this.size++;
  }

  stackIdAt(index: number): number {
    return this.stackIds[index]!;
  }

  timeNsAt(index: number): number {
    return this.timesNs[index]!;
  }

  /** A copy with the same entries, stride and capacity (for a profile made from this one's stacks). */
  copy(): SampleTimeline {
    const copy = new SampleTimeline(this.capacity);
    // At least one slot where there is room for one: growing doubles the length.
    copy.stackIds = this.stackIds.slice(0, Math.max(this.size, Math.min(1, this.capacity)));
    copy.timesNs = this.timesNs.slice(0, copy.stackIds.length);
    copy.size = this.size;
    copy.stride = this.stride;
    copy.skipped = this.skipped;
    copy.samplesSeen = this.samplesSeen;
    return copy;
  }

  /** Renumbers the stacks entries refer to (a profile whose stacks were rebuilt). */
  mapStackIds(map: (stackId: number) => number): void {
    for (let i = 0; i < this.size; i++) this.stackIds[i] = map(this.stackIds[i]!);
  }

  private grow(): void {
    const length = Math.min(this.capacity, this.stackIds.length * 2);
    const ids = new Uint32Array(length);
    ids.set(this.stackIds.subarray(0, this.size));
    const times = new Float64Array(length);
    times.set(this.timesNs.subarray(0, this.size));
    this.stackIds = ids;
    this.timesNs = times;
  }

  private thin(): void {
    let kept = 0;
    for (let i = 1; i < this.size; i += 2) {
      this.stackIds[kept] = this.stackIds[i]!;
      this.timesNs[kept] = this.timesNs[i]!;
      kept++;
    }
    this.size = kept;
    this.stride *= 2;
  }
}
