/**
 * LiveCapture over the addon's NativeCapture (native/capture_napi.cc).
 * The worker thread does the ring, the frame parsing and the Fernet
 * verification; here each batch (one ring block) is turned into records,
 * with BSON decoded by the shared step (engine/decode.ts).
 */
import { EventEmitter } from 'node:events';
import { loadBinding } from '../engine/binding';
import type { FernetKey } from '../engine/types';
import { emptyStats, type LiveCapture, type LiveRecord, type RingStats } from './live';
import { decodeRecords, PACKET_LOOPBACK } from './record';

/** Ring and batch-pool tuning; the defaults are argued in native/ring.h. */
export interface NativeCaptureOptions {
  /** Bytes per ring block, a multiple of the page size (default 256 KiB). */
  readonly blockSize?: number;
  /** Blocks per ring (default 64). */
  readonly blockCount?: number;
  /** Milliseconds after which the kernel hands over a non-empty block (default 10). */
  readonly retireMs?: number;
  /** Batches JS may hold before the worker stops reading rings (default 4). */
  readonly poolSize?: number;
  /** Plaintext bytes per batch (default 1 MiB, at least 256 KiB). */
  readonly plainBytes?: number;
}

interface NativeCaptureHandle {
  add(ifname: string): number;
  remove(ifname: string): boolean;
  stats(): Record<string, { ifindex: number; packets: number; drops: number; freezes: number; beacons: number; rejected: number; skipped: number }>;
  close(): Promise<void>;
}

type NativeCaptureCtor = new (
  options: NativeCaptureOptions & { signingKey: Uint8Array; encryptionKey: Uint8Array },
  onEvent: (kind: string, ...args: unknown[]) => void,
) => NativeCaptureHandle;

export class NativeLiveCapture extends EventEmitter implements LiveCapture {
  readonly engine = 'native' as const;
  private readonly handle: NativeCaptureHandle;
  private readonly names = new Map<number, string>();
  /** Counters of verdicts decoded here (BSON and type are judged in JS, after the worker). */
  private readonly counts = new Map<string, RingStats>();
  private closed = false;

  constructor(key: FernetKey, options: NativeCaptureOptions = {}) {
    super();
    const state = loadBinding();
    if (!state.ok) throw new Error(`the native capture is not available: ${state.detail}`);
    const Ctor = state.binding.NativeCapture as NativeCaptureCtor | undefined;
    if (typeof Ctor !== 'function') throw new Error('the native addon has no NativeCapture: rebuild with `npm run build:native`');
    checkOptions(options);
    this.handle = new Ctor({ ...options, signingKey: key.signing, encryptionKey: key.encryption }, (kind, ...args) => this.onEvent(kind, args));
  }

  add(ifname: string): Promise<void> {
    if (this.closed) return Promise.reject(new Error('capture is closed'));
    try {
      const ifindex = this.handle.add(ifname);
      this.names.set(ifindex, ifname);
      this.counts.set(ifname, emptyStats());
      return Promise.resolve();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  remove(ifname: string): void {
    if (this.closed) return;
    this.handle.remove(ifname);
    for (const [i, n] of this.names) if (n === ifname) this.names.delete(i);
    this.counts.delete(ifname);
  }

  stats(): Record<string, RingStats> {
    const out: Record<string, RingStats> = {};
    if (this.closed) return out;
    for (const [name, s] of Object.entries(this.handle.stats())) {
      const c = this.counts.get(name) ?? emptyStats();
      out[name] = { packets: s.packets, drops: s.drops, freezes: s.freezes, beacons: c.beacons, rejected: c.rejected, skipped: s.skipped };
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private onEvent(kind: string, args: unknown[]): void {
    if (this.closed) return;
    if (kind === 'batch') {
      const [records, count, plain, plainLength] = args as [Uint8Array, number, Uint8Array, number];
      this.onBatch(records, count, plain, plainLength);
    } else if (kind === 'interface-gone') {
      const [name, ifindex, code, message] = args as [string, number, string, string];
      this.names.delete(ifindex);
      this.counts.delete(name);
      this.emit('interface-gone', { interface: name, code, message });
    } else if (kind === 'error') {
      this.emit('error', new Error(String(args[0])));
    }
  }

  private onBatch(records: Uint8Array, count: number, plain: Uint8Array, plainLength: number): void {
    const out: LiveRecord[] = [];
    for (const r of decodeRecords(records, count, plain, plainLength)) {
      const name = this.names.get(r.ifindex);
      if (name === undefined) continue; // removed while its block was in flight
      const rec: LiveRecord = r.pktType === PACKET_LOOPBACK ? { interface: name, time: r.time, frame: r.frame, verdict: r.verdict, loopback: true } : { interface: name, time: r.time, frame: r.frame, verdict: r.verdict };
      out.push(rec);
    }
    if (out.length === 0) return;
    let name = '';
    let c: RingStats | undefined;
    for (const r of out) {
      if (r.interface !== name) {
        name = r.interface;
        c = this.counts.get(name);
      }
      if (c) {
        if (r.verdict.ok) c.beacons++;
        else c.rejected++;
      }
    }
    this.emit('beacons', out);
  }
}

function checkOptions(o: NativeCaptureOptions): void {
  const int = (name: keyof NativeCaptureOptions, min: number, max: number): void => {
    const v = o[name];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer`);
    if (v < min || v > max) throw new RangeError(`${name} must be from ${min} to ${max}, got ${v}`);
  };
  int('blockSize', 64 * 1024, 64 * 1024 * 1024);
  if (o.blockSize !== undefined && o.blockSize % 4096 !== 0) throw new RangeError(`blockSize must be a multiple of 4096, got ${o.blockSize}`);
  int('blockCount', 2, 4096);
  int('retireMs', 1, 10_000);
  int('poolSize', 1, 64);
  int('plainBytes', 256 * 1024, 256 * 1024 * 1024);
}
