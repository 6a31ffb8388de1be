/**
 * The agent's control socket: a Unix stream socket (default
 * /run/netbeacon/netbeacon.sock, mode 0660) speaking one JSON object per
 * line. A client sends `{"cmd": NAME}`; the agent answers one line
 * `{"ok": true, "result": …}` or `{"ok": false, "error": …}`, except for
 * streaming commands (`watch`), which answer with one line per event until
 * the client hangs up.
 */
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { NetbeaconError } from '../errors';

export const DEFAULT_SOCKET = '/run/netbeacon/netbeacon.sock';
const MAX_REQUEST = 64 * 1024;

export type Handler = (request: Record<string, unknown>) => unknown;
/** A streaming handler: call `send` per event; return a function that stops it. */
export type StreamHandler = (request: Record<string, unknown>, send: (event: unknown) => void) => () => void;

export class ControlServer {
  #server: Server | undefined;
  readonly #handlers = new Map<string, Handler>();
  readonly #streams = new Map<string, StreamHandler>();
  readonly #clients = new Set<Socket>();

  constructor(readonly path: string) {}

  handle(cmd: string, h: Handler): this {
    this.#handlers.set(cmd, h);
    return this;
  }

  stream(cmd: string, h: StreamHandler): this {
    this.#streams.set(cmd, h);
    return this;
  }

  async listen(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    if (existsSync(this.path)) {
      if (await isAlive(this.path)) throw new NetbeaconError('E_SOCKET_IN_USE', `another agent is listening on ${this.path}`, 1);
      unlinkSync(this.path); // stale, from an agent that died
    }
    const server = createServer((sock) => this.#serve(sock));
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(this.path, () => {
        server.off('error', rej);
        res();
      });
    });
    chmodSync(this.path, 0o660);
    this.#server = server;
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((res) => s.close(() => res()));
    try {
      unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  #serve(sock: Socket): void {
    this.#clients.add(sock);
    let buf = '';
    let stop: (() => void) | undefined;
    const done = () => {
      stop?.();
      this.#clients.delete(sock);
    };
    sock.on('close', done);
    sock.on('error', () => sock.destroy());
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      if (stop) return; // a streaming client sends nothing more that we read
      buf += chunk;
      if (buf.length > MAX_REQUEST) return void sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      let req: Record<string, unknown>;
      try {
        req = JSON.parse(line) as Record<string, unknown>;
        if (req === null || typeof req !== 'object' || typeof req.cmd !== 'string') throw new Error('no "cmd"');
      } catch (err) {
        return void sock.end(JSON.stringify({ ok: false, error: `bad request: ${(err as Error).message}` }) + '\n');
      }
      const streamer = this.#streams.get(req.cmd);
      if (streamer) {
        stop = streamer(req, (event) => {
          if (!sock.destroyed) sock.write(JSON.stringify(event) + '\n');
        });
        return;
      }
      const h = this.#handlers.get(req.cmd);
      if (!h) return void sock.end(JSON.stringify({ ok: false, error: `unknown command "${String(req.cmd)}"` }) + '\n');
      try {
        sock.end(JSON.stringify({ ok: true, result: h(req) }) + '\n');
      } catch (err) {
        sock.end(JSON.stringify({ ok: false, error: err instanceof Error ? err.message : String(err) }) + '\n');
      }
    });
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((res) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });
}

/** Ask the agent one question. Errors name the socket and what to do. */
export function request(path: string, cmd: string, extra: Record<string, unknown> = {}, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new NetbeaconError('E_SOCKET_TIMEOUT', `the agent on ${path} did not answer within ${timeoutMs} ms`, 1));
    }, timeoutMs);
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify({ ...extra, cmd }) + '\n'));
    c.on('data', (d: string) => (buf += d));
    c.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
          ? 'no agent is running there (start one with `netbeacon agent`)'
          : err.code === 'EACCES'
            ? 'permission denied (join the group that owns it, or use sudo)'
            : err.message;
      reject(new NetbeaconError('E_SOCKET', `cannot reach the agent on ${path}: ${why}`, 1));
    });
    c.on('end', () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(buf.trim()) as { ok: boolean; result?: unknown; error?: string };
        if (r.ok) resolve(r.result);
        else reject(new NetbeaconError('E_AGENT', `the agent answered: ${r.error ?? 'unknown error'}`, 1));
      } catch {
        reject(new NetbeaconError('E_AGENT', `the agent on ${path} sent an unreadable answer`, 1));
      }
    });
  });
}

/** Stream a command's events; resolves when the agent hangs up. */
export function subscribe(path: string, cmd: string, onEvent: (e: unknown) => void): { done: Promise<void>; close: () => void } {
  const c = createConnection(path);
  let buf = '';
  const done = new Promise<void>((resolve, reject) => {
    c.setEncoding('utf8');
    c.on('connect', () => c.write(JSON.stringify({ cmd }) + '\n'));
    c.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line) onEvent(JSON.parse(line));
      }
    });
    c.on('error', (err) => reject(new NetbeaconError('E_SOCKET', `cannot reach the agent on ${path}: ${err.message}`, 1)));
    c.on('close', () => resolve());
  });
  return { done, close: () => c.destroy() };
}
