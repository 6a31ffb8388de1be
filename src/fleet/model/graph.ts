/**
 * The fleet's segment graph: every (host, interface, VID) segment the
 * reports name, and every join between two of them with the hints that
 * prove it. Pure: reports in, graph out.
 *
 * Joins:
 * - `interface`: the untagged segment of an interface and each VID heard
 *   on it. One cable carries them all, so MAAS puts an interface's VLANs
 *   on one fabric; no hint is needed.
 * - `local`: same_local_fabric_as and rx_own_beacon_on_other_interface,
 *   within one host (one multicast beacon reached both segments).
 * - `remote`: on_remote_network on host A naming the MAC of an interface
 *   host B reported: A's segment and B's interface (untagged: a beacon is
 *   sent from the interface that names itself in it) heard each other.
 * - `peer`: segments (of any hosts) that heard multicast from one remote
 *   interface no host reported, identified as `netbeacon topology` does,
 *   by MAC and VID. Chained in segment order, so a MAAS rack heard by a
 *   thousand hosts makes a thousand joins, not half a million.
 * routable_to joins nothing (unicast may be routed), nor does
 * rx_own_beacon_on_tx_interface (a loop). A MAC that two hosts report
 * resolves to neither (a finding says so) unless the hint's interface
 * name picks one.
 */
import { hintKey, type TopologyHint } from '../../topology/hints';
import type { FleetReport, ReportInterface } from './report';
import { compareFleetSegments, fleetSegmentKey, LOCAL_HINTS, type FleetSegment } from './segment';
import type { FleetHint, HostRecord, JoinKind, PeerRef } from './types';

export interface InterfaceRef {
  readonly host: string;
  readonly iface: ReportInterface;
}

export interface GraphJoin {
  readonly a: number;
  readonly b: number;
  kind: JoinKind;
  readonly hints: FleetHint[];
  peer?: PeerRef;
}

/** A hint naming a MAC that no host reported, with the segment that heard it. */
export interface UnknownSighting {
  readonly segment: number;
  readonly hint: FleetHint;
}

export class SegmentGraph {
  readonly segments: FleetSegment[] = [];
  /** host -> (ifname, or ifname NUL vid) -> segment index: no key string per lookup of an untagged segment. */
  readonly #index = new Map<string, Map<string, number>>();
  readonly #parent: number[] = [];
  /** joinKey(a, b) -> the join: a number, not a string made per hint. */
  readonly joins = new Map<number, GraphJoin>();
  /** host -> ifname -> the reported interface. */
  readonly #interfaces = new Map<string, Map<string, InterfaceRef>>();
  /** Lower-case MAC -> the interfaces that report it, in host and report order (a part's: the whole fleet's, shared). */
  readonly macs: Map<string, InterfaceRef[]>;
  /** MAC -> the sightings of hints naming it when no host reported it. */
  readonly unknown = new Map<string, UnknownSighting[]>();

  constructor(macs = new Map<string, InterfaceRef[]>()) {
    this.macs = macs;
  }

  /** The segment's index, adding it when new. */
  add(host: string, ifname: string, vid: number | null | undefined): number {
    let byName = this.#index.get(host);
    if (!byName) {
      byName = new Map();
      this.#index.set(host, byName);
    }
    const key = vid === undefined || vid === null ? ifname : `${ifname}\u0000${vid}`;
    let i = byName.get(key);
    if (i === undefined) {
      i = this.segments.length;
      this.segments.push({ host, interface: ifname, vid: vid ?? null });
      byName.set(key, i);
      this.#parent.push(i);
    }
    return i;
  }

  indexOf(host: string, ifname: string, vid: number | null | undefined): number | undefined {
    return this.#index.get(host)?.get(vid === undefined || vid === null ? ifname : `${ifname}\u0000${vid}`);
  }

  /** The interface `host` reported under `ifname`. */
  iface(host: string, ifname: string): InterfaceRef | undefined {
    return this.#interfaces.get(host)?.get(ifname);
  }

