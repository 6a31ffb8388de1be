/**
 * The fleet model: every host's last report joined into one set of
 * data-center fabrics, with MAAS's placement of each interface and the
 * findings. A pure function of the reports, the fabric names the segments
 * had before, and the time: the service computes it from what its database
 * holds, and anything else (a test, a replay of stored reports) gets the
 * same answer from the same input.
 */
import { buildGraph, type SegmentGraph } from './graph';
import { duplicateMacs, isStale, nativeVlanMismatches, staleHosts, unknownMacs } from './findings';
import { nameFabrics, type NameLookup } from './naming';
import { placeInterface, placementValue, type PlacementView } from './placement';
import type { FleetReport } from './report';
import type { TopologyHint } from '../../topology/hints';
import { compareFleetSegments, fleetSegmentKey, keyOf, type FleetSegment } from './segment';
import {
  TOPOLOGY_VERSION,
  type FleetFabric,
  type FleetFinding,
  type FleetJoin,
  type FleetModel,
  type FleetPlacement,
  type HostRecord,
  type Presence,
} from './types';

export interface ModelInput {
  readonly hosts: readonly HostRecord[];
  /** Segment key -> the fabric name it had (DerivedState.fabrics of the previous model). */
  readonly names: ReadonlyMap<string, string>;
  readonly nowMs: number;
}

export function buildFleetModel(input: ModelInput): FleetModel {
  const hosts = sortHosts(input.hosts);
  const g = buildGraph(hosts);
  const { fabrics, fabricOfSegment } = groupFabrics(g, input.names);

  const fabricOf = (host: string, ifname: string): string => fabricOfSegment[g.indexOf(host, ifname, null)!]!;
  const placements: FleetPlacement[] = [];
  const placementState = new Map<string, string | null>();
  for (const { report } of hosts) {
    for (const p of placeHost(g, report, fabricOf)) {
      placements.push(p);
      placementState.set(interfaceKey(p.host, p.interface), placementValue(p));
    }
  }

  const names = new Map<string, string>();
  g.segments.forEach((s, i) => names.set(keyOf(s), fabricOfSegment[i]!));
  const joined: JoinedFleet = { fabrics, placements, findings: [...nativeVlanMismatches(g), ...unknownMacs(g), ...duplicateMacs(g)], names, placementState };
  return assembleModel(hosts, joined, input.nowMs);
}

/** What the reports' interfaces and hints alone decide: everything but the hosts' presence. */
export interface JoinedFleet {
  readonly fabrics: readonly FleetFabric[];
  readonly placements: readonly FleetPlacement[];
  /** The findings that are not about presence (stale hosts). */
  readonly findings: readonly FleetFinding[];
  /** The maps of DerivedState when already made (else made from the lists when first read). */
  readonly names?: ReadonlyMap<string, string>;
  readonly placementState?: ReadonlyMap<string, string | null>;
}

/** A fabric list's segment -> fabric name map, and a placement list's interface -> placement map, made once per list. */
const namesOfList = new WeakMap<readonly FleetFabric[], ReadonlyMap<string, string>>();
const placementsOfList = new WeakMap<readonly FleetPlacement[], ReadonlyMap<string, string | null>>();

/**
 * A list made by a step from another whose map was made: that map, and
 * what the step took out of the list and put in (fabrics, or hosts'
 * placements). Its map is then a copy of that one with their entries
 * taken out and put in, which reuses the keys (ten thousands of strings
 * made and hashed again were most of the cost), in another order: the
 * maps are read by key, or in full (the history's diff), never in order.
 */
interface Step<T> {
  readonly base: ReadonlyMap<string, string | null>;
  readonly out: readonly (readonly T[])[];
  readonly in: readonly (readonly T[])[];
}
const namesSteps = new WeakMap<readonly FleetFabric[], Step<FleetFabric>>();
const placementSteps = new WeakMap<readonly FleetPlacement[], Step<FleetPlacement>>();

