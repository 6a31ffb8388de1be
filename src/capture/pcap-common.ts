/**
 * What the classic pcap and the pcapng readers share: the reader contract
 * the incremental parser (pcap.ts) drives, the plausibility limits, byte
 * order helpers, and the arena packets are copied into. Pure.
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

export const LINKTYPE_ETHERNET = 1;
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
export interface RecordReader {
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

/**
 * The longest captured length believed for a record (snapshot length 0
 * means "not set"). Anything longer is a corrupt length field: reading on
 * would misframe every later record.
 */
export function capturedLengthLimit(snaplen: number): number {
  return snaplen === 0 ? MAX_PACKET_BYTES : Math.min(MAX_PACKET_BYTES, Math.max(snaplen, SNAPLEN_SLACK));
}

export function implausibleLength(where: string, length: number, snaplen: number): CaptureError {
  return new CaptureError(
    'E_CAPTURE_FORMAT',
    `${where} claims ${length} captured bytes; at most ${capturedLengthLimit(snaplen)} are plausible (snapshot length ${snaplen}, hard limit ${MAX_PACKET_BYTES})`,
  );
}

export function linkTypeName(linkType: number): string {
  const name = LINKTYPE_NAMES.get(linkType);
  return name === undefined ? `${linkType}` : `${linkType} (${name})`;
}

/**
 * A 64-bit tick count to seconds. Long division in base 2^16 keeps every
 * intermediate value exact for up to 2^37 ticks a second (nanoseconds
 * included), so the fraction is not rounded through a 64-bit tick count
 * that a double cannot hold; finer resolutions lose only sub-tick precision.
 */
export function ticksToSeconds(high: number, low: number, ticksPerSecond: number): number {
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

/** A transient parser's push() names its chunk here for the packets it completes, and clears it after. */
export function setTransientChunk(chunk: Uint8Array | undefined): void {
  viewsOf = chunk;
}

export function copyOut(bytes: Uint8Array, start: number, length: number): Uint8Array {
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

export function pad4(length: number): number {
  return (length + 3) & ~3;
}

export function be16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

export function le16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}

export function be32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
