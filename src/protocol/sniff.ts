/**
 * The version byte of a frame's beacon, found without decoding the frame:
 * Ethernet II with up to two VLAN tags, IPv4 (any header length) or IPv6
 * (no extension header), UDP to port 5240. For a driver that must know
 * whether a capture holds beacon format v3 before it pays for libsodium;
 * parseFrame (frame.ts) remains the one that decides what a frame is.
 * Allocation-free, every offset checked; -1 when there is no such byte.
 */
const BEACON_PORT = 5240;

export function beaconVersionOf(frame: Uint8Array): number {
  let at = 12;
  let tags = 0;
  let type = u16(frame, at);
  while (type === 0x8100 || type === 0x88a8 || type === 0x9100) {
    if (++tags > 2) return -1;
    at += 4;
    type = u16(frame, at);
  }
  at += 2;
  if (type === 0x0800) {
    if (frame[at + 9] !== 17) return -1;
    at += ((frame[at] ?? 0) & 0x0f) * 4;
  } else if (type === 0x86dd) {
    if (frame[at + 6] !== 17) return -1;
    at += 40;
  } else {
    return -1;
  }
  if (at + 8 >= frame.length || u16(frame, at + 2) !== BEACON_PORT) return -1;
  return frame[at + 8]!;
}

function u16(b: Uint8Array, at: number): number {
  return at + 1 < b.length ? (b[at]! << 8) | b[at + 1]! : -1;
}
