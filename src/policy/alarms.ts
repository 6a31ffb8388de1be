/**
 * Alarms: the correlation results that a person should hear about, with
 * the evidence, at a rate a person can read.
 *
 * - `replay`: a ULID received again on a segment that already received it.
 *   Someone captured the beacon and is sending it again, or a switching
 *   loop is delivering copies. `own` says whether the beacon was ours.
 * - `loop`: our own multicast beacon came back on the interface that sent
 *   it (rx_own_beacon_on_tx_interface): a loop, a broadcast storm, or
 *   someone replaying our beacons at us.
 * - `segment_flood`: one ULID arrived on more segments than the correlator
 *   accepts. The VLAN tag is not authenticated, so this is what replaying
 *   one captured beacon under many VIDs looks like.
 *
 * Identical alarms (same kind, same receiving segment) are raised at most
 * once per interval (default 60 s); the ones in between are counted, and
 * the next alarm raised for that kind and segment carries the count, as
 * syslog's "last message repeated N times" does. The table of recent alarms
 * is bounded (segments come from VLAN tags, which a hostile sender picks):
 * past the bound the entry raised longest ago is forgotten and counted.
 *
 * Pure: results of Correlator.onReceive and the time go in, alarms come out.
 */
import type { CorrelationEvent } from '../topology/correlate';
import type { TopologyHint } from '../topology/hints';
import { formatSegment, segmentKey, type Segment } from '../topology/segment';

export const ALARM_KINDS = ['replay', 'loop', 'segment_flood'] as const;
export type AlarmKind = (typeof ALARM_KINDS)[number];

export const DEFAULT_ALARM_INTERVAL_MS = 60_000;
export const DEFAULT_ALARM_KEYS = 4096;

export interface AlarmOptions {
  /** At most one alarm per kind and segment in this long (ms). */
  readonly intervalMs?: number;
  /** Bound of the table of recently raised alarms. */
  readonly maxKeys?: number;
}

/** What an alarm rests on. */
export interface AlarmEvidence {
  readonly ulid?: string;
  /** replay: whether the replayed beacon was one this host sent. */
  readonly own?: boolean;
  /** loop: the hints that show it. */
  readonly hints?: readonly TopologyHint[];
}

export interface AlarmEvent {
  readonly kind: AlarmKind;
  /** The receiving segment. */
  readonly segment: Segment;
  readonly timeMs: number;
  /** Alarms of this kind and segment held back since the previous one raised. */
  readonly suppressed: number;
  readonly evidence: AlarmEvidence;
  /** One line for the log. */
  readonly message: string;
}

/** The part of a Correlation that alarms read (a Correlation is one). */
export interface AlarmSource {
  readonly segment: Segment;
  readonly ulid?: string;
  readonly hints: readonly TopologyHint[];
  readonly events: readonly CorrelationEvent[];
}

export interface AlarmStats {
  readonly raised: Readonly<Record<AlarmKind, number>>;
  readonly suppressed: Readonly<Record<AlarmKind, number>>;
  /** Table entries forgotten because the table was full. */
  readonly evicted: number;
  readonly tracked: number;
}

interface Recent {
  lastRaisedMs: number;
  suppressed: number;
}

/** A count of 0 for every alarm kind. */
export const zeroAlarms = (): Record<AlarmKind, number> => ({ replay: 0, loop: 0, segment_flood: 0 });
const zero = zeroAlarms;

export class Alarms {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  // Insertion order is raise order (an entry is re-inserted when raised
  // again), so the first entry is always the one raised longest ago.
  readonly #recent = new Map<string, Recent>();
  readonly #raised = zero();
  readonly #suppressed = zero();
  #evicted = 0;

  constructor(opts: AlarmOptions = {}) {
    const intervalMs = opts.intervalMs ?? DEFAULT_ALARM_INTERVAL_MS;
    const maxKeys = opts.maxKeys ?? DEFAULT_ALARM_KEYS;
    if (!(intervalMs >= 0) || !Number.isFinite(intervalMs)) throw new RangeError(`alarm interval must be a finite number >= 0, got ${intervalMs}`);
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`alarm table bound must be a positive integer, got ${maxKeys}`);
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /** The alarms one correlation result raises at `nowMs` (usually none). */
  observe(c: AlarmSource, nowMs: number): AlarmEvent[] {
    const out: AlarmEvent[] = [];
    for (const e of c.events) {
      if (e.kind === 'replay') {
        const whose = e.own ? 'our own beacon' : 'beacon';
        this.#raise(
          out,
          'replay',
          e.segment,
          nowMs,
          { ulid: e.ulid, own: e.own },
          `${whose} ${e.ulid} received again on ${formatSegment(e.segment)}: replayed by someone who captured it, or copied by a switching loop`,
        );
      } else if (e.reason === 'too_many_segments') {
        const evidence = e.ulid === undefined ? {} : { ulid: e.ulid };
        this.#raise(
          out,
          'segment_flood',
          e.segment,
          nowMs,
          evidence,
          `beacon${named(e.ulid)} arrived on more segments than allowed, the latest ${formatSegment(e.segment)}: one beacon replayed under forged VLAN tags?`,
        );
      }
    }
    const loops = c.hints.filter((h) => h.hint === 'rx_own_beacon_on_tx_interface');
    if (loops.length > 0) {
      const evidence = c.ulid === undefined ? { hints: loops } : { ulid: c.ulid, hints: loops };
      this.#raise(
        out,
        'loop',
        c.segment,
        nowMs,
        evidence,
        `our own beacon${named(c.ulid)} came back on ${formatSegment(c.segment)}, the interface that sent it: a loop, a broadcast storm or a replay`,
      );
    }
    return out;
  }

  stats(): AlarmStats {
    return { raised: { ...this.#raised }, suppressed: { ...this.#suppressed }, evicted: this.#evicted, tracked: this.#recent.size };
  }

  #raise(out: AlarmEvent[], kind: AlarmKind, segment: Segment, nowMs: number, evidence: AlarmEvidence, message: string): void {
    const key = `${kind}\u0001${segmentKey(segment)}`;
    const recent = this.#recent.get(key);
    // A clock that went backwards does not hold alarms back longer.
    if (recent && nowMs >= recent.lastRaisedMs && nowMs - recent.lastRaisedMs < this.#intervalMs) {
      recent.suppressed++;
      this.#suppressed[kind]++;
      return;
    }
    const suppressed = recent?.suppressed ?? 0;
    this.#recent.delete(key);
    this.#recent.set(key, { lastRaisedMs: nowMs, suppressed: 0 });
    if (this.#recent.size > this.#maxKeys) {
      this.#recent.delete(this.#recent.keys().next().value!);
      this.#evicted++;
    }
    this.#raised[kind]++;
    out.push({
      kind,
      segment,
      timeMs: nowMs,
      suppressed,
      evidence,
      message: suppressed === 0 ? message : `${message} (${suppressed} more since the last report)`,
    });
  }
}

/** " ULID" for a message, or nothing (the correlator always has one for these; the type does not say so). */
function named(ulid: string | undefined): string {
  return ulid === undefined ? '' : ` ${ulid}`;
}
