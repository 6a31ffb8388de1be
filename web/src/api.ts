/**
 * The page's only network code: GETs to its own server's read API
 * (docs/fleet-api.md), with the read token when the service asks for one and
 * If-None-Match so that an unchanged model costs a 304.
 */
import type { HostsDocument } from '../../src/fleet/model/hosts';
import type { FleetChange } from '../../src/fleet/model/history';

export type { HostsDocument };
export type HistoryEntry = FleetChange & { readonly id: number; readonly time: string };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'netbeacon-read-token';

/**
 * The read token, from `#token=…` (moved into this tab's session storage and
 * taken off the address, so it is neither shared with a copied link nor sent
 * in a Referer) or from an earlier visit in this tab.
 */
export function takeToken(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/**
 * The GET the page sends for `path`, with the read token and, when it has a
 * copy, the copy's ETag. prefetch.ts sends the first topology GET with it
 * before the main script is parsed, so both must build the same request.
 */
export function apiRequest(path: string, token: string | null, etag?: string): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (etag !== undefined) headers['if-none-match'] = etag;
  return fetch(path, { headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
}

/** The topology, with every join's hints: what the page polls once it has drawn. */
export const TOPOLOGY_PATH = '/api/v1/topology';

/**
 * What the first draw waits for, and so what prefetch.ts GETs: the topology
 * less the joins' hints (about half its bytes on a large fleet), which
 * only the evidence panel shows; the page GETs TOPOLOGY_PATH right after.
 */
export const PREFETCH_PATH = '/api/v1/topology?detail=overview';

/** What prefetch.ts leaves for the main script: its GET, already under way, and the token it sent. */
export interface Prefetch {
  readonly path: string;
  readonly token: string | null;
  readonly response: Promise<Response>;
}

declare global {
  interface Window {
    netbeaconPrefetch?: Prefetch;
  }
}

/** The prefetched GET of `path` with `token`, once; undefined when there is none (or it was taken). */
function takePrefetch(path: string, token: string | null): Promise<Response> | undefined {
  const p = window.netbeaconPrefetch;
  if (!p || p.path !== path) return undefined;
  window.netbeaconPrefetch = undefined;
  return p.token === token ? p.response : undefined;
}

export class Api {
  readonly #etags = new Map<string, { etag: string; body: unknown }>();
  token: string | null;

  constructor(token: string | null) {
    this.token = token;
  }

  /** The document, and whether it changed since the last call for this path. */
  async get<T>(path: string): Promise<{ doc: T; changed: boolean }> {
    const cached = this.#etags.get(path);
    // The page's first GET of the topology was sent by prefetch.ts, while this script was still loading.
    const early = cached ? undefined : takePrefetch(path, this.token);
    const res = await (early ?? apiRequest(path, this.token, cached?.etag));
    if (res.status === 304 && cached) return { doc: cached.body as T, changed: false };
    if (!res.ok) {
      let message = `${res.status} ${res.statusText}`;
      try {
        const body = (await res.json()) as { message?: unknown };
        if (typeof body.message === 'string') message = body.message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, message);
    }
    const doc = (await res.json()) as T;
    const etag = res.headers.get('etag');
    if (etag) this.#etags.set(path, { etag, body: doc });
    return { doc, changed: true };
  }
}
