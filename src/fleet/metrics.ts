/**
 * The service's own Prometheus metrics. Counters are counted where things
 * happen; gauges read the current model in their own collect(), so every
 * scrape shows the state at that scrape. No label carries a host, MAC or
 * interface: series stay bounded however large the fleet.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { VERSION } from '../version';
import type { FleetState } from './state';

export type ReportResult = 'stored' | 'duplicate' | 'stale' | 'unauthorized' | 'malformed' | 'too_large' | 'unavailable' | 'busy';

export interface FleetMetrics {
  readonly registry: Registry;
  report(result: ReportResult): void;
  request(path: string, status: number): void;
}

export function fleetMetrics(state: FleetState, db: string): FleetMetrics {
  const registry = new Registry();
  const reports = new Counter({
    name: 'netbeacon_fleet_reports_total',
    help: 'Agent reports received, by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const requests = new Counter({
    name: 'netbeacon_fleet_requests_total',
    help: 'HTTP requests answered, by path and status',
    labelNames: ['path', 'status'],
    registers: [registry],
  });
  const gauge = (name: string, help: string, read: (g: Gauge) => void, labelNames: string[] = []): Gauge =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        read(this);
      },
    });
  gauge('netbeacon_fleet_info', 'Version and database kind of this service (value 1)', (g) => g.set({ version: VERSION, db }, 1), ['version', 'db']);
  gauge(
    'netbeacon_fleet_hosts',
    'Hosts in the model, by state (fresh, stale)',
    (g) => {
      const t = state.cached?.model.topology;
      g.set({ state: 'fresh' }, t ? t.hosts.total - t.hosts.stale : 0);
      g.set({ state: 'stale' }, t?.hosts.stale ?? 0);
    },
    ['state'],
  );
  gauge('netbeacon_fleet_fabrics', 'Fabrics in the model', (g) => g.set(state.cached?.model.topology.fabrics.length ?? 0));
  gauge('netbeacon_fleet_segments', 'Segments in the model', (g) => g.set(state.cached?.model.derived.fabrics.size ?? 0));
  gauge(
    'netbeacon_fleet_findings',
    'Findings of the model, by kind',
    (g) => {
      const counts: Record<string, number> = { native_vlan_mismatch: 0, unknown_mac: 0, stale_host: 0, duplicate_mac: 0 };
      for (const f of state.cached?.model.topology.findings ?? []) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
      for (const [kind, n] of Object.entries(counts)) g.set({ kind }, n);
    },
    ['kind'],
  );
  gauge('netbeacon_fleet_model_build_seconds', 'How long the last model took to compute', (g) => g.set((state.cached?.buildMs ?? 0) / 1000));
  gauge('netbeacon_fleet_history_changes_written', 'Changes this server wrote to the history since it started', (g) => g.set(state.changesWritten));
  return {
    registry,
    report: (result) => reports.inc({ result }),
    request: (path, status) => requests.inc({ path, status: String(status) }),
  };
}
