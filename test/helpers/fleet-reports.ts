/** Fleet reports for tests: small builders with sensible defaults. */
import type { TopologyHint } from '../../src/topology/hints';
import type { FleetReport, ReportInterface } from '../../src/fleet/model/report';
import type { HostRecord } from '../../src/fleet/model/types';
import { gzipSync } from 'node:zlib';
import { signReport, SIGNATURE_HEADER } from '../../src/fleet/model/auth';
import { sendRequest, type HttpResponse, type ServiceTarget } from '../../src/net/http-client';

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

/** POSTs a report (or any body) signed with `key`. */
export function postReport(target: ServiceTarget, key: Uint8Array, body: FleetReport | string, sign = true, encoding?: string): Promise<HttpResponse> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const bytes = encoding === 'gzip' ? gzipSync(text) : Buffer.from(text);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(encoding ? { 'content-encoding': encoding } : {}) };
  if (sign) headers[SIGNATURE_HEADER] = signReport(key, bytes);
  return sendRequest(target, { method: 'POST', path: '/api/v1/reports', headers, body: bytes, timeoutMs: 10_000 });
}

export async function getJson(
  target: ServiceTarget,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; doc: Record<string, unknown> }> {
  const res = await sendRequest(target, { method: 'GET', path, headers, timeoutMs: 10_000 });
  return { status: res.status, doc: JSON.parse(res.body.toString('utf8')) as Record<string, unknown> };
}
