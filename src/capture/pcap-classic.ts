/**
 * Classic pcap (libpcap's format), microsecond or nanosecond, either byte
 * order: one record at a time, for the incremental parser (pcap.ts).
 */
import { CaptureError } from '../errors';
import type { CapturedPacket } from '../protocol/packet';
import { be16, be32, capturedLengthLimit, copyOut, implausibleLength, le16, le32, LINKTYPE_ETHERNET, linkTypeName, type RecordReader } from './pcap-common';

// Classic pcap: a 24-byte file header, then 16-byte record headers each
// followed by incl_len bytes of frame.

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

export class PcapReader implements RecordReader {
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
