/**
 * Ethernet frames for the floods: beacons to the IPv4 group, and the
 * background a busy interface carries (UDP to other ports, ARP). Frames
 * are packed into one buffer with offsets, the shape sendFrames takes.
 */
import { encodeBeacon } from '../../src/protocol/beacon';
import type { FernetKeyObjects } from '../../src/protocol/fernet';

export const GROUP4 = '224.0.0.118';
export const GROUP4_MAC = '01:00:5e:00:00:76';
export const BEACON_PORT = 5240;

export interface Endpoint {
  readonly mac: string;
  readonly ip: string;
}

export interface FramePool {
  readonly data: Uint8Array;
  /** count + 1 entries. */
  readonly offsets: Uint32Array;
  readonly count: number;
}

function mac(s: string): Buffer {
  return Buffer.from(s.replace(/:/g, ''), 'hex');
}

function ip4(s: string): Buffer {
  return Buffer.from(s.split('.').map(Number));
}

function ipv4Checksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Ethernet II / IPv4 (DF, TTL 1, correct header checksum) / UDP (checksum 0, allowed for IPv4). */
export function udpFrame(src: Endpoint, dst: Endpoint, srcPort: number, dstPort: number, payload: Uint8Array): Buffer {
  const f = Buffer.alloc(Math.max(60, 14 + 20 + 8 + payload.length));
  mac(dst.mac).copy(f, 0);
  mac(src.mac).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  const ip = f.subarray(14, 34);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + payload.length, 2);
  ip.writeUInt16BE(0x4000, 6);
  ip[8] = 1;
  ip[9] = 17;
  ip4(src.ip).copy(ip, 12);
  ip4(dst.ip).copy(ip, 16);
  ip.writeUInt16BE(ipv4Checksum(ip), 10);
  f.writeUInt16BE(srcPort, 34);
  f.writeUInt16BE(dstPort, 36);
  f.writeUInt16BE(8 + payload.length, 38);
  f.set(payload, 42);
  return f;
}

/** A broadcast ARP request: who has `target`, tell `src`. */
export function arpRequest(src: Endpoint, target: string): Buffer {
  const f = Buffer.alloc(60);
  mac('ff:ff:ff:ff:ff:ff').copy(f, 0);
  mac(src.mac).copy(f, 6);
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14); // Ethernet
  f.writeUInt16BE(0x0800, 16); // IPv4
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20); // request
  mac(src.mac).copy(f, 22);
  ip4(src.ip).copy(f, 28);
  ip4(target).copy(f, 38);
  return f;
}

export function pack(frames: readonly Uint8Array[]): FramePool {
  const offsets = new Uint32Array(frames.length + 1);
  let total = 0;
  frames.forEach((f, i) => {
    offsets[i] = total;
    total += f.length;
  });
  offsets[frames.length] = total;
  const data = new Uint8Array(total);
  frames.forEach((f, i) => data.set(f, offsets[i]));
  return { data, offsets, count: frames.length };
}

/**
 * `count` valid multicast solicitations stamped `nowMs`, each with its own
 * ULID, from `src` to the IPv4 group, port 5240 to 5240, carrying `remote`.
 */
export function beaconFrames(keys: FernetKeyObjects, src: Endpoint, count: number, nowMs: number, remote: Record<string, unknown>): FramePool {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const { bytes } = encodeBeacon(keys, 'solicitation', { remote }, { nowMs });
    frames.push(udpFrame(src, { mac: GROUP4_MAC, ip: GROUP4 }, BEACON_PORT, BEACON_PORT, bytes));
  }
  return pack(frames);
}

/**
 * `count` valid advertisements stamped `nowMs`, each with its own ULID,
 * round-robin over `targets`: frame k goes to target k mod N's MAC (to the
 * IPv4 group's address, so that no IP stack answers or queues it) and
 * names peer interface "peer<k mod N>", as N peers, one on each segment,
 * would send.
 */
export function spreadFrames(keys: FernetKeyObjects, src: Endpoint, targets: ReadonlyArray<{ mac: string }>, count: number, nowMs: number): FramePool {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const t = i % targets.length;
    const remote = { name: `peer${t}`, mac_address: src.mac, type: 'physical', parents: [], subnet: null };
    const { bytes } = encodeBeacon(keys, 'advertisement', { remote }, { nowMs });
    frames.push(udpFrame(src, { mac: targets[t]!.mac, ip: GROUP4 }, BEACON_PORT, BEACON_PORT, bytes));
  }
  return pack(frames);
}

/**
 * Background traffic for a busy interface, minimum-size frames, as a busy
 * access port carries it: one in ten a broadcast ARP request for an
 * address nobody has; one in ten a UDP datagram to `dst` itself on a port
 * other than 5240 (from many source ports); the rest UDP datagrams between
 * other hosts (unicast to MACs that are not `dst`'s, which a switch floods
 * while it has not learnt them). Every frame reaches the capture's socket
 * and its BPF filter; none is a beacon.
 */
export function backgroundFrames(src: Endpoint, dst: Endpoint, count: number): FramePool {
  const frames: Buffer[] = [];
  const payload = Buffer.alloc(18, 0x42);
  const subnet = dst.ip.split('.').slice(0, 3).join('.');
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9) {
      frames.push(arpRequest(src, `${subnet}.${200 + (i % 50)}`));
      continue;
    }
    let dport = 1024 + ((i * 7919) % 60000);
    if (dport === BEACON_PORT) dport++;
    const to =
      i % 10 === 0
        ? dst
        : {
            mac: `02:6f:74:68:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`,
            ip: `${subnet}.${100 + (i % 90)}`,
          };
    frames.push(udpFrame(src, to, 10000 + (i % 5000), dport, payload));
  }
  return pack(frames);
}

/**
 * One multicast solicitation from a peer interface named `name` (MAC
 * 02:..:n), for the latency probes: a name the agent has not seen yields a
 * new on_remote_network hint.
 */
export function probeFrame(keys: FernetKeyObjects, src: Endpoint, name: string, n: number, nowMs: number): Buffer {
  const macAddress = `02:6e:62:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  const remote = { name, mac_address: macAddress, type: 'physical', parents: [], subnet: null };
  const { bytes } = encodeBeacon(keys, 'solicitation', { remote }, { nowMs });
  return udpFrame(src, { mac: GROUP4_MAC, ip: GROUP4 }, BEACON_PORT, BEACON_PORT, bytes);
}
