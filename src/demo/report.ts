/**
 * What `netbeacon demo` found, as one document, and the text for people.
 * Pure: the runner hands in what the agents and probes said; nothing here
 * does I/O.
 *
 * JSON shape (`netbeacon demo --json`; stable, `version` changes if a key
 * changes meaning or goes away):
 *   { "version": 1,
 *     "engine": {"name": "native", "why": "..."},
 *     "network": {"prefix": "nb-demo-123-0", "namespaces": {"switch": "...", "rack1": "...", ...},
 *                 "interfaces": [ {host, name, mac, mtu, address|null, bridge, port, port_mtu} ]},
 *     "wait": {"seconds": 6.1, "timeout_seconds": 60, "complete": true},
 *     "hosts": [ {"host": "rack1", "namespace": "...", "socket": "...",
 *                 "hints": [hint, ...],                    // as `netbeacon hints`
 *                 "fabrics": [fabric, ...],                // as `netbeacon topology --json`
 *                 "expected": [ {"bridge": "brA", "segments": ["r0", "r1"],
 *                                "peers": [{"host": "rack2", "name": "s0", "mac": "..."}],
 *                                "fabric": "fabric-0" | null, "found": true} ]} ],
 *     "mtu": {"host": "rack1", "command": [...], "exit_code": 1, "report": MtuReport | null,
 *             "finding": {interface, interface_mtu, peer: {host, name, mac, mtu}, path_mtu, to_peer, from_peer, mismatch} | null,
 *             "meaning": "...", "note"?: "..."},
 *     "vlans": {"host": "rack1", "command": [...], "exit_code": 0, "report": VlanReport | null,
 *               "finding": {interface, vids_probed, peer: {host, name, mac}, answered: [100], silent: [200]} | null,
 *               "meaning": "...", "note"?: "..."},
 *     "kept": null | {"remove": "...", "commands": ["..."]} }
 */
import type { TopologyHint } from '../topology/hints';
import { formatSegment } from '../topology/segment';
import type { Fabric, Topology } from '../topology/fabrics';
import type { MtuReport } from '../probe/mtu-report';
import type { VlanReport } from '../probe/vlan-report';
import type { BuiltInterface } from './network';
import { expectedFabrics, INTERFACES, MTU_INTERFACE, MTU_PEER, VLAN_INTERFACE } from './plan';

export interface ExpectedResult {
  readonly bridge: string;
  readonly segments: readonly string[];
  readonly peers: ReadonlyArray<{ host: string; name: string; mac: string }>;
  readonly fabric: string | null;
  readonly found: boolean;
}

export interface HostResult {
  readonly host: string;
  readonly namespace: string;
  readonly socket: string;
  readonly hints: readonly TopologyHint[];
  readonly fabrics: readonly Fabric[];
  readonly expected: readonly ExpectedResult[];
}

export interface MtuFinding {
  readonly interface: string;
  readonly interface_mtu: number;
  readonly peer: { host: string; name: string; mac: string; mtu: number | null };
  readonly path_mtu: number | null;
  readonly to_peer: number | null;
  readonly from_peer: number | null;
  readonly mismatch: boolean;
}

export interface VlanFinding {
  readonly interface: string;
  readonly vids_probed: readonly number[];
  readonly peer: { host: string; name: string; mac: string };
  readonly answered: readonly number[];
  readonly silent: readonly number[];
  /** Every peer that answered, by VID (other hosts' interfaces on the bridge too). */
  readonly by_vid: ReadonlyArray<{ vid: number; peers: readonly string[] }>;
}

export interface ProbeSection<R, F> {
  readonly host: string;
  readonly command: readonly string[];
  readonly exit_code: number | null;
  readonly report: R | null;
  readonly finding: F | null;
  readonly meaning: string;
  readonly note?: string;
}

export interface DemoDocument {
  readonly version: 1;
  readonly engine: { name: string; why: string };
  readonly network: { prefix: string; namespaces: Record<string, string>; interfaces: readonly BuiltInterface[] };
  readonly wait: { seconds: number; timeout_seconds: number; complete: boolean };
  readonly hosts: readonly HostResult[];
  readonly mtu: ProbeSection<MtuReport, MtuFinding>;
  readonly vlans: ProbeSection<VlanReport, VlanFinding>;
  kept: null | { remove: string; commands: readonly string[] };
  /** `--fleet`: the map's URL (127.0.0.1), where the agents report, and what the fleet model has. */
  fleet?: { url: string; agents: string; hosts: string[]; fabrics: number; findings: number; complete: boolean };
}

