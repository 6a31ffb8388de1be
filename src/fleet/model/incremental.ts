/**
 * The fleet model computed again after some hosts' interfaces or hints
 * changed, touching only what they can affect, with the same answer as
 * buildFleetModel (test/unit/fleet-model-incremental.test.ts checks it
 * against random sequences of changes).
 *
 * What a changed host can affect:
 * - the MACs it reports or its hints name, before or after (`touched`):
 *   who reports a MAC decides what every hint naming it joins (one host:
 *   a remote join; none: an unknown sighting, perhaps a peer chain; two
 *   hosts: nothing);
 * - so the fabrics (connected components) that hold the host's old
 *   segments, any interface with a touched MAC, or the segment of any hint
 *   naming a touched MAC. Their segments, with the segments of the host's
 *   new report, are the part computed again: a graph of just the hints and
 *   interfaces of those segments (MACs resolved against the whole fleet).
 *   Any other fabric is unchanged: its hosts' hints are the same and name
 *   MACs whose owners did not change, so it has the same segments and joins;
 *   a join out of the part would contradict that, and is checked (the
 *   caller computes in full if one is found);
 * - names: from the names given (the stored ones, which may lag the last
 *   model's or be another server's), by nameFabrics's rules over the whole
 *   fleet: each fabric keeps its claims per names map, so only the new
 *   fabrics' claims are computed, and a fabric whose name changes is copied
 *   with its new name and its hosts' placements made again;
 * - placements of the part's hosts and of hosts whose hints name a MAC of
 *   the part's interfaces (the fabric of the interface a hint names);
 * - findings: native-VLAN mismatches of the new fabrics, unknown and
 *   duplicate MACs of the touched MACs.
 * Pure: reports in, model out; the state is the last model's pieces.
 */
import { buildGraph, reportSegmentKeys, type InterfaceRef } from './graph';
import { duplicateMacFinding, nativeVlanMismatches, unknownMacs } from './findings';
import { assembleModel, fabricNamesIfMade, fabricsStep, groupFabrics, placeHost, placementsStep } from './model';
import { claimsOf, nameGroups, numbersOf, type Claim, type NameLookup } from './naming';
import type { PlacementView } from './placement';
import type { FleetReport } from './report';
import { compareFleetSegments, fleetSegmentKey, keyOf, type FleetSegment } from './segment';
import type { FleetFabric, FleetFinding, FleetModel, FleetPlacement, HostRecord } from './types';

/** A fabric name's number for numbersOf (fabric-N: N; another name: Infinity). */
function numberOfName(name: string): number {
  const [n] = numbersOf({ get: () => undefined, values: () => [name] });
  return n!;
}

/** The pieces of the last model, and the indexes to find what a change touches. */
export class IncrementalFleet {
  readonly #reports = new Map<string, FleetReport>();
  /** MAC -> the interfaces reporting it, in host and report order (as buildGraph has them). */
  readonly #macs = new Map<string, InterfaceRef[]>();
  readonly #ifaces = new Map<string, Map<string, InterfaceRef>>();
  /** MAC -> the hosts whose hints name it. */
  readonly #hintedBy = new Map<string, Set<string>>();
  #fabrics: readonly FleetFabric[];
  readonly #fabricOf = new Map<string, FleetFabric>();
  readonly #placements = new Map<string, readonly FleetPlacement[]>();
  readonly #native = new Map<FleetFabric, FleetFinding[]>();
  readonly #unknown = new Map<string, FleetFinding>();
  readonly #duplicate = new Map<string, FleetFinding>();
  /** A fabric's segments -> its claims on the names it was computed from. */
  readonly #claims = new WeakMap<readonly FleetSegment[], { readonly names: NameLookup; readonly claims: readonly Claim[] }>();
  #numbers: { readonly names: NameLookup; readonly numbers: ReadonlySet<number> } | undefined;
  /**
   * numbersOf the fabrics' own names, kept from one list to the next (how
   * many fabrics have each number): named from the last model's own names,
   * a step changes the numbers of only the fabrics it made or removed, and
   * a regular expression over ten thousand names was a fifth of the step.
   */
  #ownNumbers: { fabrics: readonly FleetFabric[]; readonly count: Map<number, number>; readonly numbers: Set<number> } | undefined;
  /** The last model's placements, and where each host's begin in it. */
  #placementList: { readonly list: readonly FleetPlacement[]; readonly at: Map<string, number> } | undefined;
  /** A names map found equal to a fabric list's own names. */
  #sameNames: { readonly names: NameLookup; readonly fabrics: readonly FleetFabric[] } | undefined;
  #model: FleetModel;
  readonly #view: PlacementView;

