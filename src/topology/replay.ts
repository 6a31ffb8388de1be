/**
 * Replaying a journal through the agent core, with each record's own `time`
 * as the clock. Records are applied in file order, not sorted by time: that
 * is the order the agent saw them in (a journal's `time` is coarse; observe
 * prints whole seconds). The actions the core asks for are not performed,
 * only counted. Hints age as on the agent, whose timer fires when a hint can
 * expire: before each record, the hints are aged to its time, so the hints
 * at the end are those alive at the last record's time.
 */
import { AgentCore, type AgentCoreOptions } from './core';
import type { CorrelationEvent, CorrelatorStats } from './correlate';
import type { TopologyHint } from './hints';
import type { JournalRecord } from './journal';

/** Events kept for the report; the rest are only counted (stats). */
export const MAX_REPORTED_EVENTS = 1000;

export interface LocatedEvent {
  readonly line: number;
  readonly event: CorrelationEvent;
}

export interface ReplaySummary {
  readonly transmitted: number;
  readonly received: number;
  /** Unicast advertisements the agent would have sent in reply. */
  readonly replies: number;
  /** Hints that aged out (or were evicted) during the replay. */
  readonly hintsExpired: number;
  readonly correlation: CorrelatorStats;
  /** The first MAX_REPORTED_EVENTS events, with their line numbers. */
  readonly events: readonly LocatedEvent[];
  readonly eventsOmitted: number;
}

export class JournalReplay {
  readonly #core: AgentCore;
  #transmitted = 0;
  #received = 0;
  #replies = 0;
  #expired = 0;
  readonly #events: LocatedEvent[] = [];
  #eventsOmitted = 0;

  constructor(opts: AgentCoreOptions = {}) {
    this.#core = new AgentCore(opts);
  }

  feed(record: JournalRecord, line: number): void {
    // Rounded: seconds with a fraction do not multiply to whole ms exactly.
    const nowMs = Math.round(record.time * 1000);
    const due = this.#core.nextExpiryMs();
    if (due !== undefined && due <= nowMs) this.#expired += this.#core.expire(nowMs).length;
    if (record.direction === 'tx') {
      this.#transmitted++;
      this.#core.onTransmit(record, nowMs);
      return;
    }
    this.#received++;
    const result = this.#core.onReceive(record, nowMs);
    this.#expired += result.expired.length;
    for (const a of result.actions) if (a.kind === 'unicast_advertisement') this.#replies++;
    for (const event of result.events) {
      if (this.#events.length < MAX_REPORTED_EVENTS) this.#events.push({ line, event });
      else this.#eventsOmitted++;
    }
  }

  /** The hints alive at the last record's time, sorted. */
  hints(): TopologyHint[] {
    return this.#core.correlator.hints();
  }

  summary(): ReplaySummary {
    return {
      transmitted: this.#transmitted,
      received: this.#received,
      replies: this.#replies,
      hintsExpired: this.#expired,
      correlation: this.#core.correlator.stats(),
      events: [...this.#events],
      eventsOmitted: this.#eventsOmitted,
    };
  }
}
