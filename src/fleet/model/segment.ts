/**
 * A fleet segment is what one capture point of one host sees: the host, its
 * interface and, for frames that arrived 802.1Q-tagged, their VID (`null`
 * when untagged, as the API prints it). It is the unit the fleet model
 * groups into fabrics, and the key of its history.
 */

export interface FleetSegment {
  readonly host: string;
  readonly interface: string;
  readonly vid: number | null;
}

/**
 * The hints that name an interface of the same host by its name (MAAS's
 * same_local_fabric_as and rx_own_beacon_on_other_interface): the graph
 * joins the two segments, and placement finds the related interface by name.
 */
export const LOCAL_HINTS: ReadonlySet<string> = new Set(['same_local_fabric_as', 'rx_own_beacon_on_other_interface']);

export function fleetSegment(host: string, ifname: string, vid?: number | null): FleetSegment {
  return { host, interface: ifname, vid: vid ?? null };
}

/** Equal for equal segments; a NUL occurs in neither host nor interface names (reports are checked). */
export function fleetSegmentKey(host: string, ifname: string, vid: number | null | undefined): string {
  return vid === undefined || vid === null ? `${host}\u0000${ifname}` : `${host}\u0000${ifname}\u0000${vid}`;
}

export function keyOf(s: FleetSegment): string {
  return fleetSegmentKey(s.host, s.interface, s.vid);
}

/** The segment a key stands for (the inverse of fleetSegmentKey). */
export function segmentOfKey(key: string): FleetSegment {
  const [host, ifname, vid] = key.split('\u0000') as [string, string, string | undefined];
  return { host, interface: ifname, vid: vid === undefined ? null : Number(vid) };
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** By host, then interface, then untagged before tagged, then VID: the order of every list. */
export function compareFleetSegments(a: FleetSegment, b: FleetSegment): number {
  return compareStrings(a.host, b.host) || compareStrings(a.interface, b.interface) || (a.vid ?? -1) - (b.vid ?? -1);
}

/** `rack1/eth0` or `rack1/eth0 vid 42`, as tables and messages write a segment. */
export function formatFleetSegment(s: FleetSegment): string {
  return s.vid === null ? `${s.host}/${s.interface}` : `${s.host}/${s.interface} vid ${s.vid}`;
}
