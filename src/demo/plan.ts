/**
 * The demo's network, as data: a switch namespace with two plain bridges
 * and three hosts wired into them. Everything else (building it, what the
 * agents should find, the text) reads this table, so the picture, the lab
 * and the expectations cannot drift apart.
 *
 *                 ┌──────────── switch ────────────┐
 *   rack1 r0 9000 ┤ sw-r0 9000 ─┐                  │
 *   rack1 r1 ─────┤ sw-r1 ──── brA ── sw-s0 1500 ──├── s0 9000 rack2
 *   rack1 r2 ─────┤ sw-r2 ──── brB ── sw-s1 ───────├── s1 rack2
 *                 │              └─── sw-n0 ───────├── n0 node1
 *                 └────────────────────────────────┘
 *
 * brA is "fabric A": rack1's r0 (addressed) and r1 (no address: it still
 * beacons IPv6 link-local) and rack2's s0, whose switch port is 1500 bytes
 * although both ends are at 9000 (the MTU finding). brB is "fabric B":
 * rack1's r2, rack2's s1 and node1's n0. VLANs 100 and 200 are probed on
 * brA as raw tagged frames (a plain bridge forwards tags like a trunk);
 * rack2's agent ignores VID 200, standing in for a switch port that does
 * not carry it (the VLAN finding).
 */

export interface PlanInterface {
  readonly host: string;
  readonly name: string;
  readonly bridge: 'brA' | 'brB';
  /** The host end's MTU; default 1500. */
  readonly mtu?: number;
  /** The switch port's MTU; default 1500. */
  readonly portMtu?: number;
  readonly address?: string;
}

export const SWITCH = 'switch';
export const BRIDGES = ['brA', 'brB'] as const;
export const HOSTS = ['rack1', 'rack2', 'node1'] as const;
export type HostName = (typeof HOSTS)[number];

export const INTERFACES: readonly PlanInterface[] = [
  { host: 'rack1', name: 'r0', bridge: 'brA', mtu: 9000, portMtu: 9000, address: '10.90.0.1/24' },
  { host: 'rack1', name: 'r1', bridge: 'brA' },
  { host: 'rack1', name: 'r2', bridge: 'brB', address: '10.91.0.1/24' },
  { host: 'rack2', name: 's0', bridge: 'brA', mtu: 9000, portMtu: 1500, address: '10.90.0.2/24' },
  { host: 'rack2', name: 's1', bridge: 'brB', address: '10.91.0.2/24' },
  { host: 'node1', name: 'n0', bridge: 'brB', address: '10.91.0.3/24' },
];

/** The switch port that faces an interface. */
export const portName = (i: PlanInterface): string => `sw-${i.name}`;

/** Where the probes run, and what they aim at. */
export const PROBE_HOST: HostName = 'rack1';
export const MTU_INTERFACE = 'r0';
export const MTU_PEER = { host: 'rack2', name: 's0' } as const;
export const VLAN_INTERFACE = 'r0';
export const VLAN_VIDS = [100, 200] as const;
/** rack2 leaves these VIDs unanswered: a switch port that does not carry them. */
export const IGNORED_VIDS: Readonly<Record<string, readonly number[]>> = { rack2: [200] };

export const interfacesOf = (host: string): PlanInterface[] => INTERFACES.filter((i) => i.host === host);

/**
 * What each host should end up with: per fabric, its own interfaces and
 * the peer interfaces (host/name) heard on it. Derived from the bridges.
 */
export interface ExpectedFabric {
  readonly bridge: string;
  readonly segments: readonly string[];
  readonly peers: ReadonlyArray<{ host: string; name: string }>;
}

export function expectedFabrics(host: string): ExpectedFabric[] {
  const out: ExpectedFabric[] = [];
  for (const bridge of BRIDGES) {
    const mine = INTERFACES.filter((i) => i.bridge === bridge && i.host === host);
    if (mine.length === 0) continue;
    const peers = INTERFACES.filter((i) => i.bridge === bridge && i.host !== host).map((i) => ({ host: i.host, name: i.name }));
    out.push({ bridge, segments: mine.map((i) => i.name), peers });
  }
  return out;
}
