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
 * - A multicast duplicate relates every two segments that received the
 *   ULID so far, unicast receptions included (MAAS pairs the whole receive
 *   queue entry each time); each pair is derived once per ULID.
 * - Hints age (ageing.ts): each one lives while a ULID supporting it is at
 *   most the TTL old. onReceive ages them first; expire(nowMs) ages them
 *   without a beacon, for a driver's timer (nextExpiryMs says when).
 *
 * Beyond MAAS:
 * - A ULID that arrives again on a segment that already received it is a
 *   replay (or a switching loop). It is reported as an event and otherwise
 *   ignored: no hints, no reply. MAAS would correlate it again.
 * - A beacon whose ULID is already older than the queue TTL is dropped: it
 *   could not be remembered, so its replays could not be recognised. So is
 *   one whose ULID is more than the TTL ahead of the clock: MAAS would age
 *   it out at the next arrival (ageing.ts), and remembering it would hold
 *   its hints and its queue slot until the clock caught up.
 * - One ULID is accepted on at most `maxSegmentsPerBeacon` segments. The
 *   VLAN tag is not authenticated, so one captured beacon replayed under
 *   4094 VIDs would otherwise yield millions of same_local_fabric_as pairs.
 */
import { HintAgeing, type AgeingStats, type SupportSlot } from './ageing';
import { INVALID, isMulticastAddress, isVid, parseUlid, readUlid, type ReceivedBeacon, type SentBeacon } from './beacons';
import { HintTable, sortEntries, type HintEntry, type SegmentNode } from './hint-table';
import { makeHint, sortHints, type TopologyHint } from './hints';
import { BEACON_TTL_MS, UlidQueue, type QueueStats, type UlidQueued } from './queues';
import type { Segment } from './segment';

export interface CorrelatorOptions {
  /** Bound of the transmit queue (beacons this host sent). */
  readonly txCapacity?: number;
  /** Bound of the receive queue (distinct ULIDs received). */
  readonly rxCapacity?: number;
  /** How long after its ULID's timestamp a beacon is remembered, and its hints kept (ms). */
  readonly ttlMs?: number;
  /** Bound of the set of hints held. */
  readonly maxHints?: number;
  /** Bound of the (ULID, hint) support pairs that age the hints. */
  readonly maxHintSupport?: number;
  /** How many distinct segments one ULID may be accepted on. */
  readonly maxSegmentsPerBeacon?: number;
}

export const DEFAULT_MAX_HINTS = 10_000;
export const DEFAULT_MAX_SEGMENTS_PER_BEACON = 64;
export { DEFAULT_MAX_HINT_SUPPORT } from './ageing';

export type DropReason = 'old_version' | 'no_ulid' | 'expired' | 'future' | 'too_many_segments';

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
  /** Every hint this reception supports, sorted. */
  readonly hints: readonly TopologyHint[];
  /** Those of `hints` that were not held before. */
  readonly added: readonly TopologyHint[];
  /** Hints that left while this beacon was handled: aged out (or evicted) before it was correlated. */
  readonly expired: readonly TopologyHint[];
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
  /** Hints held now. */
  readonly hints: number;
  /** Hints not kept because the hint set was full. */
  readonly hintsRefused: number;
  /** The support that ages the hints. */
  readonly ageing: AgeingStats;
}

/**
 * What the receive queue holds per ULID, itself (no wrapper): it is also
 * the ULID's support slot (the hints its receptions support). One object
 * per received ULID that was heard on one segment, the usual case. Once
 * it has left both the queue and the ageing it is reused for a later ULID
 * (its fields rewritten), so that the objects of a long run are a few
 * thousand that live for good rather than one per beacon that dies old.
 */
interface Received extends SupportSlot, UlidQueued {
  timeMs: number;
  r0: number;
  r1: number;
  r2: number;
  keyId: string | undefined;
  /** The first segment it was received on. */
  first: SegmentNode;
  /** Every distinct segment it was received on, in arrival order, once there are two; undefined while `first` is the only one. */
  more: SegmentNode[] | undefined;
  /** How many of the segments have been paired with each other (same_local_fabric_as). */
  paired: number;
  /** True while it is in the receive queue. */
  queued: boolean;
}

const NONE: readonly never[] = Object.freeze([]);