  addInterface(ref: InterfaceRef): void {
    let byName = this.#interfaces.get(ref.host);
    if (!byName) {
      byName = new Map();
      this.#interfaces.set(ref.host, byName);
    }
    byName.set(ref.iface.name, ref);
  }

  join(x: number, y: number, kind: JoinKind, hint?: FleetHint, peer?: PeerRef): void {
    if (x === y) return;
    const [a, b] = compareFleetSegments(this.segments[x]!, this.segments[y]!) < 0 ? [x, y] : [y, x];
    const key = a * PAIR + b;
    let j = this.joins.get(key);
    if (!j) {
      j = { a, b, kind, hints: [] };
      this.joins.set(key, j);
      this.#union(a, b);
    } else if (j.kind === 'interface' && kind !== 'interface') {
      // Hints are stronger evidence than "one cable": say what they say.
      j.kind = kind;
    }
    if (hint) j.hints.push(hint);
    if (peer && !j.peer) j.peer = peer;
  }

  find(i: number): number {
    const p = this.#parent;
    while (p[i] !== i) {
      p[i] = p[p[i]!]!;
      i = p[i]!;
    }
    return i;
  }

  #union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.#parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }

  /** The reported interface a hint's MAC and name point to, or why there is none. */
  resolve(mac: string, ifname: string | undefined): InterfaceRef | 'unknown' | 'ambiguous' {
    const all = this.macs.get(mac);
    if (!all) return 'unknown';
    // The interfaces of that name if any, else all of them; one host's or none (no list made per hint).
    let pick: InterfaceRef | undefined;
    if (ifname !== undefined) {
      for (const r of all) {
        if (r.iface.name !== ifname) continue;
        if (!pick) pick = r;
        else if (r.host !== pick.host) return 'ambiguous';
      }
      if (pick) return pick;
    }
    pick = all[0]!;
    for (const r of all) if (r.host !== pick.host) return 'ambiguous';
    return pick;
  }
}

/** A join's key is a * PAIR + b: exact below 2^53 for up to 2^26 segments, far more than a fleet has. */
const PAIR = 2 ** 26;

/**
 * A part of the graph (the incremental model's): the segments `include`
 * accepts, with the interfaces and hints of those segments, and MACs
 * resolved against `macs`, the whole fleet's.
 */
export interface GraphPart {
  readonly macs: Map<string, InterfaceRef[]>;
  readonly include: (host: string, ifname: string, vid: number | null | undefined) => boolean;
}

/** The graph of every host's reported interfaces and hints. `hosts` in name order. */
export function buildGraph(hosts: readonly HostRecord[], part?: GraphPart): SegmentGraph {
  const g = new SegmentGraph(part?.macs);
  for (const { report } of hosts) {
    for (const iface of report.interfaces) {
      const ref = { host: report.host, iface };
      g.addInterface(ref);
      if (part) {
        if (!part.include(report.host, iface.name, null)) continue;
      } else if (iface.mac !== null) {
        const list = g.macs.get(iface.mac);
        if (list) list.push(ref);
        else g.macs.set(iface.mac, [ref]);
      }
      const untagged = g.add(report.host, iface.name, null);
      for (const vid of iface.vids) g.join(untagged, g.add(report.host, iface.name, vid), 'interface');
    }
  }
  // Peer legs no host reported: (MAC, VID) -> sightings, joined after all hosts are in.
  const peers = new Map<string, { peer: PeerRef; seen: Array<{ segment: number; hint: FleetHint }> }>();
  for (const { report } of hosts) {
    for (const h of report.hints) if (!part || part.include(report.host, h.ifname, h.vid)) addHint(g, report.host, h, peers, part);
  }
  for (const { peer, seen } of peers.values()) {
    seen.sort((x, y) => compareFleetSegments(g.segments[x.segment]!, g.segments[y.segment]!) || (x.hint.host < y.hint.host ? -1 : 1));
    for (let i = 1; i < seen.length; i++) {
      const prev = seen[i - 1]!;
      const cur = seen[i]!;
      if (prev.segment === cur.segment) continue;
      g.join(prev.segment, cur.segment, 'peer', undefined, peer);
      const j = g.joins.get(joinKey(g, prev.segment, cur.segment))!;
      for (const s of [prev, cur]) if (!j.hints.includes(s.hint)) j.hints.push(s.hint);
    }
  }
  for (const j of g.joins.values()) if (j.hints.length > 1) j.hints.sort(compareFleetHints);
  return g;
}