  /** The state of `model`, computed in full from `hosts` (in name order). */
  constructor(hosts: readonly HostRecord[], model: FleetModel) {
    this.#model = model;
    this.#fabrics = model.topology.fabrics;
    for (const { report } of hosts) this.#addReport(report);
    for (const f of this.#fabrics) for (const s of f.segments) this.#fabricOf.set(keyOf(s), f);
    let i = 0;
    const ps = model.topology.placements;
    const at = new Map<string, number>();
    for (const { report } of hosts) {
      const start = i;
      while (i < ps.length && ps[i]!.host === report.host) i++;
      this.#placements.set(report.host, ps.slice(start, i));
      at.set(report.host, start);
    }
    this.#placementList = { list: ps, at };
    for (const f of model.topology.findings) {
      if (f.kind === 'native_vlan_mismatch') this.#nativeOf(f);
      else if (f.kind === 'unknown_mac') this.#unknown.set(f.mac!, f);
      else if (f.kind === 'duplicate_mac') this.#duplicate.set(f.mac!, f);
    }
    const macs = this.#macs;
    this.#view = { iface: (host: string, ifname: string) => this.#ifaces.get(host)?.get(ifname), macs };
  }

  get model(): FleetModel {
    return this.#model;
  }

  /** Placements per host, in host order: the model's placements are their concatenation. */
  placementChunks(hosts: readonly HostRecord[]): Array<readonly FleetPlacement[]> {
    return hosts.map((h) => this.#placements.get(h.report.host) ?? []);
  }

  #claimsOf(f: FleetFabric, names: NameLookup): readonly Claim[] {
    let c = this.#claims.get(f.segments);
    if (c?.names !== names) {
      c = { names, claims: claimsOf(f.segments.map(keyOf), names) };
      this.#claims.set(f.segments, c);
    }
    return c.claims;
  }

  /**
   * Whether `names` are the names of `fabrics` (the last model's): the same
   * map, or (read back from the database, or loaded by a server that saw
   * another's commit first) a map with the same entries, which costs one
   * look-up per segment, less than tallying claims.
   */
  #ownNames(names: NameLookup, fabrics: readonly FleetFabric[]): boolean {
    const own = fabricNamesIfMade(fabrics);
    if (own === undefined || names === own) return names === own;
    if (this.#sameNames?.names === names && this.#sameNames.fabrics === fabrics) return true;
    if (!(names instanceof Map) || names.size !== own.size) return false;
    for (const [k, v] of own) if (names.get(k) !== v) return false;
    this.#sameNames = { names, fabrics };
    return true;
  }

  #nativeOf(f: FleetFinding): void {
    const fabric = this.#fabricOf.get(keyOf(f.segments[0]!))!;
    const list = this.#native.get(fabric);
    if (list) list.push(f);
    else this.#native.set(fabric, [f]);
  }

