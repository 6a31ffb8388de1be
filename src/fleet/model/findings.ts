/**
 * What an operator should look at: the model's findings, each with the
 * hosts, segments and hints behind it.
 */
import type { InterfaceRef, SegmentGraph } from './graph';
import { compareFleetHints } from './graph';
import { compareFleetSegments, fleetSegment, fleetSegmentKey, formatFleetSegment, type FleetSegment } from './segment';
import type { FleetFinding, FleetHint, HostRecord } from './types';

/** A finding lists at most this many hints (and says how many there were). */
export const FINDING_HINTS = 20;

function segmentsOf(g: SegmentGraph, indices: Iterable<number>): FleetSegment[] {
  return [...new Set(indices)].map((i) => g.segments[i]!).sort(compareFleetSegments);
}

function capped(hints: FleetHint[]): Pick<FleetFinding, 'hints' | 'hints_total'> {
  hints.sort(compareFleetHints);
  return hints.length > FINDING_HINTS ? { hints: hints.slice(0, FINDING_HINTS), hints_total: hints.length } : { hints };
}

/** The VID a segment's frames carry on the wire: its own, or its VLAN interface's. */
function wireVid(g: SegmentGraph, i: number): number | null {
  const s = g.segments[i]!;
  return s.vid ?? g.iface(s.host, s.interface)?.iface.vid ?? null;
}

export function nativeVlanMismatches(g: SegmentGraph): FleetFinding[] {
  const out: FleetFinding[] = [];
  for (const j of g.joins.values()) {
    if (j.kind === 'interface') continue;
    const va = wireVid(g, j.a);
    const vb = wireVid(g, j.b);
    if ((va === null) === (vb === null)) continue;
    const [tagged, untagged] = va === null ? [j.b, j.a] : [j.a, j.b];
    const t = formatFleetSegment(g.segments[tagged]!);
    const u = formatFleetSegment(g.segments[untagged]!);
    const kinds = [...new Set(j.hints.map((h) => h.hint))].sort().join(', ');
    out.push({
      kind: 'native_vlan_mismatch',
      message: `${u} (untagged) and ${t} (VLAN ${wireVid(g, tagged)}) share a fabric by ${kinds}: one end sends untagged what the other carries tagged (a native-VLAN mismatch, or an access port facing a trunk)`,
      hosts: [...new Set([g.segments[j.a]!.host, g.segments[j.b]!.host])].sort(),
      segments: segmentsOf(g, [j.a, j.b]),
      ...capped([...j.hints]),
    });
  }
  return out;
}

export function unknownMacs(g: SegmentGraph): FleetFinding[] {
  const out: FleetFinding[] = [];
  for (const [mac, seen] of g.unknown) {
    const hosts = [...new Set(seen.map((s) => s.hint.host))].sort();
    const names = [...new Set(seen.flatMap((s) => (s.hint.related_ifname === undefined ? [] : [s.hint.related_ifname])))].sort();
    out.push({
      kind: 'unknown_mac',
      message: `${mac}${names.length ? ` (${names.join(', ')})` : ''} is named by ${seen.length} hint${seen.length === 1 ? '' : 's'} of ${hosts.join(', ')} but no host reported it: a MAAS rack, or an agent that does not report to this fleet`,
      hosts,
      segments: segmentsOf(
        g,
        seen.map((s) => s.segment),
      ),
      mac,
      ...capped(seen.map((s) => s.hint)),
    });
  }
  return out;
}

export function duplicateMacs(g: SegmentGraph): FleetFinding[] {
  const out: FleetFinding[] = [];
  for (const [mac, refs] of g.macs) {
    const f = duplicateMacFinding(mac, refs);
    if (f) out.push(f);
  }
  return out;
}

/** The duplicate_mac finding of `mac`, reported by `refs` (every interface with it), if two hosts claim it. */
export function duplicateMacFinding(mac: string, refs: readonly InterfaceRef[]): FleetFinding | undefined {
  const hosts = [...new Set(refs.map((r) => r.host))];
  if (hosts.length < 2) return undefined; // a VLAN or bond shares its parent's MAC on one host: normal
  const byKey = new Map<string, FleetSegment>();
  for (const r of refs) byKey.set(fleetSegmentKey(r.host, r.iface.name, null), fleetSegment(r.host, r.iface.name, null));
  const segments = [...byKey.values()].sort(compareFleetSegments);
  const where = segments.map(formatFleetSegment);
  return {
    kind: 'duplicate_mac',
    message: `${mac} is reported by ${where.join(', ')}: ${hosts.length} hosts claim one MAC (cloned VMs, or a MAC set by hand); hints naming it join neither`,
    hosts: hosts.sort(),
    segments,
    hints: [],
    mac,
  };
}

/** Silent for more than three of its own report periods. */
export function isStale(h: HostRecord, nowMs: number): boolean {
  return nowMs - h.receivedAtMs > 3 * h.report.period_seconds * 1000;
}

export function staleHosts(hosts: readonly HostRecord[], nowMs: number): FleetFinding[] {
  return hosts
    .filter((h) => isStale(h, nowMs))
    .map((h) => ({
      kind: 'stale_host' as const,
      message: `${h.report.host} has not reported for ${Math.round((nowMs - h.receivedAtMs) / 1000)} s (3 periods of ${h.report.period_seconds} s): its last report is shown, greyed`,
      hosts: [h.report.host],
      segments: [],
      hints: [],
      last_report: new Date(h.receivedAtMs).toISOString(),
    }));
}
