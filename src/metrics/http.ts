/**
 * /metrics over HTTP: a server of its own (the agent's `--metrics`), or a
 * handler that a service with its own HTTP server mounts (the fleet service).
 * Either way the registry is serialised per request, so a scrape is computed
 * from live state (live.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { parseListen } from '../config/config';
import { NetbeaconError } from '../errors';

/** Answers one request with the registry's text; the caller routes /metrics to it. */
export function writeMetrics(registry: Registry, res: ServerResponse): void {
  registry.metrics().then(
    (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
    (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
  );
}

function handler(registry: Registry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('netbeacon serves /metrics only\n');
      return;
    }
    writeMetrics(registry, res);
  };
}

/** Serve /metrics on HOST:PORT (127.0.0.1 when only a port is given). */
export async function serveMetrics(registry: Registry, spec: string): Promise<Server> {
  const { host, port } = parseListen(spec);
  const server = createServer(handler(registry));
  await new Promise<void>((resolve, reject) => {
    // Exit 1, not 2: a port held by an agent that is still stopping is free again at the restart.
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new NetbeaconError(
          'E_METRICS_LISTEN',
          `metrics: cannot listen on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'address already in use' : err.message}`,
          1,
        ),
      ),
    );
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}
