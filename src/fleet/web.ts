/**
 * The fleet map's files (built by scripts/build-web.js into dist/web/) as
 * the fleet server serves them: `/` and `/assets/NAME`, from memory, each
 * with an ETag, under a Content-Security-Policy that lets the page load
 * only its own files and talk only to its own server. And the read API's
 * JSON with an ETag, so that the page's polling costs a 304 while the model
 * has not changed (docs/fleet-api.md, "Caching").
 *
 * The page and its assets need no read token: they are the same for every
 * installation and hold no data. The data (the read API) still does; the
 * page sends the token the operator gives it (see web/src/api.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

/**
 * 'self' only: no CDN, no inline script or style, no eval, no frames, no
 * form posts; images may be data: and blob: URLs, which the PNG export makes.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
} as const;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

const etagOf = (body: Buffer): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;

/** Where the built page is: beside the compiled code (dist/web), or dist/web of the checkout when run from source. */
export function defaultWebDir(): string {
  const candidates = [join(__dirname, '..', '..', 'web'), join(__dirname, '..', '..', 'dist', 'web')];
  return candidates.find((d) => existsSync(join(d, 'map.js'))) ?? candidates[1]!;
}

export class FleetWeb {
  readonly #assets: Map<string, Asset>;
  /** Why the page is missing, when it is. */
  readonly missing: string | undefined;

  private constructor(assets: Map<string, Asset>, missing: string | undefined) {
    this.#assets = assets;
    this.missing = missing;
  }

  /** Reads the built page once; a missing build is reported on `/`, never a crash. */
  static load(dir: string = defaultWebDir()): FleetWeb {
    const assets = new Map<string, Asset>();
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      names = [];
    }
    for (const name of names) {
      const type = TYPES[extname(name)];
      if (type === undefined) continue;
      const body = readFileSync(join(dir, name));
      assets.set(name === 'index.html' ? '/' : `/assets/${name}`, { body, type, etag: etagOf(body) });
    }
    const missing =
      assets.has('/') && assets.has('/assets/map.js')
        ? undefined
        : `the fleet map is not built in ${dir} (run \`npm run build:web\`, or install a package that includes dist/web)`;
    return new FleetWeb(assets, missing);
  }

  /** Whether `path` is the page's: `/` or under `/assets/`. */
  handles(path: string): boolean {
    return path === '/' || path.startsWith('/assets/');
  }

  serve(req: IncomingMessage, res: ServerResponse, path: string): number {
    const asset = this.#assets.get(path);
    if (!asset) {
      const status = path === '/' ? 503 : 404;
      const text = path === '/' ? `netbeacon fleet: ${this.missing}\n` : `no such asset ${path}\n`;
      res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end(text);
      return status;
    }
    return sendCached(req, res, asset.body, asset.etag, asset.type, { ...SECURITY_HEADERS, 'cache-control': 'no-cache' });
  }
}

// One hash per document: the state caches the bytes per model, so the same Buffer comes back until the model changes.
const jsonEtags = new WeakMap<Buffer, string>();

/**
 * A read API document with an ETag of its bytes; `304 Not Modified` when the
 * request's If-None-Match names it. The page polls with it.
 */
export function sendJsonCached(req: IncomingMessage, res: ServerResponse, body: Buffer): number {
  let etag = jsonEtags.get(body);
  if (etag === undefined) {
    etag = etagOf(body);
    jsonEtags.set(body, etag);
  }
  return sendCached(req, res, body, etag, 'application/json', { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
}

/**
 * sendJsonCached for a document in parts with its own ETag (the topology:
 * most of its bytes are shared between models and never copied into one).
 */
export function sendJsonParts(
  req: IncomingMessage,
  res: ServerResponse,
  doc: { readonly parts: readonly Buffer[]; readonly length: number; readonly etag: string },
): number {
  const headers = { 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', etag: doc.etag };
  if (matches(req.headers['if-none-match'], doc.etag)) {
    res.writeHead(304, headers).end();
    return 304;
  }
  res.writeHead(200, { ...headers, 'content-type': 'application/json', 'content-length': doc.length });
  if (req.method !== 'HEAD') {
    inFlight++;
    res.once('close', sent);
  }
  // Thousands of parts: one writev, not a write each.
  res.cork();
  for (const p of doc.parts) res.write(p);
  res.uncork();
  res.end();
  return 200;
}

/**
 * Documents in parts being written (the topology: 53 MB for a thousand
 * racks, written as the client reads it, over hundreds of milliseconds
 * while the machine is busy), and who waits for there to be none.
 */
let inFlight = 0;
let waiting: Array<() => void> = [];

function sent(): void {
  inFlight--;
  if (inFlight > 0) return;
  const w = waiting;
  waiting = [];
  for (const f of w) f();
}

/**
 * Resolves once no document in parts is being written, or after `maxMs`.
 * The history loop waits for it: its work blocks the one thread that
 * refills the sockets of the answers an operator waits for, and the
 * history may lag a moment.
 */
export function whenPartsSent(maxMs: number): Promise<void> {
  if (inFlight === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting = waiting.filter((f) => f !== done);
      resolve();
    }, maxMs);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    waiting.push(done);
  });
}

function sendCached(req: IncomingMessage, res: ServerResponse, body: Buffer, etag: string, type: string, headers: Record<string, string>): number {
  if (matches(req.headers['if-none-match'], etag)) {
    res.writeHead(304, { ...headers, etag }).end();
    return 304;
  }
  res.writeHead(200, { ...headers, etag, 'content-type': type, 'content-length': body.length }).end(body);
  return 200;
}

/** If-None-Match: a list of ETags (weak ones compare equal too), or `*`. */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}
