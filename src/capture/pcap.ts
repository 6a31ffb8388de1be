/**
 * Incremental reader of classic pcap and pcapng captures. Pure: bytes go in
 * (in chunks of any size, down to one byte), packets come out; the file or
 * pipe is someone else's business (see file.ts). Only Ethernet captures are
 * accepted, because beacons are identified by their Ethernet/IP/UDP headers.
 *
 * Whole packets are never lost to a later fault: push() returns every packet
 * before the bad record and throws only on the next call (or at end()).
 */
import { CaptureError } from '../errors';
import type { CapturedPacket } from '../protocol/packet';

export type CaptureFormat = 'pcap' | 'pcapng';

/** Largest packet accepted; anything longer is a corrupt length field, not a frame (tcpdump's default snaplen). */
export const MAX_PACKET_BYTES = 256 * 1024;
/** Largest pcapng block accepted, so that a corrupt length cannot make us buffer the whole input. */
export const MAX_BLOCK_BYTES = 16 * 1024 * 1024;
/**
 * Packets up to a full IP datagram are accepted whatever the snapshot length
 * says: some writers put 0 or a too-small value there (libpcap tolerates
 * them too). Beyond that, a record longer than the snaplen is corrupt.
 */
const SNAPLEN_SLACK = 65535;

const LINKTYPE_ETHERNET = 1;
const LINKTYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'BSD loopback'],
  [101, 'raw IP'],
  [105, 'IEEE 802.11'],
  [113, 'Linux cooked capture (SLL), as made by capturing on "any"'],
  [127, 'IEEE 802.11 radiotap'],
  [228, 'raw IPv4'],
  [229, 'raw IPv6'],
  [239, 'Linux netfilter log (NFLOG)'],
  [276, 'Linux cooked capture v2 (SLL2), as made by capturing on "any"'],
]);

/**
 * Decodes one format, one record (or block) at a time, from a window of
 * buffered bytes. The parser owns buffering and offsets; readers own meaning.
 */
interface RecordReader {
  readonly format: CaptureFormat;
  /**
   * Decodes the record that starts at bytes[pos] (absolute file offset
   * `offset`), appending any packet to `out`. Returns the record's length,
   * or 0 when bytes[pos..end) does not hold all of it yet.
   */
  next(bytes: Uint8Array, pos: number, end: number, offset: number, out: CapturedPacket[]): number;
  /** Names the record that starts at bytes[pos] and cannot be completed, for the truncation message. */
  describeCut(bytes: Uint8Array, pos: number, end: number): string;
}

export class CaptureParser {
  private reader: RecordReader | undefined;

  /**
   * transient: packets may be views of the chunk given to push(), valid
   * only until the caller changes or reuses that chunk (observe copies
   * each batch into its own frame buffer at once, and then reads the next
   * chunk into the same memory). Packets completed from bytes carried over
   * between chunks are still copies. Default: every packet is a copy.
   */
  constructor(private readonly options: { readonly transient?: boolean } = {}) {}
  /**
   * Bytes of an incomplete record carried over from earlier chunks; only
   * [0, pendingLength) is meaningful. Kept between records, so it holds at
   * most twice the largest record seen (512 KiB for packets).
   */
  private pending = new Uint8Array(0);
  private pendingLength = 0;
  /** Absolute offset of the first byte not yet consumed. */
  private consumed = 0;
  private delivered = 0;
  /** A fault found after some packets of a push() had been decoded: thrown by the next call. */
  private failure: CaptureError | undefined;
  private ended = false;

  get format(): CaptureFormat | undefined {
    return this.reader?.format;
  }

  /** Whole packets returned so far. */
  get packetsRead(): number {
    return this.delivered;
  }

  /** Bytes decoded so far (the offset of the first incomplete record). */
  get bytesRead(): number {
    return this.consumed;
  }

  /** Feeds the next bytes of the capture; returns the packets they complete. */
  push(chunk: Uint8Array): CapturedPacket[] {
    this.checkUsable();
    const out: CapturedPacket[] = [];
    let bytes = chunk;
    let end = chunk.length;
    if (this.pendingLength > 0) {
      this.append(chunk);
      bytes = this.pending;
      end = this.pendingLength;
    }
    let pos = 0;
    // Views only into the caller's chunk: the carried-over bytes are moved by keep() below.
    viewsOf = this.options.transient === true && bytes === chunk ? chunk : undefined;
    try {
      for (let used = this.step(bytes, pos, end, out); used > 0; used = this.step(bytes, pos, end, out)) {
        pos += used;
        this.consumed += used;
      }
    } catch (err) {
      if (!(err instanceof CaptureError)) throw err;
      // The packets before the fault go out now; the fault waits for the next call.
      this.failure = err;
      if (out.length === 0) throw err;
    } finally {
      viewsOf = undefined;
    }
    this.delivered += out.length;
    this.keep(bytes, pos, end);
    return out;
  }

