/**
 * Drift: where the fabric view (what beacons show, src/topology/fabrics.ts)
 * disagrees with the declared topology (expected.ts). Each drift event
 * carries the hints that prove it, and the chains of joins they form
 * (evidence.ts); events that rest on something not seen say so
 * (`evidence: "absence"`), since a quiet segment and a broken one look the
 * same until someone sends a beacon on it.
 *
 * The view groups segments (interface, VID) into layer-2 networks. A
 * declared fabric holds whole interfaces with all their VLANs, so fabric
 * questions are asked of interface components: interfaces joined when any
 * of their segments share a group (two VLANs of one trunk are one fabric).
 *
 * Kinds (JSON shape: `kind`, the fields below, then `evidence`, `message`,
 * `hints` (sorted) and `paths` (lists of proof steps)):
 * - wrong_fabric {ifname, declared, observed_with, interfaces}: the
 *   interface shares a fabric with interfaces of other declared fabrics,
 *   while most of its own fabric's seen interfaces are elsewhere.
 * - fabrics_merged {fabrics: [a, b], interfaces}: two declared fabrics are
 *   one (neither side is the odd one out).
 * - fabric_split {fabric, parts}: a declared fabric's interfaces are seen
 *   in groups that nothing joins (absence).
 * - interface_missing {ifname, fabric?}: a declared interface is in no
 *   hint at all (absence).
 * - vid_missing {ifname, fabric?, vlan, seen}: a declared VLAN was not seen
 *   on an interface that was (absence).
 * - vid_unexpected {ifname, fabric?, vlan, segment}: a VLAN seen on an
 *   interface whose VLANs are declared, and not among them.
 * - loop {segment}: our own beacon came back on the interface that sent it.
 * - not_alone {ifname, with}: an interface declared alone shares its fabric
 *   with other local interfaces.
 * `vlan` is a VID or "untagged" (VID 0, a priority tag, counts as untagged).
 *
 * Events are sorted by kind in the order above, then by their fields, so
 * equal inputs give byte-identical JSON.
 */
import type { TopologyHint } from '../topology/hints';
import { formatSegment, segment, segmentKey, type Segment } from '../topology/segment';
import type { Topology } from '../topology/fabrics';
import { FabricGraph, hintsOfPaths, type ProofStep } from './evidence';
import { declarations, type Declaration, type ExpectedTopology } from './expected';

export type Vlan = number | 'untagged';

export const DRIFT_KINDS = [
  'wrong_fabric',
  'fabrics_merged',
  'fabric_split',
  'interface_missing',
  'vid_missing',
  'vid_unexpected',
  'loop',
  'not_alone',
] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

interface DriftBase {
  /** `hints`: proven by the hints listed; `absence`: rests on something not seen. */
  readonly evidence: 'hints' | 'absence';
  readonly message: string;
  readonly hints: readonly TopologyHint[];
  readonly paths: readonly (readonly ProofStep[])[];
}

export type DriftEvent = DriftBase &
  (
    | {
        readonly kind: 'wrong_fabric';
        readonly ifname: string;
        readonly declared: string;
        readonly observed_with: readonly string[];
        readonly interfaces: readonly string[];
      }
    | { readonly kind: 'fabrics_merged'; readonly fabrics: readonly [string, string]; readonly interfaces: readonly string[] }
    | { readonly kind: 'fabric_split'; readonly fabric: string; readonly parts: readonly (readonly string[])[] }
    | { readonly kind: 'interface_missing'; readonly ifname: string; readonly fabric?: string }
    | { readonly kind: 'vid_missing'; readonly ifname: string; readonly fabric?: string; readonly vlan: Vlan; readonly seen: readonly Segment[] }
    | { readonly kind: 'vid_unexpected'; readonly ifname: string; readonly fabric?: string; readonly vlan: Vlan; readonly segment: Segment }
    | { readonly kind: 'loop'; readonly segment: Segment }
    | { readonly kind: 'not_alone'; readonly ifname: string; readonly with: readonly string[] }
  );

export interface DriftReport {
  /** True when there is no drift. */
  readonly ok: boolean;
  readonly drift: readonly DriftEvent[];
  /** Interfaces seen in hints but not declared: not drift, but worth a look. */
  readonly undeclared: readonly string[];
}

/** The `check` command's exit code: 0 without drift, 1 with. */
export function driftExitCode(report: DriftReport): 0 | 1 {
  return report.drift.length === 0 ? 0 : 1;
}

export function detectDrift(expected: ExpectedTopology, topology: Topology): DriftReport {
  const graph = new FabricGraph(topology);
  const declared = declarations(expected);
  const components = interfaceComponents(topology);
  const events: DriftEvent[] = [
    ...fabricDrift(expected, graph, declared, components),
    ...[...declared.values()].flatMap((d) => vlanDrift(d, graph)),
    ...loopDrift(topology),
    ...aloneDrift(expected, graph, components),
  ];
  events.sort(compareEvents);
  return { ok: events.length === 0, drift: events, undeclared: graph.interfaces().filter((i) => !declared.has(i)) };
}

