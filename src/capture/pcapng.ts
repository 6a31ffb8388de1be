/**
 * pcapng, either byte order, several sections and interfaces: one block at
 * a time, for the incremental parser (pcap.ts).
 */
import { CaptureError } from '../errors';
import type { CapturedPacket } from '../protocol/packet';
import {
  be16,
  be32,
  capturedLengthLimit,
  copyOut,
  implausibleLength,
  le16,
  le32,
  LINKTYPE_ETHERNET,
  linkTypeName,
  MAX_BLOCK_BYTES,
  pad4,
  ticksToSeconds,
  type RecordReader,
} from './pcap-common';

// pcapng: a sequence of blocks (type, total length, body, total length
// again). A Section Header Block starts each section, sets its byte order and
// empties the interface table; Interface Description Blocks then number the
// interfaces that packet blocks refer to.

export const PCAPNG_SHB = 0x0a0d0d0a; // the same in both byte orders, on purpose
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const BLOCK_OVERHEAD = 12; // type, total length, trailing total length
const OPT_ENDOFOPT = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;

interface PcapngInterface {
  readonly linkType: number;
  readonly snaplen: number;
  readonly name: string | undefined;
  /** Timestamp ticks per second (if_tsresol; microseconds by default). */
  readonly ticksPerSecond: number;
}

/** The block being decoded. */
interface Block {
  readonly type: number;
  /** 1-based position in the file and absolute byte offset, for messages. */
  readonly index: number;
  readonly offset: number;
  /** The body's bounds in the window (between the total length fields). */
  readonly body: number;
  readonly bodyEnd: number;
}

/** "block 7 (enhanced packet) at byte offset 1234": built only when something is wrong. */
function blockLabel(block: Block): string {
  return `block ${block.index} (${blockName(block.type)}) at byte offset ${block.offset}`;
}

const utf8 = new TextDecoder('utf-8');

export class PcapngReader implements RecordReader {
  readonly format = 'pcapng';
  private littleEndian = true;
  private interfaces: PcapngInterface[] = [];
  private blocks = 0;
  /**
   * Simple Packet Blocks carry no timestamp; they get the time of the packet
   * before them (0 for the first), which keeps times monotonic for the
   * beacon-age checks downstream.
   */
  private lastTime = 0;

