/**
 * The native capture's batch format: one fixed-size little-endian record
 * per UDP/5240 frame, plus a plaintext area holding the BSON of authentic
 * beacons. Mirrors native/capture.h (the layout comment there is the same
 * table); test/unit/capture-record.test.ts checks both agree through the
 * addon's captureRecordLayout().
 *
 *   0 u32 ifindex          4 u32 sec             8 u32 nsec
 *  12 u8  status (reason)  13 u8 version        14 u8 header type
 *  15 u8  flags            16 u16 vid           18 u16 outer vid
 *  20 u16 src port         22 u16 dst port      24 u8[6] src MAC
 *  30 u8[6] dst MAC        36 u8[16] src IP     52 u8[16] dst IP
 *     (IPv4: first 4 bytes)
 *  68 u32 plain offset     72 u32 plain length
 *  76 u16 UDP payload length   78 u16 UDP payload offset in the frame
 *  80 u8  sll_pkttype      81 u8 key index (0 current)
 *  82 u8  key generation   83..87 reserved
 */
import { formatIpv4, formatIpv6, formatMac } from '../protocol/frame';
import type { FrameInfo } from '../protocol/frame-types';
import { decodeItem } from '../engine/decode';
import { type BeaconVerdict } from '../protocol/verdict';
import type { VerifiedBatch } from '../engine/types';

export const RECORD = Object.freeze({
  size: 88,
  ifindex: 0,
  sec: 4,
  nsec: 8,
  status: 12,
  version: 13,
  headerType: 14,
  flags: 15,
  vid: 16,
  outerVid: 18,
  srcPort: 20,
  dstPort: 22,
  srcMac: 24,
  dstMac: 30,
  srcIp: 36,
  dstIp: 52,
  plainOffset: 68,
  plainLength: 72,
  payloadLength: 76,
  payloadOffset: 78,
  pktType: 80,
  keyIndex: 81,
  keyGeneration: 82,
  flagVid: 1,
  flagOuterVid: 2,
  flagIpv6: 4,
  flagStripped: 8,
  flagTruncated: 16,
});

/** sll_pkttype values (linux/if_packet.h). */
export const PACKET_LOOPBACK = 5;

/** One record, decoded: where and when, the frame's fields, and the verdict. */
export interface DecodedRecord {
  readonly ifindex: number;
  readonly time: number;
  readonly frame: FrameInfo;
  readonly verdict: BeaconVerdict;
  /** The kernel's packet type; PACKET_LOOPBACK for our own multicast looped back. */
  readonly pktType: number;
  /**
   * The key whose HMAC matched, as an index into the keys given (0 the
   * current key) in the key generation the worker had; -1 when no HMAC
   * matched (rejected before or at the MAC, or a header with no payload).
   */
  readonly keyIndex: number;
  readonly keyGeneration: number;
}

/** Reasons (native/verify.h) decided after a matching HMAC. */
const AFTER_MAC = new Set([8, 9, 10, 11]); // padding, gzip, size, bson

/**
 * One batch, copied out of the addon's pool (whose memory is reused once
 * the callback returns) and checked once, then decoded a record at a time:
 * a backlog of batches can be worked off in slices, across turns of the
 * event loop, long after the pool slot went back to the worker.
 */
export class RecordBatch {
  readonly count: number;
  readonly #records: Uint8Array;
  readonly #view: DataView;
  readonly #batch: VerifiedBatch;

  constructor(records: Uint8Array, count: number, plain: Uint8Array, plainLength: number) {
    if (!Number.isInteger(count) || count < 0 || count * RECORD.size > records.length || plainLength > plain.length)
      throw new RangeError('capture batch larger than its buffers');
    this.count = count;
    this.#records = records.slice(0, count * RECORD.size);
    this.#view = new DataView(this.#records.buffer, 0, count * RECORD.size);
    const status = new Uint8Array(count);
    const version = new Uint8Array(count);
    const headerType = new Uint8Array(count);
    const plainOffsets = new Uint32Array(count + 1);
    // The worker writes plaintexts back to back in record order, so record
    // i's bytes end where record i+1's begin: the VerifiedBatch offsets shape.
    for (let i = 0; i < count; i++) {
      const at = i * RECORD.size;
      status[i] = this.#records[at + RECORD.status]!;
      version[i] = this.#records[at + RECORD.version]!;
      headerType[i] = this.#records[at + RECORD.headerType]!;
      const off = this.#view.getUint32(at + RECORD.plainOffset, true);
      const len = this.#view.getUint32(at + RECORD.plainLength, true);
      if (off !== plainOffsets[i] || off + len > plainLength) throw new RangeError(`capture record ${i}: plaintext out of order`);
      plainOffsets[i + 1] = off + len;
    }
    this.#batch = { count, status, version, headerType, plain: plain.slice(0, plainLength), plainOffsets };
  }

