/**
 * Pacing for probes: at most `rate` frames a second, sent in small bursts
 * (a tenth of a second's worth) so that a scan of 4094 VLANs is a steady
 * trickle a switch's control plane can take, never a flood. Also bounds
 * the total a run may send. Pure: time in ms comes from the caller.
 */
import { TokenBucket } from '../policy/ratelimit';

export const DEFAULT_RATE = 200;
export const MAX_RATE = 2000;

export class Pacer {
  readonly #bucket: TokenBucket;
  readonly #rate: number;
  readonly #limit: number;
  readonly #burst: number;
  #granted = 0;

  /** `rate` frames/s; `limit` frames in all (Infinity: unbounded). */
  constructor(rate: number, nowMs: number, limit = Number.POSITIVE_INFINITY) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`a probe rate must be a finite number > 0, got ${rate}`);
    if (!(limit >= 0)) throw new RangeError(`a probe limit must be >= 0, got ${limit}`);
    this.#rate = rate;
    this.#limit = limit;
    // A burst of a tenth of a second (at least one frame): sends are
    // batched, but a batch never bunches more than 100 ms of traffic.
    this.#burst = Math.max(1, Math.floor(rate / 10));
    this.#bucket = new TokenBucket({ ratePerSecond: rate, burst: this.#burst }, nowMs);
  }

  /** How many of `want` frames may go now (taken from the allowance). */
  grant(want: number, nowMs: number): number {
    let n = 0;
    while (n < want && this.#granted < this.#limit && this.#bucket.tryTake(nowMs)) {
      n++;
      this.#granted++;
    }
    return n;
  }

  /**
   * Milliseconds until `want` more frames (at most a burst) may go: 0 if
   * now, Infinity once the limit is reached. Waiting for a whole burst
   * rather than one frame keeps sends batched: every raw send call costs
   * the same ~10 ms however many frames it carries.
   */
  waitMs(nowMs: number, want = 1): number {
    if (this.#granted >= this.#limit) return Number.POSITIVE_INFINITY;
    const need = Math.max(1, Math.min(want, this.#burst, this.#limit - this.#granted));
    const missing = need - this.#bucket.tokens(nowMs);
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.#rate);
  }

  /** Frames one burst may hold. */
  get burst(): number {
    return this.#burst;
  }

  get granted(): number {
    return this.#granted;
  }
}
