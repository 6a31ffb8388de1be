/**
 * The fleet service's HTTP driver (docs/fleet-api.md): the write side
 * (POST /api/v1/reports, authenticated by an HMAC) and the read side (the
 * model, hosts, history; optionally behind a bearer token) on different
 * paths, plus /healthz and /metrics. Thin: the store holds the SQL, the
 * state the model.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, verifyReport } from './model/auth';
import { parseReportBytes, ReportError } from './model/report';
import { FleetState } from './state';
import { StoreBusyError, type FleetStore } from './store';
import type { FleetMetrics } from './metrics';
import { formatListen, type ListenSpec } from './listen';
import { FleetWeb, sendJsonCached, sendJsonParts } from './web';

export const DEFAULT_MAX_REPORT_BYTES = 8 * 1024 * 1024;
const HISTORY_LIMIT = { default: 100, max: 10_000 };
const KNOWN_PATHS = new Set(['/api/v1/reports', '/api/v1/topology', '/api/v1/hosts', '/api/v1/history', '/healthz', '/metrics', '/']);

export interface FleetServerOptions {
  readonly store: FleetStore;
  readonly state: FleetState;
  readonly fleetKey: Uint8Array;
  /** When set, the read side asks for `Authorization: Bearer TOKEN`. */
  readonly readToken?: string;
  readonly maxReportBytes?: number;
  readonly metrics: FleetMetrics;
  readonly clock?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
  /** The fleet map's built files (default: dist/web). */
  readonly web?: FleetWeb;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body.message));
  }
}

export class FleetServer {
  readonly #o: FleetServerOptions;
  readonly #server: Server;
  readonly #clock: () => number;
  readonly #web: FleetWeb;
  #unixPath: string | undefined;

  constructor(opts: FleetServerOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? Date.now;
    this.#web = opts.web ?? FleetWeb.load();
    if (this.#web.missing) opts.log?.('warn', this.#web.missing);
    this.#server = createServer((req, res) => void this.#handle(req, res));
    // Agents report every 30 s on a new connection; keep idle ones briefly.
    this.#server.keepAliveTimeout = 10_000;
    this.#server.requestTimeout = 60_000;
  }

  /** Listens; returns the address as `HOST:PORT` or `unix:/path`. */
  async listen(spec: ListenSpec): Promise<string> {
    if (spec.kind === 'unix') removeStaleSocket(spec.path);
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      const done = (): void => {
        this.#server.off('error', reject);
        resolve();
      };
      if (spec.kind === 'unix') this.#server.listen(spec.path, done);
      else this.#server.listen(spec.port, spec.host, done);
    });
    if (spec.kind === 'unix') {
      this.#unixPath = spec.path;
      chmodSync(spec.path, 0o660);
      return formatListen(spec);
    }
    const a = this.#server.address() as AddressInfo;
    return formatListen({ kind: 'tcp', host: a.address, port: a.port });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    if (this.#unixPath) removeStaleSocket(this.#unixPath);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fleet');
    const path = url.pathname;
    let status: number;
    try {
      status = await this.#route(req, res, path, url.searchParams);
    } catch (err) {
      if (err instanceof HttpError) status = this.#json(res, err.status, err.body);
      else {
        this.#o.log?.('error', `${req.method} ${path} failed: ${(err as Error).message}`);
        status = this.#json(res, 503, { error: 'unavailable', message: `the database could not answer: ${(err as Error).message}` });
      }
    }
    this.#o.metrics.request(KNOWN_PATHS.has(path) ? path : 'other', status);
  }

