/**
 * Live accuracy's per-model storage: one slot per server in flat typed arrays, so a fleet cycle
 * at 10,000 servers allocates nothing per server and scoring visits only servers with a due step.
 *
 * Per slot: up to `maxOrigins` kept forecasts (oldest first: start, leading steps scored, values,
 * and seasonal naive's forecast from the same origin, NaN where the window had no value) and a ring of `BUCKETS_PER_WINDOW` rolling sums (middle-quantile loss over targets, Σ|y|,
 * scored steps), each tagged with its bucket number; a tag older than the window counts as empty.
 */
export const BUCKETS_PER_WINDOW = 24;
/** Per ring entry: loss, Σ|y|, scored steps. */
const RING_SUMS = 3;
const EMPTY = -1;

export class LiveSlots {
  /** server → slot */
  readonly slots = new Map<string, number>();
  /** slot → server; null: free */
  names: Array<string | null> = [];
  /** Slots in use are below this. */
  highWater = 0;
  private free: number[] = [];
  private capacity = 0;
  originCount = new Uint8Array(0);
  originStart = new Float64Array(0);
  originScored = new Int32Array(0);
  values = new Float32Array(0);
  naive = new Float32Array(0);
  /** Per slot: when its earliest unscored step ends (epoch seconds); Infinity: nothing to score. */
  nextDue = new Float64Array(0);
  ringBucket = new Float64Array(0);
  ringSums = new Float64Array(0);

  constructor(
    /** horizon × targets × quantiles: the values of one kept forecast. */
    readonly size: number,
    /** horizon × targets: seasonal naive's values for one kept forecast. */
    readonly naiveSize: number,
    readonly maxOrigins: number,
    readonly horizon: number,
    readonly resolution: number,
  ) {}

  get count(): number {
    return this.slots.size;
  }

  /** Room for `servers` in all, grown once (a whole fleet's first cycle does not regrow 20 times). */
  reserve(servers: number): void {
    if (servers > this.capacity) this.grow(servers);
  }

  /** The server's slot, made on first sight. */
  slotOf(server: string): number {
    const known = this.slots.get(server);
    if (known !== undefined) return known;
    const slot = this.free.pop() ?? this.highWater++;
    if (slot >= this.capacity) this.grow(Math.max(64, Math.ceil(this.capacity * 1.5)));
    this.slots.set(server, slot);
    this.names[slot] = server;
    this.originCount[slot] = 0;
    this.nextDue[slot] = Infinity;
    this.ringBucket.fill(EMPTY, slot * BUCKETS_PER_WINDOW, (slot + 1) * BUCKETS_PER_WINDOW);
    this.ringSums.fill(0, slot * BUCKETS_PER_WINDOW * RING_SUMS, (slot + 1) * BUCKETS_PER_WINDOW * RING_SUMS);
    return slot;
  }

  release(slot: number): void {
    const server = this.names[slot];
    if (server === null || server === undefined) return;
    this.slots.delete(server);
    this.names[slot] = null;
    this.originCount[slot] = 0;
    this.nextDue[slot] = Infinity;
    this.free.push(slot);
  }

  /** Start of the slot's newest kept forecast; -Infinity when it keeps none. */
  newestStart(slot: number): number {
    const n = this.originCount[slot]!;
    return n === 0 ? -Infinity : this.originStart[slot * this.maxOrigins + n - 1]!;
  }

  /** Keeps a forecast as the slot's newest, dropping its oldest beyond `maxOrigins`. */
  push(
    slot: number,
    start: number,
    scored: number,
    values: ArrayLike<number>,
    naive: ArrayLike<number> | null,
  ): void {
    if (this.originCount[slot] === this.maxOrigins) this.dropOldest(slot, 1);
    const k = slot * this.maxOrigins + this.originCount[slot]!;
    this.originStart[k] = start;
    this.originScored[k] = scored;
    const at = k * this.size;
    for (let i = 0; i < this.size; i++) this.values[at + i] = values[i]!;
    const naiveAt = k * this.naiveSize;
    for (let i = 0; i < this.naiveSize; i++) this.naive[naiveAt + i] = naive === null ? NaN : naive[i]!;
    this.originCount[slot]! += 1;
    this.updateDue(slot);
  }

