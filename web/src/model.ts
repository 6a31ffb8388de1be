/**
 * The server's model (GET /api/v1/topology) as graph elements, and an index
 * the panels read. No topology is computed here: fabrics, their segments,
 * joins, placements and findings are the server's; this file only names
 * them for the graph library and notes which finding touches which
 * element, so the map can mark it. DOM-free, so the tests run it in Node.
 */
import type { FleetFabric, FleetFinding, FleetJoin, FleetPlacement, FleetTopology, FleetTopologyOverview, FindingKind } from '../../src/fleet/model/types';
import type { FleetSegment } from '../../src/fleet/model/segment';
import { fabricColor } from './style';

export type { FleetFabric, FleetFinding, FleetJoin, FleetPlacement, FleetTopology, FleetTopologyOverview, FindingKind, FleetSegment };

/** Ids are JSON of the names, so any host or interface name maps to one id and back. */
export const fabricId = (fabric: string): string => `f${JSON.stringify(fabric)}`;
export const hostId = (fabric: string, host: string): string => `h${JSON.stringify([fabric, host])}`;
export const segmentId = (s: FleetSegment): string => `s${JSON.stringify([s.host, s.interface, s.vid])}`;
export const joinId = (j: { a: FleetSegment; b: FleetSegment }): string =>
  `j${JSON.stringify([
    [j.a.host, j.a.interface, j.a.vid],
    [j.b.host, j.b.interface, j.b.vid],
  ])}`;

/** joinId from its ends' segment ids: the same JSON, without encoding the names again. */
const joinIdOf = (a: string, b: string): string => `j[${a.slice(1)},${b.slice(1)}]`;

/** `rack1/eth0` or `rack1/eth0 vid 42`, as the CLI writes a segment. */
export const formatSegment = (s: FleetSegment): string => (s.vid === null ? `${s.host}/${s.interface}` : `${s.host}/${s.interface} vid ${s.vid}`);

export type ElementKind = 'fabric' | 'host' | 'segment' | 'join';

export interface NodeData {
  readonly id: string;
  readonly parent?: string;
  readonly kind: Exclude<ElementKind, 'join'>;
  readonly label: string;
  readonly fabric: string;
  readonly host?: string;
  readonly interface?: string;
  /** 'untagged' or the VID, for filters and the table. */
  readonly vid?: string;
  /** A fabric's tint. */
  readonly fill?: string;
  /** A segment's width, from its label (the graph library sizes compounds itself). */
  readonly w?: number;
}

export interface EdgeData {
  readonly id: string;
  readonly source: string;
  readonly target: string;
  readonly kind: 'join';
  readonly join: FleetJoin['kind'];
  readonly fabric: string;
  readonly label: string;
}

export interface ElementDef<D> {
  readonly group: 'nodes' | 'edges';
  readonly data: D;
  /** Space-separated, as the graph library takes them. */
  readonly classes: string;
}

/** What a segment is and what the model says about it. */
export interface SegmentInfo {
  readonly id: string;
  readonly segment: FleetSegment;
  readonly fabric: string;
  readonly joins: FleetJoin[];
  readonly findings: FleetFinding[];
  /** The placement of the segment's interface (MAAS places interfaces, not VIDs). */
  readonly placement: FleetPlacement | undefined;
  readonly stale: boolean;
}

export interface ModelIndex {
  readonly segments: Map<string, SegmentInfo>;
  readonly joins: Map<string, { join: FleetJoin; fabric: string; findings: FleetFinding[] }>;
  readonly hosts: Map<string, { fabrics: string[]; stale: boolean; findings: FleetFinding[] }>;
  readonly fabrics: Map<string, FleetFabric>;
}

export interface MapModel {
  readonly nodes: ElementDef<NodeData>[];
  readonly edges: ElementDef<EdgeData>[];
  readonly index: ModelIndex;
}

const key = (s: FleetSegment): string => segmentId(s);
const vidText = (vid: number | null): string => (vid === null ? 'untagged' : String(vid));

/** Words for an edge: what kind of evidence joined the two ends. */
export function joinLabel(j: FleetJoin): string {
  if (j.kind === 'interface') return 'same interface';
  const kinds = [...new Set(j.hints.map((h) => h.hint))].sort();
  return j.kind === 'peer' && j.peer ? `via ${j.peer.ifname} ${j.peer.mac}` : kinds.join(', ');
}

/**
 * The overview document (GET /api/v1/topology?detail=overview) in the
 * topology's shape, every join with no hints, for the first draw: the map
 * draws no hint; the evidence panel waits for the full topology.
 */
export function fromOverview(o: FleetTopologyOverview): FleetTopology {
  const { detail: _detail, ...rest } = o;
  return { ...rest, fabrics: o.fabrics.map((f) => ({ ...f, joins: f.joins.map((j) => ({ ...j, hints: [] })) })) };
}

