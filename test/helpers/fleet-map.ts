/**
 * A real fleet service (SQLite in a temporary directory, loopback only)
 * seeded with signed reports over HTTP, for the map's browser test, its
 * bench and its screenshot. The seeded model has every kind of finding:
 *
 *   fabric A: rack1/eth0 — rack2/ens3 (on_remote_network both ways), rack1/eth0 vid 100
 *             (VID heard on eth0) — node1/n0 (a tagged hint naming an untagged interface:
 *             the native-VLAN mismatch)
 *   fabric B: rack2/ens4 — node1/n1 (both hear 52:54:00:ff:00:01 "maas-rack", which no
 *             host reports: the unknown MAC, and a peer join)
 *   old1:     reported once, long ago (stale); its eth0 claims node1/n1's MAC (duplicate)
 *
 * and a history: rack2/ens4 first reports on fabric A (it hears rack1/eth1), then moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetService } from '../../src/fleet/service';
import { deriveFleetKey, signReport, SIGNATURE_HEADER } from '../../src/fleet/model/auth';
import type { FleetReport } from '../../src/fleet/model/report';
import { iface, remote, report, T0 } from './fleet-reports';

export const MAC = {
  rack1eth0: '52:54:00:0a:00:01',
  rack1eth1: '52:54:00:0a:00:02',
  rack2ens3: '52:54:00:0b:00:01',
  rack2ens4: '52:54:00:0b:00:02',
  node1n0: '52:54:00:0c:00:01',
  node1n1: '52:54:00:0c:00:02',
  maasRack: '52:54:00:ff:00:01',
} as const;

export interface SeededFleet {
  readonly service: FleetService;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly key: Uint8Array;
  /** The service's clock (ms); `advance` moves it. */
  now(): number;
  advance(ms: number): void;
  post(r: FleetReport): Promise<number>;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly readToken?: string;
  readonly refreshMs?: number;
}

export async function startFleet(o: StartOptions = {}): Promise<SeededFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'nb-fleet-map-'));
  const key = deriveFleetKey(Buffer.from('a fleet map test secret, 32 bytes or so'));
  let now = T0;
  let service: FleetService;
  try {
    service = await FleetService.start({
      db: { kind: 'sqlite', location: join(dir, 'fleet.db'), display: 'sqlite:test' },
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
      fleetKey: key,
      clock: () => now,
      refreshMs: o.refreshMs ?? 100,
      ...(o.readToken !== undefined ? { readToken: o.readToken } : {}),
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://${service.address}`;
  const seqs = new Map<string, number>();
  return {
    service,
    url,
    key,
    now: () => now,
    advance: (ms) => void (now += ms),
    post: async (r) => {
      const seq = (seqs.get(r.host) ?? 0) + 1;
      seqs.set(r.host, seq);
      const body = JSON.stringify({ ...r, seq, time: now / 1000 });
      const status = await postReport(url, key, body);
      if (status !== 200) throw new Error(`report of ${r.host} answered ${status}`);
      return status;
    },
    stop: async () => {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function postReport(url: string, key: Uint8Array, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v1/reports`,
      { method: 'POST', headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signReport(key, body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The reports of the known model above, in the order they are posted. */
export function seedReports(): { before: FleetReport[]; stale: FleetReport[]; after: FleetReport[] } {
  const rack1 = report(
    'rack1',
    [iface('eth0', MAC.rack1eth0, { vids: [100], addresses: ['10.0.0.1/24'] }), iface('eth1', MAC.rack1eth1)],
    [remote('eth0', 'ens3', MAC.rack2ens3), remote('eth0', 'n0', MAC.node1n0, { vid: 100 })],
  );
  const rack2 = report(
    'rack2',
    [iface('ens3', MAC.rack2ens3, { addresses: ['10.0.0.2/24'] }), iface('ens4', MAC.rack2ens4)],
    [remote('ens3', 'eth0', MAC.rack1eth0), remote('ens4', 'maas-rack', MAC.maasRack)],
  );
  const node1 = report(
    'node1',
    [iface('n0', MAC.node1n0, { addresses: ['10.0.0.3/24'] }), iface('n1', MAC.node1n1)],
    [remote('n1', 'maas-rack', MAC.maasRack)],
  );
  // Before: rack2/ens4 hears rack1/eth1, so it is on rack1/eth1's fabric; then the cable moves.
  const rack2before = report('rack2', [...rack2.interfaces], [remote('ens3', 'eth0', MAC.rack1eth0), remote('ens4', 'eth1', MAC.rack1eth1)]);
  const old1 = report('old1', [iface('eth0', MAC.node1n1)], []);
  return { stale: [old1], before: [rack1, rack2before, node1], after: [rack2] };
}

/** Starts a fleet and posts the known model: old1 first, then 100 s later the rest, then the move. */
export async function startSeededFleet(o: StartOptions = {}): Promise<SeededFleet> {
  const fleet = await startFleet(o);
  try {
    const r = seedReports();
    for (const x of r.stale) await fleet.post(x);
    fleet.advance(100_000);
    for (const x of r.before) await fleet.post(x);
    await settle(fleet);
    fleet.advance(5_000);
    for (const x of r.after) await fleet.post(x);
    await settle(fleet);
    return fleet;
  } catch (err) {
    await fleet.stop();
    throw err;
  }
}

/** Lets the service write the history for what it holds now. */
export async function settle(fleet: SeededFleet): Promise<void> {
  await fleet.service.refresh();
}

/** rack3, a new host on fabric A: the live update the browser test waits for. */
export function rack3Report(): FleetReport {
  return report('rack3', [iface('p0', '52:54:00:0d:00:01')], [remote('p0', 'eth0', MAC.rack1eth0)]);
}

const rackMac = (rack: number, host: number, port: number): string =>
  `52:54:${[rack >> 8, rack & 255, host, port].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

/**
 * A fleet of `racks` racks of `perRack` hosts, shaped like the fleet-map
 * bench's: each host's eth0 hears its rack's other hosts, and its eth1, a
 * trunk of VLANs 100 and 200, hears the rack's controller, which reports to
 * no fleet (an unknown MAC). 122 nodes a rack of 20: enough racks make a
 * map large enough for the shelf packing (graph.ts, FCOSE_MAX_NODES).
 */
export function rackReports(racks: number, perRack: number): FleetReport[] {
  const out: FleetReport[] = [];
  for (let r = 0; r < racks; r++) for (let h = 0; h < perRack; h++) out.push(rackHost(r, h, perRack));
  return out;
}

/** Host `h` of rack `r` (named r00h00), hearing hosts 0 to perRack - 1 of its rack. */
export function rackHost(r: number, h: number, perRack: number): FleetReport {
  const hints = [];
  for (let o = 0; o < perRack; o++) if (o !== h) hints.push(remote('eth0', 'eth0', rackMac(r, o, 0)));
  hints.push(remote('eth1', 'maas0', rackMac(r, 250, 9)));
  return report(
    `r${String(r).padStart(2, '0')}h${String(h).padStart(2, '0')}`,
    [iface('eth0', rackMac(r, h, 0), { addresses: [`10.${r}.0.${h + 1}/24`] }), iface('eth1', rackMac(r, h, 1), { mtu: 9000, vids: [100, 200] })],
    hints,
  );
}

export async function startRackFleet(racks: number, perRack: number): Promise<SeededFleet> {
  const fleet = await startFleet();
  try {
    for (const x of rackReports(racks, perRack)) await fleet.post(x);
    await settle(fleet);
    return fleet;
  } catch (err) {
    await fleet.stop();
    throw err;
  }
}
