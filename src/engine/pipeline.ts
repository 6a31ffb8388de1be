/**
 * Captured packets in, observe's JSON lines and counters out: frame
 * parsing, one batch verification per call, then each payload to its line.
 * `observe --input-file` runs exactly this.
 */
import type { CapturedPacket } from '../protocol/packet';
import { parseFrame } from '../protocol/frame';
import type { FrameInfo } from '../protocol/frame-types';
import { observedBeacon, observedLine, plainString } from '../protocol/observe';
import { REASONS, type RejectReason } from '../protocol/reasons';
import { bsonToJson, payloadType } from './bson-json';
import { decodeItem } from './decode';
import type { BatchVerifier, VerifiedBatch } from './types';

export interface ObserveStats {
  /** Packets read from the capture. */
  packets: number;
  /** Packets that were not a UDP datagram to port 5240 (ARP, other ports, malformed IP). */
  notBeacon: number;
  valid: number;
  rejected: Record<RejectReason, number>;
}

export function newStats(): ObserveStats {
  const rejected = Object.fromEntries(REASONS.slice(1).map((r) => [r, 0])) as Record<RejectReason, number>;
  return { packets: 0, notBeacon: 0, valid: 0, rejected };
}

export function totalRejected(stats: ObserveStats): number {
  return Object.values(stats.rejected).reduce((a, b) => a + b, 0);
}

/** Parsed frames, the packets they came from, and one verification of their payloads. */
interface Verified {
  readonly frames: FrameInfo[];
  readonly from: CapturedPacket[];
  readonly verified: VerifiedBatch;
}

function verifyFrames(packets: readonly CapturedPacket[], verifier: BatchVerifier, stats: ObserveStats): Verified {
  stats.packets += packets.length;
  const frames: FrameInfo[] = [];
  const from: CapturedPacket[] = [];
  let bytes = 0;
  for (const p of packets) {
    const f = parseFrame(p.data, p.strippedTci);
    if (!f) {
      stats.notBeacon++;
      continue;
    }
    frames.push(f);
    from.push(p);
    bytes += f.payloadLength;
  }
  const n = frames.length;
  const data = new Uint8Array(bytes);
  const offsets = new Uint32Array(n + 1);
  const now = new Float64Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    const p = from[i]!;
    offsets[i] = at;
    data.set(p.data.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength), at);
    at += f.payloadLength;
    // Each token's age is judged at its own packet's capture time.
    now[i] = p.time;
  }
  offsets[n] = at;
  return { frames, from, verified: verifier.verify({ count: n, data, offsets, now }) };
}

/** A growable output buffer of JSON lines. */
class LineBytes {
  buf: Buffer;
  used = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  /** Room for n more bytes. */
  reserve(n: number): void {
    if (this.buf.length - this.used >= n) return;
    const next = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.used + n));
    this.buf.copy(next, 0, 0, this.used);
    this.buf = next;
  }
  ascii(s: string): void {
    this.reserve(s.length);
    this.used += this.buf.write(s, this.used, 'latin1');
  }
  utf8(s: string): void {
    this.reserve(3 * s.length);
    this.used += this.buf.write(s, this.used, 'utf8');
  }
}

const TYPE_PART: Record<number, string> = { 1: 'solicitation","payload":', 2: 'advertisement","payload":' };
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * `observe`'s whole job for one batch of packets: the JSON lines of the
 * valid beacons (what observedLine prints, one per line), and the counters.
 * A payload that bsonToJson takes is transcoded straight from the verified
 * bytes; anything else takes the object path (decodeItem, observedBeacon,
 * observedLine), which is the reference the fast one is tested against.
 */
export function observedLines(packets: readonly CapturedPacket[], verifier: BatchVerifier, stats: ObserveStats): Buffer {
  const { frames, from, verified } = verifyFrames(packets, verifier, stats);
  const n = frames.length;
  const out = new LineBytes(Math.max(4096, verified.plain.length * 4 + n * 512));
  for (let i = 0; i < n; i++) {
    const f = frames[i]!;
    const p = from[i]!;
    const start = verified.plainOffsets[i]!;
    const end = verified.plainOffsets[i + 1]!;
    if (verified.status[i] === 0 && end > start && lineFieldsPlain(f, p)) {
      const room = 4 * (end - start) + 64;
      if (scratch.length < room) scratch = Buffer.allocUnsafe(room);
      const json = bsonToJson(verified.plain, start, end, scratch, 0);
      if (json >= 0) {
        const type = TYPE_PART[payloadType];
        if (type === undefined) {
          stats.rejected.type++;
          continue;
        }
        stats.valid++;
        out.ascii(
          `{"source_mac":"${f.sourceMac}","destination_mac":"${f.destinationMac}","source_ip":"${f.sourceIp}","destination_ip":"${f.destinationIp}","source_port":${f.sourcePort},"destination_port":${f.destinationPort},"time":${Math.floor(p.time)},"version":${verified.version[i]!},"type":"${type}`,
        );
        out.reserve(json);
        scratch.copy(out.buf, out.used, 0, json);
        out.used += json;
        // In observedBeacon's order: these are added after payload.
        let tail = '';
        if (f.vid !== undefined) tail += `,"vid":${f.vid}`;
        if (f.outerVid !== undefined) tail += `,"outer_vid":${f.outerVid}`;
        out.ascii(tail);
        if (p.interface !== undefined) out.utf8(`,"interface":${JSON.stringify(p.interface)}`);
        out.ascii('}\n');
        continue;
      }
    }
    const v = decodeItem(verified, i);
    if (v.ok) {
      stats.valid++;
      out.utf8(observedLine(observedBeacon(f, p.time, v, p.interface)) + '\n');
    } else {
      stats.rejected[v.reason]++;
    }
  }
  return out.buf.subarray(0, out.used);
}

/** The frame's strings need no escaping, and its numbers print as themselves (always so for parseFrame's output; checked, not assumed). */
function lineFieldsPlain(f: FrameInfo, p: CapturedPacket): boolean {
  return plainString(f.sourceMac) && plainString(f.destinationMac) && plainString(f.sourceIp) && plainString(f.destinationIp) && Number.isFinite(p.time);
}

/** `--stats` text: packets, valid beacons, rejections by reason (zeros left out). */
export function formatStats(stats: ObserveStats): string {
  const reasons = Object.entries(stats.rejected)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
  return `packets=${stats.packets} not_beacon=${stats.notBeacon} valid=${stats.valid} rejected=${totalRejected(stats)}${reasons ? ` (${reasons})` : ''}`;
}
