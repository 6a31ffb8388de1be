/**
 * Proof from the fabric view: which hints show that two segments share a
 * fabric. The view (src/topology/fabrics.ts) already groups segments and
 * keeps the hints behind every join; this turns it back into a graph so
 * that a claim ("eth2 is on mgmt's fabric") can be backed by the shortest
 * chain of joins, each with its hints.
 *
 * Steps:
 * - `link`: one multicast beacon reached both segments (same_local_fabric_as,
 *   rx_own_beacon_on_other_interface).
 * - `peer`: both segments heard multicast from one remote interface (same
 *   MAC and VID: on_remote_network).
 * - `interface`: two VLANs of one local interface. Not a hint: in MAAS's
 *   model an interface's VLANs all belong to its fabric. Only followed when
 *   asked (fabric-level questions), never for VLAN-level ones.
 */
import { sortHints, type TopologyHint } from '../topology/hints';
import { compareSegments, segment, segmentKey, type Segment } from '../topology/segment';
import type { Topology } from '../topology/fabrics';

export type StepVia = 'link' | 'peer' | 'interface';

export interface ProofStep {
  readonly from: Segment;
  readonly to: Segment;
  readonly via: StepVia;
  /** The hints behind this step, sorted; none for an `interface` step. */
  readonly hints: readonly TopologyHint[];
  /** For a `peer` step: the remote interface both segments heard. */
  readonly peer?: { readonly mac: string; readonly vid?: number };
}

interface Edge {
  readonly to: string;
  readonly step: ProofStep;
}

export class FabricGraph {
  readonly #segments = new Map<string, Segment>();
  readonly #group = new Map<string, string>();
  readonly #edges = new Map<string, Edge[]>();
  readonly #hintsOn = new Map<string, TopologyHint[]>();
  readonly #byInterface = new Map<string, Segment[]>();

