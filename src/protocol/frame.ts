/**
 * Link, IP and UDP decoding of one captured Ethernet frame, down to the
 * beacon datagram. Pure and total: every input, however hostile, gives a
 * FrameInfo or null, never an exception, because this runs on every packet
 * the capture hands us.
 *
 * Not checked, on purpose: the IPv4 header checksum and the UDP checksum.
 * MAAS does not check them either, and on the sending host (where a rack
 * sees its own beacons) checksum offload leaves them unset in the capture.
 * The Fernet HMAC is what authenticates a beacon.
 */
import type { FrameInfo } from './frame-types';

export const BEACON_PORT = 5240;

const ETHERNET_HEADER = 14;
const VLAN_TAG = 4;
const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const PROTO_UDP = 17;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
const TPID_8021Q = 0x8100;
const TPID_8021AD = 0x88a8;
/** Pre-standard QinQ outer tag, still emitted by some switches. */
const TPID_QINQ_LEGACY = 0x9100;

const VID_MASK = 0x0fff;
/** The fragment offset and the more-fragments flag; DF (0x4000) is harmless. */
const IPV4_FRAGMENT_MASK = 0x3fff;

/** "00".."ff": MAC octets and the low byte of IPv6 groups. */
const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** "0".."ff": the leading byte of an IPv6 group, whose zeros RFC 5952 drops. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16));
/** "0".."255": IPv4 octets. */
const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

/**
 * Decoding state shared by the layer functions, reused across calls so that
 * a packet costs only its result object and strings. Safe because
 * parseFrame is synchronous and calls nothing that could re-enter it.
 */
const layer = {
  ethertype: 0,
  /** Start of the header being decoded: network header, then UDP header. */
  offset: 0,
  /** End of the bytes the IP header vouches for. */
  end: 0,
  /** VIDs of the innermost and the outer tag, -1 when absent. */
  innerVid: -1,
  outerVid: -1,
  sourceIp: '',
  destinationIp: '',
};

/**
 * Decodes a frame as Ethernet II (0-2 VLAN tags) / IPv4 or IPv6 / UDP to
 * port 5240. `strippedTci` is a tag the kernel removed before capture
 * (AF_PACKET tp_vlan_tci); it was the outermost tag on the wire.
 * Returns null for anything else, including a datagram that the capture
 * cut short (its payload could not be authenticated anyway).
 */
export function parseFrame(frame: Uint8Array, strippedTci?: number): FrameInfo | null {
  if (!parseLink(frame, strippedTci)) return null;
  let ok: boolean;
  if (layer.ethertype === ETHERTYPE_IPV4) ok = parseIpv4(frame);
  else if (layer.ethertype === ETHERTYPE_IPV6) ok = parseIpv6(frame);
  else return null;
  return ok ? parseUdp(frame) : null;
}

/**
 * Walks the tags from the outside in: at most two in all, counting the one
 * the kernel stripped (which was outermost). A frame with more is dropped,
 * as the native parser does; MAAS itself decodes only one.
 */
function parseLink(frame: Uint8Array, strippedTci: number | undefined): boolean {
  if (frame.length < ETHERNET_HEADER) return false;
  let offset = ETHERNET_HEADER;
  let ethertype = u16(frame, 12);
  let outerVid = -1;
  let innerVid = strippedTci === undefined ? -1 : strippedTci & VID_MASK;
  while (isVlanTpid(ethertype)) {
    if (outerVid >= 0 || frame.length < offset + VLAN_TAG) return false;
    outerVid = innerVid;
    innerVid = u16(frame, offset) & VID_MASK; // the priority bits are not the VID
    ethertype = u16(frame, offset + 2);
    offset += VLAN_TAG;
  }
  layer.ethertype = ethertype;
  layer.offset = offset;
  layer.innerVid = innerVid;
  layer.outerVid = outerVid;
  return true;
}

function isVlanTpid(ethertype: number): boolean {
  return ethertype === TPID_8021Q || ethertype === TPID_8021AD || ethertype === TPID_QINQ_LEGACY;
}

/**
 * The IPv4 total length, not the frame length, bounds the datagram: short
 * frames are padded to 60 bytes on the wire and the padding is not payload.
 * Only an unfragmented datagram (or a first fragment that is also the last)
 * carries a whole beacon.
 */
function parseIpv4(frame: Uint8Array): boolean {
  const offset = layer.offset;
  if (frame.length < offset + IPV4_MIN_HEADER) return false;
  const versionIhl = frame[offset]!;
  const headerLength = (versionIhl & 0x0f) * 4;
  const totalLength = u16(frame, offset + 2);
  if (versionIhl >> 4 !== 4 || headerLength < IPV4_MIN_HEADER) return false;
  if (totalLength < headerLength || offset + totalLength > frame.length) return false;
  if ((u16(frame, offset + 6) & IPV4_FRAGMENT_MASK) !== 0) return false;
  if (frame[offset + 9] !== PROTO_UDP) return false;
  layer.sourceIp = formatIpv4(frame, offset + 12);
  layer.destinationIp = formatIpv4(frame, offset + 16);
  layer.offset = offset + headerLength;
  layer.end = offset + totalLength;
  return true;
}

