/**
 * When to send multicast beacons, as a clock-driven state machine. The
 * caller says what happened (interfaces changed, an advertisement was asked
 * for) and calls tick(now); tick returns what to send now, and nextDueMs()
 * says when calling tick again can next produce something. No timers here:
 * the driver owns them, tests use plain numbers.
 *
 * Timing follows a MAAS rack:
 * - Solicitations go out when the interfaces change and every 30 s after
 *   that, each repeated 3 s later in case the first was lost.
 * - Multicast advertisements (asked for after answering someone's
 *   solicitation) go out at most once per 5 s; requests in between are
 *   merged into the next one rather than dropped.
 *
 * Choices where MAAS leaves room:
 * - An interface change restarts the 30 s period, so a change right before
 *   a periodic solicitation does not cause two bursts.
 * - After a long gap between ticks (a suspended host, a replay) missed
 *   solicitations are not caught up: at most one solicitation per tick, and
 *   the period restarts from that tick.
 * - Solicitations and advertisements are paced independently.
 */

export const SOLICITATION_PERIOD_MS = 30_000;
export const SOLICITATION_RETRY_MS = 3_000;
export const ADVERTISEMENT_INTERVAL_MS = 5_000;

export interface SchedulerOptions {
  readonly solicitationPeriodMs?: number;
  readonly solicitationRetryMs?: number;
  readonly advertisementIntervalMs?: number;
}

export type SolicitationReason = 'interfaces_changed' | 'periodic' | 'retry';

/** Send a beacon to the multicast groups on every monitored interface. */
export type ScheduledAction = { readonly kind: 'multicast_solicitation'; readonly reason: SolicitationReason } | { readonly kind: 'multicast_advertisement' };

export class Scheduler {
  #periodMs: number;
  #retryMs: number;
  #advertIntervalMs: number;
  // Each is the time something becomes due, or undefined when nothing is pending.
  #changeDueAt: number | undefined;
  #periodicAt: number | undefined;
  #retryAt: number | undefined;
  #advertRequestedAt: number | undefined;
  #lastAdvertAt: number | undefined;

  constructor(opts: SchedulerOptions = {}) {
    this.#periodMs = opts.solicitationPeriodMs ?? SOLICITATION_PERIOD_MS;
    this.#retryMs = opts.solicitationRetryMs ?? SOLICITATION_RETRY_MS;
    this.#advertIntervalMs = opts.advertisementIntervalMs ?? ADVERTISEMENT_INTERVAL_MS;
  }

  /**
   * New periods (a config reload). What is pending stays pending; a periodic
   * solicitation already scheduled further out than the new period is
   * brought forward, so shortening the period takes effect at once.
   */
  setPeriods(opts: SchedulerOptions, nowMs: number): void {
    if (opts.solicitationPeriodMs !== undefined) this.#periodMs = opts.solicitationPeriodMs;
    if (opts.solicitationRetryMs !== undefined) this.#retryMs = opts.solicitationRetryMs;
    if (opts.advertisementIntervalMs !== undefined) this.#advertIntervalMs = opts.advertisementIntervalMs;
    if (this.#periodicAt !== undefined) this.#periodicAt = Math.min(this.#periodicAt, nowMs + this.#periodMs);
  }

  /** The set of interfaces (or their addresses) changed: solicit now. */
  interfacesChanged(nowMs: number): void {
    this.#changeDueAt = Math.min(this.#changeDueAt ?? nowMs, nowMs);
  }

  /** Ask for multicast advertisements on all interfaces, as soon as the 5 s limit allows. */
  requestAdvertisement(nowMs: number): void {
    this.#advertRequestedAt = Math.min(this.#advertRequestedAt ?? nowMs, nowMs);
  }

  /** What is due at `nowMs`; at most one solicitation and one advertisement. */
  tick(nowMs: number): ScheduledAction[] {
    const out: ScheduledAction[] = [];
    const reason = this.#dueSolicitation(nowMs);
    if (reason) {
      out.push({ kind: 'multicast_solicitation', reason });
      if (reason === 'retry') {
        this.#retryAt = undefined;
      } else {
        this.#changeDueAt = undefined;
        this.#retryAt = nowMs + this.#retryMs;
        this.#periodicAt = nowMs + this.#periodMs;
      }
    }
    const advertDue = this.#advertDueAt();
    if (advertDue !== undefined && advertDue <= nowMs) {
      out.push({ kind: 'multicast_advertisement' });
      this.#advertRequestedAt = undefined;
      this.#lastAdvertAt = nowMs;
    }
    return out;
  }

  /** The earliest time tick() has something to return, or undefined if nothing is pending. */
  nextDueMs(): number | undefined {
    const times = [this.#changeDueAt, this.#periodicAt, this.#retryAt, this.#advertDueAt()].filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.min(...times);
  }

  #dueSolicitation(nowMs: number): SolicitationReason | undefined {
    if (this.#changeDueAt !== undefined && this.#changeDueAt <= nowMs) return 'interfaces_changed';
    if (this.#periodicAt !== undefined && this.#periodicAt <= nowMs) return 'periodic';
    if (this.#retryAt !== undefined && this.#retryAt <= nowMs) return 'retry';
    return undefined;
  }

  #advertDueAt(): number | undefined {
    if (this.#advertRequestedAt === undefined) return undefined;
    if (this.#lastAdvertAt === undefined) return this.#advertRequestedAt;
    return Math.max(this.#advertRequestedAt, this.#lastAdvertAt + this.#advertIntervalMs);
  }
}
