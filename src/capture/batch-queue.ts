/**
 * Hands captured batches to JS a slice at a time, a bounded amount of work
 * per turn of the event loop, so that a backlog never holds the loop (and
 * with it the control socket, timers and sends).
 *
 * Why the native capture needs it: the addon posts each batch through a
 * N-API thread-safe function, and Node calls that function back to back,
 * up to 1000 times per wake-up, for as long as its queue is not empty. The
 * worker refilled a pool slot as soon as the callback returned, so while
 * JS was slower than the worker (the first second of a flood, with nothing
 * compiled yet, or a loaded machine) every block the ring held was
 * processed in one turn: 64 blocks, ~7,000 records, ~600 ms, measured at
 * the start of a 10,000/s flood. Now the callback only queues the batch
 * here, and the records go to the agent in slices from setImmediate,
 * yielding once `budgetMs` is spent.
 *
 * The queue itself is not bounded: the producer bounds it. The native
 * capture keeps each batch's pool slot until `done` (see capture_napi.cc),
 * so at most a pool of batches is ever queued; past that the worker stops
 * reading the rings and the kernel drops, and counts, what does not fit.
 */

export interface BatchQueueOptions<B extends { readonly count: number }> {
  /** Work per turn of the event loop (ms) before yielding; at least one slice runs per turn. */
  readonly budgetMs: number;
  /** Records per call of `deliver`. */
  readonly sliceRecords: number;
  /** Handles records [from, to) of a batch. */
  readonly deliver: (batch: B, from: number, to: number) => void;
  /** The batch's last slice was delivered (or its delivery threw): what it holds may be given back. */
  readonly done?: (batch: B) => void;
  /** A monotonic clock in ms (default performance.now). */
  readonly now?: () => number;
  /** Runs `fn` on a later turn of the event loop (default setImmediate). */
  readonly defer?: (fn: () => void) => void;
}

interface Entry<B> {
  readonly batch: B;
  /** The first record not yet delivered. */
  next: number;
}

export class BatchQueue<B extends { readonly count: number }> {
  readonly #o: BatchQueueOptions<B>;
  readonly #now: () => number;
  readonly #defer: (fn: () => void) => void;
  readonly #entries: Entry<B>[] = [];
  #pending = 0;
  #scheduled = false;
  #closed = false;

  constructor(opts: BatchQueueOptions<B>) {
    if (!Number.isInteger(opts.sliceRecords) || opts.sliceRecords < 1)
      throw new RangeError(`sliceRecords must be a positive integer, got ${opts.sliceRecords}`);
    if (!(opts.budgetMs >= 0) || !Number.isFinite(opts.budgetMs)) throw new RangeError(`budgetMs must be a finite number >= 0, got ${opts.budgetMs}`);
    this.#o = opts;
    this.#now = opts.now ?? (() => performance.now());
    this.#defer = opts.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Records queued, not yet delivered. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues a batch (the queue keeps it: it must not change until `done`).
   * A batch of no records is done at once, in its turn: what it stands for
   * (an event) stays in order with the records around it.
   */
  push(batch: B): void {
    if (this.#closed) return;
    this.#entries.push({ batch, next: 0 });
    this.#pending += batch.count;
    this.#schedule();
  }

  /** Drops everything queued; nothing is delivered, or done, afterwards. */
  close(): void {
    this.#closed = true;
    this.#entries.length = 0;
    this.#pending = 0;
  }

  #schedule(): void {
    if (this.#scheduled || this.#entries.length === 0 || this.#closed) return;
    this.#scheduled = true;
    this.#defer(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    const start = this.#now();
    try {
      do {
        const head = this.#entries[0];
        if (!head || this.#closed) return;
        const from = head.next;
        const to = Math.min(head.batch.count, from + this.#o.sliceRecords);
        // Taken before delivery: a consumer that throws does not get the slice again.
        head.next = to;
        this.#pending -= to - from;
        const last = to === head.batch.count;
        if (last) this.#entries.shift();
        try {
          if (to > from) this.#o.deliver(head.batch, from, to);
        } finally {
          if (last) this.#o.done?.(head.batch);
        }
      } while (this.#now() - start < this.#o.budgetMs);
    } finally {
      this.#schedule();
    }
  }
}