  #addReport(r: FleetReport): void {
    this.#reports.set(r.host, r);
    const byName = new Map<string, InterfaceRef>();
    for (const iface of r.interfaces) {
      const ref = { host: r.host, iface };
      byName.set(iface.name, ref);
      if (iface.mac === null) continue;
      const list = this.#macs.get(iface.mac);
      if (!list) this.#macs.set(iface.mac, [ref]);
      else if (list[list.length - 1]!.host <= r.host) list.push(ref);
      else {
        // Hosts in name order, a host's interfaces in its report's order.
        let at = list.length;
        while (at > 0 && list[at - 1]!.host > r.host) at--;
        list.splice(at, 0, ref);
      }
    }
    this.#ifaces.set(r.host, byName);
    for (const h of r.hints) {
      if (h.related_mac === undefined) continue;
      const set = this.#hintedBy.get(h.related_mac);
      if (set) set.add(r.host);
      else this.#hintedBy.set(h.related_mac, new Set([r.host]));
    }
  }

  #removeReport(r: FleetReport): void {
    this.#reports.delete(r.host);
    this.#ifaces.delete(r.host);
    for (const iface of r.interfaces) {
      if (iface.mac === null) continue;
      const list = this.#macs.get(iface.mac);
      if (!list) continue;
      const rest = list.filter((x) => x.host !== r.host);
      if (rest.length) this.#macs.set(iface.mac, rest);
      else this.#macs.delete(iface.mac);
    }
    for (const h of r.hints) {
      if (h.related_mac === undefined) continue;
      const set = this.#hintedBy.get(h.related_mac);
      set?.delete(r.host);
      if (set?.size === 0) this.#hintedBy.delete(h.related_mac);
    }
  }

  /**
   * The model of `hosts` (in name order) at `nowMs`, named from `names`
   * (the stored names), given that the hosts in `changed` (added, removed or
   * with other interfaces or hints) are the only ones whose joins changed.
   * Undefined when the part would reach out of itself (a bug, or input not
   * derived from the last model): the caller computes in full and starts
   * again from that. The state is unusable after undefined.
   */
  update(hosts: readonly HostRecord[], changed: readonly string[], names: NameLookup, nowMs: number): FleetModel | undefined {
    const next = new Map(hosts.map((h) => [h.report.host, h.report]));
    const touched = new Set<string>();
    const changedSet = new Set(changed);
    for (const c of changed) {
      for (const r of [this.#reports.get(c), next.get(c)]) {
        if (!r) continue;
        for (const i of r.interfaces) if (i.mac !== null) touched.add(i.mac);
        for (const h of r.hints) if (h.related_mac !== undefined) touched.add(h.related_mac);
      }
    }
    const seeds = new Set<string>();
    const hinting = new Set<string>();
    const seedMacs = (): void => {
      for (const m of touched) {
        for (const r of this.#macs.get(m) ?? []) seeds.add(fleetSegmentKey(r.host, r.iface.name, null));
        for (const h of this.#hintedBy.get(m) ?? []) if (!changedSet.has(h)) hinting.add(h);
      }
    };
    seedMacs();
    const newKeys = new Set<string>();
    for (const c of changed) {
      const before = this.#reports.get(c);
      if (before) {
        for (const k of reportSegmentKeys(before)) seeds.add(k);
        this.#removeReport(before);
      }
      const after = next.get(c);
      if (after) {
        for (const k of reportSegmentKeys(after)) newKeys.add(k);
        this.#addReport(after);
      }
    }
    seedMacs();
    for (const k of newKeys) seeds.add(k);
    for (const h of hinting) {
      const r = this.#reports.get(h)!;
      for (const x of r.hints) if (x.related_mac !== undefined && touched.has(x.related_mac)) seeds.add(fleetSegmentKey(h, x.ifname, x.vid));
    }

    // The part: the affected fabrics' segments and the changed hosts' new ones.
    const affected = new Set<FleetFabric>();
    for (const k of seeds) {
      const f = this.#fabricOf.get(k);
      if (f) affected.add(f);
    }
    const part = new Set(newKeys);
    const partHosts = new Set<string>();
    for (const c of changed) if (next.has(c)) partHosts.add(c);
    for (const f of affected) {
      for (const s of f.segments) {
        part.add(keyOf(s));
        if (next.has(s.host)) partHosts.add(s.host);
      }
    }
    const records = hosts.filter((h) => partHosts.has(h.report.host));
    const g = buildGraph(records, { macs: this.#macs, include: (host, ifname, vid) => part.has(fleetSegmentKey(host, ifname, vid)) });
    for (const s of g.segments) if (!part.has(keyOf(s))) return undefined;

    // Named below, with the rest of the fleet.
    const { fabrics: made } = groupFabrics(g, names, (groups) => groups.map(() => ''));

    // Fabrics: the unchanged ones and the new ones, in order of their first segment.
    const before = this.#fabrics;
    const fabrics: FleetFabric[] = [];
    /** Where each of `made` is in `fabrics`. */
    const madeAt: number[] = [];
    let j = 0;
    for (const f of this.#fabrics) {
      if (affected.has(f)) continue;
      while (j < made.length && compareFleetSegments(made[j]!.segments[0]!, f.segments[0]!) < 0) {
        madeAt.push(fabrics.length);
        fabrics.push(made[j++]!);
      }
      fabrics.push(f);
    }
    while (j < made.length) {
      madeAt.push(fabrics.length);
      fabrics.push(made[j++]!);
    }

    // Names, by nameFabrics's rules over the whole fleet, from the claims each fabric keeps.
    // Named from the last model's own names (the service's steady state, once it
    // stored them), an unchanged fabric's segments all had its name and no new
    // fabric's segment had it (the new fabrics are made of the affected ones'
    // segments and new ones): its one claim is granted whatever the order, so it
    // keeps its name, and the new fabrics' claims compete only among themselves,
    // in the same order. The old names are then the fabrics' names.
    const own = this.#ownNames(names, before);
    const claimed = (f: FleetFabric): { claims: readonly Claim[]; size: number } => ({ claims: this.#claimsOf(f, names), size: f.segments.length });
    const fresh = new Set(made);
    const renamed: FleetFabric[] = [];
    /** The fabrics of `before` that `renamed` replace. */
    const renamedFrom: FleetFabric[] = [];
    const rename = (i: number, name: string): void => {
      const f = fabrics[i]!;
      if (f.name === name) return;
      const nf: FleetFabric = { ...f, name };
      fabrics[i] = nf;
      if (fresh.has(f)) {
        fresh.delete(f);
        fresh.add(nf);
      } else {
        renamed.push(nf);
        renamedFrom.push(f);
        const native = this.#native.get(f);
        this.#native.delete(f);
        if (native) this.#native.set(nf, native);
      }
    };
    if (own) {
      // Only the new fabrics can take other names than the ones they have.
      const madeNames = nameGroups(made.map(claimed), this.#numbersOfOwn(before));
      madeAt.forEach((i, k) => rename(i, madeNames[k]!));
    } else {
      if (this.#numbers?.names !== names) this.#numbers = { names, numbers: numbersOf(names) };
      const final = nameGroups(fabrics.map(claimed), this.#numbers.numbers);
      for (let i = 0; i < fabrics.length; i++) rename(i, final[i]!);
    }
    this.#fabrics = fabrics;
    this.#keepOwnNumbers(before, fabrics, affected, renamed, fresh);
    fabricsStep(fabrics, before, [...affected, ...renamedFrom], [...fresh, ...renamed]);

    for (const f of affected) {
      this.#native.delete(f);
      for (const s of f.segments) this.#fabricOf.delete(keyOf(s));
    }
    for (const f of [...fresh, ...renamed]) for (const s of f.segments) this.#fabricOf.set(keyOf(s), f);

    // Placements of the part's hosts and of hosts naming the part's interfaces' MACs.
    const placing = new Set(partHosts);
    for (const h of partHosts) {
      for (const i of next.get(h)!.interfaces) {
        if (i.mac === null || !part.has(fleetSegmentKey(h, i.name, null))) continue;
        for (const x of this.#hintedBy.get(i.mac) ?? []) placing.add(x);
      }
    }
    // And of the renamed fabrics' hosts, and the hosts naming their interfaces' MACs.
    for (const f of renamed) {
      for (const s of f.segments) {
        placing.add(s.host);
        const mac = s.vid === null ? this.#ifaces.get(s.host)?.get(s.interface)?.iface.mac : undefined;
        if (mac) for (const x of this.#hintedBy.get(mac) ?? []) placing.add(x);
      }
    }
    const replaced = new Map<string, readonly FleetPlacement[]>();
    for (const c of changed) {
      if (next.has(c)) continue;
      replaced.set(c, this.#placements.get(c) ?? []);
      this.#placements.delete(c);
    }
    const fabricOf = (host: string, ifname: string): string => this.#fabricOf.get(fleetSegmentKey(host, ifname, null))!.name;
    const placed: Array<readonly FleetPlacement[]> = [];
    for (const h of placing) {
      replaced.set(h, this.#placements.get(h) ?? []);
      const p = placeHost(this.#view, next.get(h)!, fabricOf);
      this.#placements.set(h, p);
      placed.push(p);
    }
    const placementsBefore = this.#placementList?.list;
    const placements = this.#placementsOf(hosts, changed, replaced);
    if (placementsBefore) placementsStep(placements, placementsBefore, [...replaced.values()], placed);

    for (const f of nativeVlanMismatches(g)) this.#nativeOf(f);
    for (const m of touched) {
      this.#unknown.delete(m);
      this.#duplicate.delete(m);
      const d = duplicateMacFinding(m, this.#macs.get(m) ?? []);
      if (d) this.#duplicate.set(m, d);
    }
    for (const f of unknownMacs(g)) if (touched.has(f.mac!)) this.#unknown.set(f.mac!, f);
    const findings: FleetFinding[] = [];
    for (const list of this.#native.values()) findings.push(...list);
    findings.push(...this.#unknown.values(), ...this.#duplicate.values());

    this.#model = assembleModel(hosts, { fabrics, placements, findings }, nowMs);
    return this.#model;
  }

  /** numbersOf(the names of `fabrics`), the last list's. */
  #numbersOfOwn(fabrics: readonly FleetFabric[]): ReadonlySet<number> {
    if (this.#ownNumbers?.fabrics !== fabrics) {
      const count = new Map<number, number>();
      for (const f of fabrics) {
        const n = numberOfName(f.name);
        count.set(n, (count.get(n) ?? 0) + 1);
      }
      this.#ownNumbers = { fabrics, count, numbers: new Set(count.keys()) };
    }
    return this.#ownNumbers.numbers;
  }

  /** #ownNumbers carried from `before` to `after`: the affected fabrics' names out, the new and renamed ones' in. */
  #keepOwnNumbers(
    before: readonly FleetFabric[],
    after: readonly FleetFabric[],
    affected: ReadonlySet<FleetFabric>,
    renamed: readonly FleetFabric[],
    fresh: ReadonlySet<FleetFabric>,
  ): void {
    const own = this.#ownNumbers;
    if (own?.fabrics !== before) return;
    const add = (name: string, by: number): void => {
      const n = numberOfName(name);
      const c = (own.count.get(n) ?? 0) + by;
      if (c > 0) {
        own.count.set(n, c);
        own.numbers.add(n);
      } else {
        own.count.delete(n);
        own.numbers.delete(n);
      }
    };
    for (const f of affected) add(f.name, -1);
    for (const f of fresh) add(f.name, 1);
    // A renamed fabric was one of `before` under the name it had there.
    const was = new Map<readonly FleetSegment[], string>();
    if (renamed.length > 0) for (const f of before) if (!affected.has(f)) was.set(f.segments, f.name);
    for (const f of renamed) {
      add(was.get(f.segments)!, -1);
      add(f.name, 1);
    }
    own.fabrics = after;
  }

  /**
   * The placements of `hosts`: the last list with the `replaced` hosts'
   * placements written over theirs when no host came or went and each has
   * as many as before (a copy of the list and a few writes), else the
   * concatenation of every host's.
   */
  #placementsOf(hosts: readonly HostRecord[], changed: readonly string[], replaced: ReadonlyMap<string, readonly FleetPlacement[]>): FleetPlacement[] {
    const last = this.#placementList;
    let list: FleetPlacement[] | undefined;
    if (last && last.at.size === hosts.length && changed.every((c) => last.at.has(c) && this.#reports.has(c))) {
      list = last.list.slice();
      for (const [h, old] of replaced) {
        const now = this.#placements.get(h)!;
        const at = last.at.get(h);
        if (now.length === 0 && old.length === 0) continue;
        if (at === undefined || now.length !== old.length || last.list[at] !== old[0]) {
          list = undefined;
          break;
        }
        for (let k = 0; k < now.length; k++) list[at + k] = now[k]!;
      }
    }
    if (list) {
      this.#placementList = { list, at: last!.at };
      return list;
    }
    const at = new Map<string, number>();
    list = [];
    for (const { report } of hosts) {
      at.set(report.host, list.length);
      for (const p of this.#placements.get(report.host)!) list.push(p);
    }
    this.#placementList = { list, at };
    return list;
  }

  /** The same fabrics, placements and findings at another time (no host's joins changed). */
  reassemble(hosts: readonly HostRecord[], model: FleetModel): void {
    for (const { report } of hosts) this.#reports.set(report.host, report);
    this.#model = model;
  }
}
