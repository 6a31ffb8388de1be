/**
 * Correlation: what a received beacon says about how this host's segments
 * are wired, given the beacons this host sent and the ones it has already
 * received. Pure: the caller passes each beacon and the time; nothing here
 * reads a clock, a socket or a file.
 *
 * MAAS's rules (BeaconingSocketProtocol), as the reference journal and
 * hints pin them down:
 * - Beacons below version 2 and beacons without a ULID are dropped first.
 * - Own beacon (ULID in the transmit queue), received by multicast:
 *   rx_own_beacon_on_tx_interface if it came back on the interface it was
 *   sent from, else rx_own_beacon_on_other_interface (ifname/vid = where it
 *   was sent, related = where it arrived).
 * - Duplicate (ULID already in the receive queue), received by multicast:
 *   same_local_fabric_as between every two distinct segments that received
 *   it, in both directions. This applies to own beacons too: the reference
 *   hints relate eth0 and eth1 only through this host's own solicitation.
 * - Not own, payload names its interface (remote name and MAC):
 *   on_remote_network by multicast, routable_to by unicast, for every
 *   segment that receives it, duplicate or not (the reference has both
 *   eth0 and eth2 on_remote_network to ens3, from one ULID).
 *
 * Beyond MAAS:
 * - A ULID that arrives again on a segment that already received it is a
 *   replay (or a switching loop). It is reported as an event and otherwise
 *   ignored: no hints, no reply. MAAS would correlate it again.
 * - A beacon whose ULID is already older than the queue TTL is dropped: it
 *   could not be remembered, so its replays could not be recognised.
 * - One ULID is accepted on at most `maxSegmentsPerBeacon` segments. The
 *   VLAN tag is not authenticated, so one captured beacon replayed under
 *   4094 VIDs would otherwise yield millions of same_local_fabric_as pairs.
 */
import { isMulticastAddress, isVid, parseUlid, readRemote, type ReceivedBeacon, type SentBeacon } from './beacons';
import { HintSet, makeHint, sortHints, type TopologyHint } from './hints';
import { BeaconQueue, type QueueStats } from './queues';
import { sameSegment, segment, type Segment } from './segment';

export interface CorrelatorOptions {
  /** Bound of the transmit queue (beacons this host sent). */
  readonly txCapacity?: number;
  /** Bound of the receive queue (distinct ULIDs received). */
  readonly rxCapacity?: number;
  /** How long after its ULID's timestamp a beacon is remembered (ms). */
  readonly ttlMs?: number;
  /** Bound of the set of hints learned. */
  readonly maxHints?: number;
  /** How many distinct segments one ULID may be accepted on. */
  readonly maxSegmentsPerBeacon?: number;
}

export const DEFAULT_MAX_HINTS = 10_000;
export const DEFAULT_MAX_SEGMENTS_PER_BEACON = 64;

export type DropReason = 'old_version' | 'no_ulid' | 'expired' | 'too_many_segments';

export type CorrelationEvent =
  | { readonly kind: 'dropped'; readonly reason: DropReason; readonly segment: Segment; readonly ulid?: string }
  | { readonly kind: 'replay'; readonly ulid: string; readonly segment: Segment; readonly own: boolean };

/** What the beacon turned out to be. */
export type Verdict = 'dropped' | 'replay' | 'own' | 'duplicate' | 'new';

export interface Correlation {
  readonly verdict: Verdict;
  /** The receiving segment. */
  readonly segment: Segment;
  /** The ULID as the sender wrote it, when it had one. */
  readonly ulid?: string;
  /** Every hint this beacon supports, sorted. */
  readonly hints: readonly TopologyHint[];
  /** Those of `hints` that were not known before. */
  readonly added: readonly TopologyHint[];
  readonly events: readonly CorrelationEvent[];
}

export interface CorrelatorStats {
  readonly received: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly replays: number;
  readonly own: number;
  readonly duplicates: number;
  readonly tx: QueueStats;
  readonly rx: QueueStats;
  readonly hints: number;
  /** Hints not kept because the hint set was full. */
  readonly hintsRefused: number;
}

export class Correlator {
  // ULID -> the segment it was sent on.
  readonly #tx: BeaconQueue<Segment>;
  // ULID -> the distinct segments it was received on, in arrival order.
  readonly #rx: BeaconQueue<Segment[]>;
  readonly #hints: HintSet;
  readonly #maxSegments: number;
  #received = 0;
  #replays = 0;
  #own = 0;
  #duplicates = 0;
  readonly #dropped: Record<DropReason, number> = { old_version: 0, no_ulid: 0, expired: 0, too_many_segments: 0 };

  constructor(opts: CorrelatorOptions = {}) {
    this.#tx = new BeaconQueue({ capacity: opts.txCapacity, ttlMs: opts.ttlMs });
    this.#rx = new BeaconQueue({ capacity: opts.rxCapacity, ttlMs: opts.ttlMs });
    this.#hints = new HintSet(opts.maxHints ?? DEFAULT_MAX_HINTS);
    this.#maxSegments = opts.maxSegmentsPerBeacon ?? DEFAULT_MAX_SEGMENTS_PER_BEACON;
  }

