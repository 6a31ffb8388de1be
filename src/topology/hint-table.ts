/**
 * The hints the correlator currently holds, interned: every distinct hint
 * is one HintEntry, found again from its parts (the segments, the remote
 * interface) through small maps keyed by interned segments and numbers, so
 * that a reception never builds a hint's JSON spelling to know whether the
 * hint is new. The spelling (hintKey, Python's json.dumps with sorted keys)
 * is computed once per entry, the first time the entry is sorted or printed.
 *
 * Local segments (the interfaces and VIDs this host captures or sends on)
 * are interned for good: there are at most 4096 per interface. Everything a
 * peer chooses (its interface names, MACs, VIDs) lives only in the maps of
 * entries that exist, and leaves with the last of them, so a peer inventing
 * names cannot grow this table beyond its capacity of entries.
 *
 * Each entry counts its support (ageing.ts): the (ULID, hint) pairs that
 * hold it. The entry leaves the table when the count falls to 0.
 */
import { hintKey, type HintKind, type TopologyHint } from './hints';
import { segment, type Segment } from './segment';

/** A local segment, interned: one object per (interface, VID). */
export interface SegmentNode {
  readonly segment: Segment;
  readonly id: number;
  /** Hints from this segment to another local segment, by `other.id * 4 + PAIR_CODE[kind]`. */
  readonly pairs: Map<number, HintEntry>;
  /**
   * Hints from this segment to a remote interface, by MAC, then a short list
   * scanned for (name, `remoteCode`): a MAC has one or two names and codes,
   * so one map lookup and a compare or two find the entry.
   */
  readonly remotes: Map<string, HintEntry[]>;
}

export interface HintEntry {
  readonly hint: TopologyHint;
  /** hintKey(hint), once it was needed. */
  key: string | undefined;
  /** `[hint]`, frozen, once it was needed: the hints of a reception that supports this one alone (most do). */
  only: readonly TopologyHint[] | undefined;
  /**
   * The last multi-hint reception whose first derived entry was this one:
   * its entries in derived order, and the hints sorted (frozen, shared).
   * A reception that derives the same entries in the same order (the next
   * ULID from the same sender heard on the same segments) reuses them, with
   * no sort and no array. Cleared when the entry leaves.
   */
  combo: HintEntry[] | undefined;
  comboHints: readonly TopologyHint[] | undefined;
  /** Support pairs holding it; the entry is in the table while this is above 0. */
  refs: number;
  /** Where it is filed, so that it can leave. */
  readonly node: SegmentNode;
  readonly code: number;
  readonly mac: string | undefined;
  readonly name: string | undefined;
}

type PairKind = 'same_local_fabric_as' | 'rx_own_beacon_on_other_interface' | 'rx_own_beacon_on_tx_interface';
type RemoteKind = 'on_remote_network' | 'routable_to';

const PAIR_CODE: Readonly<Record<PairKind, number>> = { same_local_fabric_as: 0, rx_own_beacon_on_other_interface: 1, rx_own_beacon_on_tx_interface: 2 };

/** A small integer per (remote VID or none, kind). */
function remoteCode(kind: RemoteKind, vid: number | undefined): number {
  return (vid === undefined ? 0 : vid + 1) * 2 + (kind === 'routable_to' ? 1 : 0);
}

interface Family {
  untagged: SegmentNode | undefined;
  readonly tagged: Map<number, SegmentNode>;
}

export class HintTable {
  readonly #families = new Map<string, Family>();
  #nextSegment = 0;
  #size = 0;
  #refused = 0;
  readonly #capacity: number;

  constructor(capacity = Number.POSITIVE_INFINITY) {
    if (!(capacity >= 1)) throw new RangeError(`hint capacity must be at least 1, not ${capacity}`);
    this.#capacity = capacity;
  }

