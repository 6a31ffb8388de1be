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

/**
 * What a UlidQueue holds: the caller's own object, stamped with its ULID as
 * numbers (time and the three random parts of readUlid(), plus the key id
 * for v3 beacons) so that finding it costs no string hashing or comparison.
 * `qseq` and `next` are the queue's (tie-breaking, and the hash chain).
 */
export interface UlidQueued {
  readonly timeMs: number;
  readonly r0: number;
  readonly r1: number;
  readonly r2: number;
  /** The key id of a v3 beacon (part of its identity), undefined for v2 and for sent beacons. */
  readonly keyId: string | undefined;
  qseq: number;
  next: UlidQueued | undefined;
}

function ulidQueuedBefore(a: UlidQueued, b: UlidQueued): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.qseq < b.qseq);
}

function ulidHash(timeMs: number, r0: number, r1: number, r2: number): number {
  let h = Math.imul(r0 ^ (timeMs | 0), 0x9e3779b1);
  h = Math.imul(h ^ r1, 0x85ebca77);
  h = Math.imul(h ^ r2, 0xc2b2ae3d);
  return h ^ (h >>> 15);
}

/**
 * A bounded queue of the caller's UlidQueued objects, found by ULID: the
 * same behaviour as SlotQueue (oldest ULID out first, on expiry and on
 * eviction, both counted), with a hash table over the ULID's numbers
 * (chained through the entries themselves) in place of a string-keyed Map.
 */
export class UlidQueue<S extends UlidQueued> {
  #buckets: Array<S | undefined> = new Array<S | undefined>(64).fill(undefined);
  #mask = 63;
  #size = 0;
  readonly #order = new AgeQueue<S>(ulidQueuedBefore);
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

  /** The entry of the ULID (time, parts) under `keyId`, if it is held. */
  get(timeMs: number, r0: number, r1: number, r2: number, keyId: string | undefined): S | undefined {
    let e = this.#buckets[ulidHash(timeMs, r0, r1, r2) & this.#mask];
    while (e !== undefined) {
      if (e.r0 === r0 && e.r1 === r1 && e.r2 === r2 && e.timeMs === timeMs && e.keyId === keyId) return e;
      e = e.next as S | undefined;
    }
    return undefined;
  }

  /**
   * Remembers `slot`, whose ULID the caller just found absent. If the queue
   * is over capacity afterwards, the oldest entries go, possibly this one.
   */
  insert(slot: S): void {
    slot.qseq = this.#seq++;
    if (this.#size >= this.#buckets.length) this.#grow();
    const i = ulidHash(slot.timeMs, slot.r0, slot.r1, slot.r2) & this.#mask;
    slot.next = this.#buckets[i];
    this.#buckets[i] = slot;
    this.#size++;
    this.#order.push(slot);
    while (this.#size > this.#capacity) {
      this.#unlink(this.#order.pop());
      this.#evicted++;
    }
  }

  /** Forgets every entry older than the TTL at `nowMs` (exactly TTL old is kept); returns how many. */
  expire(nowMs: number): number {
    const order = this.#order;
    let oldest = order.peek();
    if (oldest === undefined || !(nowMs - oldest.timeMs > this.#ttlMs)) return 0;
    let n = 0;
    for (; oldest !== undefined && nowMs - oldest.timeMs > this.#ttlMs; oldest = order.peek()) {
      this.#unlink(order.pop());
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
    return this.#size;
  }

  stats(): QueueStats {
    return { size: this.#size, expired: this.#expired, evicted: this.#evicted };
  }

  #unlink(slot: S): void {
    const buckets = this.#buckets;
    const i = ulidHash(slot.timeMs, slot.r0, slot.r1, slot.r2) & this.#mask;
    let e = buckets[i];
    if (e === slot) buckets[i] = slot.next as S | undefined;
    else {
      while (e!.next !== slot) e = e!.next as S;
      e!.next = slot.next;
    }
    slot.next = undefined;
    this.#size--;
  }

  #grow(): void {
    const old = this.#buckets;
    const buckets = new Array<S | undefined>(old.length * 2).fill(undefined);
    const mask = buckets.length - 1;
    for (let b = 0; b < old.length; b++) {
      let e = old[b];
      while (e !== undefined) {
        const next = e.next as S | undefined;
        const i = ulidHash(e.timeMs, e.r0, e.r1, e.r2) & mask;
        e.next = buckets[i];
        buckets[i] = e;
        e = next;
      }
    }
    this.#buckets = buckets;
    this.#mask = mask;
  }
}
