/**
 * The agent's hint-ageing timer, the driver half of src/topology/ageing.ts:
 * armed for the moment the core says a hint can next expire, so it fires
 * only when something can go (not on a fixed tick), and re-armed whenever a
 * reception may have brought that moment forward. Between two firings the
 * core also ages on every received beacon; `now()` ages at once, for
 * answers that must not lag (hints, topology, status).
 */
import type { TopologyHint } from '../topology/hints';

export interface Expiring {
  expire(nowMs: number): TopologyHint[];
  nextExpiryMs(): number | undefined;
}

/** Longest single wait: a wall clock stepped forward is noticed within this. */
const MAX_WAIT_MS = 60_000;

export class HintExpiryTimer {
  readonly #core: Expiring;
  readonly #clock: () => number;
  readonly #onExpired: (hints: TopologyHint[], nowMs: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #dueMs = Number.POSITIVE_INFINITY;
  #stopped = false;

  constructor(core: Expiring, clock: () => number, onExpired: (hints: TopologyHint[], nowMs: number) => void) {
    this.#core = core;
    this.#clock = clock;
    this.#onExpired = onExpired;
  }

  /** Arms the timer for the core's next expiry, unless it is armed for that moment or earlier already. */
  arm(): void {
    if (this.#stopped) return;
    const next = this.#core.nextExpiryMs();
    if (next === undefined || next >= this.#dueMs) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueMs = next;
    const delay = Math.min(Math.max(0, next - this.#clock()), MAX_WAIT_MS);
    this.#timer = setTimeout(() => this.#fire(), delay);
    // The capture and the control socket keep the agent alive, not this.
    this.#timer.unref();
  }

  /** Ages the hints to the clock now (reporting what went) and re-arms. */
  now(): void {
    const nowMs = this.#clock();
    const gone = this.#core.expire(nowMs);
    if (gone.length > 0) this.#onExpired(gone, nowMs);
    this.arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    // Node's timers run on the monotonic clock and the core on the wall
    // clock: a timer may fire a millisecond before the wall clock reaches
    // the due moment (or, capped at MAX_WAIT_MS, long before it). Asking the
    // core then would find nothing to drop and fire again at once; wait out
    // the rest instead.
    const early = this.#dueMs - this.#clock();
    if (early > 0) {
      this.#timer = setTimeout(() => this.#fire(), Math.min(early, MAX_WAIT_MS));
      this.#timer.unref();
      return;
    }
    this.#dueMs = Number.POSITIVE_INFINITY;
    this.now();
  }
}
