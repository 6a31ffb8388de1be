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

/** What a UlidQueue takes beyond QueueOptions. */
export interface UlidQueueOptions<S> extends QueueOptions {
  /** Called with each entry as it leaves (expired or evicted), after it was unlinked: the caller may reuse the object. */
  readonly onLeave?: (slot: S) => void;
}

export interface QueueStats {
  readonly size: number;
  /** Entries removed because their ULID grew older than the TTL. */
  readonly expired: number;
  /** Entries removed because the queue was full. */
  readonly evicted: number;
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
 * A bounded queue of the caller's UlidQueued objects, found by ULID through
 * a hash table over the ULID's numbers (chained through the entries
 * themselves): no string hashing or comparison. The oldest ULID goes
 * first, on expiry and on eviction, both counted.
 */
export class UlidQueue<S extends UlidQueued> {
  #buckets: Array<S | undefined> = new Array<S | undefined>(64).fill(undefined);
  #mask = 63;
  #size = 0;
  readonly #order = new AgeQueue<S>(ulidQueuedBefore);
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #onLeave: ((slot: S) => void) | undefined;
  #seq = 0;
  #expired = 0;
  #evicted = 0;

  constructor(opts: UlidQueueOptions<S> = {}) {
    this.#onLeave = opts.onLeave;
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
    // At most half full: a lookup of an absent ULID (every new beacon) then mostly meets an empty bucket.
    if (this.#size * 2 >= this.#buckets.length) this.#grow();
    const i = ulidHash(slot.timeMs, slot.r0, slot.r1, slot.r2) & this.#mask;
    slot.next = this.#buckets[i];
    this.#buckets[i] = slot;
    this.#size++;
    this.#order.push(slot);
    while (this.#size > this.#capacity) {
      const gone = this.#order.pop();
      this.#unlink(gone);
      this.#evicted++;
      this.#onLeave?.(gone);
    }
  }

  /** Forgets every entry older than the TTL at `nowMs` (exactly TTL old is kept); returns how many. */
  expire(nowMs: number): number {
    const order = this.#order;
    let oldest = order.peek();
    if (oldest === undefined || !(nowMs - oldest.timeMs > this.#ttlMs)) return 0;
    let n = 0;
    const onLeave = this.#onLeave;
    for (; oldest !== undefined && nowMs - oldest.timeMs > this.#ttlMs; oldest = order.peek()) {
      const gone = order.pop();
      this.#unlink(gone);
      n++;
      if (onLeave !== undefined) onLeave(gone);
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

  /** How many entries it holds at most. */
  get capacity(): number {
    return this.#capacity;
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