  async #route(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<number> {
    if (path === '/api/v1/reports') {
      if (req.method !== 'POST') throw new HttpError(405, { error: 'method', message: 'reports are POSTed' });
      return this.#report(req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, { error: 'method', message: `${path} is read with GET` });
    if (path === '/healthz') return this.#health(res);
    if (path === '/metrics') {
      const body = await this.#o.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.#o.metrics.registry.contentType }).end(body);
      return 200;
    }
    // The map's page and assets hold no data: open, like /healthz (src/fleet/web.ts).
    if (this.#web.handles(path)) return this.#web.serve(req, res, path);
    if (!KNOWN_PATHS.has(path))
      throw new HttpError(404, { error: 'not_found', message: `no such path ${path} (see /api/v1/topology, /api/v1/hosts, /api/v1/history)` });
    this.#authorizeRead(req);
    if (path === '/api/v1/topology') {
      const detail = query.get('detail') ?? 'full';
      if (detail !== 'full' && detail !== 'overview')
        throw new HttpError(400, { error: 'bad_query', field: 'detail', message: 'detail must be full (the default) or overview' });
      const built = await this.#o.state.model();
      return sendJsonParts(req, res, detail === 'overview' ? FleetState.overviewBytes(built) : FleetState.topologyBytes(built));
    }
    if (path === '/api/v1/hosts') return sendJsonCached(req, res, FleetState.hostsJson(await this.#o.state.model()));
    return this.#history(res, query);
  }

  #authorizeRead(req: IncomingMessage): void {
    const token = this.#o.readToken;
    if (token === undefined) return;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const a = Buffer.from(given ?? '');
    const b = Buffer.from(token);
    if (a.length !== b.length || !timingSafeEqual(a, b))
      throw new HttpError(401, { error: 'unauthorized', message: 'the read side needs Authorization: Bearer TOKEN (the service has read_token_file set)' });
  }

  async #report(req: IncomingMessage, res: ServerResponse): Promise<number> {
    const limit = this.#o.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > limit) {
      this.#o.metrics.report('too_large');
      res.setHeader('connection', 'close');
      throw new HttpError(413, { error: 'too_large', limit, message: `the report is ${declared} bytes; the limit (max_report_bytes) is ${limit}` });
    }
    const body = await readBody(req, limit);
    if (body === undefined) {
      this.#o.metrics.report('too_large');
      res.setHeader('connection', 'close');
      throw new HttpError(413, { error: 'too_large', limit, message: `the report is over the limit (max_report_bytes) of ${limit} bytes` });
    }
    const signature = req.headers[SIGNATURE_HEADER];
    if (!verifyReport(this.#o.fleetKey, body, typeof signature === 'string' ? signature : undefined)) {
      this.#o.metrics.report('unauthorized');
      this.#o.log?.('warn', 'report refused: bad signature', { address: req.socket.remoteAddress });
      throw new HttpError(401, {
        error: 'unauthorized',
        message: `missing or wrong ${SIGNATURE_HEADER}: reports are signed with a key derived from the MAAS secret; does the agent use the service's secret?`,
      });
    }
    // Decompressed only once the signature is good: an unauthenticated
    // client cannot make the service inflate anything.
    const encoding = req.headers['content-encoding'] ?? 'identity';
    if (encoding !== 'gzip' && encoding !== 'identity') {
      this.#o.metrics.report('malformed');
      throw new HttpError(415, { error: 'encoding', message: `Content-Encoding ${encoding} is not gzip or identity` });
    }
    let bytes: Buffer;
    try {
      bytes = encoding === 'gzip' ? gunzipSync(body, { maxOutputLength: limit }) : body;
    } catch (err) {
      const over = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
      this.#o.metrics.report(over ? 'too_large' : 'malformed');
      if (over) throw new HttpError(413, { error: 'too_large', limit, message: `the report inflates past the limit (max_report_bytes) of ${limit} bytes` });
      throw new HttpError(400, { error: 'malformed', field: '(body)', message: `report refused: (body): is not gzip: ${(err as Error).message}` });
    }
    let report;
    try {
      report = parseReportBytes(bytes, this.#o.state.previous, this.#o.state.hintsPlaceholder);
    } catch (err) {
      if (!(err instanceof ReportError)) throw err;
      this.#o.metrics.report('malformed');
      throw new HttpError(400, { error: 'malformed', field: err.field, message: `report refused: ${err.message}` });
    }
    const digest = hash('sha256', body, 'hex');
    const receivedAtMs = this.#clock();
    const address = req.socket.remoteAddress ?? null;
    let result;
    try {
      result = await this.#o.store.ingest({
        host: report.host,
        seq: report.seq,
        instance: report.instance,
        periodMs: Math.round(report.period_seconds * 1000),
        digest,
        body,
        encoding,
        receivedAtMs,
        address,
      });
    } catch (err) {
      res.setHeader('retry-after', '5');
      if (err instanceof StoreBusyError) {
        // Counted, not logged per report: under a stalled database there would be one line per agent every 30 s.
        this.#o.metrics.report('busy');
        throw new HttpError(503, { error: 'busy', limit: err.limit, message: `report of ${report.host} not stored: ${err.message}; send it again later` });
      }
      this.#o.metrics.report('unavailable');
      this.#o.log?.('error', `report of ${report.host} not stored: ${(err as Error).message}`, { host: report.host });
      throw new HttpError(503, { error: 'unavailable', message: `the database could not store the report: ${(err as Error).message}` });
    }
    this.#o.metrics.report(result.status);
    // Parsed and checked already: the model need not read it back.
    if (result.status === 'stored') this.#o.state.noteStored(report, receivedAtMs, address);
    if (result.status === 'stale') {
      throw new HttpError(409, {
        error: 'stale',
        current_seq: result.currentSeq,
        message: `${report.host} already reported seq ${result.currentSeq}; this report (seq ${report.seq}) is older and changes nothing`,
      });
    }
    return this.#json(res, 200, { status: result.status, seq: result.seq });
  }

