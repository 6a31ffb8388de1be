/**
 * Incremental reader of classic pcap and pcapng captures (the readers of
 * each format are pcap-classic.ts and pcapng.ts). Pure: bytes go in
 * (in chunks of any size, down to one byte), packets come out; the file or
 * pipe is someone else's business (see file.ts). Only Ethernet captures are
 * accepted, because beacons are identified by their Ethernet/IP/UDP headers.
 *
 * Whole packets are never lost to a later fault: push() returns every packet
 * before the bad record and throws only on the next call (or at end()).
 */
import { CaptureError } from '../errors';
import type { CapturedPacket } from '../protocol/packet';
import { PcapReader } from './pcap-classic';
import { be32, setTransientChunk, type CaptureFormat, type RecordReader } from './pcap-common';
import { PCAPNG_SHB, PcapngReader } from './pcapng';

export { MAX_BLOCK_BYTES, MAX_PACKET_BYTES, type CaptureFormat } from './pcap-common';

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
    setTransientChunk(this.options.transient === true && bytes === chunk ? chunk : undefined);
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
      setTransientChunk(undefined);
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
