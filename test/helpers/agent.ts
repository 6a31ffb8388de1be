/** Builders for the agent-core tests: ULIDs with chosen times, beacons as observe prints them. */
import type { ReceivedBeacon } from '../../src/topology/beacons';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID whose timestamp is `timeMs`; `n` makes the random part distinct. */
export function ulidAt(timeMs: number, n = 0): string {
  let time = '';
  let t = timeMs;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32]! + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  let r = n;
  for (let i = 0; i < 16; i++) {
    rand = CROCKFORD[r % 32]! + rand;
    r = Math.floor(r / 32);
  }
  return time + rand;
}

export const T0 = 1_795_000_000_000;
export const MCAST4 = '224.0.0.118';

export interface BeaconSpec {
  ulid?: string | null;
  iface?: string;
  vid?: number;
  type?: 'solicitation' | 'advertisement';
  version?: number;
  dst?: string;
  src?: string;
  sport?: number;
  remote?: Record<string, unknown> | null;
  acks?: string;
  payload?: Record<string, unknown> | null;
}

/** A received beacon; multicast solicitation from peer ens3 by default. */
export function rx(spec: BeaconSpec = {}): ReceivedBeacon {
  const remote = spec.remote === undefined ? { name: 'ens3', mac_address: '52:54:00:77:00:01', type: 'physical', parents: [], subnet: null } : spec.remote;
  let payload: Record<string, unknown> | null;
  if (spec.payload !== undefined) payload = spec.payload;
  else {
    payload = { type: spec.type === 'advertisement' ? 2 : 1 };
    if (remote !== null) payload.remote = remote;
    if (spec.ulid !== null) payload.ulid = spec.ulid ?? ulidAt(T0);
    if (spec.acks !== undefined) payload.acks = spec.acks;
  }
  const b: { -readonly [K in keyof ReceivedBeacon]: ReceivedBeacon[K] } = {
    interface: spec.iface ?? 'eth0',
    source_ip: spec.src ?? '10.0.0.9',
    source_port: spec.sport ?? 5240,
    destination_ip: spec.dst ?? MCAST4,
    version: spec.version ?? 2,
    type: spec.type ?? 'solicitation',
    payload,
  };
  if (spec.vid !== undefined) b.vid = spec.vid;
  return b;
}
