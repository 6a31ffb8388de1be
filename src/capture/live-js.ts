/**
 * The verification step of the JS live engines: frames (or bare UDP
 * datagrams) in, LiveRecords out, with one BatchVerifier call per batch.
 */
import type { BatchVerifier } from '../engine/types';
import { decodeItem } from '../engine/decode';
import { parseFrame } from '../protocol/frame';
import type { FrameInfo } from '../protocol/frame-types';
import type { CapturedPacket } from '../protocol/packet';
import type { LiveRecord } from './live';

export interface Datagram {
  readonly frame: FrameInfo;
  /** The UDP payload. */
  readonly payload: Uint8Array;
  readonly time: number;
}

/** Verifies a batch of datagrams received on one interface. */
export function verifyDatagrams(iface: string, items: readonly Datagram[], verifier: BatchVerifier): LiveRecord[] {
  const n = items.length;
  if (n === 0) return [];
  let bytes = 0;
  for (const d of items) bytes += d.payload.length;
  const data = new Uint8Array(bytes);
  const offsets = new Uint32Array(n + 1);
  const now = new Float64Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const d = items[i]!;
    offsets[i] = at;
    data.set(d.payload, at);
    at += d.payload.length;
    now[i] = d.time; // each token judged at its own packet's capture time
  }
  offsets[n] = at;
  const verified = verifier.verify({ count: n, data, offsets, now });
  const out: LiveRecord[] = new Array<LiveRecord>(n);
  // A MultiKeyVerifier (engine/multikey-verifier.ts) also says which key matched.
  const keys = (verified as { keyFingerprints?: readonly (string | null)[] }).keyFingerprints;
  for (let i = 0; i < n; i++) {
    const d = items[i]!;
    const fp = keys?.[i];
    out[i] = { interface: iface, time: d.time, frame: d.frame, verdict: decodeItem(verified, i), ...(fp != null && { keyFingerprint: fp }) };
  }
  return out;
}

/** Frames to datagrams; returns how many were not a whole UDP/5240 datagram. */
export function framesToDatagrams(packets: readonly CapturedPacket[], out: Datagram[]): number {
  let skipped = 0;
  for (const p of packets) {
    const frame = parseFrame(p.data, p.strippedTci);
    if (!frame) {
      skipped++;
      continue;
    }
    out.push({ frame, payload: p.data.subarray(frame.payloadOffset, frame.payloadOffset + frame.payloadLength), time: p.time });
  }
  return skipped;
}
