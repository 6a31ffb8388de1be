/**
 * A generated fleet for the fleet bench: `hosts` racks of 48 interfaces
 * each, with the hints their agents would report. Racks come in groups of
 * four that share their networks (a rack controller's VLANs are served by
 * two to four of them), so interface k of every rack of a group is on one
 * layer-2 network and hears the other three: an on_remote_network
 * (multicast) and a routable_to (unicast reply) per peer, as a live agent
 * reports them. Of the 48, 40 are access ports, 4 are trunks, and 4 are
 * VLAN interfaces on those trunks (one VID each, the parent's MAC); a trunk
 * hears its peers' VLAN interfaces tagged, the VLAN interface untagged.
 * Every physical interface has its own MAC. A rack with a `pulled` access
 * port has lost that cable: its interface hears nothing (as an agent
 * reports once the hints aged out), while its peers still hear each other.
 */
import type { TopologyHint } from '../../src/topology/hints';
import type { FleetReport, ReportInterface, ReportPeer } from '../../src/fleet/model/report';

const GROUP = 4;
export const FLEET_INTERFACES = 48;
const ACCESS = 40;
/** Interfaces 0 to this - 1 are access ports (a cable of one can be `pulled`). */
export const FLEET_ACCESS_PORTS = ACCESS;
const TRUNKS = 4;

function mac(host: number, iface: number): string {
  const b = [0x52, 0x54, (host >> 8) & 0xff, host & 0xff, iface & 0xff, 0x01];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function fleetReport(host: number, hosts: number, seq: number, nowMs: number, pulled?: number): FleetReport {
  const group = Math.floor(host / GROUP) * GROUP;
  const peers = Array.from({ length: GROUP }, (_, i) => group + i).filter((p) => p !== host && p < hosts);
  const ifaces: ReportInterface[] = [];
  const hints: TopologyHint[] = [];
  const heard: ReportPeer[] = [];
  const hear = (ifname: string, vid: number | undefined, peer: number, k: number, related: string, relatedVid: number | undefined): void => {
    const base = {
      ifname,
      related_ifname: related,
      related_mac: mac(peer, k),
      ...(vid === undefined ? {} : { vid }),
      ...(relatedVid === undefined ? {} : { related_vid: relatedVid }),
    };
    hints.push({ hint: 'on_remote_network', ...base }, { hint: 'routable_to', ...base });
  };
  for (let k = 0; k < ACCESS + TRUNKS; k++) {
    const name = `ens${k}`;
    const trunk = k >= ACCESS;
    const vid = 100 + k;
    ifaces.push({
      name,
      mac: mac(host, k),
      mtu: trunk ? 9000 : 1500,
      type: 'physical',
      addresses: [`10.${k}.${host >> 8}.${host & 0xff}/16`],
      vids: trunk ? [vid] : [],
    });
    if (trunk)
      ifaces.push({
        name: `${name}.${vid}`,
        mac: mac(host, k),
        mtu: 9000,
        type: 'vlan',
        vid,
        addresses: [`10.${vid}.${host >> 8}.${host & 0xff}/16`],
        vids: [],
      });
    for (const p of peers) {
      if (k === pulled) continue;
      hear(name, undefined, p, k, name, undefined);
      heard.push({ interface: name, mac: mac(p, k), name, last_seen: nowMs / 1000 - 3 });
      if (!trunk) continue;
      hear(name, vid, p, k, `${name}.${vid}`, vid);
      hear(`${name}.${vid}`, undefined, p, k, `${name}.${vid}`, vid);
    }
  }
  return {
    version: 1,
    host: `rack${String(host).padStart(4, '0')}`,
    seq,
    instance: '01JDR3X9W8K4N1M2P3Q4R5S6T7',
    time: nowMs / 1000,
    period_seconds: 30,
    agent: { version: '0.1.0', engine: 'native' },
    interfaces: ifaces,
    hints,
    peers: heard,
    counters: { received_valid: 1000 + seq, received_rejected: 0, sent: 500 + seq, replays: 0, send_failures: 0, ring_drops: 0 },
  };
}
