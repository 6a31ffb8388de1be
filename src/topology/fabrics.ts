/**
 * The fabric view: which local segments (interface, VID) share a layer-2
 * network, derived from topology hints alone, with the evidence for every
 * join kept next to it so that "why did this interface land here" has an
 * answer.
 *
 * Joins:
 * - same_local_fabric_as and rx_own_beacon_on_other_interface join their two
 *   segments: one multicast beacon (TTL 1, never routed) reached both.
 * - on_remote_network joins every segment that heard the same remote
 *   interface, identified by MAC and VID. The remote interface, not the
 *   remote host: a peer with legs on two bridges must not merge them.
 * - rx_own_beacon_on_tx_interface never joins anything (it relates an
 *   interface to itself: a loop, a storm or a replay); it is listed under
 *   `loops`.
 * - routable_to does not join by default. It comes from a unicast beacon,
 *   which may have crossed a router: a peer leg that is routable from two
 *   segments says nothing about them sharing a link. The peer is still
 *   listed, with `joins: false`. `joinOnRoutable` turns this join on.
 *
 * JSON shape (stable; arrays sorted; absent VIDs left out, as in hints):
 *   { "fabrics": [ {
 *       "name": "fabric-0",                      // numbered in order of first segment
 *       "segments": [ {"ifname": "eth0", "vid"?: 42}, ... ],
 *       "links": [ {"segments": [seg, seg], "hints": [hint, ...]} ],
 *       "peers": [ {"mac": "...", "ifname": "...", "vid"?: 42,
 *                   "seen_on": [ {"segment": seg, "joins": true, "hints": [...]} ]} ],
 *       "loops": [ hint, ... ] } ] }
 */
import { sortHints, type HintKind, type TopologyHint } from './hints';
import { compareSegments, segment, segmentKey, type Segment } from './segment';

export interface TopologyOptions {
  /** Also join segments that are routable_to one remote interface (default false). */
  readonly joinOnRoutable?: boolean;
}

/** A remote interface: the `remote` block of the beacons a peer sent. */
export interface PeerInterface {
  readonly mac: string;
  readonly ifname: string;
  readonly vid?: number;
}

export interface SegmentLink {
  /** In segment order. */
  readonly segments: readonly [Segment, Segment];
  /** Every hint between the two, sorted. */
  readonly hints: readonly TopologyHint[];
}

export interface PeerSighting {
  readonly segment: Segment;
  /** Whether these hints join `segment` to the other segments that saw this peer. */
  readonly joins: boolean;
  readonly hints: readonly TopologyHint[];
}

export interface FabricPeer extends PeerInterface {
  /** Sightings from this fabric's segments only. */
  readonly seen_on: readonly PeerSighting[];
}

export interface Fabric {
  readonly name: string;
  readonly segments: readonly Segment[];
  readonly links: readonly SegmentLink[];
  readonly peers: readonly FabricPeer[];
  readonly loops: readonly TopologyHint[];
}

export interface Topology {
  readonly fabrics: readonly Fabric[];
}

/** What each hint kind does to the grouping. */
const JOIN_RULE: Readonly<Record<HintKind, 'local' | 'peer' | 'routed' | 'loop'>> = {
  same_local_fabric_as: 'local',
  rx_own_beacon_on_other_interface: 'local',
  on_remote_network: 'peer',
  routable_to: 'routed',
  rx_own_beacon_on_tx_interface: 'loop',
};

interface PeerRecord {
  readonly peer: PeerInterface;
  readonly sightings: Map<string, { segment: Segment; joins: boolean; hints: TopologyHint[] }>;
}