/**
 * UDP must follow the fixed header directly: beacons carry no extension
 * headers, and a fragment header would mean the beacon is in pieces.
 */
function parseIpv6(frame: Uint8Array): boolean {
  const offset = layer.offset;
  if (frame.length < offset + IPV6_HEADER) return false;
  if (frame[offset]! >> 4 !== 6 || frame[offset + 6] !== PROTO_UDP) return false;
  const end = offset + IPV6_HEADER + u16(frame, offset + 4);
  if (end > frame.length) return false;
  layer.sourceIp = formatIpv6(frame, offset + 8);
  layer.destinationIp = formatIpv6(frame, offset + 24);
  layer.offset = offset + IPV6_HEADER;
  layer.end = end;
  return true;
}

function parseUdp(frame: Uint8Array): FrameInfo | null {
  const { offset, end } = layer;
  if (end - offset < UDP_HEADER) return null;
  const destinationPort = u16(frame, offset + 2);
  const udpLength = u16(frame, offset + 4);
  if (destinationPort !== BEACON_PORT || udpLength < UDP_HEADER || offset + udpLength > end) return null;
  const info: { -readonly [K in keyof FrameInfo]: FrameInfo[K] } = {
    sourceMac: formatMac(frame, 6),
    destinationMac: formatMac(frame, 0),
    sourceIp: layer.sourceIp,
    destinationIp: layer.destinationIp,
    sourcePort: u16(frame, offset),
    destinationPort,
    payloadOffset: offset + UDP_HEADER,
    payloadLength: udpLength - UDP_HEADER,
  };
  // Set only when tagged, so that an untagged result has no vid key at all,
  // like MAAS's observe output.
  if (layer.innerVid >= 0) info.vid = layer.innerVid;
  if (layer.outerVid >= 0) info.outerVid = layer.outerVid;
  return info;
}

function u16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Lowercase, colon-separated: the spelling MAAS uses for mac_address. */
export function formatMac(bytes: Uint8Array, offset: number): string {
  return (
    HEX2[bytes[offset]!]! +
    ':' +
    HEX2[bytes[offset + 1]!]! +
    ':' +
    HEX2[bytes[offset + 2]!]! +
    ':' +
    HEX2[bytes[offset + 3]!]! +
    ':' +
    HEX2[bytes[offset + 4]!]! +
    ':' +
    HEX2[bytes[offset + 5]!]!
  );
}

export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return DEC[bytes[offset]!]! + '.' + DEC[bytes[offset + 1]!]! + '.' + DEC[bytes[offset + 2]!]! + '.' + DEC[bytes[offset + 3]!]!;
}

/**
 * RFC 5952 text, identical to Python's str(IPv6Address) (up to 3.12, which
 * MAAS runs; 3.13 prints IPv4-mapped addresses in dotted form): lowercase,
 * no leading zeros, the longest run of two or more zero groups (the first
 * on a tie) replaced by "::". `bytes` must hold 16 bytes from `offset`.
 */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const run = longestZeroRun(bytes, offset);
  const runStart = run >> 4;
  const runLength = run & 0x0f;
  let text = '';
  for (let group = 0; group < 8; group++) {
    if (group === runStart) {
      text += group === 0 ? '::' : ':';
      group += runLength - 1;
      continue;
    }
    const hi = bytes[offset + 2 * group]!;
    const lo = bytes[offset + 2 * group + 1]!;
    text += (hi === 0 ? HEX[lo]! : HEX[hi]! + HEX2[lo]!) + (group < 7 ? ':' : '');
  }
  return text;
}

/**
 * The run to compress, packed as start * 16 + length (a number, not a
 * tuple, to keep the hot path free of allocations); -16 (start -1, length
 * 0) when there is no run of two or more zero groups.
 */
function longestZeroRun(bytes: Uint8Array, offset: number): number {
  let bestStart = -1;
  let bestLength = 1; // a lone zero group is never compressed
  let start = -1;
  for (let group = 0; group <= 8; group++) {
    const zero = group < 8 && bytes[offset + 2 * group] === 0 && bytes[offset + 2 * group + 1] === 0;
    if (zero) {
      if (start < 0) start = group;
    } else if (start >= 0) {
      if (group - start > bestLength) {
        bestStart = start;
        bestLength = group - start;
      }
      start = -1;
    }
  }
  return bestStart < 0 ? -16 : bestStart * 16 + bestLength;
}
