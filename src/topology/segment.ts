/**
 * A segment is what one local capture point sees: an interface and, when
 * the frames arrived 802.1Q-tagged, their VID. It is the unit that hints
 * relate and that topology groups into fabrics. An untagged segment has no
 * `vid` at all (never null, never 0 by convention), so that it prints the
 * way MAAS leaves null fields out.
 */
export interface Segment {
  readonly ifname: string;
  readonly vid?: number;
}

export function segment(ifname: string, vid?: number): Segment {
  return vid === undefined ? { ifname } : { ifname, vid };
}

/** A string that is equal for equal segments; usable as a Map key. */
export function segmentKey(s: Segment): string {
  // A NUL cannot occur in a Linux interface name, so the key is unambiguous.
  return s.vid === undefined ? s.ifname : `${s.ifname}\u0000${s.vid}`;
}

export function sameSegment(a: Segment, b: Segment): boolean {
  return a.ifname === b.ifname && a.vid === b.vid;
}

/** By name, then untagged before tagged, then by VID: the order tables and JSON use. */
export function compareSegments(a: Segment, b: Segment): number {
  if (a.ifname !== b.ifname) return a.ifname < b.ifname ? -1 : 1;
  return (a.vid ?? -1) - (b.vid ?? -1);
}

/** `eth0` or `eth0 vid 42`; not `eth0.42`, which could be the name of another interface. */
export function formatSegment(s: Segment): string {
  return s.vid === undefined ? s.ifname : `${s.ifname} vid ${s.vid}`;
}