export function buildMapModel(t: FleetTopology): MapModel {
  const stale = new Set(t.findings.filter((f) => f.kind === 'stale_host').flatMap((f) => f.hosts));
  const findingsOfSegment = new Map<string, FleetFinding[]>();
  const findingsOfHost = new Map<string, FleetFinding[]>();
  const mismatchJoins = new Map<string, FleetFinding>();
  for (const f of t.findings) {
    for (const s of f.segments) push(findingsOfSegment, key(s), f);
    for (const h of f.hosts) push(findingsOfHost, h, f);
    const [a, b] = f.segments;
    if (f.kind === 'native_vlan_mismatch' && a && b) mismatchJoins.set(joinId({ a, b }), f);
  }
  const placementOf = new Map(t.placements.map((p) => [`${p.host}\u0000${p.interface}`, p]));

  const index: ModelIndex = { segments: new Map(), joins: new Map(), hosts: new Map(), fabrics: new Map() };
  const nodes: ElementDef<NodeData>[] = [];
  const edges: ElementDef<EdgeData>[] = [];
  for (const [i, fabric] of t.fabrics.entries()) {
    index.fabrics.set(fabric.name, fabric);
    const vids = fabric.vids.map(vidText).join(', ');
    nodes.push({
      group: 'nodes',
      data: {
        id: fabricId(fabric.name),
        kind: 'fabric',
        label: `${fabric.name} · VIDs ${vids} · ${plural(fabric.hosts.length, 'host')}`,
        fabric: fabric.name,
        fill: fabricColor(i),
      },
      classes: 'fabric',
    });
    for (const host of fabric.hosts) {
      const entry = index.hosts.get(host) ?? { fabrics: [], stale: stale.has(host), findings: findingsOfHost.get(host) ?? [] };
      entry.fabrics.push(fabric.name);
      index.hosts.set(host, entry);
      nodes.push({
        group: 'nodes',
        data: {
          id: hostId(fabric.name, host),
          parent: fabricId(fabric.name),
          kind: 'host',
          label: stale.has(host) ? `${host} (stale)` : host,
          fabric: fabric.name,
          host,
        },
        classes: classList(['host', stale.has(host) && 'stale']),
      });
    }
    // Each join's end ids once: a large fleet has tens of thousands of joins, and each id is a JSON.stringify.
    const ends = fabric.joins.map((j) => [key(j.a), key(j.b)] as const);
    const joinsOf = new Map<string, FleetJoin[]>();
    for (const [i, j] of fabric.joins.entries()) {
      push(joinsOf, ends[i]![0], j);
      push(joinsOf, ends[i]![1], j);
    }
    for (const s of fabric.segments) {
      const id = key(s);
      const findings = findingsOfSegment.get(id) ?? [];
      const placement = placementOf.get(`${s.host}\u0000${s.interface}`);
      index.segments.set(id, { id, segment: s, fabric: fabric.name, joins: joinsOf.get(id) ?? [], findings, placement, stale: stale.has(s.host) });
      const kinds = [...new Set(findings.map((f) => f.kind))];
      const label = (s.vid === null ? s.interface : `${s.interface} · ${s.vid}`) + (kinds.length ? ' ⚠' : '');
      nodes.push({
        group: 'nodes',
        data: {
          id,
          parent: hostId(fabric.name, s.host),
          kind: 'segment',
          label,
          w: labelWidth(label),
          fabric: fabric.name,
          host: s.host,
          interface: s.interface,
          vid: vidText(s.vid),
        },
        classes: classList([
          'segment',
          s.vid !== null && 'tagged',
          stale.has(s.host) && 'stale',
          ...kinds.map((k) => `f-${k}`),
          s.vid === null && placement && placement.fabric !== null && !placement.agrees && 'p-disagrees',
        ]),
      });
    }
    for (const [i, j] of fabric.joins.entries()) {
      const [source, target] = ends[i]!;
      const id = joinIdOf(source, target);
      const mismatch = mismatchJoins.get(id);
      index.joins.set(id, { join: j, fabric: fabric.name, findings: mismatch ? [mismatch] : [] });
      edges.push({
        group: 'edges',
        data: { id, source, target, kind: 'join', join: j.kind, fabric: fabric.name, label: joinLabel(j) },
        classes: classList(['join', `k-${j.kind}`, mismatch && 'f-native_vlan_mismatch']),
      });
    }
  }
  return { nodes, edges, index };
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function classList(parts: ReadonlyArray<string | false | undefined>): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '').join(' ');
}

/** About the width of a 10 px label in DejaVu Sans, plus padding. */
export const labelWidth = (label: string): number => Math.ceil(label.length * 6.4 + 14);

const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;
