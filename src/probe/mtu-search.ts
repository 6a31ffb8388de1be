/**
 * The search for the largest datagram that crosses a link, as a state
 * machine: next() says which size to probe, record() says whether it
 * arrived. No clock and no I/O; the driver (mtu-run.ts) sends, waits and
 * reports back.
 *
 * Order: the maximum first (on a clean link one probe settles it), then the
 * minimum (if that fails nothing answers at all and bisecting would only
 * waste probes), then bisection between the largest size that arrived and
 * the smallest that did not. A probe can be lost for reasons other than
 * its size, so a size counts as too big only after `tries` losses in a
 * row; one arrival settles it as good. Every step costs at most `tries`
 * probes and there are at most 2 + ceil(log2(max - min)) steps, and
 * `maxProbes` caps the whole search besides.
 */

export interface MtuSearchOptions {
  /** Smallest size probed (the floor assumed to work; 1280). */
  readonly min: number;
  /** Largest size probed: the sending interface's MTU (capped by the caller). */
  readonly max: number;
  /** Probes lost in a row before a size counts as too big (default 2). */
  readonly tries?: number;
  /** Most probes in all (default 64). */
  readonly maxProbes?: number;
}

export interface MtuSearchResult {
  /** Largest size that arrived; null when not even `min` did. */
  readonly path_mtu: number | null;
  /** Smallest size that did not arrive (after `tries` probes), when one was found. */
  readonly smallest_lost?: number;
  readonly probes: number;
  /** True when maxProbes stopped the search before it settled. */
  readonly incomplete: boolean;
}

export class MtuSearch {
  readonly #min: number;
  readonly #max: number;
  readonly #tries: number;
  readonly #maxProbes: number;
  #good: number | undefined; // largest size that arrived
  #bad: number | undefined; // smallest size lost `tries` times
  #current: number | undefined;
  #lossesAtCurrent = 0;
  #probes = 0;

  constructor(opts: MtuSearchOptions) {
    const { min, max } = opts;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max < min)
      throw new RangeError(`an MTU search needs integers 1 <= min <= max, got ${min}..${max}`);
    this.#tries = opts.tries ?? 2;
    this.#maxProbes = opts.maxProbes ?? 64;
    if (!Number.isInteger(this.#tries) || this.#tries < 1) throw new RangeError(`tries must be a positive integer, got ${this.#tries}`);
    if (!Number.isInteger(this.#maxProbes) || this.#maxProbes < 1) throw new RangeError(`maxProbes must be a positive integer, got ${this.#maxProbes}`);
    this.#min = min;
    this.#max = max;
  }

  /** The size to probe now; undefined when the search is over. */
  next(): number | undefined {
    if (this.#current !== undefined) return this.#current;
    if (this.#probes >= this.#maxProbes) return undefined;
    this.#current = this.#candidate();
    this.#lossesAtCurrent = 0;
    return this.#current;
  }

  /** Whether the probe of next()'s size arrived. */
  record(arrived: boolean): void {
    const size = this.#current;
    if (size === undefined) throw new Error('record() without a probe from next()');
    this.#probes++;
    if (arrived) {
      this.#good = Math.max(this.#good ?? size, size);
      this.#current = undefined;
    } else if (++this.#lossesAtCurrent >= this.#tries) {
      this.#bad = Math.min(this.#bad ?? size, size);
      this.#current = undefined;
    }
    if (this.#current !== undefined && this.#probes >= this.#maxProbes) this.#current = undefined;
  }

  get done(): boolean {
    return this.next() === undefined;
  }

  result(): MtuSearchResult {
    const incomplete = this.#candidate() !== undefined;
    const r: MtuSearchResult = { path_mtu: this.#good ?? null, probes: this.#probes, incomplete };
    return this.#bad === undefined ? r : { ...r, smallest_lost: this.#bad };
  }

  /** The next size to try, or undefined when settled. */
  #candidate(): number | undefined {
    const good = this.#good;
    const bad = this.#bad;
    if (good === undefined) {
      if (bad === undefined) return this.#max;
      return bad === this.#min ? undefined : this.#min;
    }
    if (good >= this.#max) return undefined;
    if (bad === undefined) return this.#max; // min arrived first (max == min case aside): try max
    if (bad - good <= 1) return undefined;
    return Math.floor((good + bad) / 2);
  }
}