/** `fabrics` is `before` less the fabrics `out` plus those `in`. */
export function fabricsStep(fabrics: readonly FleetFabric[], before: readonly FleetFabric[], out: readonly FleetFabric[], in_: readonly FleetFabric[]): void {
  const base = namesOfList.get(before);
  if (base && fabrics !== before) namesSteps.set(fabrics, { base, out: [out], in: [in_] });
}

/** `placements` is `before` less the placements in `out` plus those in `in`. */
export function placementsStep(
  placements: readonly FleetPlacement[],
  before: readonly FleetPlacement[],
  out: readonly (readonly FleetPlacement[])[],
  in_: readonly (readonly FleetPlacement[])[],
): void {
  const base = placementsOfList.get(before);
  if (base && placements !== before) placementSteps.set(placements, { base, out, in: in_ });
}

function applyStep<T, V extends string | null>(step: Step<T>, entries: (item: T, put: (key: string, value: V) => void) => void): Map<string, V> {
  const m = new Map(step.base) as Map<string, V>;
  for (const list of step.out) for (const item of list) entries(item, (k) => m.delete(k));
  for (const list of step.in) for (const item of list) entries(item, (k, v) => m.set(k, v));
  return m;
}

const fabricEntries = (f: FleetFabric, put: (key: string, value: string) => void): void => {
  for (const s of f.segments) put(keyOf(s), f.name);
};
const placementEntries = (p: FleetPlacement, put: (key: string, value: string | null) => void): void =>
  put(interfaceKey(p.host, p.interface), placementValue(p));

/** DerivedState.fabrics of a model with these fabrics: the same map for the same list. */
export function fabricNamesOf(fabrics: readonly FleetFabric[]): ReadonlyMap<string, string> {
  let m = namesOfList.get(fabrics);
  if (!m) {
    const step = namesSteps.get(fabrics);
    let names: Map<string, string>;
    if (step) {
      names = applyStep(step, fabricEntries);
      namesSteps.delete(fabrics);
    } else {
      names = new Map<string, string>();
      for (const f of fabrics) fabricEntries(f, (k, v) => names.set(k, v));
    }
    namesOfList.set(fabrics, (m = names));
  }
  return m;
}

/** fabricNamesOf(fabrics) if it was made already, without making it. */
export function fabricNamesIfMade(fabrics: readonly FleetFabric[]): ReadonlyMap<string, string> | undefined {
  return namesOfList.get(fabrics);
}

/** DerivedState.placements of a model with these placements: the same map for the same list. */
export function placementStateOf(placements: readonly FleetPlacement[]): ReadonlyMap<string, string | null> {
  let m = placementsOfList.get(placements);
  if (!m) {
    const step = placementSteps.get(placements);
    let state: Map<string, string | null>;
    if (step) {
      state = applyStep(step, placementEntries);
      placementSteps.delete(placements);
    } else {
      state = new Map<string, string | null>();
      for (const p of placements) placementEntries(p, (k, v) => state.set(k, v));
    }
    placementsOfList.set(placements, (m = state));
  }
  return m;
}

/** The joined fleet of a model, to assemble again at another time (the presence findings left out). */
export function joinedOf(model: FleetModel): JoinedFleet {
  const t = model.topology;
  const findings = t.findings.filter((f) => f.kind !== 'stale_host');
  return { fabrics: t.fabrics, placements: t.placements, findings };
}

