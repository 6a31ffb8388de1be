/**
 * Capture writers for tests: build classic pcap and pcapng files from
 * frames, so that the readers are tested on every variant (byte orders,
 * resolutions, several interfaces) without binary fixtures. Written from the
 * format descriptions, independently of src/capture/pcap.ts.
 */

export interface PcapRecord {
  /** Seconds since the epoch. */
  readonly time: number;
  readonly data: Uint8Array;
  /** Defaults to data.length. */
  readonly wireLength?: number;
}

export interface PcapOptions {
  readonly nanosecond?: boolean;
  readonly bigEndian?: boolean;
  readonly snaplen?: number;
  readonly linkType?: number;
  /** Overrides the major version (to test its check). */
  readonly versionMajor?: number;
}

/** Writes integers in one byte order into a growing list of parts. */
class Out {
  private readonly parts: Buffer[] = [];
  constructor(private readonly bigEndian: boolean) {}

  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u16(v: number): this {
    const b = Buffer.alloc(2);
    if (this.bigEndian) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    if (this.bigEndian) b.writeBigUInt64BE(v);
    else b.writeBigUInt64LE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array): this {
    this.parts.push(Buffer.from(v));
    return this;
  }
  /** Zero bytes up to the next multiple of 4. */
  pad4(): this {
    const n = this.length % 4;
    if (n !== 0) this.parts.push(Buffer.alloc(4 - n));
    return this;
  }
  get length(): number {
    return this.parts.reduce((sum, p) => sum + p.length, 0);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Splits a time into whole seconds and ticks of 1/ticksPerSecond, exactly for times that are binary fractions. */
function ticks(time: number, ticksPerSecond: bigint): bigint {
  const seconds = Math.floor(time);
  return BigInt(seconds) * ticksPerSecond + BigInt(Math.round((time - seconds) * Number(ticksPerSecond)));
}

export function writePcap(records: readonly PcapRecord[], opts: PcapOptions = {}): Buffer {
  const out = new Out(opts.bigEndian ?? false);
  out
    .u32(opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(opts.versionMajor ?? 2)
    .u16(4)
    .u32(0) // thiszone
    .u32(0) // sigfigs
    .u32(opts.snaplen ?? 262144)
    .u32(opts.linkType ?? 1);
  const perSecond = opts.nanosecond ? 1_000_000_000n : 1_000_000n;
  for (const r of records) {
    const t = ticks(r.time, perSecond);
    out
      .u32(Number(t / perSecond))
      .u32(Number(t % perSecond))
      .u32(r.data.length)
      .u32(r.wireLength ?? r.data.length)
      .bytes(r.data);
  }
  return out.done();
}

export interface NgInterface {
  readonly linkType?: number;
  readonly snaplen?: number;
  readonly name?: string;
  /** The raw if_tsresol byte: 6 = µs, 9 = ns, 0x80 | n = 2^-n s. Omitted: no option (µs). */
  readonly tsresol?: number;
}

export type NgPacket =
  | { readonly interfaceId: number; readonly time: number; readonly data: Uint8Array; readonly wireLength?: number }
  /** A Simple Packet Block: interface 0, no timestamp. */
  | { readonly simple: true; readonly data: Uint8Array; readonly wireLength?: number };

export interface NgSection {
  readonly bigEndian?: boolean;
  readonly interfaces: readonly NgInterface[];
  readonly packets: readonly NgPacket[];
  /** Blocks of these types (with a 4-byte body) are written before the packets: readers must skip them. */
  readonly otherBlocks?: readonly number[];
}

export const SHB = 0x0a0d0d0a;
export const IDB = 1;
export const SPB = 3;
export const EPB = 6;

/** One block: type, total length, body padded to 4, total length. */
export function ngBlock(type: number, body: Uint8Array, bigEndian = false): Buffer {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  return new Out(bigEndian)
    .u32(type)
    .u32(total)
    .bytes(body)
    .bytes(new Uint8Array(padded - body.length))
    .u32(total)
    .done();
}

export function shbBody(bigEndian = false, major = 1): Buffer {
  return new Out(bigEndian).u32(0x1a2b3c4d).u16(major).u16(0).u64(0xffffffffffffffffn).done();
}

export function idbBody(iface: NgInterface, bigEndian = false): Buffer {
  const out = new Out(bigEndian)
    .u16(iface.linkType ?? 1)
    .u16(0)
    .u32(iface.snaplen ?? 0);
  if (iface.name !== undefined) {
    const name = Buffer.from(iface.name, 'utf8');
    out.u16(2).u16(name.length).bytes(name).pad4();
  }
  if (iface.tsresol !== undefined) out.u16(9).u16(1).u8(iface.tsresol).pad4();
  if (iface.name !== undefined || iface.tsresol !== undefined) out.u16(0).u16(0);
  return out.done();
}

function ticksPerSecond(iface: NgInterface): bigint {
  const r = iface.tsresol ?? 6;
  return r & 0x80 ? 2n ** BigInt(r & 0x7f) : 10n ** BigInt(r);
}

export function epbBody(interfaceId: number, ticksValue: bigint, data: Uint8Array, wireLength: number, bigEndian = false): Buffer {
  return new Out(bigEndian)
    .u32(interfaceId)
    .u32(Number(ticksValue >> 32n))
    .u32(Number(ticksValue & 0xffffffffn))
    .u32(data.length)
    .u32(wireLength)
    .bytes(data)
    .pad4()
    .done();
}

export function spbBody(data: Uint8Array, wireLength: number, bigEndian = false): Buffer {
  return new Out(bigEndian).u32(wireLength).bytes(data).pad4().done();
}

export function writePcapng(sections: readonly NgSection[]): Buffer {
  const blocks: Buffer[] = [];
  for (const s of sections) {
    const be = s.bigEndian ?? false;
    blocks.push(ngBlock(SHB, shbBody(be), be));
    for (const iface of s.interfaces) blocks.push(ngBlock(IDB, idbBody(iface, be), be));
    for (const type of s.otherBlocks ?? []) blocks.push(ngBlock(type, new Uint8Array([1, 2, 3, 4]), be));
    for (const p of s.packets) {
      const wire = p.wireLength ?? p.data.length;
      if ('simple' in p) {
        blocks.push(ngBlock(SPB, spbBody(p.data, wire, be), be));
      } else {
        const iface = s.interfaces[p.interfaceId]!;
        blocks.push(ngBlock(EPB, epbBody(p.interfaceId, ticks(p.time, ticksPerSecond(iface)), p.data, wire, be), be));
      }
    }
  }
  return Buffer.concat(blocks);
}