  /** Record i's interface index, without decoding it (to count what is shed). */
  ifindex(i: number): number {
    return this.#view.getUint32(this.#at(i) + RECORD.ifindex, true);
  }

  decode(i: number): DecodedRecord {
    const at = this.#at(i);
    const records = this.#records;
    const view = this.#view;
    const { status, plainOffsets } = this.#batch;
    return {
      ifindex: view.getUint32(at + RECORD.ifindex, true),
      time: view.getUint32(at + RECORD.sec, true) + view.getUint32(at + RECORD.nsec, true) / 1e9,
      frame: frameOf(records, view, at),
      verdict: decodeItem(this.#batch, i),
      pktType: records[at + RECORD.pktType]!,
      keyIndex: (status[i] === 0 && plainOffsets[i + 1]! > plainOffsets[i]!) || AFTER_MAC.has(status[i]!) ? records[at + RECORD.keyIndex]! : -1,
      keyGeneration: records[at + RECORD.keyGeneration]!,
    };
  }

  #at(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`capture record ${i} is not in a batch of ${this.count}`);
    return i * RECORD.size;
  }
}

/**
 * Decodes `count` records at once. `records` and `plain` are only valid
 * during the call (the addon reuses the memory), so both are copied.
 */
export function decodeRecords(records: Uint8Array, count: number, plain: Uint8Array, plainLength: number): DecodedRecord[] {
  const batch = new RecordBatch(records, count, plain, plainLength);
  const out: DecodedRecord[] = new Array<DecodedRecord>(count);
  for (let i = 0; i < count; i++) out[i] = batch.decode(i);
  return out;
}

/**
 * The text of MACs and IPv4 addresses seen lately, by their bytes: a flood
 * comes from a few senders to one group, so most records would otherwise
 * build the same eleven-piece strings again (and the collector take them
 * away). Direct-mapped, CACHE_SLOTS entries per table, the whole key
 * compared before a text is used; a miss formats and replaces the slot.
 * The texts are formatMac's and formatIpv4's (test/unit/capture-record.test.ts).
 */
const CACHE_SLOTS = 1024;

class TextCache {
  readonly #keys = new Float64Array(CACHE_SLOTS).fill(-1);
  readonly #texts = new Array<string>(CACHE_SLOTS).fill('');
  readonly #format: (bytes: Uint8Array, offset: number) => string;
  readonly #length: number;
  constructor(format: (bytes: Uint8Array, offset: number) => string, length: 4 | 6) {
    this.#format = format;
    this.#length = length;
  }

  text(bytes: Uint8Array, offset: number): string {
    // The bytes as one number (at most 48 bits, exact in a double); the slot from the low ones, which vary most.
    let key = 0;
    for (let i = 0; i < this.#length; i++) key = key * 256 + bytes[offset + i]!;
    const slot = (bytes[offset + this.#length - 1]! ^ (bytes[offset + this.#length - 2]! << 2)) & (CACHE_SLOTS - 1);
    if (this.#keys[slot] === key) return this.#texts[slot]!;
    const text = this.#format(bytes, offset);
    this.#keys[slot] = key;
    this.#texts[slot] = text;
    return text;
  }
}

const macs = new TextCache(formatMac, 6);
const ipv4s = new TextCache(formatIpv4, 4);

/** formatMac and formatIpv4, through the caches (exported for the test). */
export const cachedMac = (bytes: Uint8Array, offset: number): string => macs.text(bytes, offset);
export const cachedIpv4 = (bytes: Uint8Array, offset: number): string => ipv4s.text(bytes, offset);

function frameOf(records: Uint8Array, view: DataView, at: number): FrameInfo {
  const flags = records[at + RECORD.flags]!;
  const v6 = (flags & RECORD.flagIpv6) !== 0;
  const ip = v6 ? formatIpv6 : cachedIpv4;
  const frame: { -readonly [K in keyof FrameInfo]: FrameInfo[K] } = {
    sourceMac: macs.text(records, at + RECORD.srcMac),
    destinationMac: macs.text(records, at + RECORD.dstMac),
    sourceIp: ip(records, at + RECORD.srcIp),
    destinationIp: ip(records, at + RECORD.dstIp),
    sourcePort: view.getUint16(at + RECORD.srcPort, true),
    destinationPort: view.getUint16(at + RECORD.dstPort, true),
    payloadOffset: view.getUint16(at + RECORD.payloadOffset, true),
    payloadLength: view.getUint16(at + RECORD.payloadLength, true),
  };
  // Keys only when tagged, as parseFrame does.
  if (flags & RECORD.flagVid) frame.vid = view.getUint16(at + RECORD.vid, true);
  if (flags & RECORD.flagOuterVid) frame.outerVid = view.getUint16(at + RECORD.outerVid, true);
  return frame;
}