  /** Drops the slot's `n` oldest kept forecasts. */
  dropOldest(slot: number, n: number): void {
    const count = this.originCount[slot]!;
    const first = slot * this.maxOrigins;
    this.originStart.copyWithin(first, first + n, first + count);
    this.originScored.copyWithin(first, first + n, first + count);
    this.values.copyWithin(first * this.size, (first + n) * this.size, (first + count) * this.size);
    const m = this.naiveSize;
    this.naive.copyWithin(first * m, (first + n) * m, (first + count) * m);
    this.originCount[slot] = count - n;
    this.updateDue(slot);
  }

  updateDue(slot: number): void {
    let due = Infinity;
    const first = slot * this.maxOrigins;
    for (let k = first; k < first + this.originCount[slot]!; k++) {
      const scored = this.originScored[k]!;
      if (scored < this.horizon) due = Math.min(due, this.originStart[k]! + (scored + 1) * this.resolution);
    }
    this.nextDue[slot] = due;
  }

  /** The ring entry of `bucket` for the slot (reset when it held an older bucket); -1: older than the ring. */
  ringEntry(slot: number, bucket: number): number {
    const i = slot * BUCKETS_PER_WINDOW + (bucket % BUCKETS_PER_WINDOW);
    const held = this.ringBucket[i]!;
    if (held === bucket) return i;
    if (held > bucket) return -1;
    this.ringBucket[i] = bucket;
    this.ringSums.fill(0, i * RING_SUMS, (i + 1) * RING_SUMS);
    return i;
  }

  addToRing(entry: number, loss: number, absActual: number, steps: number): void {
    const o = entry * RING_SUMS;
    this.ringSums[o] = this.ringSums[o]! + loss;
    this.ringSums[o + 1] = this.ringSums[o + 1]! + absActual;
    this.ringSums[o + 2] = this.ringSums[o + 2]! + steps;
  }

  /** The slot's ring entries from bucket `oldest` on: [bucket, loss, Σ|y|, steps], oldest first. */
  ringOf(slot: number, oldest: number): Array<[number, number, number, number]> {
    const out: Array<[number, number, number, number]> = [];
    for (let i = slot * BUCKETS_PER_WINDOW; i < (slot + 1) * BUCKETS_PER_WINDOW; i++) {
      const bucket = this.ringBucket[i]!;
      if (bucket === EMPTY || bucket < oldest) continue;
      const o = i * RING_SUMS;
      out.push([bucket, this.ringSums[o]!, this.ringSums[o + 1]!, this.ringSums[o + 2]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Σ over the slot's ring entries from bucket `oldest` on. */
  totals(slot: number, oldest: number): { loss: number; abs: number; points: number } {
    let loss = 0;
    let abs = 0;
    let points = 0;
    for (let i = slot * BUCKETS_PER_WINDOW; i < (slot + 1) * BUCKETS_PER_WINDOW; i++) {
      const bucket = this.ringBucket[i]!;
      if (bucket === EMPTY || bucket < oldest) continue;
      const o = i * RING_SUMS;
      loss += this.ringSums[o]!;
      abs += this.ringSums[o + 1]!;
      points += this.ringSums[o + 2]!;
    }
    return { loss, abs, points };
  }

  /** The slot's kept forecasts, oldest first (values copied). */
  origins(slot: number): Array<{ start: number; scored: number; values: Float32Array; naive: Float32Array }> {
    const out: Array<{ start: number; scored: number; values: Float32Array; naive: Float32Array }> = [];
    for (let k = slot * this.maxOrigins; k < slot * this.maxOrigins + this.originCount[slot]!; k++)
      out.push({
        start: this.originStart[k]!,
        scored: this.originScored[k]!,
        values: this.values.slice(k * this.size, (k + 1) * this.size),
        naive: this.naive.slice(k * this.naiveSize, (k + 1) * this.naiveSize),
      });
    return out;
  }

  private grow(capacity: number): void {
    const M = this.maxOrigins;
    const widen = <T extends Uint8Array | Int32Array | Float32Array | Float64Array>(
      old: T,
      per: number,
    ): T => {
      const next = new (old.constructor as new (n: number) => T)(capacity * per);
      next.set(old);
      return next;
    };
    this.originCount = widen(this.originCount, 1);
    this.originStart = widen(this.originStart, M);
    this.originScored = widen(this.originScored, M);
    this.values = widen(this.values, M * this.size);
    this.naive = widen(this.naive, M * this.naiveSize);
    this.nextDue = widen(this.nextDue, 1);
    this.ringBucket = widen(this.ringBucket, BUCKETS_PER_WINDOW);
    this.ringSums = widen(this.ringSums, BUCKETS_PER_WINDOW * RING_SUMS);
    this.capacity = capacity;
  }
}
