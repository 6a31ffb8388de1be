/**
 * The evidence panel: for the selected segment, join, host or fabric, what
 * the server's model says and why: the joins with the hints that prove
 * them, the findings, and the placement MAAS's region would make, with the
 * server's reason in its own words.
 */
import { h } from './dom';
import type { HostsDocument } from './api';
import { formatSegment, joinLabel, type FleetFinding, type FleetJoin, type FleetPlacement, type MapModel, type SegmentInfo } from './model';

type Hint = FleetJoin['hints'][number];

const FINDING_NAMES: Record<FleetFinding['kind'], string> = {
  native_vlan_mismatch: 'native-VLAN mismatch',
  unknown_mac: 'unknown MAC',
  stale_host: 'stale host',
  duplicate_mac: 'duplicate MAC',
};

const KIND_WORDS: Record<FleetJoin['kind'], string> = {
  interface: 'one interface: the untagged segment and a VID heard on it share a cable (no hint needed)',
  local: 'one host: a beacon reached both interfaces',
  remote: 'across hosts: a hint names the MAC of an interface the other host reported',
  peer: 'through an interface no host reported: both heard its multicast',
};

function hintTable(hints: readonly Hint[], caption: string): HTMLElement {
  if (hints.length === 0) return h('p', { class: 'muted' }, 'no hints: ', caption);
  const head = h('tr', {}, ...['reported by', 'hint', 'on', 'names'].map((c) => h('th', { scope: 'col' }, c)));
  const rows = hints.map((x) =>
    h(
      'tr',
      {},
      h('td', {}, x.host),
      h('td', {}, h('code', {}, x.hint)),
      h('td', {}, x.ifname + (x.vid !== undefined ? ` vid ${x.vid}` : '')),
      h(
        'td',
        {},
        [x.related_ifname, x.related_mac, x.related_vid !== undefined ? `vid ${x.related_vid}` : undefined].filter((s) => s !== undefined).join(' ') || '-',
      ),
    ),
  );
  return h('table', { class: 'hints' }, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, ...rows));
}

function findingList(findings: readonly FleetFinding[]): HTMLElement | null {
  if (findings.length === 0) return null;
  return h(
    'section',
    { class: 'findings' },
    h('h3', {}, 'Findings'),
    h('ul', {}, ...findings.map((f) => h('li', { class: `finding f-${f.kind}` }, h('strong', {}, FINDING_NAMES[f.kind]), ': ', f.message))),
  );
}

export function placementBlock(p: FleetPlacement | undefined): HTMLElement {
  if (!p) return h('p', { class: 'muted' }, 'no placement: the interface is not in a report');
  const where =
    p.fabric === null ? 'a new fabric (no hint names an interface the fleet knows)' : `${p.fabric}${p.vid === null ? ', untagged' : `, VLAN ${p.vid}`}`;
  return h(
    'section',
    { class: 'placement' },
    h('h3', {}, 'MAAS placement'),
    h(
      'dl',
      {},
      h('dt', {}, 'interface'),
      h('dd', {}, `${p.host}/${p.interface}`),
      h('dt', {}, 'MAAS would put it on'),
      h('dd', {}, where),
      h('dt', {}, 'agrees with the map'),
      h('dd', { class: p.agrees ? 'yes' : 'no' }, p.agrees ? 'yes' : 'no'),
      p.via && h('dt', {}, 'via'),
      p.via && h('dd', {}, `${p.via.host}/${p.via.interface} (${p.via.hint.hint})`),
      h('dt', {}, 'reason'),
      h('dd', { class: 'reason' }, p.reason),
    ),
  );
}

function joinItem(j: FleetJoin, from: string | null): HTMLElement {
  const other = from === null ? `${formatSegment(j.a)} — ${formatSegment(j.b)}` : formatSegment(from === formatSegment(j.a) ? j.b : j.a);
  return h(
    'li',
    {},
    h('strong', {}, other),
    ` (${j.kind}: ${joinLabel(j)})`,
    j.kind === 'interface' ? null : hintTable(j.hints, `hints joining ${formatSegment(j.a)} and ${formatSegment(j.b)}`),
  );
}