/** Interface -> the sorted interfaces it shares a fabric with (itself included). */
function interfaceComponents(topology: Topology): Map<string, readonly string[]> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const f of topology.fabrics) {
    for (const s of f.segments) if (!parent.has(s.ifname)) parent.set(s.ifname, s.ifname);
    const first = find(f.segments[0]!.ifname);
    for (const s of f.segments) parent.set(find(s.ifname), first);
  }
  const members = new Map<string, string[]>();
  for (const i of parent.keys()) {
    const root = find(i);
    members.set(root, [...(members.get(root) ?? []), i]);
  }
  const out = new Map<string, readonly string[]>();
  for (const list of members.values()) {
    list.sort();
    for (const i of list) out.set(i, list);
  }
  return out;
}

function fabricDrift(
  expected: ExpectedTopology,
  graph: FabricGraph,
  declared: ReadonlyMap<string, Declaration>,
  components: ReadonlyMap<string, readonly string[]>,
): DriftEvent[] {
  const fabricOf = (i: string): string | undefined => declared.get(i)?.fabric;
  const observed = new Map(expected.fabrics.map((f) => [f.name, f.interfaces.map((i) => i.ifname).filter((i) => components.has(i))]));
  // Each component once, ordered by its first interface (the lists are sorted).
  const comps = [...new Set(graph.interfaces().map((i) => components.get(i)!))];

  // An interface is misplaced when it shares a component with another
  // declared fabric while most of its own fabric's seen interfaces are
  // elsewhere: then it, not its fabric, is what moved.
  const misplaced = new Set<string>();
  for (const c of comps) {
    const fabrics = new Set(c.map(fabricOf).filter((f) => f !== undefined));
    if (fabrics.size < 2) continue;
    for (const i of c) {
      const a = fabricOf(i);
      if (a === undefined) continue;
      const inside = c.filter((j) => fabricOf(j) === a).length;
      if (inside < observed.get(a)!.length - inside) misplaced.add(i);
    }
  }
  const events: DriftEvent[] = [];
  for (const i of [...misplaced].sort()) {
    const a = fabricOf(i)!;
    const others = components.get(i)!.filter((j) => fabricOf(j) !== undefined && fabricOf(j) !== a);
    const path = graph.path(
      graph.segmentsOf(i),
      others.flatMap((j) => graph.segmentsOf(j)),
      { acrossInterfaces: true },
    )!;
    const observedWith = [...new Set(others.map((j) => fabricOf(j)!))].sort();
    events.push({
      kind: 'wrong_fabric',
      ifname: i,
      declared: a,
      observed_with: observedWith,
      interfaces: others,
      ...proven(`${i} is declared on fabric ${a} but shares a fabric with ${others.join(', ')} (declared on ${observedWith.join(', ')})`, [path]),
    });
  }

  const home = (c: readonly string[], f: string): string[] => c.filter((j) => fabricOf(j) === f && !misplaced.has(j));
  for (const f of expected.fabrics) {
    const parts = comps.map((c) => home(c, f.name)).filter((p) => p.length > 0);
    if (parts.length < 2) continue;
    const shown = parts.map((p) => p.join(', ')).join(' | ');
    events.push({ kind: 'fabric_split', fabric: f.name, parts, ...absent(`fabric ${f.name} is split: no beacon joins ${shown}`) });
  }

  const merged = new Map<string, { fabrics: [string, string]; interfaces: Set<string>; paths: ProofStep[][] }>();
  for (const c of comps) {
    const names = [...new Set(c.filter((j) => !misplaced.has(j)).map(fabricOf))].filter((f) => f !== undefined).sort();
    for (let x = 0; x < names.length; x++) {
      for (let y = x + 1; y < names.length; y++) {
        const pair: [string, string] = [names[x]!, names[y]!];
        const entry = merged.get(pair.join('\u0000')) ?? { fabrics: pair, interfaces: new Set<string>(), paths: [] };
        const [ia, ib] = [home(c, pair[0]), home(c, pair[1])];
        for (const j of [...ia, ...ib]) entry.interfaces.add(j);
        entry.paths.push(
          graph.path(
            ia.flatMap((j) => graph.segmentsOf(j)),
            ib.flatMap((j) => graph.segmentsOf(j)),
            { acrossInterfaces: true },
          )!,
        );
        merged.set(pair.join('\u0000'), entry);
      }
    }
  }
  for (const m of merged.values()) {
    const interfaces = [...m.interfaces].sort();
    const [a, b] = m.fabrics;
    events.push({
      kind: 'fabrics_merged',
      fabrics: m.fabrics,
      interfaces,
      ...proven(`fabrics ${a} and ${b} are one fabric: ${interfaces.join(', ')} are joined`, m.paths),
    });
  }
  return events;
}

