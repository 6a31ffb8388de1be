/**
 * Placement: the VLAN and fabric of interfaces nobody declared, from the
 * ones somebody did, and the hints that say so.
 *
 * MAAS's region does this with one rule: an interface whose VLAN is
 * unknown goes on the VLAN of a related interface it knows, using only
 * hints where neither side is tagged (`vid` and `related_vid` absent), and
 * the first such hint wins. Here the rule is generalised to the fabric
 * view: a segment in the same group as a known segment takes that group's
 * VLAN, whatever chain of joins connects them, and when the known segments
 * disagree the conflict is reported instead of a first-come guess.
 * A placement that MAAS's own rule would also make is marked `rule: "maas"`
 * (the region would agree), anything else `rule: "fabric"`.
 *
 * A known interface is {fabric, vid?}: `vid` is the VLAN its untagged
 * traffic belongs to (0: the fabric's untagged VLAN, as MAAS numbers it;
 * another VID for an access port), absent when only the fabric is known.
 * A tagged segment of a known interface is VLAN `tag` of its fabric. So an
 * unknown interface whose untagged segment joins a known group gets the
 * group's fabric and VLAN; one whose tagged segment does gets the fabric
 * only (its own untagged VLAN is still unknown).
 *
 * JSON shape (stable, sorted by interface):
 *   { "placements": [ {"ifname", "fabric", "vid"?, "rule", "evidence": [candidate-evidence...]} ],
 *     "conflicts":  [ {"ifname", "candidates": [ {"fabric", "vid"?, "evidence": [...]} ]} ],
 *     "unplaced":   [ "eth7", ... ] }
 *   evidence: {"segment": the unknown interface's segment, "known": the known segment,
 *              "hints": [...], "path": [proof steps]}
 */
import type { Segment } from '../topology/segment';
import type { TopologyHint } from '../topology/hints';
import type { Topology } from '../topology/fabrics';
import { FabricGraph, hintsOfPaths, type ProofStep } from './evidence';
import type { ExpectedTopology } from './expected';
import { ifname, integer, mapping, parseJson, string, type Source } from './validate';

export interface KnownPlacement {
  readonly fabric: string;
  /** The VLAN of the interface's untagged traffic; absent when only the fabric is known. */
  readonly vid?: number;
}

export interface PlacementEvidence {
  /** The segment of the interface being placed. */
  readonly segment: Segment;
  /** The known segment it is joined to. */
  readonly known: Segment;
  readonly hints: readonly TopologyHint[];
  readonly path: readonly ProofStep[];
}

export interface PlacementCandidate {
  readonly fabric: string;
  readonly vid?: number;
  readonly evidence: readonly PlacementEvidence[];
}

export interface Placement extends PlacementCandidate {
  readonly ifname: string;
  /** "maas": MAAS's own rule (an untagged hint to a known interface) gives the same answer. */
  readonly rule: 'maas' | 'fabric';
}

export interface PlacementConflict {
  readonly ifname: string;
  readonly candidates: readonly PlacementCandidate[];
}

export interface PlacementResult {
  readonly placements: readonly Placement[];
  readonly conflicts: readonly PlacementConflict[];
  /** Seen in hints, not known, and joined to nothing known. */
  readonly unplaced: readonly string[];
}

export const KNOWN_ERROR_CODE = 'E_KNOWN_FORMAT';

/**
 * Parses a known-placement JSON file: `{"eth0": {"fabric": "mgmt", "vid": 0}, ...}`
 * (`vid` optional, 0-4094). Mistakes are usage errors with the key path.
 */
export function parseKnownJson(text: string, file: string): Map<string, KnownPlacement> {
  const src: Source = { name: file, code: KNOWN_ERROR_CODE };
  const top = mapping(src, parseJson(src, text), []);
  const out = new Map<string, KnownPlacement>();
  for (const [key, value] of Object.entries(top)) {
    const name = ifname(src, key, [key]);
    const v = mapping(src, value, [key], ['fabric', 'vid'], ['fabric']);
    const fabric = string(src, v.fabric, [key, 'fabric']);
    out.set(name, v.vid === undefined ? { fabric } : { fabric, vid: integer(src, v.vid, [key, 'vid'], 0, 4094) });
  }
  return out;
}

/**
 * What a declaration says is known: an interface declared with untagged
 * traffic is on its fabric's untagged VLAN (0); one declared tagged-only,
 * or by name only, is known by fabric. Interfaces declared alone are on an
 * unnamed fabric of their own and are left out.
 */
