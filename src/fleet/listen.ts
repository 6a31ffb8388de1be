/** Where `fleet serve` listens: `[HOST:]PORT` (127.0.0.1 by default) or `unix:/path`. */
import { UsageError } from '../errors';

export type ListenSpec = { readonly kind: 'tcp'; readonly host: string; readonly port: number } | { readonly kind: 'unix'; readonly path: string };

/** A port MAAS does not use (it has 5240-5270 and 5280-5284, 5443, 5353). */
export const DEFAULT_FLEET_PORT = 9241;
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_FLEET_PORT}`;

const TCP = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([0-9A-Za-z.-]+)):)?(\d{1,5})$/;

export function parseFleetListen(spec: string): ListenSpec {
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    if (!path.startsWith('/')) throw new UsageError('E_FLEET_LISTEN', `listen address unix: needs an absolute socket path, got "${spec}"`);
    return { kind: 'unix', path };
  }
  const m = TCP.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError('E_FLEET_LISTEN', `listen address must be PORT, HOST:PORT or unix:/path, got "${spec}"`);
  return { kind: 'tcp', host: m[1] ?? m[2] ?? '127.0.0.1', port };
}

export function formatListen(l: ListenSpec): string {
  return l.kind === 'unix' ? `unix:${l.path}` : `${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}`;
}