  constructor(topology: Topology) {
    for (const f of topology.fabrics) {
      for (const s of f.segments) {
        const key = segmentKey(s);
        this.#segments.set(key, s);
        this.#group.set(key, f.name);
        const list = this.#byInterface.get(s.ifname) ?? [];
        list.push(s);
        this.#byInterface.set(s.ifname, list);
      }
      for (const link of f.links) {
        const [a, b] = link.segments;
        this.#addEdge(a, b, 'link', link.hints);
        this.#noteHints(a, link.hints);
        this.#noteHints(b, link.hints);
      }
      this.#addPeerEdges(f);
      for (const h of f.loops) this.#noteHints(segment(h.ifname, h.vid), [h]);
    }
    for (const list of this.#byInterface.values()) {
      list.sort(compareSegments);
      for (const s of list.slice(1)) this.#addEdge(list[0]!, s, 'interface', []);
    }
    for (const edges of this.#edges.values()) edges.sort((x, y) => compareSegments(x.step.to, y.step.to) || VIA_ORDER[x.step.via] - VIA_ORDER[y.step.via]);
  }

  /** Every segment in the view, sorted. */
  segments(): Segment[] {
    return [...this.#segments.values()].sort(compareSegments);
  }

  /** The interfaces that have at least one segment, sorted. */
  interfaces(): string[] {
    return [...this.#byInterface.keys()].sort();
  }

  /** The segments of one interface, sorted; empty if it was never seen. */
  segmentsOf(ifname: string): readonly Segment[] {
    return this.#byInterface.get(ifname) ?? [];
  }

  /** The name of the view's fabric (group of segments) holding `s`. */
  groupOf(s: Segment): string | undefined {
    return this.#group.get(segmentKey(s));
  }

  /** Every hint that names `s` as a local segment, sorted. */
  hintsOn(s: Segment): TopologyHint[] {
    return sortHints(this.#hintsOn.get(segmentKey(s)) ?? []);
  }

  /**
   * The shortest chain of steps from any of `from` to any of `to`
   * (breadth-first; ties broken by segment order, so the answer is stable).
   * Empty when a segment is in both; undefined when nothing connects them.
   */
  path(from: readonly Segment[], to: readonly Segment[], opts: { acrossInterfaces: boolean }): ProofStep[] | undefined {
    const targets = new Set(to.map(segmentKey));
    const cameBy = new Map<string, Edge | null>();
    let frontier = [...from].sort(compareSegments).map(segmentKey);
    for (const k of frontier) cameBy.set(k, null);
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const k of frontier) {
        if (targets.has(k)) return unwind(cameBy, k);
        for (const e of this.#edges.get(k) ?? []) {
          if (cameBy.has(e.to) || (e.step.via === 'interface' && !opts.acrossInterfaces)) continue;
          cameBy.set(e.to, e);
          next.push(e.to);
        }
      }
      frontier = next;
    }
    return undefined;
  }

  #addPeerEdges(f: Topology['fabrics'][number]): void {
    // Joined on the remote leg (MAC and VID), as topology.ts joins; the
    // remote interface's name does not matter.
    const legs = new Map<string, { mac: string; vid?: number; seen: Map<string, { segment: Segment; hints: TopologyHint[] }> }>();
    for (const p of f.peers) {
      const legKey = `${p.mac}\u0000${p.vid ?? ''}`;
      const leg = legs.get(legKey) ?? {
        mac: p.mac,
        ...(p.vid === undefined ? {} : { vid: p.vid }),
        seen: new Map<string, { segment: Segment; hints: TopologyHint[] }>(),
      };
      legs.set(legKey, leg);
      for (const s of p.seen_on) {
        if (!s.joins) continue;
        const k = segmentKey(s.segment);
        const entry = leg.seen.get(k) ?? { segment: s.segment, hints: [] };
        entry.hints.push(...s.hints);
        leg.seen.set(k, entry);
        this.#noteHints(s.segment, s.hints);
      }
    }
    for (const leg of legs.values()) {
      const seen = [...leg.seen.values()];
      const peer = leg.vid === undefined ? { mac: leg.mac } : { mac: leg.mac, vid: leg.vid };
      for (const a of seen) for (const b of seen) if (a !== b) this.#addOneWay(a.segment, b.segment, 'peer', sortHints([...a.hints, ...b.hints]), peer);
    }
  }

  #addEdge(a: Segment, b: Segment, via: StepVia, hints: readonly TopologyHint[]): void {
    this.#addOneWay(a, b, via, hints);
    this.#addOneWay(b, a, via, hints);
  }

  #addOneWay(from: Segment, to: Segment, via: StepVia, hints: readonly TopologyHint[], peer?: ProofStep['peer']): void {
    const key = segmentKey(from);
    const step: ProofStep = peer ? { from, to, via, hints, peer } : { from, to, via, hints };
    const list = this.#edges.get(key) ?? [];
    list.push({ to: segmentKey(to), step });
    this.#edges.set(key, list);
  }

  #noteHints(s: Segment, hints: readonly TopologyHint[]): void {
    const key = segmentKey(s);
    const list = this.#hintsOn.get(key) ?? [];
    list.push(...hints);
    this.#hintsOn.set(key, list);
  }
}

const VIA_ORDER: Readonly<Record<StepVia, number>> = { link: 0, peer: 1, interface: 2 };

function unwind(cameBy: ReadonlyMap<string, Edge | null>, end: string): ProofStep[] {
  const steps: ProofStep[] = [];
  let e = cameBy.get(end)!;
  while (e !== null) {
    steps.push(e.step);
    e = cameBy.get(segmentKey(e.step.from))!;
  }
  return steps.reverse();
}

/** The hints of some paths, sorted and without duplicates. */
export function hintsOfPaths(paths: readonly (readonly ProofStep[])[]): TopologyHint[] {
  return sortHints(paths.flatMap((p) => p.flatMap((s) => s.hints)));
}
