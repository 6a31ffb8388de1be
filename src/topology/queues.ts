/**
 * The transmit and receive queues: beacons remembered by ULID while they can
 * still matter. An entry ages out 120 s after its ULID's timestamp (the
 * sender's clock when it built the beacon), not after it arrived: a beacon
 * replayed late is then already forgotten by everyone who saw it on time,
 * exactly as on every MAAS rack. Both queues are bounded; past the bound the
 * entry with the oldest ULID goes first (the one closest to aging out anyway)
 * and the eviction is counted.
 */

/** How long a beacon is remembered after its ULID's timestamp. */
export const BEACON_TTL_MS = 120_000;
export const DEFAULT_QUEUE_CAPACITY = 10_000;

export interface QueueOptions {
  readonly capacity?: number;
  readonly ttlMs?: number;
}

export interface QueueStats {
  readonly size: number;
  /** Entries removed because their ULID grew older than the TTL. */
  readonly expired: number;
  /** Entries removed because the queue was full. */
  readonly evicted: number;
}

interface Slot<V> {
  readonly key: string;
  readonly timeMs: number;
  /** Insertion order: breaks ties between equal ULID times, so eviction is deterministic. */
  readonly seq: number;
  value: V;
}

export class BeaconQueue<V> {
  readonly #slots = new Map<string, Slot<V>>();
  // A binary min-heap on (timeMs, seq). Entries only ever leave from its
  // minimum (expiry and eviction both take the oldest), so no other removal
  // is needed; arrival order is only roughly ULID order, hence not a FIFO.
  readonly #heap: Slot<V>[] = [];
  readonly #capacity: number;
  readonly #ttlMs: number;
  #seq = 0;
  #expired = 0;
  #evicted = 0;

  constructor(opts: QueueOptions = {}) {
    const capacity = opts.capacity ?? DEFAULT_QUEUE_CAPACITY;
    const ttlMs = opts.ttlMs ?? BEACON_TTL_MS;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`queue capacity must be a positive integer, not ${capacity}`);
    if (!(ttlMs > 0)) throw new RangeError(`queue TTL must be positive, not ${ttlMs}`);
    this.#capacity = capacity;
    this.#ttlMs = ttlMs;
  }

  get(key: string): V | undefined {
    return this.#slots.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#slots.has(key);
  }

  /**
   * Remembers `value` under `key`, stamped `timeMs` (the ULID's time). An
   * existing entry keeps its stamp and gets the new value. If the queue is
   * over capacity afterwards, the oldest entries go, possibly this one.
   */
  set(key: string, timeMs: number, value: V): void {
    const slot = this.#slots.get(key);
    if (slot) {
      slot.value = value;
      return;
    }
    const fresh: Slot<V> = { key, timeMs, seq: this.#seq++, value };
    this.#slots.set(key, fresh);
    this.#push(fresh);
    while (this.#slots.size > this.#capacity) {
      this.#slots.delete(this.#pop().key);
      this.#evicted++;
    }
  }

  /** True if a ULID stamped `timeMs` is already past the TTL at `nowMs`. */
  isExpired(timeMs: number, nowMs: number): boolean {
    return nowMs - timeMs > this.#ttlMs;
  }

  /** Forgets every entry older than the TTL at `nowMs` (exactly TTL old is kept); returns how many. */
  expire(nowMs: number): number {
    let n = 0;
    while (this.#heap.length > 0 && this.isExpired(this.#heap[0]!.timeMs, nowMs)) {
      this.#slots.delete(this.#pop().key);
      n++;
    }
    this.#expired += n;
    return n;
  }

  get size(): number {
    return this.#slots.size;
  }

  stats(): QueueStats {
    return { size: this.#slots.size, expired: this.#expired, evicted: this.#evicted };
  }

  #push(slot: Slot<V>): void {
    const h = this.#heap;
    h.push(slot);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  #pop(): Slot<V> {
    const h = this.#heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before<V>(a: Slot<V>, b: Slot<V>): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}