export function buildTopology(hints: Iterable<TopologyHint>, opts: TopologyOptions = {}): Topology {
  const segments = new Map<string, Segment>();
  const groups = new UnionFind();
  const links = new Map<string, { segments: [Segment, Segment]; hints: TopologyHint[] }>();
  const peers = new Map<string, PeerRecord>();
  const loops: TopologyHint[] = [];
  const note = (s: Segment): string => {
    const key = segmentKey(s);
    segments.set(key, s);
    return key;
  };

  for (const h of sortHints(hints)) {
    const local = segment(h.ifname, h.vid);
    const localKey = note(local);
    const rule = JOIN_RULE[h.hint];
    if (rule === 'loop') {
      // The receiving side is a segment of this host too, but not joined.
      if (h.related_ifname !== undefined) note(segment(h.related_ifname, h.related_vid));
      loops.push(h);
    } else if (rule === 'local') {
      if (h.related_ifname === undefined) continue;
      const other = segment(h.related_ifname, h.related_vid);
      const otherKey = note(other);
      if (otherKey === localKey) continue; // not a join; only a malformed hint says this
      groups.union(`S${localKey}`, `S${otherKey}`);
      const pair: [Segment, Segment] = compareSegments(local, other) < 0 ? [local, other] : [other, local];
      const pairKey = `${segmentKey(pair[0])}\u0001${segmentKey(pair[1])}`;
      const link = links.get(pairKey) ?? { segments: pair, hints: [] };
      link.hints.push(h);
      links.set(pairKey, link);
    } else {
      if (h.related_mac === undefined || h.related_ifname === undefined) continue;
      const peer: PeerInterface =
        h.related_vid === undefined ? { mac: h.related_mac, ifname: h.related_ifname } : { mac: h.related_mac, ifname: h.related_ifname, vid: h.related_vid };
      const joins = rule === 'peer' || opts.joinOnRoutable === true;
      // Joined on the leg (MAC and VID); listed by leg and name.
      if (joins) groups.union(`S${localKey}`, `P${h.related_mac}\u0000${h.related_vid ?? ''}`);
      const peerKey = `${h.related_mac}\u0000${h.related_vid ?? ''}\u0000${h.related_ifname}`;
      const record = peers.get(peerKey) ?? { peer, sightings: new Map<string, { segment: Segment; joins: boolean; hints: TopologyHint[] }>() };
      peers.set(peerKey, record);
      const sighting = record.sightings.get(localKey) ?? { segment: local, joins: false, hints: [] };
      sighting.joins ||= joins;
      sighting.hints.push(h);
      record.sightings.set(localKey, sighting);
    }
  }

  // One fabric per group of segments, in order of each group's first segment.
  const members = new Map<string, Segment[]>();
  for (const [key, s] of segments) {
    const root = groups.find(`S${key}`);
    const list = members.get(root);
    if (list) list.push(s);
    else members.set(root, [s]);
  }
  const ordered = [...members.values()].map((list) => list.sort(compareSegments)).sort((a, b) => compareSegments(a[0]!, b[0]!));

  const fabrics = ordered.map((segs, i): Fabric => {
    const inFabric = new Set(segs.map(segmentKey));
    return {
      name: `fabric-${i}`,
      segments: segs,
      links: [...links.values()].filter((l) => inFabric.has(segmentKey(l.segments[0]))).sort((a, b) => comparePairs(a.segments, b.segments)),
      peers: fabricPeers(peers, inFabric),
      loops: loops.filter((h) => inFabric.has(segmentKey(segment(h.ifname, h.vid)))),
    };
  });
  return { fabrics };
}

function fabricPeers(peers: ReadonlyMap<string, PeerRecord>, inFabric: ReadonlySet<string>): FabricPeer[] {
  const out: FabricPeer[] = [];
  for (const { peer, sightings } of peers.values()) {
    const seen = [...sightings.entries()]
      .filter(([key]) => inFabric.has(key))
      .map(([, s]) => s)
      .sort((a, b) => compareSegments(a.segment, b.segment));
    if (seen.length > 0) out.push({ ...peer, seen_on: seen });
  }
  return out.sort(comparePeers);
}

function comparePairs(a: readonly [Segment, Segment], b: readonly [Segment, Segment]): number {
  return compareSegments(a[0], b[0]) || compareSegments(a[1], b[1]);
}

function comparePeers(a: PeerInterface, b: PeerInterface): number {
  if (a.mac !== b.mac) return a.mac < b.mac ? -1 : 1;
  if (a.vid !== b.vid) return (a.vid ?? -1) - (b.vid ?? -1);
  return a.ifname < b.ifname ? -1 : 1; // (mac, vid, ifname) is a peer's identity: never all equal
}

/** Disjoint sets over string ids, with path halving. */
class UnionFind {
  readonly #parent = new Map<string, string>();

  find(id: string): string {
    let x = id;
    for (;;) {
      const p = this.#parent.get(x) ?? x;
      if (p === x) return x;
      const gp = this.#parent.get(p) ?? p;
      this.#parent.set(x, gp);
      x = gp;
    }
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent.set(ra, rb);
  }
}
