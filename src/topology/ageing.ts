/**
 * Hint ageing with MAAS's semantics: a hint lives while at least one
 * received beacon that supports it is at most the TTL (120 s) from the
 * clock, judged by the beacon's ULID time.
 *
 * MAAS (BeaconingSocketProtocol.processTopologyHints) files each received
 * beacon's hints in an ordered dict under the beacon's ULID and, whenever a
 * beacon arrives, drops the ULIDs that `age_out_uuid_queue` finds more than
 * 120 s from the clock (`math.fabs(now - ulid_time) > 120`), walking from
 * the oldest insertion and stopping at the first fresh one. Here the same
 * support is kept per ULID (a SupportSlot: the hints that ULID's receptions
 * derived), each hint counts the slots holding it, and slots leave in ULID
 * time order (heap.ts), at the exact moment they pass the TTL rather
 * than at the next arrival: that is the strict reading of MAAS's lazy
 * ageing, and the two agree whenever a beacon arrives (which is when MAAS
 * looks).
 *
 * What the vectors (../shared/vectors/maas/ageing/, MAAS's own hint sets at
 * the end of three long journals) pin:
 * - expiry is by the ULID's time, not by arrival: beacons in them arrive up
 *   to 88 s late and still age out 120 s after their ULID's time;
 * - the threshold is 120 s: journal 12 keeps a hint whose last support is
 *   119.865 s old at the end and drops one at 120.703 s (a threshold of
 *   119.0 or 121.0 s fails them);
 * - a hint is the union over its ULIDs: it lives while any one is fresh.
 * What they do not pin, and follows MAAS's code instead:
 * - "more than 120 s" is strict (`>`): exactly 120.000 s old is kept (no
 *   vector has a ULID exactly on the line);
 * - a ULID more than the TTL in the future of the clock is as stale as one
 *   in the past (`math.fabs`); none occurs in the vectors. The correlator
 *   drops such a beacon on arrival (and one already more than the TTL old),
 *   so neither adds a hint; MAAS would file its hints and drop them at the
 *   next arrival, so neither is ever in the set MAAS reports from then on.
 * - a clock stepped back by more than the TTL is not chased: slots leave
 *   when the clock passes their ULID time plus the TTL again.
 *
 * Bounded like the queues: past `capacity` (ULID, hint) pairs, the slots
 * with the oldest ULIDs go first (counted as evicted), and their hints with
 * them unless a fresher ULID supports them too.
 */
import { AgeQueue, type Stamped } from './heap';
import type { HintEntry, HintTable } from './hint-table';
import type { TopologyHint } from './hints';

export const DEFAULT_MAX_HINT_SUPPORT = 100_000;

/**
 * The hints one received ULID supports. The caller owns the object (the
 * correlator makes it part of its receive-queue entry, so that a new ULID
 * costs no extra allocation); the ageing files it on the heap when it first
 * holds a hint.
 */
export interface SupportSlot extends Stamped {
  readonly timeMs: number;
  seq: number;
  /** The entry it holds while filed, when it holds exactly one (most do: no array then); undefined otherwise. */
  one: HintEntry | undefined;
  /** The entries it holds while filed, when it holds more than one; undefined otherwise. */
  entries: HintEntry[] | undefined;
  /** True while filed: once it leaves (expired or evicted) the next reception of its ULID files it anew. */
  live: boolean;
}

/** A slot for a ULID stamped `timeMs`, not filed yet. */
export function supportSlot(timeMs: number): SupportSlot {
  return { timeMs, seq: 0, one: undefined, entries: undefined, live: false };
}

export interface AgeingStats {
  /** ULIDs holding at least one hint. */
  readonly ulids: number;
  /** (ULID, hint) pairs. */
  readonly support: number;
  /** Hints that left because their last supporting ULID grew older than the TTL. */
  readonly expired: number;
  /** ULIDs whose support was dropped early because the bound was reached. */
  readonly evicted: number;
}

