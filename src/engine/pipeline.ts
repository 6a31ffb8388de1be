/**
 * Captured packets in, observed beacons and counters out: frame parsing,
 * one batch verification per call, and the shared BSON step. File
 * observation and the JS live engines run exactly this.
 */
import type { CapturedPacket } from '../capture/types';
import { parseFrame } from '../protocol/frame';
import type { FrameInfo } from '../protocol/frame-types';
import { observedBeacon, type ObservedBeacon } from '../protocol/observe';
import { REASONS, type RejectReason } from '../protocol/reasons';
import { decodeItem } from './decode';
import type { BatchVerifier } from './types';

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

/** A rejection, with enough context to log it (never the payload). */
export interface Rejection {
  readonly frame: FrameInfo;
  readonly time: number;
  readonly interface?: string;
  readonly reason: RejectReason;
}

export interface PipelineResult {
  readonly beacons: ObservedBeacon[];
  readonly rejections: Rejection[];
}

export function verifyPackets(packets: readonly CapturedPacket[], verifier: BatchVerifier, stats: ObserveStats): PipelineResult {
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
  const verified = verifier.verify({ count: n, data, offsets, now });
  const beacons: ObservedBeacon[] = [];
  const rejections: Rejection[] = [];
  for (let i = 0; i < n; i++) {
    const v = decodeItem(verified, i);
    const p = from[i]!;
    if (v.ok) {
      stats.valid++;
      beacons.push(observedBeacon(frames[i]!, p.time, v, p.interface));
    } else {
      stats.rejected[v.reason]++;
      rejections.push(p.interface === undefined ? { frame: frames[i]!, time: p.time, reason: v.reason } : { frame: frames[i]!, time: p.time, interface: p.interface, reason: v.reason });
    }
  }
  return { beacons, rejections };
}

/** `--stats` text: packets, valid beacons, rejections by reason (zeros left out). */
export function formatStats(stats: ObserveStats): string {
  const reasons = Object.entries(stats.rejected)
    .filter(([, n]) => n > 0)
    .map(([r, n]) => `${r}=${n}`)
    .join(' ');
  return `packets=${stats.packets} not_beacon=${stats.notBeacon} valid=${stats.valid} rejected=${totalRejected(stats)}${reasons ? ` (${reasons})` : ''}`;
}