  next(bytes: Uint8Array, pos: number, end: number, offset: number, out: CapturedPacket[]): number {
    if (!this.headerComplete(bytes, pos, end)) return 0;
    if (be32(bytes, pos) === PCAPNG_SHB) this.littleEndian = sectionByteOrder(bytes, pos, offset);
    const length = this.u32(bytes, pos + 4);
    const block: Block = { type: this.u32(bytes, pos), index: this.blocks + 1, offset, body: pos + 8, bodyEnd: pos + length - 4 };
    if (length < BLOCK_OVERHEAD || length % 4 !== 0 || length > MAX_BLOCK_BYTES) {
      throw new CaptureError(
        'E_CAPTURE_FORMAT',
        `${blockLabel(block)} has total length ${length}; it must be a multiple of 4 between ${BLOCK_OVERHEAD} and ${MAX_BLOCK_BYTES}`,
      );
    }
    if (end - pos < length) return 0;
    const trailer = this.u32(bytes, pos + length - 4);
    if (trailer !== length) {
      throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(block)} has total length ${length} but its trailing copy says ${trailer}`);
    }
    this.decode(bytes, block, out);
    this.blocks++;
    return length;
  }

  describeCut(bytes: Uint8Array, pos: number, end: number): string {
    const have = end - pos;
    if (!this.headerComplete(bytes, pos, end)) return `block ${this.blocks + 1} (only ${have} bytes of its header present)`;
    return `block ${this.blocks + 1} (${have} of ${this.u32(bytes, pos + 4)} bytes present)`;
  }

  /** Type and length are readable; a section header's length only once its byte-order magic is there too. */
  private headerComplete(bytes: Uint8Array, pos: number, end: number): boolean {
    return end - pos >= 8 && (end - pos >= 12 || be32(bytes, pos) !== PCAPNG_SHB);
  }

  private decode(bytes: Uint8Array, ctx: Block, out: CapturedPacket[]): void {
    switch (ctx.type) {
      case PCAPNG_SHB:
        return this.sectionHeader(bytes, ctx);
      case BLOCK_IDB:
        return this.interfaceDescription(bytes, ctx);
      case BLOCK_EPB:
        return this.enhancedPacket(bytes, ctx, out);
      case BLOCK_SPB:
        return this.simplePacket(bytes, ctx, out);
      default:
        return; // statistics, name resolution, custom...: nothing a beacon reader needs
    }
  }

  private sectionHeader(bytes: Uint8Array, ctx: Block): void {
    requireBody(ctx, 16);
    const major = this.u16(bytes, ctx.body + 4);
    if (major !== 1) {
      throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(ctx)} has pcapng version ${major}.${this.u16(bytes, ctx.body + 6)}; only 1.x is known`);
    }
    this.interfaces = [];
  }

  private interfaceDescription(bytes: Uint8Array, ctx: Block): void {
    requireBody(ctx, 8);
    let name: string | undefined;
    let ticksPerSecond = 1e6;
    for (let pos = ctx.body + 8; pos + 4 <= ctx.bodyEnd;) {
      const code = this.u16(bytes, pos);
      const length = this.u16(bytes, pos + 2);
      const value = pos + 4;
      if (code === OPT_ENDOFOPT) break;
      if (value + length > ctx.bodyEnd) {
        throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(ctx)}: option ${code} (${length} bytes) runs past the end of the block`);
      }
      if (code === OPT_IF_NAME) name = utf8.decode(bytes.subarray(value, value + length)).replace(/\0+$/, '');
      if (code === OPT_IF_TSRESOL) ticksPerSecond = tsresol(bytes, value, length, ctx);
      pos = value + pad4(length);
    }
    this.interfaces.push({ linkType: this.u16(bytes, ctx.body), snaplen: this.u32(bytes, ctx.body + 4), name, ticksPerSecond });
  }

  private enhancedPacket(bytes: Uint8Array, ctx: Block, out: CapturedPacket[]): void {
    requireBody(ctx, 20);
    const iface = this.packetInterface(this.u32(bytes, ctx.body), ctx);
    const capturedLength = this.u32(bytes, ctx.body + 12);
    if (capturedLength > capturedLengthLimit(iface.snaplen)) throw implausibleLength(blockLabel(ctx), capturedLength, iface.snaplen);
    requireBody(ctx, 20 + capturedLength, `${capturedLength} captured bytes`);
    const time = ticksToSeconds(this.u32(bytes, ctx.body + 4), this.u32(bytes, ctx.body + 8), iface.ticksPerSecond);
    this.emit(out, iface, time, copyOut(bytes, ctx.body + 20, capturedLength), this.u32(bytes, ctx.body + 16));
  }

  /** The captured length is implicit: the original length, cut to interface 0's snaplen. */
  private simplePacket(bytes: Uint8Array, ctx: Block, out: CapturedPacket[]): void {
    requireBody(ctx, 4);
    const iface = this.packetInterface(0, ctx);
    const wireLength = this.u32(bytes, ctx.body);
    const capturedLength = iface.snaplen === 0 ? wireLength : Math.min(wireLength, iface.snaplen);
    if (capturedLength > capturedLengthLimit(iface.snaplen)) throw implausibleLength(blockLabel(ctx), capturedLength, iface.snaplen);
    requireBody(ctx, 4 + capturedLength, `${capturedLength} captured bytes`);
    this.emit(out, iface, this.lastTime, copyOut(bytes, ctx.body + 4, capturedLength), wireLength);
  }

  /**
   * Link types are checked per packet, not per IDB: a capture may describe
   * interfaces of other types (say, a loopback) that carry no packet, and
   * those do no harm.
   */
  private packetInterface(id: number, ctx: Block): PcapngInterface {
    const iface = this.interfaces[id];
    if (iface === undefined) {
      throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(ctx)} refers to interface ${id}, but its section describes ${this.interfaces.length}`);
    }
    if (iface.linkType !== LINKTYPE_ETHERNET) {
      const named = iface.name === undefined ? '' : ` (${iface.name})`;
      throw new CaptureError(
        'E_CAPTURE_LINKTYPE',
        `${blockLabel(ctx)} is a packet on interface ${id}${named} of link type ${linkTypeName(iface.linkType)}; only Ethernet (link type 1) can be read`,
      );
    }
    return iface;
  }

  private emit(out: CapturedPacket[], iface: PcapngInterface, time: number, data: Uint8Array, wireLength: number): void {
    this.lastTime = time;
    out.push(iface.name === undefined ? { time, data, wireLength } : { time, data, wireLength, interface: iface.name });
  }

  private u16(bytes: Uint8Array, pos: number): number {
    return this.littleEndian ? le16(bytes, pos) : be16(bytes, pos);
  }

  private u32(bytes: Uint8Array, pos: number): number {
    return this.littleEndian ? le32(bytes, pos) : be32(bytes, pos);
  }
}

/** A section's byte order is whatever makes its byte-order magic read 0x1a2b3c4d. */
function sectionByteOrder(bytes: Uint8Array, pos: number, offset: number): boolean {
  const magic = be32(bytes, pos + 8);
  if (magic === PCAPNG_BYTE_ORDER_MAGIC) return false;
  if (le32(bytes, pos + 8) === PCAPNG_BYTE_ORDER_MAGIC) return true;
  throw new CaptureError(
    'E_CAPTURE_FORMAT',
    `section header block at byte offset ${offset} has byte-order magic 0x${magic.toString(16).padStart(8, '0')}, not 0x1a2b3c4d in either byte order`,
  );
}

/** if_tsresol: the low 7 bits are an exponent of 10, or of 2 when the top bit is set. */
function tsresol(bytes: Uint8Array, value: number, length: number, ctx: Block): number {
  if (length !== 1) throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(ctx)}: if_tsresol option is ${length} bytes long, not 1`);
  const raw = bytes[value]!;
  return (raw & 0x80) === 0 ? 10 ** raw : 2 ** (raw & 0x7f);
}

function requireBody(ctx: Block, bytes: number, what = 'its fixed fields'): void {
  if (ctx.bodyEnd - ctx.body < bytes) {
    throw new CaptureError('E_CAPTURE_FORMAT', `${blockLabel(ctx)} is too short for ${what}: ${ctx.bodyEnd - ctx.body} body bytes, ${bytes} needed`);
  }
}

function blockName(type: number): string {
  switch (type) {
    case PCAPNG_SHB:
      return 'section header';
    case BLOCK_IDB:
      return 'interface description';
    case BLOCK_SPB:
      return 'simple packet';
    case BLOCK_EPB:
      return 'enhanced packet';
    default:
      return `type 0x${type.toString(16).padStart(8, '0')}`;
  }
}