export class HintAgeing {
  readonly #table: HintTable;
  readonly #ttlMs: number;
  readonly #capacity: number;
  readonly #onRelease: ((slot: SupportSlot) => void) | undefined;
  readonly #order = new AgeQueue<SupportSlot>();
  #seq = 0;
  #support = 0;
  #expired = 0;
  #evicted = 0;

  /** `onRelease` is called with each slot as it stops being filed (expired or evicted), after its hints were dropped. */
  constructor(table: HintTable, opts: { ttlMs: number; capacity?: number; onRelease?: (slot: SupportSlot) => void }) {
    this.#onRelease = opts.onRelease;
    const capacity = opts.capacity ?? DEFAULT_MAX_HINT_SUPPORT;
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`hint support capacity must be a positive integer, not ${capacity}`);
    if (!(opts.ttlMs > 0)) throw new RangeError(`hint TTL must be positive, not ${opts.ttlMs}`);
    this.#table = table;
    this.#ttlMs = opts.ttlMs;
    this.#capacity = capacity;
  }

  /**
   * Files the first `n` of `entries` (all by default) under `slot` (its ULID's slot; filed anew when it is not
   * live). Entries whose count goes from 0 to 1 are new hints: they are
   * pushed on `added`. Hints that leave because the bound evicted old slots
   * go on `gone`. The caller never files one entry twice under one ULID.
   */
  support(slot: SupportSlot, entries: readonly HintEntry[], added: TopologyHint[], gone: TopologyHint[], n = entries.length): void {
    if (!slot.live) {
      // One entry inline; more as a copy of exactly this size (an empty
      // array grown by push would reserve 17 slots).
      if (n === 1) slot.one = entries[0]!;
      else slot.entries = n === entries.length ? entries.slice() : entries.slice(0, n);
      slot.live = true;
      slot.seq = this.#seq++;
      this.#order.push(slot);
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        if (e.refs++ === 0) added.push(e.hint);
      }
    } else {
      let held = slot.entries;
      if (held === undefined) {
        // Live without an array: it holds exactly one, inline.
        held = slot.entries = [slot.one!];
        slot.one = undefined;
      }
      for (let i = 0; i < n; i++) {
        const e = entries[i]!;
        if (e.refs++ === 0) added.push(e.hint);
        held.push(e);
      }
    }
    this.#support += n;
    while (this.#support > this.#capacity) {
      this.#release(this.#order.pop(), gone);
      this.#evicted++;
    }
  }

  /** Drops the slots more than the TTL old at `nowMs`; the hints that went with them are pushed on `gone`. */
  expire(nowMs: number, gone: TopologyHint[]): void {
    const before = gone.length;
    for (let oldest = this.#order.peek(); oldest !== undefined && nowMs - oldest.timeMs > this.#ttlMs; oldest = this.#order.peek())
      this.#release(this.#order.pop(), gone);
    this.#expired += gone.length - before;
  }

  /** The first time (ms) at which expire() will drop something, or undefined when nothing is held. */
  nextExpiryMs(): number | undefined {
    const top = this.#order.peek();
    // Strictly more than the TTL: the first whole ms past it.
    return top === undefined ? undefined : Math.floor(top.timeMs + this.#ttlMs) + 1;
  }

  /** The oldest support's ULID time, or Infinity when none is held. */
  oldestMs(): number {
    return this.#order.oldestMs();
  }

  stats(): AgeingStats {
    return { ulids: this.#order.size, support: this.#support, expired: this.#expired, evicted: this.#evicted };
  }

  #release(slot: SupportSlot, gone: TopologyHint[]): void {
    const one = slot.one;
    const held = slot.entries;
    slot.live = false;
    slot.one = undefined;
    slot.entries = undefined;
    if (one !== undefined) {
      this.#support--;
      this.#drop(one, gone);
    }
    if (held !== undefined) {
      this.#support -= held.length;
      for (let i = 0; i < held.length; i++) this.#drop(held[i]!, gone);
    }
    this.#onRelease?.(slot);
  }

  /** One support of `e` gone: when it was the last, the hint leaves the table. */
  #drop(e: HintEntry, gone: TopologyHint[]): void {
    if (--e.refs === 0) {
      this.#table.remove(e);
      gone.push(e.hint);
    }
  }
}
