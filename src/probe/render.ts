/** Text tables for people: discover, mtu and vlans. JSON is the stable form; these may change. */
import type { DiscoveredHost, SeenOn } from './discover-book';
import type { MtuReport } from './mtu-report';
import type { VlanComparison, VlanReport } from './vlan-report';
import { formatVidList } from './vids';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

export function formatSeen(s: SeenOn): string {
  return s.vid === undefined ? s.interface : `${s.interface} vid ${s.vid}`;
}

export function renderDiscover(hosts: readonly DiscoveredHost[], interfaces: readonly string[], seconds: number): string {
  const head = `${hosts.length} beaconing host${hosts.length === 1 ? '' : 's'} heard on ${interfaces.join(', ')} in ${seconds} s\n`;
  if (hosts.length === 0) return head;
  const rows = hosts.map((h) => [
    h.id,
    h.secret === 'same' ? 'same' : 'DIFFERENT',
    h.role ?? '-',
    h.names.join(',') || '-',
    h.seen_on.map(formatSeen).join(', '),
    h.addresses.join(', ') || '-',
    h.answered ? 'yes' : 'no',
    `${h.beacons}${h.replays ? ` (+${h.replays} replayed)` : ''}${h.local ? ' local' : ''}`,
    h.maas_url ?? '-',
  ]);
  return head + table(['HOST', 'SECRET', 'ROLE', 'IFACE', 'SEEN ON', 'ADDRESSES', 'ANSWERED', 'BEACONS', 'MAAS URL'], rows);
}

const size = (n: number | null): string => (n === null ? 'none' : String(n));

export function renderMtu(r: MtuReport): string {
  let out = '';
  for (const i of r.interfaces) {
    out += `${i.interface}: interface MTU ${i.interface_mtu}`;
    if (i.note) out += ` (${i.note})`;
    out += '\n';
    if (i.peers.length === 0) continue;
    const rows = i.peers.map((p) => [
      p.mac,
      p.ip,
      p.name ?? '-',
      p.peer_interface_mtu === null ? '?' : String(p.peer_interface_mtu),
      size(p.forward.path_mtu),
      p.reverse.path_mtu === null && p.reverse.note ? `- (${p.reverse.note})` : size(p.reverse.path_mtu),
      size(p.path_mtu),
      p.mismatch ? 'MISMATCH' : 'ok',
    ]);
    out += table(
      ['  PEER', 'IP', 'IFACE', 'PEER MTU', 'TO PEER', 'FROM PEER', 'PATH MTU', ''],
      rows.map((r) => [`  ${r[0]}`, ...r.slice(1)]),
    );
  }
  return out;
}

export function renderVlans(r: VlanReport, cmp?: VlanComparison): string {
  const tag = r.outer_vid === undefined ? '' : ` inside outer VID ${r.outer_vid}`;
  let out = `${r.interface}: probed ${r.vids_probed.length} VID${r.vids_probed.length === 1 ? '' : 's'}${tag} (${formatVidList(r.vids_probed)})\n`;
  if (r.peers.length === 0) out += 'no peer answered on any VID\n';
  else {
    out += table(
      ['PEER', 'IFACE', 'ANSWERED ON', 'SILENT ON'],
      r.peers.map((p) => [
        p.mac,
        p.names.join(',') || '-',
        formatVidList(p.vids) || '-',
        formatVidList(r.vids_probed.filter((v) => !p.vids.includes(v))) || '-',
      ]),
    );
  }
  if (r.silent.length) out += `no answer at all on: ${formatVidList(r.silent)}\n`;
  if (cmp) {
    out += cmp.ok ? 'matches the expect file\n' : 'differs from the expect file:\n';
    for (const p of cmp.peers) {
      if (p.missing.length) out += `  ${p.peer}: expected but silent on ${formatVidList(p.missing)}\n`;
      if (p.unexpected.length) out += `  ${p.peer}: answered on unexpected ${formatVidList(p.unexpected)}\n`;
      if (p.not_probed.length) out += `  ${p.peer}: expected VIDs not probed this run: ${formatVidList(p.not_probed)}\n`;
    }
    for (const u of cmp.unexpected_peers) out += `  ${u.peer}: not in the expect file, answered on ${formatVidList(u.vids)}\n`;
  }
  return out;
}
