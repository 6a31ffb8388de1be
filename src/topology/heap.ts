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

function before(a: Stamped, b: Stamped): boolean {
  return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq);
}

export function heapPush<T extends Stamped>(h: T[], item: T): void {
  h.push(item);
  let i = h.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(h[i]!, h[parent]!)) break;
    [h[i], h[parent]] = [h[parent]!, h[i]!];
    i = parent;
  }
}

/** Removes and returns the oldest entry; the heap must not be empty. */
export function heapPop<T extends Stamped>(h: T[]): T {
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
