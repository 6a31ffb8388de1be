/**
 * A binary min-heap over an array, for the structures that age entries by
 * their ULID's time (the queues, the hint support). Entries only ever leave
 * from the minimum (expiry and eviction both take the oldest), so push and
 * pop are all they need; arrival order is only roughly ULID order (beacons
 * arrive late), hence not a FIFO.
 */

/** Something stamped with a ULID time, and an insertion number that breaks ties deterministically. */
export interface Stamped {
  readonly timeMs: number;
  readonly seq: number;
}

/** Whether `a` comes out before `b`: the older, or of equal times the one inserted first. */
export type Before<T> = (a: T, b: T) => boolean;

function before(a: Stamped, b: Stamped): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

export function heapPush<T>(h: T[], item: T, less: Before<T>): void {
  // Sift up with a hole: one write per level. Beacons mostly arrive in ULID
  // order, so the new entry usually stays where it lands.
  let i = h.length;
  h.push(item);
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = h[parent]!;
    if (!less(item, p)) break;
    h[i] = p;
    i = parent;
  }
  h[i] = item;
}

/** Removes and returns the oldest entry; the heap must not be empty. */
export function heapPop<T>(h: T[], less: Before<T>): T {
  const top = h[0]!;
  const last = h.pop()!;
  const n = h.length;
  if (n === 0) return top;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    if (l >= n) break;
    const r = l + 1;
    const m = r < n && less(h[r]!, h[l]!) ? r : l;
    const child = h[m]!;
    if (!less(child, last)) break;
    h[i] = child;
    i = m;
  }
  h[i] = last;
  return top;
}

/**
 * Entries in order of their ULID time, oldest first, for the structures
 * that age by it. Beacons arrive almost in ULID order (each is stamped when
 * sent and seen milliseconds later), so an entry no older than the newest
 * one goes on a FIFO at O(1); only late arrivals (delayed, replayed from an
 * earlier time) go on the heap. The oldest is the older of the two heads.
 * Ordered by Stamped's time and seq, unless `less` says otherwise (an
 * object that sits in two of these, as a received ULID does in the receive
 * queue and the hint ageing, has a tie-breaking number for each).
 */
export class AgeQueue<T extends { readonly timeMs: number }> {
  #fifo: T[] = [];
  #head = 0;
  readonly #late: T[] = [];
  readonly #less: Before<T>;

  /** `less` is required unless T is Stamped. */
  constructor(less?: Before<T>) {
    this.#less = less ?? (before as unknown as Before<T>);
  }

  get size(): number {
    return this.#fifo.length - this.#head + this.#late.length;
  }

  push(item: T): void {
    const fifo = this.#fifo;
    const last = fifo.length > this.#head ? fifo[fifo.length - 1]! : undefined;
    // Times compared here first: the comparator is called only for a tie.
    if (last === undefined || item.timeMs > last.timeMs || (item.timeMs === last.timeMs && !this.#less(item, last))) fifo.push(item);
    else heapPush(this.#late, item, this.#less);
  }

  /** The oldest entry's time, or Infinity when empty. */
  oldestMs(): number {
    return this.peek()?.timeMs ?? Number.POSITIVE_INFINITY;
  }

  /** The oldest entry, or undefined when empty. */
  peek(): T | undefined {
    const a = this.#head < this.#fifo.length ? this.#fifo[this.#head] : undefined;
    const b = this.#late[0];
    if (a === undefined) return b;
    if (b === undefined) return a;
    return b.timeMs < a.timeMs || (b.timeMs === a.timeMs && this.#less(b, a)) ? b : a;
  }

  /** Removes and returns the oldest entry; the queue must not be empty. */
  pop(): T {
    const a = this.#head < this.#fifo.length ? this.#fifo[this.#head] : undefined;
    const b = this.#late[0];
    if (a === undefined || (b !== undefined && (b.timeMs < a.timeMs || (b.timeMs === a.timeMs && this.#less(b, a))))) return heapPop(this.#late, this.#less);
    this.#head++;
    // Drop the consumed front now and then, so the array does not grow without bound.
    if (this.#head >= 1024 && this.#head * 2 >= this.#fifo.length) {
      this.#fifo = this.#fifo.slice(this.#head);
      this.#head = 0;
    }
    return a;
  }
}