/** The VLAN a segment carries, as declarations name it. */
function vlanOf(s: Segment): Vlan {
  return s.vid === undefined || s.vid === 0 ? 'untagged' : s.vid;
}

function vlanDrift(d: Declaration, graph: FabricGraph): DriftEvent[] {
  const on = d.fabric === undefined ? 'alone' : `on fabric ${d.fabric}`;
  const where = d.fabric === undefined ? {} : { fabric: d.fabric };
  const seen = graph.segmentsOf(d.ifname);
  if (seen.length === 0)
    return [{ kind: 'interface_missing', ifname: d.ifname, ...where, ...absent(`${d.ifname}, declared ${on}, is in no hint: no beacon was seen on it`) }];
  if (!d.vlans) return [];
  const expected: Vlan[] = [...(d.vlans.untagged ? ['untagged' as const] : []), ...d.vlans.vids];
  const seenVlans = new Set(seen.map(vlanOf));
  const events: DriftEvent[] = [];
  for (const vlan of expected) {
    if (seenVlans.has(vlan)) continue;
    const what = vlan === 'untagged' ? 'untagged traffic' : `VLAN ${vlan}`;
    events.push({
      kind: 'vid_missing',
      ifname: d.ifname,
      ...where,
      vlan,
      seen,
      ...absent(`${d.ifname}: ${what} expected, not seen (seen: ${seen.map(formatSegment).join(', ')})`),
    });
  }
  for (const s of seen) {
    const vlan = vlanOf(s);
    if (expected.includes(vlan)) continue;
    const what = vlan === 'untagged' ? 'untagged traffic' : `VLAN ${vlan}`;
    const hints = graph.hintsOn(s);
    events.push({
      kind: 'vid_unexpected',
      ifname: d.ifname,
      ...where,
      vlan,
      segment: s,
      evidence: 'hints',
      message: `${formatSegment(s)}: ${what} seen, not declared for ${d.ifname}`,
      hints,
      paths: [],
    });
  }
  return events;
}

function loopDrift(topology: Topology): DriftEvent[] {
  const bySegment = new Map<string, { segment: Segment; hints: TopologyHint[] }>();
  for (const f of topology.fabrics) {
    for (const h of f.loops) {
      const s = segment(h.ifname, h.vid);
      const entry = bySegment.get(segmentKey(s)) ?? { segment: s, hints: [] };
      entry.hints.push(h);
      bySegment.set(segmentKey(s), entry);
    }
  }
  return [...bySegment.values()].map(({ segment, hints }) => ({
    kind: 'loop',
    segment,
    evidence: 'hints',
    message: `${formatSegment(segment)}: our own beacon came back on the interface that sent it (a loop, a broadcast storm or a replay)`,
    hints,
    paths: [],
  }));
}

function aloneDrift(expected: ExpectedTopology, graph: FabricGraph, components: ReadonlyMap<string, readonly string[]>): DriftEvent[] {
  return expected.alone.flatMap(({ ifname }): DriftEvent[] => {
    const others = (components.get(ifname) ?? []).filter((j) => j !== ifname);
    if (others.length === 0) return [];
    const paths = others.map((j) => graph.path(graph.segmentsOf(ifname), graph.segmentsOf(j), { acrossInterfaces: true })!);
    return [{ kind: 'not_alone', ifname, with: others, ...proven(`${ifname} is declared alone but shares a fabric with ${others.join(', ')}`, paths) }];
  });
}

function proven(message: string, paths: readonly (readonly ProofStep[])[]): DriftBase {
  return { evidence: 'hints', message, hints: hintsOfPaths(paths), paths };
}

function absent(message: string): DriftBase {
  return { evidence: 'absence', message, hints: [], paths: [] };
}

function compareEvents(a: DriftEvent, b: DriftEvent): number {
  const k = DRIFT_KINDS.indexOf(a.kind) - DRIFT_KINDS.indexOf(b.kind);
  if (k !== 0) return k;
  // Within a kind no two events are about the same thing, so never equal.
  return identity(a) < identity(b) ? -1 : 1;
}

/** The fields that say what an event is about (not its evidence), as a comparable string. */
function identity(e: DriftEvent): string {
  switch (e.kind) {
    case 'fabrics_merged':
      return e.fabrics.join('\u0000');
    case 'fabric_split':
      return e.fabric;
    case 'loop':
      return sortable(e.segment);
    case 'vid_missing':
      return `${e.ifname}\u0000${String(e.vlan === 'untagged' ? 0 : e.vlan).padStart(5, '0')}`;
    case 'vid_unexpected':
      return `${e.ifname}\u0000${sortable(e.segment)}`;
    default:
      return e.ifname;
  }
}

/** A segment as a string that sorts as compareSegments does. */
function sortable(s: Segment): string {
  return `${s.ifname}\u0000${String((s.vid ?? -1) + 1).padStart(5, '0')}`;
}
