/** Fleet reports for tests: small builders with sensible defaults. */
import type { TopologyHint } from '../../src/topology/hints';
import type { FleetReport, ReportInterface } from '../../src/fleet/model/report';
import type { HostRecord } from '../../src/fleet/model/types';

export const T0 = 1_795_000_000_000;

export function iface(name: string, mac: string | null, extra: Partial<ReportInterface> = {}): ReportInterface {
  return { name, mac, mtu: 1500, type: 'physical', addresses: [], vids: [], ...extra };
}

export function report(host: string, interfaces: ReportInterface[], hints: TopologyHint[] = [], extra: Partial<FleetReport> = {}): FleetReport {
  return {
    version: 1,
    host,
    seq: 1,
    instance: '01JDR3X9W8K4N1M2P3Q4R5S6T7',
    time: T0 / 1000,
    period_seconds: 30,
    agent: { version: '0.1.0', engine: 'js' },
    interfaces,
    hints,
    peers: [],
    counters: {},
    ...extra,
  };
}

export function record(r: FleetReport, receivedAtMs = T0, firstSeenMs = receivedAtMs): HostRecord {
  return { report: r, receivedAtMs, firstSeenMs };
}

export const remote = (ifname: string, related_ifname: string, related_mac: string, extra: Partial<TopologyHint> = {}): TopologyHint => ({
  hint: 'on_remote_network',
  ifname,
  related_ifname,
  related_mac,
  ...extra,
});

export const local = (ifname: string, related_ifname: string, extra: Partial<TopologyHint> = {}): TopologyHint => ({
  hint: 'same_local_fabric_as',
  ifname,
  related_ifname,
  ...extra,
});