  /** Records a beacon this host sent, so that it is recognised when it comes back. */
  onTransmit(sent: SentBeacon, nowMs: number): void {
    const ulid = parseUlid(sent.ulid);
    // The caller built this ULID itself; a bad one is a bug, not hostile input.
    if (!ulid) throw new RangeError(`not a ULID: ${JSON.stringify(sent.ulid)}`);
    this.#expire(nowMs);
    this.#tx.set(ulid.key, ulid.timeMs, segment(sent.interface, sent.vid));
  }

  onReceive(rx: ReceivedBeacon, nowMs: number): Correlation {
    this.#received++;
    const seg = segment(rx.interface, isVid(rx.vid) ? rx.vid : undefined);
    if (!(rx.version >= 2)) return this.#drop('old_version', seg, parseUlid(rx.payload?.ulid)?.text);
    const ulid = parseUlid(rx.payload?.ulid);
    if (!ulid) return this.#drop('no_ulid', seg);
    this.#expire(nowMs);
    if (this.#rx.isExpired(ulid.timeMs, nowMs)) return this.#drop('expired', seg, ulid.text);

    const own = this.#tx.get(ulid.key);
    // v3 beacons are (key id, ULID): see ReceivedBeacon.key_id.
    const rxKey = rx.key_id === undefined ? ulid.key : `${rx.key_id}/${ulid.key}`;
    const earlier = this.#rx.get(rxKey) ?? [];
    if (earlier.some((s) => sameSegment(s, seg))) {
      this.#replays++;
      const event: CorrelationEvent = { kind: 'replay', ulid: ulid.text, segment: seg, own: own !== undefined };
      return { verdict: 'replay', segment: seg, ulid: ulid.text, hints: [], added: [], events: [event] };
    }
    if (earlier.length >= this.#maxSegments) return this.#drop('too_many_segments', seg, ulid.text);
    this.#rx.set(rxKey, ulid.timeMs, [...earlier, seg]);

    const hints = deriveHints(rx, seg, own, earlier);
    const added = hints.filter((h) => this.#hints.add(h));
    if (own) this.#own++;
    else if (earlier.length > 0) this.#duplicates++;
    const verdict: Verdict = own ? 'own' : earlier.length > 0 ? 'duplicate' : 'new';
    return { verdict, segment: seg, ulid: ulid.text, hints, added, events: [] };
  }

  /** Every hint learned so far, sorted. */
  hints(): TopologyHint[] {
    return this.#hints.values();
  }

  stats(): CorrelatorStats {
    return {
      received: this.#received,
      dropped: { ...this.#dropped },
      replays: this.#replays,
      own: this.#own,
      duplicates: this.#duplicates,
      tx: this.#tx.stats(),
      rx: this.#rx.stats(),
      hints: this.#hints.size,
      hintsRefused: this.#hints.refused,
    };
  }

  #expire(nowMs: number): void {
    this.#tx.expire(nowMs);
    this.#rx.expire(nowMs);
  }

  #drop(reason: DropReason, seg: Segment, ulid?: string): Correlation {
    this.#dropped[reason]++;
    const event: CorrelationEvent = ulid === undefined ? { kind: 'dropped', reason, segment: seg } : { kind: 'dropped', reason, segment: seg, ulid };
    return { verdict: 'dropped', segment: seg, ...(ulid === undefined ? {} : { ulid }), hints: [], added: [], events: [event] };
  }
}

/**
 * The hints one accepted reception supports. `own` is where this host sent
 * the ULID (if it did); `earlier` the other segments that received it.
 */
function deriveHints(rx: ReceivedBeacon, seg: Segment, own: Segment | undefined, earlier: readonly Segment[]): TopologyHint[] {
  const multicast = isMulticastAddress(rx.destination_ip);
  const out: TopologyHint[] = [];
  if (own) {
    // A unicast beacon of ours coming back says nothing about the wiring.
    if (multicast) {
      const kind = own.ifname === seg.ifname ? 'rx_own_beacon_on_tx_interface' : 'rx_own_beacon_on_other_interface';
      out.push(makeHint(kind, own, { ifname: seg.ifname, vid: seg.vid }));
    }
  } else {
    const remote = readRemote(rx.payload);
    if (remote) {
      out.push(makeHint(multicast ? 'on_remote_network' : 'routable_to', seg, { ifname: remote.name, vid: remote.vid, mac: remote.mac }));
    }
  }
  if (multicast) {
    // Only the pairs this reception adds; the earlier ones were added before.
    for (const other of earlier) {
      out.push(makeHint('same_local_fabric_as', seg, { ifname: other.ifname, vid: other.vid }));
      out.push(makeHint('same_local_fabric_as', other, { ifname: seg.ifname, vid: seg.vid }));
    }
  }
  return sortHints(out);
}