/** Compares one host's fabric view with what its bridges say it should be. */
export function checkHost(host: string, topology: Topology, interfaces: readonly BuiltInterface[]): ExpectedResult[] {
  const macOf = (h: string, n: string) => interfaces.find((i) => i.host === h && i.name === n)?.mac ?? '';
  return expectedFabrics(host).map((e) => {
    const peers = e.peers.map((p) => ({ ...p, mac: macOf(p.host, p.name) }));
    const want = [...e.segments].sort().join(',');
    const fabric = topology.fabrics.find(
      (f) =>
        f.segments
          .filter((s) => s.vid === undefined)
          .map((s) => s.ifname)
          .sort()
          .join(',') === want && peers.every((p) => f.peers.some((fp) => fp.mac === p.mac && fp.ifname === p.name && fp.vid === undefined)),
    );
    return { bridge: e.bridge, segments: e.segments, peers, fabric: fabric?.name ?? null, found: fabric !== undefined };
  });
}

export const hostComplete = (r: readonly ExpectedResult[]): boolean => r.every((e) => e.found);

export function mtuFinding(report: MtuReport, interfaces: readonly BuiltInterface[]): MtuFinding | null {
  const peerIf = interfaces.find((i) => i.host === MTU_PEER.host && i.name === MTU_PEER.name);
  const iface = report.interfaces.find((i) => i.interface === MTU_INTERFACE);
  const p = iface?.peers.find((x) => x.mac === peerIf?.mac);
  if (!iface || !p || !peerIf) return null;
  return {
    interface: iface.interface,
    interface_mtu: iface.interface_mtu,
    peer: { host: peerIf.host, name: peerIf.name, mac: peerIf.mac, mtu: p.peer_interface_mtu },
    path_mtu: p.path_mtu,
    to_peer: p.forward.path_mtu,
    from_peer: p.reverse.path_mtu,
    mismatch: p.mismatch,
  };
}

export function mtuMeaning(f: MtuFinding | null): string {
  if (!f) return 'no MTU finding: the peer did not answer the probes';
  if (!f.mismatch) return `the path carries the full ${f.interface_mtu}-byte MTU`;
  const port = INTERFACES.find((i) => i.host === f.peer.host && i.name === f.peer.name)?.portMtu ?? 1500;
  return `both ends are set for ${f.interface_mtu}-byte frames, but something between them drops anything over ${f.path_mtu ?? '?'} bytes (here ${f.peer.host}'s ${port}-byte switch port): big transfers would stall, so fix the port or lower the MTU`;
}

export function vlanFinding(report: VlanReport, interfaces: readonly BuiltInterface[]): VlanFinding | null {
  const peerIf = interfaces.find((i) => i.host === MTU_PEER.host && i.name === MTU_PEER.name);
  if (!peerIf) return null;
  const peer = report.peers.find((p) => p.mac === peerIf.mac);
  const answered = peer ? [...peer.vids] : [];
  const name = (mac: string) => {
    const i = interfaces.find((x) => x.mac === mac);
    return i ? `${i.host}/${i.name}` : mac;
  };
  return {
    interface: report.interface,
    vids_probed: report.vids_probed,
    peer: { host: peerIf.host, name: peerIf.name, mac: peerIf.mac },
    answered,
    silent: report.vids_probed.filter((v) => !answered.includes(v)),
    by_vid: report.vids_probed.map((vid) => ({ vid, peers: (report.answered.find((a) => a.vid === vid)?.peers ?? []).map(name) })),
  };
}

export function vlanMeaning(f: VlanFinding | null): string {
  if (!f) return 'no VLAN finding';
  const who = `${f.peer.host}/${f.peer.name}`;
  const parts: string[] = [];
  if (f.answered.length > 0) parts.push(`VLAN ${f.answered.join(', ')} reaches ${who} tagged, with no VLAN interface configured on either host`);
  if (f.silent.length > 0)
    parts.push(
      `VLAN ${f.silent.join(', ')} does not reach ${who} (here its agent ignores it, standing in for a switch port that does not carry it): a node deployed on that VLAN behind ${who} would be cut off`,
    );
  return parts.join('; ') || `no VLAN reaches ${who}`;
}