/** A beacon this host sent, in the transmit queue: where it was sent. Reused, like Received, once it left. */
interface Sent extends UlidQueued {
  timeMs: number;
  r0: number;
  r1: number;
  r2: number;
  node: SegmentNode;
}

/** How far past the TTL the queues' oldest entry may be before the queues are aged (ms): see Correlator.#queuesNowMs. */
const QUEUE_SLACK_MS = 1_000;

export class Correlator {
  // ULID -> the segment it was sent on.
  readonly #tx: UlidQueue<Sent>;
  readonly #rx: UlidQueue<Received>;
  /** The random parts of the ULID being handled (readUlid). */
  readonly #parts = new Int32Array(3);
  readonly #table: HintTable;
  readonly #ageing: HintAgeing;
  readonly #ttlMs: number;
  readonly #maxSegments: number;
  /** Reused for each reception's hints (copied out where they are kept): the first #count are this reception's. */
  readonly #derived: HintEntry[] = [];
  #count = 0;
  /**
   * The queues are aged in batches: only when their oldest entry is
   * QUEUE_SLACK_MS past the TTL, and whenever their state shows (stats(),
   * a full queue about to evict, a transmitted ULID already past the TTL,
   * the clock stepping back). An entry past the TTL is never found by a
   * reception meanwhile (one with its ULID is dropped as expired first), so
   * the batches change nothing anyone sees. #queuesNowMs is the latest
   * clock since they were last aged (aging to it then is exactly what
   * aging at every call would have left); #queuesOldestMs a lower bound of
   * their oldest ULID time.
   */
  #queuesNowMs = Number.NEGATIVE_INFINITY;
  #queuesOldestMs = Number.POSITIVE_INFINITY;
  /**
   * The last call transmitted a ULID already past the TTL: the queues were
   * aged exactly before it was remembered, and it stays until the next
   * beacon ages them (at that beacon's clock), as aging at every beacon does.
   */
  #staleSent = false;
  /** No hint support is older than this ULID time (ms): a lower bound, so that a reception tells in one comparison that no hint is due. */
  #supportOldestMs = Number.POSITIVE_INFINITY;
  readonly #newly: TopologyHint[] = [];
  readonly #evicted: TopologyHint[] = [];
  /** Entries that left the queues (and the ageing), to be reused. */
  readonly #freeRx: Received[] = [];
  readonly #freeTx: Sent[] = [];
  /** The entry onReceive is working on: not freed under its feet if a bound evicts it meanwhile. */
  #current: Received | undefined;
  #received = 0;
  #replays = 0;
  #own = 0;
  #duplicates = 0;
  readonly #dropped: Record<DropReason, number> = { old_version: 0, no_ulid: 0, expired: 0, future: 0, too_many_segments: 0 };