export function knownFromExpected(e: ExpectedTopology): Map<string, KnownPlacement> {
  const out = new Map<string, KnownPlacement>();
  for (const f of e.fabrics) {
    for (const i of f.interfaces) out.set(i.ifname, i.vlans?.untagged ? { fabric: f.name, vid: 0 } : { fabric: f.name });
  }
  return out;
}

/** A known segment and the VLAN it stands for. */
interface KnownSegment {
  readonly segment: Segment;
  readonly fabric: string;
  readonly vid?: number;
}

export function placeInterfaces(topology: Topology, known: ReadonlyMap<string, KnownPlacement>): PlacementResult {
  const graph = new FabricGraph(topology);
  // Group name -> the known segments in it.
  const knownIn = new Map<string, KnownSegment[]>();
  for (const s of graph.segments()) {
    const k = known.get(s.ifname);
    if (!k) continue;
    const vid = untagged(s) ? k.vid : s.vid;
    const list = knownIn.get(graph.groupOf(s)!) ?? [];
    list.push(vid === undefined ? { segment: s, fabric: k.fabric } : { segment: s, fabric: k.fabric, vid });
    knownIn.set(graph.groupOf(s)!, list);
  }

  const placements: Placement[] = [];
  const conflicts: PlacementConflict[] = [];
  const unplaced: string[] = [];
  for (const name of graph.interfaces()) {
    if (known.has(name)) continue;
    const candidates = candidatesFor(name, graph, knownIn);
    if (candidates.length === 0) {
      unplaced.push(name);
      continue;
    }
    const fabrics = new Set(candidates.map((c) => c.fabric));
    const vids = new Set(candidates.flatMap((c) => (c.vid === undefined ? [] : [c.vid])));
    if (fabrics.size > 1 || vids.size > 1) {
      conflicts.push({ ifname: name, candidates });
      continue;
    }
    const fabric = candidates[0]!.fabric;
    const vid = vids.size === 1 ? [...vids][0]! : undefined;
    const evidence = candidates.flatMap((c) => c.evidence);
    const rule = maasAgrees(name, graph, known, fabric, vid) ? 'maas' : 'fabric';
    placements.push(vid === undefined ? { ifname: name, fabric, rule, evidence } : { ifname: name, fabric, vid, rule, evidence });
  }
  return { placements, conflicts, unplaced };
}

/** Every distinct answer the segments of `name` lead to, each with its evidence; sorted by fabric, then VID. */
function candidatesFor(name: string, graph: FabricGraph, knownIn: ReadonlyMap<string, readonly KnownSegment[]>): PlacementCandidate[] {
  const byAnswer = new Map<string, { fabric: string; vid?: number; evidence: PlacementEvidence[] }>();
  for (const s of graph.segmentsOf(name)) {
    for (const k of knownIn.get(graph.groupOf(s)!) ?? []) {
      // A tagged segment in a known group says which fabric the interface
      // is on, not which VLAN its untagged traffic is.
      const vid = untagged(s) ? k.vid : undefined;
      // Sorts as the answers are listed: by fabric, then VID, unknown first.
      const key = `${k.fabric}\u0000${String((vid ?? -1) + 1).padStart(5, '0')}`;
      const entry = byAnswer.get(key) ?? (vid === undefined ? { fabric: k.fabric, evidence: [] } : { fabric: k.fabric, vid, evidence: [] });
      const path = graph.path([s], [k.segment], { acrossInterfaces: false })!;
      entry.evidence.push({ segment: s, known: k.segment, hints: hintsOfPaths([path]), path });
      byAnswer.set(key, entry);
    }
  }
  return [...byAnswer.keys()].sort().map((key) => byAnswer.get(key)!);
}

/**
 * MAAS's rule: a hint from the interface's untagged side to an untagged
 * side of a known local interface (same_local_fabric_as or
 * rx_own_beacon_on_other_interface) places it on that interface's VLAN.
 */
function maasAgrees(name: string, graph: FabricGraph, known: ReadonlyMap<string, KnownPlacement>, fabric: string, vid: number | undefined): boolean {
  return graph.hintsOn({ ifname: name }).some((h) => {
    if (h.ifname !== name || h.vid !== undefined || h.related_vid !== undefined || h.related_ifname === undefined) return false;
    if (h.hint !== 'same_local_fabric_as' && h.hint !== 'rx_own_beacon_on_other_interface') return false;
    const k = known.get(h.related_ifname);
    return k !== undefined && k.fabric === fabric && k.vid === vid;
  });
}

/** Untagged, or VID 0 (a priority tag, no VLAN). */
function untagged(s: Segment): boolean {
  return s.vid === undefined || s.vid === 0;
}