// ---- text ----

function peerLabel(mac: string, interfaces: readonly BuiltInterface[]): string {
  const i = interfaces.find((x) => x.mac === mac);
  return i ? `${i.host}/${i.name}` : mac;
}

const kinds = (hints: readonly TopologyHint[]): string => [...new Set(hints.map((h) => h.hint))].sort().join(', ');

export function diagram(): string {
  const rows = INTERFACES.map((i) => {
    const port = `${i.bridge} port ${i.portMtu ?? 1500}`;
    return [`${i.host}/${i.name}`, String(i.mtu ?? 1500), i.address ?? '(no address)', port];
  });
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => `  ${r[0]!.padEnd(w[0]!)}  mtu ${r[1]!.padEnd(4)}  ${r[2]!.padEnd(w[2]!)}  ──▶ switch ${r[3]}`).join('\n') + '\n';
}

function renderHost(h: HostResult, interfaces: readonly BuiltInterface[]): string {
  const ok = hostComplete(h.expected);
  const lines = [
    `${h.host}: ${h.fabrics.length} fabric${h.fabrics.length === 1 ? '' : 's'}${ok ? '' : '  (NOT what the wiring says: see "expected" in --json)'}`,
  ];
  for (const f of h.fabrics) {
    const segs = f.segments.map(formatSegment).join(', ');
    const peers = f.peers.map((p) => peerLabel(p.mac, interfaces) + (p.vid === undefined ? '' : ` vid ${p.vid}`)).join(', ') || 'none';
    lines.push(`  ${f.name}  [${segs}]  peers: ${peers}`);
    for (const l of f.links) lines.push(`    ${formatSegment(l.segments[0])} + ${formatSegment(l.segments[1])}: ${kinds(l.hints)}`);
    for (const p of f.peers) {
      const on = p.seen_on.filter((s) => s.joins);
      if (on.length === 0) continue;
      lines.push(
        `    ${peerLabel(p.mac, interfaces)} (${p.mac}) heard on ${on.map((s) => formatSegment(s.segment)).join(', ')}: ${kinds(on.flatMap((s) => s.hints))}`,
      );
    }
  }
  return lines.join('\n') + '\n';
}

export function renderDemo(d: DemoDocument): string {
  const out: string[] = [];
  out.push(`netbeacon demo: ${Object.keys(d.network.namespaces).length} namespaces (${d.network.prefix}-*), engine ${d.engine.name} (${d.engine.why})\n`);
  out.push('The network (each host plugged into a bridge in the switch namespace):\n' + diagram());
  out.push(
    `Fabrics the agents found, and the hints behind each grouping (${d.wait.complete ? `as wired, after ${d.wait.seconds} s` : `INCOMPLETE after ${d.wait.seconds} s`}):`,
  );
  for (const h of d.hosts) out.push(renderHost(h, d.network.interfaces));
  out.push('  means: interfaces that hear the same beacons share a layer-2 network: rack1/r1 has no address and still lands with r0,');
  out.push('  and no hint joins brA with brB, so MAAS would model two fabrics.\n');
  const m = d.mtu;
  out.push(`MTU: netbeacon mtu, run in ${m.host} (exit ${m.exit_code ?? '-'})`);
  if (m.finding) {
    const f = m.finding;
    out.push(
      `  ${f.interface} (MTU ${f.interface_mtu}) → ${f.peer.host}/${f.peer.name} (MTU ${f.peer.mtu ?? '?'}): path MTU ${f.path_mtu ?? 'none'} (to peer ${f.to_peer ?? 'none'}, from peer ${f.from_peer ?? 'none'})  ${f.mismatch ? 'MISMATCH' : 'ok'}`,
    );
  } else out.push(`  ${m.note ?? 'no finding'}`);
  out.push(`  means: ${m.meaning}\n`);
  const v = d.vlans;
  out.push(`VLANs: netbeacon vlans, run in ${v.host} (exit ${v.exit_code ?? '-'})`);
  if (v.finding) {
    const f = v.finding;
    for (const b of f.by_vid) out.push(`  ${f.interface} VID ${b.vid}: answered by ${b.peers.join(', ') || 'no one'}`);
  } else out.push(`  ${v.note ?? 'no finding'}`);
  out.push(`  means: ${v.meaning}`);
  return out.join('\n') + '\n';
}

export { MTU_INTERFACE, VLAN_INTERFACE };
