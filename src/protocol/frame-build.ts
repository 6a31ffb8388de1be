/**
 * Whole Ethernet / IPv4 / UDP frames, built by hand because Node's dgram
 * can set neither the Don't Fragment bit nor an 802.1Q tag, and MTU and
 * VLAN probes need both. Pure: bytes in, bytes out; the raw send
 * (src/capture/raw-send.ts) puts them on the wire.
 *
 * Checksums are computed (IPv4 header and UDP): the capture does not check
 * them, but a Linux bridge with br_netfilter on (bridge-nf-call-iptables)
 * drops IPv4 whose header checksum is wrong, and a receiving IP stack drops
 * a bad UDP checksum; a probe lost that way would read as a path too small.
 */
import { isIPv4 } from 'node:net';

export const ETHERNET_HEADER = 14;
export const VLAN_TAG_LENGTH = 4;
export const IPV4_HEADER = 20;
export const UDP_HEADER = 8;

export const TPID_8021Q = 0x8100;
export const TPID_8021AD = 0x88a8;
const ETHERTYPE_IPV4 = 0x0800;
const PROTO_UDP = 17;
/** IPv4 flags: Don't Fragment. */
const FLAG_DF = 0x4000;

/** The IPv4 beacon group and its Ethernet address (01:00:5e + low 23 bits). */
export const GROUP4 = '224.0.0.118';
export const GROUP4_MAC = '01:00:5e:00:00:76';

export interface VlanTag {
  readonly tpid: number;
  /** 0-4095; the low 12 bits of the TCI. */
  readonly vid: number;
  /** Priority code point, 0-7 (default 0). */
  readonly pcp?: number;
}

export interface Udp4FrameSpec {
  readonly destinationMac: string;
  readonly sourceMac: string;
  /** Outermost first. */
  readonly tags?: readonly VlanTag[];
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** 1 for link-local probes (never routed), as MAAS's multicast TTL. */
  readonly ttl: number;
  readonly dontFragment: boolean;
  readonly payload: Uint8Array;
}

/**
 * The tags for a VID, optionally inside an 802.1ad service tag: the QinQ
 * stack a provider bridge would put on the wire. No VID: untagged.
 */
export function vlanStack(vid: number | undefined, outerVid?: number): VlanTag[] {
  if (vid === undefined) {
    if (outerVid !== undefined) throw new RangeError('an outer VID needs an inner VID');
    return [];
  }
  const inner: VlanTag = { tpid: TPID_8021Q, vid };
  return outerVid === undefined ? [inner] : [{ tpid: TPID_8021AD, vid: outerVid }, inner];
}

/** "52:54:00:0a:00:01" → 6 bytes; RangeError naming `what` otherwise. */
export function macBytes(mac: string, what = 'MAC address'): Buffer {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw new RangeError(`${what} "${mac}" is not a MAC address like 52:54:00:0a:00:01`);
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

export function ipv4Bytes(ip: string, what = 'IPv4 address'): Buffer {
  if (!isIPv4(ip)) throw new RangeError(`${what} "${ip}" is not an IPv4 address`);
  return Buffer.from(ip.split('.').map(Number));
}

/** Ones' complement sum of 16-bit words, folded; `initial` carries a partial sum. */
function onesSum(b: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** The Internet checksum (RFC 1071) of bytes [start, end). */
export function internetChecksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  return ~onesSum(b, start, end, initial) & 0xffff;
}

/** Length of the frame for a UDP payload of `payloadLength` bytes under `tags` tags. */
export function udp4FrameLength(payloadLength: number, tags = 0): number {
  return ETHERNET_HEADER + tags * VLAN_TAG_LENGTH + IPV4_HEADER + UDP_HEADER + payloadLength;
}

export function buildUdp4Frame(spec: Udp4FrameSpec): Buffer {
  const tags = spec.tags ?? [];
  for (const t of tags) {
    if (!Number.isInteger(t.vid) || t.vid < 0 || t.vid > 4095) throw new RangeError(`VID ${t.vid} is not 0-4095`);
    if (t.pcp !== undefined && (!Number.isInteger(t.pcp) || t.pcp < 0 || t.pcp > 7)) throw new RangeError(`priority ${t.pcp} is not 0-7`);
  }
  for (const [name, port] of [
    ['source port', spec.sourcePort],
    ['destination port', spec.destinationPort],
  ] as const) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`${name} ${port} is not 0-65535`);
  }
  if (!Number.isInteger(spec.ttl) || spec.ttl < 1 || spec.ttl > 255) throw new RangeError(`TTL ${spec.ttl} is not 1-255`);
  const ipLength = IPV4_HEADER + UDP_HEADER + spec.payload.length;
  if (ipLength > 0xffff) throw new RangeError(`a UDP payload of ${spec.payload.length} bytes does not fit one IPv4 datagram`);

  const frame = Buffer.alloc(udp4FrameLength(spec.payload.length, tags.length));
  macBytes(spec.destinationMac, 'destination MAC').copy(frame, 0);
  macBytes(spec.sourceMac, 'source MAC').copy(frame, 6);
  let at = 12;
  for (const t of tags) {
    frame.writeUInt16BE(t.tpid, at);
    frame.writeUInt16BE(((t.pcp ?? 0) << 13) | t.vid, at + 2);
    at += VLAN_TAG_LENGTH;
  }
  frame.writeUInt16BE(ETHERTYPE_IPV4, at);
  const ip = at + 2;
  const src = ipv4Bytes(spec.sourceIp, 'source IP');
  const dst = ipv4Bytes(spec.destinationIp, 'destination IP');
  frame[ip] = 0x45; // version 4, 5 words: no options, so every probe's header is 20 bytes
  frame.writeUInt16BE(ipLength, ip + 2);
  // Identification 0: with DF set the datagram is never reassembled, so it
  // needs no unique id (RFC 6864, atomic datagrams).
  frame.writeUInt16BE(spec.dontFragment ? FLAG_DF : 0, ip + 6);
  frame[ip + 8] = spec.ttl;
  frame[ip + 9] = PROTO_UDP;
  src.copy(frame, ip + 12);
  dst.copy(frame, ip + 16);
  frame.writeUInt16BE(internetChecksum(frame, ip, ip + IPV4_HEADER), ip + 10);

  const udp = ip + IPV4_HEADER;
  const udpLength = UDP_HEADER + spec.payload.length;
  frame.writeUInt16BE(spec.sourcePort, udp);
  frame.writeUInt16BE(spec.destinationPort, udp + 2);
  frame.writeUInt16BE(udpLength, udp + 4);
  frame.set(spec.payload, udp + UDP_HEADER);
  // Pseudo-header: addresses, protocol, UDP length.
  const pseudo = onesSum(frame, ip + 12, ip + 20, PROTO_UDP + udpLength);
  const sum = internetChecksum(frame, udp, udp + udpLength, pseudo);
  // 0 means "no checksum" in IPv4 UDP; a computed 0 is sent as all ones.
  frame.writeUInt16BE(sum === 0 ? 0xffff : sum, udp + 6);
  return frame;
}