  constructor(opts: CorrelatorOptions = {}) {
    this.#ttlMs = opts.ttlMs ?? BEACON_TTL_MS;
    const freeTx = this.#freeTx;
    this.#tx = new UlidQueue<Sent>({ capacity: opts.txCapacity, ttlMs: this.#ttlMs, onLeave: (sent) => freeTx.push(sent) });
    this.#rx = new UlidQueue<Received>({
      capacity: opts.rxCapacity,
      ttlMs: this.#ttlMs,
      onLeave: (entry) => {
        entry.queued = false;
        if (!entry.live && entry !== this.#current) this.#freeRx.push(entry);
      },
    });
    this.#table = new HintTable(opts.maxHints ?? DEFAULT_MAX_HINTS);
    this.#ageing = new HintAgeing(this.#table, {
      ttlMs: this.#ttlMs,
      capacity: opts.maxHintSupport,
      onRelease: (slot) => {
        const entry = slot as Received;
        if (!entry.queued && entry !== this.#current) this.#freeRx.push(entry);
      },
    });
    this.#maxSegments = opts.maxSegmentsPerBeacon ?? DEFAULT_MAX_SEGMENTS_PER_BEACON;
  }

  /** Records a beacon this host sent, so that it is recognised when it comes back. */
  onTransmit(sent: SentBeacon, nowMs: number): void {
    const text = sent.ulid;
    const parts = this.#parts;
    const t = typeof text === 'string' ? readUlid(text, parts) : INVALID;
    // The caller built this ULID itself; a bad one is a bug, not hostile input.
    if (t === INVALID) throw new RangeError(`not a ULID: ${JSON.stringify(sent.ulid)}`);
    this.#tick(nowMs);
    const timeMs = t >= 0 ? t : -1 - t;
    // A ULID past the TTL already: the rare case where batches would show (see #staleSent).
    const stale = nowMs - timeMs > this.#ttlMs;
    if (stale) this.#ageQueues(nowMs);
    const node = this.#table.segment(sent.interface, sent.vid);
    const r0 = parts[0]!;
    const r1 = parts[1]!;
    const r2 = parts[2]!;
    const known = this.#tx.get(timeMs, r0, r1, r2, undefined);
    // An existing entry keeps its stamp and gets the new segment.
    if (known) known.node = node;
    else {
      if (this.#tx.size >= this.#tx.capacity) this.#ageQueues(nowMs);
      const sent = this.#freeTx.pop();
      if (sent === undefined) this.#tx.insert({ timeMs, r0, r1, r2, keyId: undefined, qseq: 0, next: undefined, node });
      else {
        sent.timeMs = timeMs;
        sent.r0 = r0;
        sent.r1 = r1;
        sent.r2 = r2;
        sent.node = node;
        this.#tx.insert(sent);
      }
      if (timeMs < this.#queuesOldestMs) this.#queuesOldestMs = timeMs;
    }
    if (stale) this.#staleSent = true;
  }

  onReceive(rx: ReceivedBeacon, nowMs: number): Correlation {
    this.#received++;
    const node = this.#table.segment(rx.interface, isVid(rx.vid) ? rx.vid : undefined);
    const seg = node.segment;
    const payload = rx.payload;
    if (!(rx.version >= 2)) return this.#drop('old_version', seg, NONE, parseUlid(payload?.ulid)?.text);
    // parseUlid() without its object: this runs for every beacon.
    const text = payload?.ulid;
    const parts = this.#parts;
    const t = typeof text === 'string' ? readUlid(text, parts) : INVALID;
    if (t === INVALID) return this.#drop('no_ulid', seg, NONE);
    const ulid = text as string;
    const r0 = parts[0]!;
    const r1 = parts[1]!;
    const r2 = parts[2]!;
    const timeMs = t >= 0 ? t : -1 - t;
    const gone = this.#age(nowMs);
    if (nowMs - timeMs > this.#ttlMs) return this.#drop('expired', seg, gone, ulid);
    if (timeMs - nowMs > this.#ttlMs) return this.#drop('future', seg, gone, ulid);

    const own = this.#tx.get(timeMs, r0, r1, r2, undefined)?.node;
    // v3 beacons are (key id, ULID): see ReceivedBeacon.key_id.
    const keyId = rx.key_id;
    let entry = this.#rx.get(timeMs, r0, r1, r2, keyId);
    const duplicate = entry !== undefined;
    if (entry) {
      const more = entry.more;
      if (more === undefined ? entry.first === node : more.includes(node)) {
        this.#replays++;
        const event: CorrelationEvent = { kind: 'replay', ulid, segment: seg, own: own !== undefined };
        return { verdict: 'replay', segment: seg, ulid, hints: NONE, added: NONE, expired: gone, events: [event] };
      }
      if ((more === undefined ? 1 : more.length) >= this.#maxSegments) return this.#drop('too_many_segments', seg, gone, ulid);
      if (more === undefined) entry.more = [entry.first, node];
      else more.push(node);
    } else {
      entry = this.#freeRx.pop();
      if (entry === undefined) {
        entry = {
          timeMs,
          r0,
          r1,
          r2,
          keyId,
          qseq: 0,
          next: undefined,
          seq: 0,
          one: undefined,
          entries: undefined,
          live: false,
          first: node,
          more: undefined,
          paired: 0,
          queued: true,
        };
      } else {
        // Left the queue and the ageing: `next`, `one`, `entries` and `live` are already cleared.
        entry.timeMs = timeMs;
        entry.r0 = r0;
        entry.r1 = r1;
        entry.r2 = r2;
        entry.keyId = keyId;
        entry.first = node;
        entry.more = undefined;
        entry.paired = 0;
        entry.queued = true;
      }
      this.#current = entry;
      if (this.#rx.size >= this.#rx.capacity) this.#ageQueues(nowMs);
      this.#rx.insert(entry);
      if (timeMs < this.#queuesOldestMs) this.#queuesOldestMs = timeMs;
    }

    const derived = this.#derived;
    this.#count = 0;
    const refused = this.#derive(rx, node, own, entry, derived);
    const n = this.#count;
    let added: readonly TopologyHint[] = NONE;
    let expired = gone;
    if (n > 0) {
      const newly = this.#newly;
      const evicted = this.#evicted;
      if (newly.length > 0) newly.length = 0;
      if (evicted.length > 0) evicted.length = 0;
      this.#ageing.support(entry, derived, newly, evicted, n);
      if (timeMs < this.#supportOldestMs) this.#supportOldestMs = timeMs;
      if (newly.length > 0) added = newly.slice();
      if (evicted.length > 0) expired = [...gone, ...evicted];
    }
    if (this.#current !== undefined) {
      // A new entry that a bound pushed out at once (queue or ageing full) was kept until now.
      if (!entry.queued && !entry.live) this.#freeRx.push(entry);
      this.#current = undefined;
    }
    if (own) this.#own++;
    else if (duplicate) this.#duplicates++;
    let hints: readonly TopologyHint[];
    if (n === 0) hints = NONE;
    else if (n === 1) {
      const e = derived[0]!;
      hints = e.only ??= Object.freeze([e.hint]);
    } else {
      const head = derived[0]!;
      const combo = head.combo;
      let same = combo !== undefined && combo.length === n;
      for (let k = 1; same && k < n; k++) same = combo![k] === derived[k];
      if (same) hints = head.comboHints!;
      else {
        const order = derived.slice(0, n);
        sortEntries(derived, n);
        const list = new Array<TopologyHint>(n);
        for (let k = 0; k < n; k++) list[k] = derived[k]!.hint;
        hints = Object.freeze(list);
        head.combo = order;
        head.comboHints = hints;
      }
    }
    if (refused) hints = sortHints([...hints, ...refused]);
    return { verdict: own ? 'own' : duplicate ? 'duplicate' : 'new', segment: seg, ulid, hints, added, expired, events: NONE };
  }

  /** Ages the queues (in batches, see #queuesNowMs) and the hints to `nowMs`; the hints that went (usually none: a shared empty list). */
  #age(nowMs: number): readonly TopologyHint[] {
    this.#tick(nowMs);
    // Ages only what is more than the TTL old: nothing is, usually.
    if (!(nowMs - this.#supportOldestMs > this.#ttlMs)) return NONE;
    const due = this.#ageing.nextExpiryMs();
    let gone: readonly TopologyHint[] = NONE;
    if (due !== undefined && due <= nowMs) {
      const list: TopologyHint[] = [];
      this.#ageing.expire(nowMs, list);
      if (list.length > 0) gone = list;
    }
    this.#supportOldestMs = this.#ageing.oldestMs();
    return gone;
  }

  /** The clock of an accepted beacon: ages the queues when a batch is due or the clock stepped back. */
  #tick(nowMs: number): void {
    if (this.#staleSent) {
      // The queues are exact as of the last beacon: aged to this one's clock, they are exact again.
      this.#staleSent = false;
      this.#queuesNowMs = nowMs;
      this.#ageQueues(nowMs);
      return;
    }
    if (nowMs < this.#queuesNowMs) this.#ageQueues(this.#queuesNowMs);
    this.#queuesNowMs = nowMs;
    if (nowMs - this.#queuesOldestMs > this.#ttlMs + QUEUE_SLACK_MS) this.#ageQueues(nowMs);
  }

  /** Ages both queues to `nowMs`, the latest clock since they were last aged. */
  #ageQueues(nowMs: number): void {
    this.#tx.expire(nowMs);
    this.#rx.expire(nowMs);
    this.#queuesOldestMs = Math.min(this.#tx.oldestMs(), this.#rx.oldestMs());
  }

  /**
   * Ages the hints to `nowMs` without a beacon (a driver's timer calls this
   * at nextExpiryMs()); returns the hints that went.
   */
  expire(nowMs: number): TopologyHint[] {
    const gone: TopologyHint[] = [];
    this.#ageing.expire(nowMs, gone);
    return gone;
  }

  /** When the next hint support ages out (ms), or undefined when no hint is held. */
  nextExpiryMs(): number | undefined {
    return this.#ageing.nextExpiryMs();
  }

  /** Every hint held now, sorted. */
  hints(): TopologyHint[] {
    return this.#table.values();
  }

  stats(): CorrelatorStats {
    // The queues as aging at every beacon would have left them.
    if (!this.#staleSent && this.#queuesNowMs > Number.NEGATIVE_INFINITY) this.#ageQueues(this.#queuesNowMs);
    return {
      received: this.#received,
      dropped: { ...this.#dropped },
      replays: this.#replays,
      own: this.#own,
      duplicates: this.#duplicates,
      tx: this.#tx.stats(),
      rx: this.#rx.stats(),
      hints: this.#table.size,
      hintsRefused: this.#table.refused,
      ageing: this.#ageing.stats(),
    };
  }

  /**
   * The hints one accepted reception supports, interned, onto `out` from
   * #count on (which counts them); the
   * ones that did not fit in the table are returned as plain hints (they are
   * reported in `hints` but not held). `own` is where this host sent the
   * ULID (if it did); `entry` is the ULID's receive-queue entry, with this
   * reception's segment last.
   */
  #derive(rx: ReceivedBeacon, node: SegmentNode, own: SegmentNode | undefined, entry: Received, out: HintEntry[]): TopologyHint[] | undefined {
    const multicast = isMulticastAddress(rx.destination_ip);
    const table = this.#table;
    let refused: TopologyHint[] | undefined;
    if (own) {
      // A unicast beacon of ours coming back says nothing about the wiring.
      if (multicast) {
        const kind = own.segment.ifname === node.segment.ifname ? 'rx_own_beacon_on_tx_interface' : 'rx_own_beacon_on_other_interface';
        const e = table.pair(kind, own, node);
        if (e) out[this.#count++] = e;
        else (refused ??= []).push(makeHint(kind, own.segment, { ifname: node.segment.ifname, vid: node.segment.vid }));
      }
    } else {
      const remote = rx.payload?.remote;
      if (typeof remote === 'object' && remote !== null) {
        const { name, mac_address: mac, vid } = remote as Record<string, unknown>;
        if (typeof name === 'string' && name !== '' && typeof mac === 'string' && mac !== '') {
          const kind = multicast ? 'on_remote_network' : 'routable_to';
          const rvid = isVid(vid) ? vid : undefined;
          const e = table.remote(kind, node, name, mac, rvid);
          if (e) out[this.#count++] = e;
          else (refused ??= []).push(makeHint(kind, node.segment, { ifname: name, vid: rvid, mac }));
        }
      }
    }
    const segs = entry.more;
    if (multicast && segs !== undefined) {
      // Every pair not derived yet for this ULID: those with a segment that
      // arrived since the last multicast duplicate (this one at least).
      for (let i = Math.max(entry.paired, 1); i < segs.length; i++) {
        const a = segs[i]!;
        for (let j = 0; j < i; j++) {
          const b = segs[j]!;
          refused = this.#pair(a, b, out, refused);
          refused = this.#pair(b, a, out, refused);
        }
      }
    }
    if (multicast) entry.paired = segs === undefined ? 1 : segs.length;
    return refused;
  }

  /** same_local_fabric_as from `a` to `b`, onto `out` (or onto the refused list, returned, when the table is full). */
  #pair(a: SegmentNode, b: SegmentNode, out: HintEntry[], refused: TopologyHint[] | undefined): TopologyHint[] | undefined {
    const e = this.#table.pair('same_local_fabric_as', a, b);
    if (e) {
      out[this.#count++] = e;
      return refused;
    }
    const list = refused ?? [];
    list.push(makeHint('same_local_fabric_as', a.segment, { ifname: b.segment.ifname, vid: b.segment.vid }));
    return list;
  }

  #drop(reason: DropReason, seg: Segment, expired: readonly TopologyHint[], ulid?: string): Correlation {
    this.#dropped[reason]++;
    const event: CorrelationEvent = ulid === undefined ? { kind: 'dropped', reason, segment: seg } : { kind: 'dropped', reason, segment: seg, ulid };
    return { verdict: 'dropped', segment: seg, ...(ulid === undefined ? {} : { ulid }), hints: NONE, added: NONE, expired, events: [event] };
  }
}
