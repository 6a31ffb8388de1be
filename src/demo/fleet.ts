/**
 * `netbeacon demo --fleet`: a fleet service for the demo's agents, and its
 * map for a browser on this machine.
 *
 * The service runs in this process and listens on a Unix socket in the
 * demo's directory. A socket is a file, so the agents in their network
 * namespaces reach it without a packet on any interface, the host's or the
 * demo's. The browser gets a loopback port (127.0.0.1 only) that this
 * process forwards, byte for byte, to the same socket. Nothing listens on
 * any other address; everything goes when the demo stops.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_FLEET_PORT } from '../fleet/listen';
import { FleetService } from '../fleet/service';
import { deriveFleetKey } from '../fleet/model/auth';
import type { FleetTopology } from '../fleet/model/types';
import { FleetState } from '../fleet/state';
import { loadSecret } from '../secret/secret';

export interface DemoFleet {
  /** The map, on 127.0.0.1. */
  readonly url: string;
  /** Where the agents report (unix:PATH). */
  readonly agentUrl: string;
  readonly service: FleetService;
  /** The model as the read API has it now. */
  topology(): Promise<FleetTopology>;
  stop(): Promise<void>;
}

/** Starts the service on DIR/fleet.sock and the loopback forwarder on `port` (another free one when it is taken). */
export async function startDemoFleet(dir: string, secretFile: string, port = DEFAULT_FLEET_PORT): Promise<DemoFleet> {
  const socket = join(dir, 'fleet.sock');
  const service = await FleetService.start({
    db: { kind: 'sqlite', location: join(dir, 'fleet.db'), display: `sqlite:${join(dir, 'fleet.db')}` },
    listen: { kind: 'unix', path: socket },
    fleetKey: deriveFleetKey(loadSecret(secretFile).bytes),
  });
  let forwarder: Forwarder;
  try {
    forwarder = await forward(socket, port).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EADDRINUSE' || port === 0) throw err;
      return forward(socket, 0);
    });
  } catch (err) {
    await service.stop();
    throw err;
  }
  return {
    url: `http://127.0.0.1:${forwarder.port}/`,
    agentUrl: `unix:${socket}`,
    service,
    topology: async () => JSON.parse(FleetState.topologyJson(await service.state.model()).toString('utf8')) as FleetTopology,
    stop: async () => {
      await forwarder.close();
      await service.stop();
    },
  };
}

interface Forwarder {
  readonly port: number;
  close(): Promise<void>;
}

/** 127.0.0.1:PORT → the Unix socket, one connection for each. */
function forward(socketPath: string, port: number): Promise<Forwarder> {
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(socketPath);
    open.add(client).add(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve({
        port: typeof address === 'object' && address ? address.port : port,
        close: () =>
          new Promise<void>((r) => {
            for (const s of open) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