  /** The interned node of a local segment. */
  segment(ifname: string, vid: number | undefined): SegmentNode {
    let family = this.#families.get(ifname);
    if (!family) {
      family = { untagged: undefined, tagged: new Map() };
      this.#families.set(ifname, family);
    }
    if (vid === undefined) return (family.untagged ??= this.#node(ifname, undefined));
    let node = family.tagged.get(vid);
    if (!node) {
      node = this.#node(ifname, vid);
      family.tagged.set(vid, node);
    }
    return node;
  }

  /** The entry of a hint between two local segments; undefined when it is new and the table is full (counted). */
  pair(kind: PairKind, from: SegmentNode, to: SegmentNode): HintEntry | undefined {
    const code = to.id * 4 + PAIR_CODE[kind];
    const known = from.pairs.get(code);
    if (known) return known;
    if (!this.#room()) return undefined;
    const hint = pairHint(kind, from.segment, to.segment);
    const entry: HintEntry = {
      hint,
      key: undefined,
      only: undefined,
      combo: undefined,
      comboHints: undefined,
      refs: 0,
      node: from,
      code,
      mac: undefined,
      name: undefined,
    };
    from.pairs.set(code, entry);
    return entry;
  }

  /** The entry of a hint from a local segment to a peer's interface; undefined when it is new and the table is full. */
  remote(kind: RemoteKind, at: SegmentNode, name: string, mac: string, vid: number | undefined): HintEntry | undefined {
    const code = remoteCode(kind, vid);
    const list = at.remotes.get(mac);
    if (list !== undefined) {
      for (let i = 0; i < list.length; i++) {
        const e = list[i]!;
        if (e.code === code && e.name === name) return e;
      }
    }
    if (!this.#room()) return undefined;
    const hint = remoteHint(kind, at.segment, name, mac, vid);
    const entry: HintEntry = { hint, key: undefined, only: undefined, combo: undefined, comboHints: undefined, refs: 0, node: at, code, mac, name };
    if (list !== undefined) list.push(entry);
    else at.remotes.set(mac, [entry]);
    return entry;
  }

  /** Takes `entry` out of the table (its support is gone). */
  remove(entry: HintEntry): void {
    const { node, code, mac, name } = entry;
    // What it remembers of other entries goes with it, so that entries gone from the table hold none.
    entry.combo = undefined;
    entry.comboHints = undefined;
    if (mac === undefined || name === undefined) {
      if (node.pairs.get(code) === entry && node.pairs.delete(code)) this.#size--;
      return;
    }
    const list = node.remotes.get(mac);
    const i = list === undefined ? -1 : list.indexOf(entry);
    if (i < 0) return;
    this.#size--;
    if (list!.length === 1) node.remotes.delete(mac);
    else {
      // Order within the list does not matter (entries() is sorted by whoever needs order).
      list![i] = list![list!.length - 1]!;
      list!.pop();
    }
  }

  get size(): number {
    return this.#size;
  }

  /** New hints not kept because the table was full. */
  get refused(): number {
    return this.#refused;
  }

  /** Every entry, in no particular order. */
  *entries(): IterableIterator<HintEntry> {
    for (const family of this.#families.values()) {
      const nodes = family.untagged ? [family.untagged, ...family.tagged.values()] : family.tagged.values();
      for (const node of nodes) {
        yield* node.pairs.values();
        for (const list of node.remotes.values()) yield* list;
      }
    }
  }

  /** Every hint, sorted as MAAS sorts them (by their JSON spelling). */
  values(): TopologyHint[] {
    return sortEntries([...this.entries()]).map((e) => e.hint);
  }

  #node(ifname: string, vid: number | undefined): SegmentNode {
    return { segment: segment(ifname, vid), id: this.#nextSegment++, pairs: new Map(), remotes: new Map() };
  }

  #room(): boolean {
    if (this.#size >= this.#capacity) {
      this.#refused++;
      return false;
    }
    this.#size++;
    return true;
  }
}

/** The entry's hintKey, computed once. */
export function entryKey(e: HintEntry): string {
  return (e.key ??= hintKey(e.hint));
}

/**
 * The first `n` of `entries` (all by default) sorted in place by their JSON
 * spelling (ASCII, so UTF-16 order is Python's order); returns `entries`.
 */
export function sortEntries(entries: HintEntry[], n = entries.length): HintEntry[] {
  if (n < 2) return entries;
  if (n === 2) {
    // The usual case of a reception with more than one hint: one comparison, no comparator.
    const a = entries[0]!;
    const b = entries[1]!;
    if (entryKey(b) < entryKey(a)) {
      entries[0] = b;
      entries[1] = a;
    }
    return entries;
  }
  for (let i = 0; i < n; i++) entryKey(entries[i]!);
  if (n <= 16) {
    // A reception's few hints: insertion sort, no comparator calls.
    for (let i = 1; i < n; i++) {
      const e = entries[i]!;
      const k = e.key!;
      let j = i - 1;
      for (; j >= 0 && entries[j]!.key! > k; j--) entries[j + 1] = entries[j]!;
      entries[j + 1] = e;
    }
    return entries;
  }
  const sorted = (n === entries.length ? entries : entries.slice(0, n)).sort((a, b) => (a.key! < b.key! ? -1 : a.key! > b.key! ? 1 : 0));
  for (let i = 0; i < n; i++) entries[i] = sorted[i]!;
  return entries;
}

function pairHint(kind: HintKind, from: Segment, to: Segment): TopologyHint {
  const h: { -readonly [K in keyof TopologyHint]: TopologyHint[K] } = { ifname: from.ifname, hint: kind };
  if (from.vid !== undefined) h.vid = from.vid;
  h.related_ifname = to.ifname;
  if (to.vid !== undefined) h.related_vid = to.vid;
  return Object.freeze(h);
}

function remoteHint(kind: HintKind, at: Segment, name: string, mac: string, vid: number | undefined): TopologyHint {
  const h: { -readonly [K in keyof TopologyHint]: TopologyHint[K] } = { ifname: at.ifname, hint: kind };
  if (at.vid !== undefined) h.vid = at.vid;
  h.related_ifname = name;
  if (vid !== undefined) h.related_vid = vid;
  h.related_mac = mac;
  return Object.freeze(h);
}
