/**
 * The transmit and receive queues: beacons remembered by ULID while they can
 * still matter. An entry ages out 120 s after its ULID's timestamp (the
 * sender's clock when it built the beacon), not after it arrived: a beacon
 * replayed late is then already forgotten by everyone who saw it on time,
 * exactly as on every MAAS rack. Both queues are bounded; past the bound the
 * entry with the oldest ULID goes first (the one closest to aging out anyway)
 * and the eviction is counted.
 */
import { AgeQueue } from './heap';

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

/**
 * What a SlotQueue holds: the caller's own object, keyed and stamped, so
 * that remembering a ULID costs no wrapper. `qseq` is the queue's (it
 * breaks ties between equal times, first inserted first).
 */
export interface Queued {
  readonly key: string;
  readonly timeMs: number;
  qseq: number;
}

function queuedBefore(a: Queued, b: Queued): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.qseq < b.qseq);
}

/** A bounded queue of the caller's Queued objects: BeaconQueue without the wrapper per entry. */
export class SlotQueue<S extends Queued> {
  readonly #slots = new Map<string, S>();
  // Oldest ULID first (heap.ts): expiry and eviction both take the minimum.
  readonly #order = new AgeQueue<S>(queuedBefore);
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

  get(key: string): S | undefined {
    return this.#slots.get(key);
  }

  has(key: string): boolean {
    return this.#slots.has(key);
  }

  /**
   * Remembers `slot` under its key, which the caller just found absent. If
   * the queue is over capacity afterwards, the oldest entries go, possibly
   * this one.
   */
  insert(slot: S): void {
    slot.qseq = this.#seq++;
    this.#slots.set(slot.key, slot);
    this.#order.push(slot);
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
    const order = this.#order;
    let oldest = order.peek();
    // Nothing due: the usual case, checked before anything else.
    if (oldest === undefined || !(nowMs - oldest.timeMs > this.#ttlMs)) return 0;
    let n = 0;
    for (; oldest !== undefined && nowMs - oldest.timeMs > this.#ttlMs; oldest = order.peek()) {
      this.#slots.delete(order.pop().key);
      n++;
    }
    this.#expired += n;
    return n;
  }

  /** The oldest entry's ULID time, or Infinity when empty. */
  oldestMs(): number {
    return this.#order.oldestMs();
  }

  get size(): number {
    return this.#slots.size;
  }

  stats(): QueueStats {
    return { size: this.#slots.size, expired: this.#expired, evicted: this.#evicted };
  }
}

interface Slot<V> extends Queued {
  value: V;
}

/** Values remembered by ULID key (for values that are not Queued themselves). */
export class BeaconQueue<V> {
  readonly #q: SlotQueue<Slot<V>>;

  constructor(opts: QueueOptions = {}) {
    this.#q = new SlotQueue(opts);
  }

  get(key: string): V | undefined {
    return this.#q.get(key)?.value;
  }

  has(key: string): boolean {
    return this.#q.has(key);
  }

  /**
   * Remembers `value` under `key`, stamped `timeMs` (the ULID's time). An
   * existing entry keeps its stamp and gets the new value. If the queue is
   * over capacity afterwards, the oldest entries go, possibly this one.
   */
  set(key: string, timeMs: number, value: V): void {
    const slot = this.#q.get(key);
    if (slot) {
      slot.value = value;
      return;
    }
    this.#q.insert({ key, timeMs, qseq: 0, value });
  }

  /** True if a ULID stamped `timeMs` is already past the TTL at `nowMs`. */
  isExpired(timeMs: number, nowMs: number): boolean {
    return this.#q.isExpired(timeMs, nowMs);
  }

  /** Forgets every entry older than the TTL at `nowMs` (exactly TTL old is kept); returns how many. */
  expire(nowMs: number): number {
    return this.#q.expire(nowMs);
  }

  /** The oldest entry's ULID time, or Infinity when empty. */
  oldestMs(): number {
    return this.#q.oldestMs();
  }

  get size(): number {
    return this.#q.size;
  }

  stats(): QueueStats {
    return this.#q.stats();
  }
}
