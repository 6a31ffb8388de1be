/** Builders for hand-made Ethernet frames (tests only; no checksums, which nothing here checks). */

export interface Tag {
  readonly tpid: number;
  readonly tci: number;
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.replace(/:/g, ''), 'hex');
}

export function ethernet(dst: string, src: string, tags: readonly Tag[], ethertype: number, payload: Uint8Array): Buffer {
  const parts: Buffer[] = [macBytes(dst), macBytes(src)];
  for (const t of tags) {
    const b = Buffer.alloc(4);
    b.writeUInt16BE(t.tpid, 0);
    b.writeUInt16BE(t.tci, 2);
    parts.push(b);
  }
  const type = Buffer.alloc(2);
  type.writeUInt16BE(ethertype, 0);
  parts.push(type, Buffer.from(payload));
  return Buffer.concat(parts);
}

export function udp(srcPort: number, dstPort: number, payload: Uint8Array): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(srcPort, 0);
  h.writeUInt16BE(dstPort, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, Buffer.from(payload)]);
}

export interface Ipv4Options {
  readonly proto?: number;
  /** Flags and fragment offset word (0x2000 = MF, low 13 bits = offset). */
  readonly frag?: number;
  /** IP options (a multiple of 4 bytes). */
  readonly options?: Uint8Array;
}

export function ipv4(src: string, dst: string, payload: Uint8Array, o: Ipv4Options = {}): Buffer {
  const opts = Buffer.from(o.options ?? new Uint8Array(0));
  const h = Buffer.alloc(20 + opts.length);
  h[0] = 0x40 | ((20 + opts.length) / 4);
  h.writeUInt16BE(h.length + payload.length, 2);
  h.writeUInt16BE(o.frag ?? 0x4000, 6);
  h[8] = 1;
  h[9] = o.proto ?? 17;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  opts.copy(h, 20);
  return Buffer.concat([h, Buffer.from(payload)]);
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const b = Buffer.alloc(16);
  all.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  return b;
}

export function ipv6(src: string, dst: string, payload: Uint8Array, nextHeader = 17): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nextHeader;
  h[7] = 1;
  ipv6Bytes(src).copy(h, 8);
  ipv6Bytes(dst).copy(h, 24);
  return Buffer.concat([h, Buffer.from(payload)]);
}

export const GROUP4_MAC = '01:00:5e:00:00:76';
export const GROUP6_MAC = '33:33:00:00:01:5a';

/** An IPv4 beacon frame to the group, optionally tagged. */
export function beaconFrame4(
  src: { mac: string; ip: string },
  payload: Uint8Array,
  tags: readonly Tag[] = [],
  dst = { mac: GROUP4_MAC, ip: '224.0.0.118' },
  srcPort = 5240,
): Buffer {
  return ethernet(dst.mac, src.mac, tags, 0x0800, ipv4(src.ip, dst.ip, udp(srcPort, 5240, payload)));
}

export function beaconFrame6(src: { mac: string; ip: string }, payload: Uint8Array, tags: readonly Tag[] = []): Buffer {
  return ethernet(GROUP6_MAC, src.mac, tags, 0x86dd, ipv6(src.ip, 'ff02::15a', udp(5240, 5240, payload)));
}
