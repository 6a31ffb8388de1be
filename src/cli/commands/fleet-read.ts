/** `netbeacon fleet topology|hosts|history --server URL`: the read side, as tables or JSON. */
import type { Command } from 'commander';
import { NetbeaconError, UsageError } from '../../errors';
import { describeTarget, parseServiceUrl, sendRequest, ServiceUrlError, type ServiceTarget } from '../../net/http-client';
import { readTokenFile } from '../../fleet/config';
import { DEFAULT_FLEET_PORT } from '../../fleet/listen';
import { renderFleetTopology, renderHistory, renderHosts, type HistoryEntry } from '../../fleet/model/render';
import type { FleetTopology } from '../../fleet/model/types';
import type { HostsDocument } from '../../fleet/model/hosts';
import { writeOut } from '../output';

interface ReadOptions {
  server: string;
  json?: boolean;
  tokenFile?: string;
}

const DEFAULT_SERVER = `http://127.0.0.1:${DEFAULT_FLEET_PORT}`;

function withServer(cmd: Command): Command {
  return cmd
    .option('--server <url>', `the fleet service: http://HOST:PORT or unix:/path (default ${DEFAULT_SERVER})`, DEFAULT_SERVER)
    .option('--token-file <file>', 'send the read token in this file (when the service has read_token_file)')
    .option('--json', "print the service's JSON document (docs/fleet-api.md)");
}

async function fetchJson(opts: ReadOptions, path: string): Promise<{ text: string; doc: unknown }> {
  let target: ServiceTarget;
  try {
    target = parseServiceUrl(opts.server);
  } catch (err) {
    if (err instanceof ServiceUrlError) throw new UsageError('E_FLEET_SERVER', `--server ${err.message}`);
    throw err;
  }
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.tokenFile) headers.authorization = `Bearer ${readTokenFile(opts.tokenFile, 'token file')}`;
  let res;
  try {
    res = await sendRequest(target, { method: 'GET', path, headers, timeoutMs: 30_000 });
  } catch (err) {
    throw new NetbeaconError('E_FLEET_UNREACHABLE', `fleet service ${describeTarget(target)} did not answer: ${(err as Error).message}`);
  }
  const text = res.body.toString('utf8');
  if (res.status !== 200) {
    let message = text.trim();
    try {
      const m = (JSON.parse(text) as { message?: unknown }).message;
      if (typeof m === 'string') message = m;
    } catch {
      /* not JSON: print it as it came */
    }
    throw new NetbeaconError('E_FLEET_ANSWER', `fleet service ${describeTarget(target)} answered ${res.status}: ${message}`);
  }
  return { text, doc: JSON.parse(text) as unknown };
}

export function registerRead(fleet: Command): void {
  withServer(fleet.command('topology').description("the fleet's fabrics (segments and the joins that prove them), MAAS placements and findings")).action(
    async (opts: ReadOptions) => {
      const { text, doc } = await fetchJson(opts, '/api/v1/topology');
      if (opts.json) return writeOut(JSON.stringify(JSON.parse(text), null, 2) + '\n');
      const t = doc as FleetTopology;
      const stale = new Set(t.findings.filter((f) => f.kind === 'stale_host').flatMap((f) => f.hosts));
      return writeOut(renderFleetTopology(t, stale));
    },
  );
  withServer(fleet.command('hosts').description('every host that reported: state, last report, interfaces, hint and peer counts')).action(
    async (opts: ReadOptions) => {
      const { text, doc } = await fetchJson(opts, '/api/v1/hosts');
      return writeOut(opts.json ? JSON.stringify(JSON.parse(text), null, 2) + '\n' : renderHosts(doc as HostsDocument));
    },
  );
  withServer(
    fleet
      .command('history')
      .description("changes of segments' fabrics, placements and hosts' presence, newest first")
      .option('--host <name>', 'only this host')
      .option('--interface <name>', 'only this interface')
      .option('--since <time>', 'only changes at or after this time: ISO 8601 (2026-12-01T20:00:00Z) or seconds since the epoch')
      .option('--limit <n>', 'at most this many (default 100, at most 10000)'),
  ).action(async (opts: ReadOptions & { host?: string; interface?: string; since?: string; limit?: string }) => {
    const q = new URLSearchParams();
    if (opts.host) q.set('host', opts.host);
    if (opts.interface) q.set('interface', opts.interface);
    if (opts.since) q.set('since', opts.since);
    if (opts.limit) q.set('limit', opts.limit);
    const { text, doc } = await fetchJson(opts, `/api/v1/history${q.size ? `?${q.toString()}` : ''}`);
    return writeOut(opts.json ? JSON.stringify(JSON.parse(text), null, 2) + '\n' : renderHistory((doc as { changes: HistoryEntry[] }).changes));
  });
}