  async #health(res: ServerResponse): Promise<number> {
    const problems: string[] = [];
    try {
      await this.#o.store.ping();
    } catch (err) {
      problems.push(`database ${this.#o.store.target.display}: ${(err as Error).message}`);
    }
    const hosts = this.#o.state.cached?.model.topology.hosts;
    const body = { status: problems.length ? 'unhealthy' : 'ok', db: this.#o.store.target.kind, hosts: hosts ?? null, problems };
    return this.#json(res, problems.length ? 503 : 200, body);
  }

  async #history(res: ServerResponse, q: URLSearchParams): Promise<number> {
    const limit = q.has('limit') ? Number(q.get('limit')) : HISTORY_LIMIT.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_LIMIT.max)
      throw new HttpError(400, { error: 'bad_query', field: 'limit', message: `limit must be an integer from 1 to ${HISTORY_LIMIT.max}` });
    const since = q.get('since');
    const sinceMs = since === null ? undefined : parseTime(since);
    if (sinceMs === null)
      throw new HttpError(400, { error: 'bad_query', field: 'since', message: 'since must be an ISO 8601 time or seconds since the epoch' });
    const rows = await this.#o.store.history({
      limit,
      ...(q.get('host') !== null ? { host: q.get('host')! } : {}),
      ...(q.get('interface') !== null ? { interface: q.get('interface')! } : {}),
      ...(sinceMs !== undefined ? { sinceMs } : {}),
    });
    const changes = rows.map((r) => ({ id: r.id, time: new Date(r.timeMs).toISOString(), ...r.change }));
    return this.#json(res, 200, { version: 1, changes });
  }

  #json(res: ServerResponse, status: number, body: unknown): number {
    if (res.headersSent) {
      res.destroy();
      return status;
    }
    return this.#bytes(res, Buffer.from(JSON.stringify(body) + '\n'), status);
  }

  #bytes(res: ServerResponse, body: Buffer, status = 200): number {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length, 'cache-control': 'no-store' }).end(body);
    return status;
  }
}

/** The body, or undefined past `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        req.pause();
        resolve(undefined);
        return;
      }
      parts.push(d);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(parts)));
    req.on('error', reject);
  });
}

/** ISO 8601, or seconds since the epoch; null when neither. */
export function parseTime(s: string): number | null {
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : t;
}

function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    /* absent */
  }
}