  /** Declares the input complete; throws if it ended inside a record or was never a capture. */
  end(): void {
    this.checkUsable();
    this.ended = true;
    if (this.reader === undefined) {
      throw new CaptureError(
        'E_CAPTURE_FORMAT',
        this.pendingLength === 0
          ? 'empty capture: the input holds no bytes'
          : `not a capture: the input is only ${this.pendingLength} byte(s), too short for a magic number`,
      );
    }
    if (this.pendingLength > 0) {
      const what = this.reader.describeCut(this.pending, 0, this.pendingLength);
      throw new CaptureError(
        'E_CAPTURE_TRUNCATED',
        `capture is truncated: ${this.delivered} whole packet(s) read; ${what} at byte offset ${this.consumed} is cut off`,
      );
    }
  }

  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.ended) throw new Error('CaptureParser: used after end()');
  }

  private step(bytes: Uint8Array, pos: number, end: number, out: CapturedPacket[]): number {
    if (this.reader === undefined) {
      if (end - pos < 4) return 0;
      this.reader = detectFormat(bytes, pos);
    }
    return pos < end ? this.reader.next(bytes, pos, end, this.consumed, out) : 0;
  }

  /** Appends with doubling, so a record arriving a byte at a time costs linear time. */
  private append(chunk: Uint8Array): void {
    const needed = this.pendingLength + chunk.length;
    if (needed > this.pending.length) {
      const grown = new Uint8Array(Math.max(needed, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(chunk, this.pendingLength);
    this.pendingLength = needed;
  }

  /**
   * Keeps the incomplete tail. It is always part of one record, and any
   * bytes it carried over from before this push() were not consumed, so the
   * move costs at most this chunk's length.
   */
  private keep(bytes: Uint8Array, pos: number, end: number): void {
    if (bytes === this.pending) {
      this.pending.copyWithin(0, pos, end);
      this.pendingLength = end - pos;
    } else {
      this.pendingLength = 0;
      this.append(bytes.subarray(pos, end));
    }
  }
}

function detectFormat(bytes: Uint8Array, pos: number): RecordReader {
  switch (be32(bytes, pos)) {
    case 0xa1b2c3d4:
      return new PcapReader(false, 1e6);
    case 0xd4c3b2a1:
      return new PcapReader(true, 1e6);
    case 0xa1b23c4d:
      return new PcapReader(false, 1e9);
    case 0x4d3cb2a1:
      return new PcapReader(true, 1e9);
    case PCAPNG_SHB:
      return new PcapngReader();
    default: {
      const hex = Array.from(bytes.subarray(pos, pos + 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new CaptureError('E_CAPTURE_FORMAT', `not a pcap or pcapng capture: unknown magic number ${hex} at byte offset 0`);
    }
  }
}

// ---------------------------------------------------------------------------
// Classic pcap: a 24-byte file header, then 16-byte record headers each
// followed by incl_len bytes of frame.

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

class PcapReader implements RecordReader {
  readonly format = 'pcap';
  private snaplen = -1; // -1 until the file header has been read
  private records = 0;

  constructor(
    private readonly littleEndian: boolean,
    private readonly fractionsPerSecond: number,
  ) {}

  next(bytes: Uint8Array, pos: number, end: number, offset: number, out: CapturedPacket[]): number {
    return this.snaplen < 0 ? this.fileHeader(bytes, pos, end) : this.record(bytes, pos, end, offset, out);
  }

  describeCut(bytes: Uint8Array, pos: number, end: number): string {
    if (this.snaplen < 0) return `the file header (${end - pos} of ${PCAP_FILE_HEADER} bytes present)`;
    const needed = end - pos < PCAP_RECORD_HEADER ? PCAP_RECORD_HEADER : PCAP_RECORD_HEADER + this.u32(bytes, pos + 8);
    return `record ${this.records + 1} (${end - pos} of ${needed} bytes present)`;
  }

  private fileHeader(bytes: Uint8Array, pos: number, end: number): number {
    if (end - pos < PCAP_FILE_HEADER) return 0;
    const major = this.u16(bytes, pos + 4);
    if (major !== 2) {
      throw new CaptureError('E_CAPTURE_FORMAT', `pcap file header at byte offset 0 has version ${major}.${this.u16(bytes, pos + 6)}; only 2.x is known`);
    }
    // The top bits of the link type field may carry FCS information (as in libpcap's LT_LINKTYPE).
    const linkType = this.u32(bytes, pos + 20) & 0x03ffffff;
    if (linkType !== LINKTYPE_ETHERNET) {
      throw new CaptureError('E_CAPTURE_LINKTYPE', `pcap capture has link type ${linkTypeName(linkType)}; only Ethernet (link type 1) captures can be read`);
    }
    this.snaplen = this.u32(bytes, pos + 16);
    return PCAP_FILE_HEADER;
  }

  private record(bytes: Uint8Array, pos: number, end: number, offset: number, out: CapturedPacket[]): number {
    if (end - pos < PCAP_RECORD_HEADER) return 0;
    const capturedLength = this.u32(bytes, pos + 8);
    if (capturedLength > capturedLengthLimit(this.snaplen)) {
      throw implausibleLength(`record ${this.records + 1} at byte offset ${offset}`, capturedLength, this.snaplen);
    }
    const length = PCAP_RECORD_HEADER + capturedLength;
    if (end - pos < length) return 0;
    const seconds = this.u32(bytes, pos);
    const fraction = this.u32(bytes, pos + 4);
    out.push({
      time: seconds + fraction / this.fractionsPerSecond,
      data: copyOut(bytes, pos + PCAP_RECORD_HEADER, capturedLength),
      wireLength: this.u32(bytes, pos + 12),
    });
    this.records++;
    return length;
  }

  private u16(bytes: Uint8Array, pos: number): number {
    return this.littleEndian ? le16(bytes, pos) : be16(bytes, pos);
  }

  private u32(bytes: Uint8Array, pos: number): number {
    return this.littleEndian ? le32(bytes, pos) : be32(bytes, pos);
  }
}

// ---------------------------------------------------------------------------
// pcapng: a sequence of blocks (type, total length, body, total length
// again). A Section Header Block starts each section, sets its byte order and
// empties the interface table; Interface Description Blocks then number the
// interfaces that packet blocks refer to.

const PCAPNG_SHB = 0x0a0d0d0a; // the same in both byte orders, on purpose
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

class PcapngReader implements RecordReader {
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

// ---------------------------------------------------------------------------
// Shared helpers

/**
 * The longest captured length believed for a record (snapshot length 0
 * means "not set"). Anything longer is a corrupt length field: reading on
 * would misframe every later record.
 */
function capturedLengthLimit(snaplen: number): number {
  return snaplen === 0 ? MAX_PACKET_BYTES : Math.min(MAX_PACKET_BYTES, Math.max(snaplen, SNAPLEN_SLACK));
}

function implausibleLength(where: string, length: number, snaplen: number): CaptureError {
  return new CaptureError(
    'E_CAPTURE_FORMAT',
    `${where} claims ${length} captured bytes; at most ${capturedLengthLimit(snaplen)} are plausible (snapshot length ${snaplen}, hard limit ${MAX_PACKET_BYTES})`,
  );
}

function linkTypeName(linkType: number): string {
  const name = LINKTYPE_NAMES.get(linkType);
  return name === undefined ? `${linkType}` : `${linkType} (${name})`;
}

/**
 * A 64-bit tick count to seconds. Long division in base 2^16 keeps every
 * intermediate value exact for up to 2^37 ticks a second (nanoseconds
 * included), so the fraction is not rounded through a 64-bit tick count
 * that a double cannot hold; finer resolutions lose only sub-tick precision.
 */
function ticksToSeconds(high: number, low: number, ticksPerSecond: number): number {
  let quotient = 0;
  let remainder = 0;
  for (let i = 0; i < 4; i++) {
    const word = i < 2 ? high : low;
    const digit = i % 2 === 0 ? word >>> 16 : word & 0xffff;
    const current = remainder * 65536 + digit;
    const q = Math.floor(current / ticksPerSecond);
    quotient = quotient * 65536 + q;
    remainder = current - q * ticksPerSecond;
  }
  return quotient + remainder / ticksPerSecond;
}

/**
 * A copy, so that packets never alias a buffer that the parser or the
 * caller reuses. Copies go back to back into append-only arenas of 64 KiB:
 * one allocation per few hundred packets instead of one each (an
 * ArrayBuffer apiece was a tenth of `observe --input-file`'s time, in
 * malloc, free and V8's buffer sweeping). Arena bytes are never written
 * twice; a packet kept alive keeps at most its arena.
 */
const ARENA_BYTES = 64 * 1024;
let arena = new Uint8Array(0);
let arenaUsed = 0;
/** Set by a transient parser during push(): the chunk its packets may be views of. */
let viewsOf: Uint8Array | undefined;

function copyOut(bytes: Uint8Array, start: number, length: number): Uint8Array {
  if (bytes === viewsOf) return bytes.subarray(start, start + length);
  if (arena.length - arenaUsed < length) {
    arena = new Uint8Array(Math.max(ARENA_BYTES, length));
    arenaUsed = 0;
  }
  const view = arena.subarray(arenaUsed, arenaUsed + length);
  view.set(bytes.subarray(start, start + length));
  arenaUsed += length;
  return view;
}

function pad4(length: number): number {
  return (length + 3) & ~3;
}

function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function le16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