/**
 * Every segment key a report's interfaces and hints make on its own host,
 * by buildGraph's rules (an interface's untagged segment and its VIDs'; a
 * hint's own segment; the related segment of a local hint or of
 * rx_own_beacon_on_tx_interface). Remote targets are other hosts' segments.
 */
export function reportSegmentKeys(r: FleetReport): Set<string> {
  const out = new Set<string>();
  for (const i of r.interfaces) {
    out.add(fleetSegmentKey(r.host, i.name, null));
    for (const v of i.vids) out.add(fleetSegmentKey(r.host, i.name, v));
  }
  for (const h of r.hints) {
    out.add(fleetSegmentKey(r.host, h.ifname, h.vid));
    if ((LOCAL_HINTS.has(h.hint) || h.hint === 'rx_own_beacon_on_tx_interface') && h.related_ifname !== undefined) {
      out.add(fleetSegmentKey(r.host, h.related_ifname, h.related_vid));
    }
  }
  return out;
}

function joinKey(g: SegmentGraph, x: number, y: number): number {
  return compareFleetSegments(g.segments[x]!, g.segments[y]!) < 0 ? x * PAIR + y : y * PAIR + x;
}

function addHint(
  g: SegmentGraph,
  host: string,
  h: TopologyHint,
  peers: Map<string, { peer: PeerRef; seen: Array<{ segment: number; hint: FleetHint }> }>,
  part?: GraphPart,
): void {
  const local = g.add(host, h.ifname, h.vid);
  // The host's copy of a hint is made only where it is kept (a join, a finding).
  if (LOCAL_HINTS.has(h.hint)) {
    if (h.related_ifname !== undefined) g.join(local, g.add(host, h.related_ifname, h.related_vid), 'local', { host, ...h });
    return;
  }
  if (h.hint === 'rx_own_beacon_on_tx_interface') {
    // A segment of its own, joined to nothing: a part has it only when it is the part's.
    if (h.related_ifname !== undefined && (!part || part.include(host, h.related_ifname, h.related_vid))) g.add(host, h.related_ifname, h.related_vid);
    return;
  }
  if (h.related_mac === undefined) return;
  // Only on_remote_network joins; any other hint matters here only when no host reported its MAC.
  if (h.hint !== 'on_remote_network' && g.macs.has(h.related_mac)) return;
  const target = g.resolve(h.related_mac, h.related_ifname);
  if (target === 'unknown') {
    const hint: FleetHint = { host, ...h };
    const list = g.unknown.get(h.related_mac);
    if (list) list.push({ segment: local, hint });
    else g.unknown.set(h.related_mac, [{ segment: local, hint }]);
    if (h.hint !== 'on_remote_network' || h.related_ifname === undefined) return;
    const key = `${h.related_mac}\u0000${h.related_vid ?? ''}`;
    const entry = peers.get(key) ?? {
      peer:
        h.related_vid === undefined ? { mac: h.related_mac, ifname: h.related_ifname } : { mac: h.related_mac, ifname: h.related_ifname, vid: h.related_vid },
      seen: [],
    };
    entry.seen.push({ segment: local, hint });
    peers.set(key, entry);
    return;
  }
  if (target === 'ambiguous' || h.hint !== 'on_remote_network') return;
  g.join(local, g.add(target.host, target.iface.name, null), 'remote', { host, ...h });
}

/** By host, then MAAS's own order of hints. */
export function compareFleetHints(a: FleetHint, b: FleetHint): number {
  if (a.host !== b.host) return a.host < b.host ? -1 : 1;
  const ka = hintKey(a);
  const kb = hintKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
