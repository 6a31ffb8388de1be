/**
 * Text for people: the fleet's fabrics, hosts and history as aligned
 * tables, in the style of `netbeacon topology`. Machines get the JSON.
 */
import { formatTable } from '../../topology/render';
import type { FleetChange } from './history';
import type { HostsDocument } from './hosts';
import { formatFleetSegment, keyOf, type FleetSegment } from './segment';
import type { FleetFabric, FleetJoin, FleetTopology } from './types';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function kinds(j: FleetJoin): string {
  if (j.kind === 'interface') return 'same interface';
  const names = [...new Set(j.hints.map((h) => h.hint))].sort().join(', ');
  return j.kind === 'peer' && j.peer ? `${names} from unreported ${j.peer.ifname} ${j.peer.mac}` : names;
}

function reasonsFor(f: FleetFabric, s: FleetSegment): string[] {
  const key = keyOf(s);
  const out: string[] = [];
  for (const j of f.joins) {
    if (keyOf(j.a) === key) out.push(`${formatFleetSegment(j.b)}: ${kinds(j)}`);
    else if (keyOf(j.b) === key) out.push(`${formatFleetSegment(j.a)}: ${kinds(j)}`);
  }
  return out;
}

const vidList = (vids: ReadonlyArray<number | null>): string => vids.map((v) => (v === null ? 'untagged' : String(v))).join(', ');

function renderFabric(f: FleetFabric): string[] {
  const lines = [`${f.name}: ${plural(f.segments.length, 'segment')} on ${plural(f.hosts.length, 'host')} (${f.hosts.join(', ')}); VIDs ${vidList(f.vids)}`];
  const rows: string[][] = [['SEGMENT', 'JOINED TO']];
  for (const s of f.segments) {
    const reasons = reasonsFor(f, s);
    rows.push([formatFleetSegment(s), reasons[0] ?? 'alone: nothing joins it to another segment']);
    for (const r of reasons.slice(1)) rows.push(['', r]);
  }
  lines.push(...formatTable(rows, '  '));
  return lines;
}

export function renderFleetTopology(t: FleetTopology, staleHosts: ReadonlySet<string> = new Set()): string {
  const lines = [`fleet: ${plural(t.hosts.total, 'host')} (${t.hosts.stale} stale), ${plural(t.fabrics.length, 'fabric')}, as of ${t.generated_at}`, ''];
  if (t.fabrics.length === 0) lines.push('no fabrics: no host has reported yet', '');
  for (const f of t.fabrics) lines.push(...renderFabric(f), '');
  if (t.placements.length > 0) {
    lines.push('MAAS placement (guess_vlan_from_hints):');
    const rows = [['HOST', 'INTERFACE', 'FABRIC', 'VID', 'AGREES', 'WHY']];
    for (const p of t.placements) {
      rows.push([
        p.host + (staleHosts.has(p.host) ? ' (stale)' : ''),
        p.interface,
        p.fabric ?? '(new fabric)',
        p.vid === null ? '-' : String(p.vid),
        p.agrees ? 'yes' : 'no',
        p.reason,
      ]);
    }
    lines.push(...formatTable(rows, '  '), '');
  }
  lines.push(t.findings.length === 0 ? 'findings: none' : `findings (${t.findings.length}):`);
  for (const f of t.findings) lines.push(`  ${f.kind}: ${f.message}`);
  return lines.join('\n') + '\n';
}

export function renderHosts(doc: HostsDocument): string {
  if (doc.hosts.length === 0) return 'no host has reported yet\n';
  const rows = [['HOST', 'STATE', 'LAST REPORT', 'SEQ', 'INTERFACES', 'HINTS', 'PEERS', 'AGENT']];
  for (const h of doc.hosts) {
    rows.push([
      h.name,
      h.state,
      h.last_report,
      String(h.seq),
      h.interfaces.map((i) => i.name).join(',') || '-',
      String(h.hints),
      String(h.peers),
      `${h.agent.version || '?'} ${h.agent.engine}`.trim(),
    ]);
  }
  return formatTable(rows).join('\n') + '\n';
}

export interface HistoryEntry extends FleetChange {
  readonly id: number;
  readonly time: string;
}

export function renderHistory(changes: readonly HistoryEntry[]): string {
  if (changes.length === 0) return 'no changes\n';
  const rows = [['TIME', 'KIND', 'WHAT', 'BEFORE', 'AFTER']];
  for (const c of changes) {
    const what = c.interface === null ? c.host : formatFleetSegment({ host: c.host, interface: c.interface, vid: c.vid });
    rows.push([c.time, c.kind, what, c.before ?? '-', c.after ?? '-']);
  }
  return formatTable(rows).join('\n') + '\n';
}
