/**
 * observe's hot path as one capability with two implementations: captured
 * packets in, JSON lines (exactly what observedLine prints) and counters
 * out. The JS encoder is pipeline.ts's observedLines. The native one asks
 * the addon for whole lines (native/observe_lines.h: frame parsing,
 * verification and BSON-to-JSON in C++, one call per batch) and runs the
 * JS path only for the frames it declines, keeping their place.
 * test/unit/line-encoder.test.ts runs both over the same packets and
 * requires the same bytes and counters.
 */
import type { CapturedPacket } from '../protocol/packet';
import { reasonName, type RejectReason } from '../protocol/reasons';
import { JsBatchVerifier } from './js-verifier';
import { NativeBatchVerifier } from './native-verifier';
import { observedLines, type ObserveStats } from './pipeline';
import type { BatchVerifier, EngineName } from './types';
import type { FernetKey } from '../protocol/key';

export interface LineEncoder {
  /**
   * The lines of the valid beacons among `packets`, in order; counts every
   * packet into `stats`. The Buffer may be reused by the next call: write
   * it out (and wait for the write) before encoding again.
   */
  encode(packets: readonly CapturedPacket[], stats: ObserveStats): Buffer;
}

export class JsLineEncoder implements LineEncoder {
  constructor(private readonly verifier: BatchVerifier) {}

  encode(packets: readonly CapturedPacket[], stats: ObserveStats): Buffer {
    return observedLines(packets, this.verifier, stats);
  }
}

const LINE = 0;
const NOT_BEACON = 1;
const REJECTED = 2;

export class NativeLineEncoder implements LineEncoder {
  private readonly verifier: NativeBatchVerifier;
  /** The frames of a batch, back to back: reused, the addon reads them only during the call. */
  private frames = new Uint8Array(0);
  /** Where the addon writes the lines: reused from batch to batch (see LineEncoder), doubled when a line does not fit. */
  private out: Buffer;

  constructor(key: FernetKey, outBytes = 1 << 20) {
    this.verifier = new NativeBatchVerifier(key);
    this.out = Buffer.allocUnsafe(outBytes);
  }

  encode(packets: readonly CapturedPacket[], stats: ObserveStats): Buffer {
    // Interface names and stripped tags (pcapng, live) are the JS path's.
    if (packets.some((p) => p.interface !== undefined || p.strippedTci !== undefined)) return observedLines(packets, this.verifier, stats);
    const n = packets.length;
    let bytes = 0;
    for (const p of packets) bytes += p.data.length;
    if (this.frames.length < bytes) this.frames = new Uint8Array(Math.max(bytes, 2 * this.frames.length));
    const data = this.frames;
    const offsets = new Uint32Array(n + 1);
    const now = new Float64Array(n);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const p = packets[i]!;
      offsets[i] = at;
      data.set(p.data, at);
      at += p.data.length;
      now[i] = p.time;
    }
    offsets[n] = at;
    const parts: Uint8Array[] = [];
    let written = 0; // bytes of this.out holding earlier rounds' lines
    for (let first = 0; first < n;) {
      // The frames not yet taken, and the room after what is written.
      const count = n - first;
      const r = this.verifier.observeLines({ count, data, offsets: offsets.subarray(first), now: now.subarray(first) }, this.out.subarray(written));
      if (r.processed === 0) {
        // Not even one more line fits: a larger buffer (the earlier rounds' lines stay in parts, views of the old one).
        this.out = Buffer.allocUnsafe(2 * this.out.length);
        written = 0;
        continue;
      }
      const base = written;
      let run = -1; // first frame of the current run of native lines
      for (let i = 0; i < r.processed; i++) {
        const kind = r.kind[i]!;
        if (kind === LINE) {
          stats.packets++;
          stats.valid++;
          if (run < 0) run = i;
          continue;
        }
        if (run >= 0) {
          parts.push(this.out.subarray(base + r.lineEnds[run]!, base + r.lineEnds[i]!));
          run = -1;
        }
        if (kind === NOT_BEACON) {
          stats.packets++;
          stats.notBeacon++;
        } else if (kind === REJECTED) {
          stats.packets++;
          stats.rejected[reasonName(r.reason[i]!) as RejectReason]++;
        } else {
          parts.push(observedLines([packets[first + i]!], this.verifier, stats));
        }
      }
      if (run >= 0) parts.push(this.out.subarray(base + r.lineEnds[run]!, base + r.lineEnds[r.processed]!));
      written = base + r.lineEnds[r.processed]!;
      first += r.processed;
    }
    if (parts.length === 1) return Buffer.from(parts[0]!.buffer, parts[0]!.byteOffset, parts[0]!.byteLength);
    return Buffer.concat(parts);
  }
}

/** The line encoder for the chosen engine. */
export function createLineEncoder(engine: EngineName, key: FernetKey): LineEncoder {
  return engine === 'native' ? new NativeLineEncoder(key) : new JsLineEncoder(new JsBatchVerifier(key));
}
