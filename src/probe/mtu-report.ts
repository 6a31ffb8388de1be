/**
 * The shape `netbeacon mtu --json` prints, and the pure step that turns
 * the two searches into a verdict per peer. Sizes are IPv4 datagram
 * lengths (header included), the quantity an interface MTU bounds; the
 * Ethernet frame is 14 bytes more (18 tagged).
 *
 *   { "interfaces": [ {
 *       "interface": "r0", "interface_mtu": 9000, "note"?: "...",
 *       "peers": [ {
 *         "mac": "...",              // the peer interface's MAC (remote.mac_address)
 *         "ip": "10.0.0.2",          // where its answers came from
 *         "name"?: "p0",             // its interface name
 *         "interface_mtu": 9000,     // ours
 *         "peer_interface_mtu": 1500 | null,   // from its mtu_probe_ack; null for a MAAS rack
 *         "forward": {"path_mtu": 1500 | null, "probes": 15, "smallest_lost"?: 1501, "incomplete": false},
 *         "reverse": {"path_mtu": 1500 | null, "probes": 1, "incomplete": false, "note"?: "..."},
 *         "path_mtu": 1500 | null,   // the smaller of the two measured directions
 *         "mismatch": true           // path_mtu differs from interface_mtu
 *       } ] } ] }
 */
import type { MtuSearchResult } from './mtu-search';

export interface DirectionReport extends MtuSearchResult {
  /** Why the direction was not (fully) measured. */
  readonly note?: string;
}

export interface MtuPeerReport {
  readonly mac: string;
  readonly ip: string;
  readonly name?: string;
  readonly interface_mtu: number;
  readonly peer_interface_mtu: number | null;
  readonly forward: DirectionReport;
  readonly reverse: DirectionReport;
  readonly path_mtu: number | null;
  readonly mismatch: boolean;
}

export interface MtuInterfaceReport {
  readonly interface: string;
  readonly interface_mtu: number;
  readonly note?: string;
  readonly peers: readonly MtuPeerReport[];
}

export interface MtuReport {
  readonly interfaces: readonly MtuInterfaceReport[];
}

/**
 * The path MTU is the smaller of the directions that were measured (a
 * direction not measured, such as the reverse from a MAAS rack, does not
 * count). Nothing crossing at all is a mismatch too: the link is not
 * carrying even 1280-byte datagrams.
 */
export function peerVerdict(interfaceMtu: number, forward: DirectionReport, reverse: DirectionReport): { path_mtu: number | null; mismatch: boolean } {
  const measured = [forward, reverse].filter((d) => d.probes > 0 && d.note === undefined);
  if (measured.some((d) => d.path_mtu === null)) return { path_mtu: null, mismatch: true };
  const sizes = measured.map((d) => d.path_mtu as number);
  if (sizes.length === 0) return { path_mtu: null, mismatch: true };
  const path = Math.min(...sizes);
  return { path_mtu: path, mismatch: path !== interfaceMtu };
}

/** Exit status: 0 when every peer's path matches, 1 when a mismatch was found or no peer answered. */
export function mtuExitCode(r: MtuReport): number {
  const peers = r.interfaces.flatMap((i) => i.peers);
  return peers.length > 0 && peers.every((p) => !p.mismatch) ? 0 : 1;
}
