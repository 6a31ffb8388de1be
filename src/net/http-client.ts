/**
 * A small HTTP client for talking to the fleet service: http:// and
 * https:// URLs, and `unix:/path/to/socket` (a Unix socket reaches across
 * network namespaces without anything on an interface). One request at a
 * time, a timeout on the whole exchange, the body read whole.
 */
import { request as httpRequest, type IncomingHttpHeaders, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type ServiceTarget =
  | { readonly kind: 'tcp'; readonly tls: boolean; readonly host: string; readonly port: number; readonly base: string }
  | { readonly kind: 'unix'; readonly socketPath: string };

export class ServiceUrlError extends Error {
  readonly code = 'E_SERVICE_URL';
}

/** `http://HOST[:PORT][/prefix]`, `https://…` or `unix:/path`. */
export function parseServiceUrl(url: string): ServiceTarget {
  if (url.startsWith('unix:')) {
    const socketPath = url.slice('unix:'.length);
    if (!socketPath.startsWith('/')) throw new ServiceUrlError(`a unix: URL needs an absolute socket path (unix:/run/netbeacon/fleet.sock), got "${url}"`);
    return { kind: 'unix', socketPath };
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ServiceUrlError(`must be http://HOST:PORT, https://HOST:PORT or unix:/path, got "${url}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ServiceUrlError(`must be http://, https:// or unix:/path, got "${url}"`);
  if (u.username || u.password || u.search || u.hash) throw new ServiceUrlError(`must not carry credentials, a query or a fragment, got "${url}"`);
  const tls = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', tls, host, port: u.port ? Number(u.port) : tls ? 443 : 80, base: u.pathname.replace(/\/+$/, '') };
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface HttpRequest {
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly timeoutMs: number;
  /** Responses longer than this are an error (default 256 MiB). */
  readonly maxBytes?: number;
  /** Aborts the request (the promise rejects). */
  readonly signal?: AbortSignal;
}

/** Sends one request; rejects on a network error, a timeout or an oversized answer. */
export function sendRequest(target: ServiceTarget, req: HttpRequest): Promise<HttpResponse> {
  const headers: Record<string, string | number> = { ...req.headers };
  if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
  const base: RequestOptions = { method: req.method, headers, agent: false, ...(req.signal ? { signal: req.signal } : {}) };
  const opts: RequestOptions =
    target.kind === 'unix'
      ? { ...base, socketPath: target.socketPath, path: req.path }
      : { ...base, host: target.host, port: target.port, path: target.base + req.path };
  const send = target.kind === 'tcp' && target.tls ? httpsRequest : httpRequest;
  const max = req.maxBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const r = send(opts, (res) => {
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > max) {
          r.destroy(new Error(`the answer is larger than ${max} bytes`));
          return;
        }
        parts.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    r.setTimeout(req.timeoutMs, () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

/** How a URL is named in messages. */
export function describeTarget(t: ServiceTarget): string {
  return t.kind === 'unix' ? `unix:${t.socketPath}` : `${t.tls ? 'https' : 'http'}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}${t.base}`;
}
