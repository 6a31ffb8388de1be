/**
 * The transmit and receive queues: beacons remembered by ULID while they can
 * still matter. An entry ages out 120 s after its ULID's timestamp (the
 * sender's clock when it built the beacon), not after it arrived: a beacon
 * replayed late is then already forgotten by everyone who saw it on time,
 * exactly as on every MAAS rack. Both queues are bounded; past the bound the
 * entry with the oldest ULID goes first (the one closest to aging out anyway)
 * and the eviction is counted.
 */
import { AgeQueue, type Stamped } from './heap';

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

interface Slot<V> extends Stamped {
  readonly key: string;
  value: V;
}

export class BeaconQueue<V> {
  readonly #slots = new Map<string, Slot<V>>();
  // Oldest ULID first (heap.ts): expiry and eviction both take the minimum.
  readonly #order = new AgeQueue<Slot<V>>();
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
    this.insert(key, timeMs, value);
  }

  /** set() for a key the caller just found absent: one map operation fewer on every new beacon. */
  insert(key: string, timeMs: number, value: V): void {
    const fresh: Slot<V> = { key, timeMs, seq: this.#seq++, value };
    this.#slots.set(key, fresh);
    this.#order.push(fresh);
    while (this.#slots.size > this.#capacity) {
      this.#slots.delete(this.#order.pop().key);
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
    for (let oldest = this.#order.peek(); oldest !== undefined && this.isExpired(oldest.timeMs, nowMs); oldest = this.#order.peek()) {
      this.#slots.delete(this.#order.pop().key);
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
}
