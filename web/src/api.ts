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

export class Api {
  readonly #etags = new Map<string, { etag: string; body: unknown }>();
  token: string | null;

  constructor(token: string | null) {
    this.token = token;
  }

  /** The document, and whether it changed since the last call for this path. */
  async get<T>(path: string): Promise<{ doc: T; changed: boolean }> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const cached = this.#etags.get(path);
    if (cached) headers['if-none-match'] = cached.etag;
    const res = await fetch(path, { headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
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