function interfaceFacts(hosts: HostsDocument | null, host: string, ifname: string): HTMLElement | null {
  const i = hosts?.hosts.find((x) => x.name === host)?.interfaces.find((x) => x.name === ifname);
  if (!i) return null;
  return h(
    'p',
    { class: 'facts' },
    [
      `MAC ${i.mac ?? '(none)'}`,
      `MTU ${i.mtu}`,
      i.type,
      i.addresses.length ? i.addresses.join(', ') : 'no address',
      i.vids.length ? `VIDs heard ${i.vids.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' · '),
  );
}

export function segmentEvidence(s: SegmentInfo, hosts: HostsDocument | null): HTMLElement {
  const name = formatSegment(s.segment);
  return h(
    'div',
    {},
    h('h2', {}, name, s.stale ? ' (stale)' : ''),
    h('p', {}, `on ${s.fabric}`, s.segment.vid === null ? ', untagged' : `, tagged VID ${s.segment.vid}`),
    interfaceFacts(hosts, s.segment.host, s.segment.interface),
    findingList(s.findings),
    h(
      'section',
      {},
      h('h3', {}, `Why it is on ${s.fabric}: ${s.joins.length} join${s.joins.length === 1 ? '' : 's'}`),
      s.joins.length === 0 ? h('p', { class: 'muted' }, 'alone: nothing joins it to another segment, so it is a fabric of its own') : null,
      h('ul', { class: 'joins' }, ...s.joins.map((j) => joinItem(j, name))),
    ),
    placementBlock(s.placement),
  );
}

export function joinEvidence(j: FleetJoin, fabric: string, findings: readonly FleetFinding[]): HTMLElement {
  return h(
    'div',
    {},
    h('h2', {}, `${formatSegment(j.a)} — ${formatSegment(j.b)}`),
    h('p', {}, `a ${j.kind} join on ${fabric}: ${KIND_WORDS[j.kind]}`),
    j.peer ? h('p', {}, `the unreported interface: ${j.peer.ifname} ${j.peer.mac}${j.peer.vid !== undefined ? ` vid ${j.peer.vid}` : ''}`) : null,
    findingList(findings),
    j.kind === 'interface' ? null : hintTable(j.hints, 'the hints that prove this join'),
  );
}

export function hostEvidence(m: MapModel, host: string, hosts: HostsDocument | null): HTMLElement {
  const entry = m.index.hosts.get(host);
  const view = hosts?.hosts.find((x) => x.name === host);
  const segs = [...m.index.segments.values()].filter((s) => s.segment.host === host);
  return h(
    'div',
    {},
    h('h2', {}, host, entry?.stale ? ' (stale)' : ''),
    view
      ? h(
          'p',
          { class: 'facts' },
          `last report ${view.last_report} · ${view.state} · agent ${view.agent.version} ${view.agent.engine} · ${view.hints} hints, ${view.peers} peers`,
        )
      : null,
    h('p', {}, `on ${entry?.fabrics.join(', ') ?? 'no fabric'}`),
    findingList(entry?.findings ?? []),
    h('ul', {}, ...segs.map((s) => h('li', {}, `${formatSegment(s.segment)} on ${s.fabric}`))),
  );
}

export function fabricEvidence(m: MapModel, name: string): HTMLElement {
  const f = m.index.fabrics.get(name);
  if (!f) return h('p', {}, name);
  const vids = f.vids.map((v) => (v === null ? 'untagged' : String(v))).join(', ');
  return h(
    'div',
    {},
    h('h2', {}, name),
    h('p', {}, `${f.segments.length} segments on ${f.hosts.length} hosts (${f.hosts.join(', ')}); VIDs ${vids}; ${f.joins.length} joins`),
  );
}
