/** The `GET /api/v1/hosts` document (docs/fleet-api.md): every host and its last report. */
import { isStale } from './findings';
import type { ReportInterface } from './report';
import type { HostRecord, Presence } from './types';

export const HOSTS_VERSION = 1;

export interface HostView {
  readonly name: string;
  readonly state: Presence;
  readonly first_seen: string;
  readonly last_report: string;
  readonly seq: number;
  readonly period_seconds: number;
  readonly address?: string;
  readonly agent: { readonly version: string; readonly engine: string };
  readonly interfaces: readonly ReportInterface[];
  readonly hints: number;
  readonly peers: number;
  readonly counters: Readonly<Record<string, number>>;
}

export interface HostsDocument {
  readonly version: typeof HOSTS_VERSION;
  readonly generated_at: string;
  readonly hosts: readonly HostView[];
}

export function hostsDocument(records: readonly HostRecord[], nowMs: number): HostsDocument {
  const hosts = [...records]
    .sort((a, b) => (a.report.host < b.report.host ? -1 : 1))
    .map((h): HostView => ({
      name: h.report.host,
      state: isStale(h, nowMs) ? 'stale' : 'fresh',
      first_seen: new Date(h.firstSeenMs).toISOString(),
      last_report: new Date(h.receivedAtMs).toISOString(),
      seq: h.report.seq,
      period_seconds: h.report.period_seconds,
      ...(h.address !== undefined ? { address: h.address } : {}),
      agent: h.report.agent,
      interfaces: h.report.interfaces,
      hints: h.report.hints.length,
      peers: h.report.peers.length,
      counters: h.report.counters,
    }));
  return { version: HOSTS_VERSION, generated_at: new Date(nowMs).toISOString(), hosts };
}