/** The model of `joined` at `nowMs`: presence, stale findings and the document. `hosts` in name order. */
export function assembleModel(hosts: readonly HostRecord[], joined: JoinedFleet, nowMs: number): FleetModel {
  if (joined.names) namesOfList.set(joined.fabrics, joined.names);
  if (joined.placementState) placementsOfList.set(joined.placements, joined.placementState);
  const findings: FleetFinding[] = [...joined.findings, ...staleHosts(hosts, nowMs)];
  findings.sort((a, b) => (a.kind !== b.kind ? (a.kind < b.kind ? -1 : 1) : a.message < b.message ? -1 : a.message > b.message ? 1 : 0));

  const presence = new Map<string, Presence>();
  let validUntilMs = Infinity;
  let stale = 0;
  for (const h of hosts) {
    const s = isStale(h, nowMs);
    presence.set(h.report.host, s ? 'stale' : 'fresh');
    if (s) stale++;
    else validUntilMs = Math.min(validUntilMs, h.receivedAtMs + 3 * h.report.period_seconds * 1000 + 1);
  }
  return {
    topology: {
      version: TOPOLOGY_VERSION,
      generated_at: new Date(nowMs).toISOString(),
      hosts: { total: hosts.length, stale },
      fabrics: joined.fabrics,
      placements: joined.placements,
      findings,
    },
    // The maps of a model computed incrementally are made when first read (the history's
    // loop reads them; an answer to GET /api/v1/topology needs neither).
    derived: {
      get fabrics() {
        return fabricNamesOf(joined.fabrics);
      },
      get placements() {
        return placementStateOf(joined.placements);
      },
      presence,
    },
    validUntilMs,
  };
}

/** Hosts in name order, as every list of the model has them. */
export function sortHosts(hosts: readonly HostRecord[]): HostRecord[] {
  return [...hosts].sort((a, b) => (a.report.host < b.report.host ? -1 : a.report.host > b.report.host ? 1 : 0));
}

/** The graph's connected segments as named fabrics, in order of their first segment. */
export function groupFabrics(
  g: SegmentGraph,
  previous: NameLookup,
  name: (groups: string[][]) => string[] = (groups) => nameFabrics(groups, previous),
): { fabrics: FleetFabric[]; fabricOfSegment: string[] } {
  const order = g.segments.map((_, i) => i).sort((x, y) => compareFleetSegments(g.segments[x]!, g.segments[y]!));
  const groupOfRoot = new Map<number, number>();
  const members: number[][] = [];
  for (const i of order) {
    const root = g.find(i);
    let group = groupOfRoot.get(root);
    if (group === undefined) {
      group = members.length;
      groupOfRoot.set(root, group);
      members.push([]);
    }
    members[group]!.push(i);
  }
  const names = name(members.map((m) => m.map((i) => keyOf(g.segments[i]!))));
  const fabricOfSegment: string[] = new Array<string>(g.segments.length);
  members.forEach((m, group) => m.forEach((i) => (fabricOfSegment[i] = names[group]!)));

  const joinsOf: FleetJoin[][] = members.map(() => []);
  for (const j of g.joins.values()) {
    const join: FleetJoin = { a: g.segments[j.a]!, b: g.segments[j.b]!, kind: j.kind, hints: j.hints, ...(j.peer ? { peer: j.peer } : {}) };
    joinsOf[groupOfRoot.get(g.find(j.a))!]!.push(join);
  }
  const fabrics = members.map((m, group): FleetFabric => {
    const segments: FleetSegment[] = m.map((i) => g.segments[i]!);
    const vids = [...new Set(segments.map((s) => s.vid))].sort((a, b) => (a ?? -1) - (b ?? -1));
    const hosts = [...new Set(segments.map((s) => s.host))];
    const joins = joinsOf[group]!.sort((x, y) => compareFleetSegments(x.a, y.a) || compareFleetSegments(x.b, y.b));
    return { name: names[group]!, segments, vids, hosts, joins };
  });
  return { fabrics, fabricOfSegment };
}

/** Where MAAS would put each of a report's interfaces, in name order. */
export function placeHost(g: PlacementView, report: FleetReport, fabricOf: (host: string, ifname: string) => string): FleetPlacement[] {
  const byIface = new Map<string, TopologyHint[]>();
  for (const h of report.hints) {
    const list = byIface.get(h.ifname);
    if (list) list.push(h);
    else byIface.set(h.ifname, [h]);
  }
  return [...report.interfaces]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((iface) => placeInterface(g, report.host, iface.name, byIface.get(iface.name) ?? [], fabricOf));
}

/** The placement key of an interface in DerivedState.placements. */
export function interfaceKey(host: string, ifname: string): string {
  return `${host}\u0000${ifname}`;
}

export { fleetSegmentKey };
