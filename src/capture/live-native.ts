/**
 * LiveCapture over the addon's NativeCapture (native/capture_napi.cc).
 * The worker thread does the ring, the frame parsing and the Fernet
 * verification; here each batch (one ring block) is queued, keeping its
 * pool slot, and turned into records a slice at a time (batch-queue.ts),
 * with BSON decoded by the shared step (engine/decode.ts): a backlog is
 * worked off without holding the event loop, and the pool still bounds
 * what JS holds.
 */
import { EventEmitter } from 'node:events';
import { loadBinding } from '../engine/binding';
import type { FernetKey } from '../protocol/key';
import type { Keyring } from '../protocol/keyring';
import { emptyStats, type InterfaceGone, type LiveCapture, type LiveRecord, type RingStats, type SharedRingStats } from './live';
import { BatchQueue } from './batch-queue';
import { PACKET_LOOPBACK, RecordBatch } from './record';

/** Ring and batch-pool tuning; the defaults are argued in native/ring.h. One ring serves every interface. */
export interface NativeCaptureOptions {
  /** Bytes per ring block, a multiple of the page size (default 256 KiB). */
  readonly blockSize?: number;
  /** Blocks in the ring (default 64: 16 MiB for all the interfaces together). */
  readonly blockCount?: number;
  /** Milliseconds after which the kernel hands over a non-empty block (default 10). */
  readonly retireMs?: number;
  /** Batches JS may hold before the worker stops reading rings (default 4). */
  readonly poolSize?: number;
  /** Plaintext bytes per batch (default 1 MiB, at least 256 KiB). */
  readonly plainBytes?: number;
}

/**
 * Per turn of the event loop, records are decoded and handed to the agent
 * 16 at a time (~0.2 ms compiled; ~1 ms, and more for the very first, in
 * a flood's first second, when nothing is compiled yet) until 5 ms are
 * spent; then whatever else waits (a `status` request) runs. A reply to a
 * request takes a few turns (accept, read, write), so the work per turn
 * is what it waits for, a few times over. The next turn starts at once
 * when nothing else waits: a backlog is not worked off any slower.
 */
const SLICE_RECORDS = 16;
const TURN_BUDGET_MS = 5;

/** What the queue holds: a batch of records (and its pool slot), or an event to emit in its turn. */
type Queued =
  { readonly count: number; readonly records: RecordBatch; readonly slot: number } | { readonly count: 0; readonly gone: InterfaceGone & { ifindex: number } };

interface NativeKeys {
  signingKey: Uint8Array;
  v3Key?: Uint8Array;
  v3KeyId?: Uint8Array;
  encryptionKey: Uint8Array;
  previousKeys?: Array<{ signingKey: Uint8Array; encryptionKey: Uint8Array; v3Key?: Uint8Array; v3KeyId?: Uint8Array; acceptUntil: number }>;
}

/** Generations of keys whose records may still be in flight (the pool holds at most 64 batches). */
const KEY_GENERATIONS_KEPT = 4;

interface NativeCaptureHandle {
  add(ifname: string): number;
  setKeys(keys: NativeKeys): number;
  remove(ifname: string): boolean;
  stats(): Record<string, { ifindex: number; packets: number; drops: number; beacons: number; rejected: number; skipped: number }>;
  ring(): SharedRingStats & { open: boolean };
  /** Gives back a pool slot the 'batch' callback kept (by returning true). */
  release(slot: number): boolean;
  close(): Promise<void>;
}

type NativeCaptureCtor = new (
  options: NativeCaptureOptions & NativeKeys,
  /** For 'batch', returning true keeps the batch's pool slot until release(slot). */
  onEvent: (kind: string, ...args: unknown[]) => boolean | undefined,
) => NativeCaptureHandle;

export class NativeLiveCapture extends EventEmitter implements LiveCapture {
  readonly engine = 'native' as const;
  private readonly handle: NativeCaptureHandle;
  private readonly names = new Map<number, string>();
  /** Counters of verdicts decoded here (BSON and type are judged in JS, after the worker). */
  private readonly counts = new Map<string, RingStats>();
  /** Key generation (mod 256) -> fingerprints by key index; only with a keyring. */
  private readonly fingerprints = new Map<number, readonly string[]>();
  /** Beacons authenticated, by key fingerprint (with a keyring). */
  private readonly matched = new Map<string, number>();
  /** Batches (each keeping its pool slot) and events, in arrival order, handed on a slice per turn. */
  private readonly queue: BatchQueue<Queued>;
  private closed = false;

  /**
   * With a Keyring the worker accepts the current key and every previous
   * key in its window (native/keyring.h), and records say which matched;
   * with a bare key, only that key.
   */
  constructor(keys: FernetKey | Keyring, options: NativeCaptureOptions = {}) {
    super();
    const state = loadBinding();
    if (!state.ok) throw new Error(`the native capture is not available: ${state.detail}`);
    const Ctor = state.binding.NativeCapture as NativeCaptureCtor | undefined;
    if (typeof Ctor !== 'function') throw new Error('the native addon has no NativeCapture: rebuild with `npm run build:native`');
    checkOptions(options);
    this.queue = new BatchQueue<Queued>({
      budgetMs: TURN_BUDGET_MS,
      sliceRecords: SLICE_RECORDS,
      deliver: (q, from, to) => {
        if ('records' in q) this.deliver(q.records, from, to);
      },
      done: (q) => this.done(q),
    });
    this.handle = new Ctor({ ...options, ...nativeKeys(keys) }, (kind, ...args) => this.onEvent(kind, args));
    if (!isFernetKey(keys)) this.fingerprints.set(0, fingerprintsOf(keys));
  }

  /**
   * Replaces the keys (a reload): beacons verified from the next ring
   * block on use them. Throws, changing nothing, if the addon refuses them.
   */
  setKeys(keys: FernetKey | Keyring): void {
    if (this.closed) throw new Error('capture is closed');
    const generation = this.handle.setKeys(nativeKeys(keys)) % 256;
    this.fingerprints.delete((generation + 256 - KEY_GENERATIONS_KEPT) % 256);
    if (isFernetKey(keys)) this.fingerprints.delete(generation);
    else this.fingerprints.set(generation, fingerprintsOf(keys));
  }

  /** Beacons authenticated per key fingerprint, since the start (with a keyring). */
  keyMatches(): Record<string, number> {
    return Object.fromEntries(this.matched);
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
      out[name] = { packets: s.packets, drops: s.drops, freezes: 0, beacons: c.beacons, rejected: c.rejected, skipped: s.skipped };
    }
    return out;
  }

  sharedRing(): SharedRingStats | undefined {
    if (this.closed) return undefined;
    const { open, ...r } = this.handle.ring();
    return open ? r : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue.close();
    await this.handle.close();
  }

  /**
   * Called by the thread-safe function's dispatch, which calls back to
   * back for as long as the worker has batches: so a batch is only copied
   * (cheap) and queued, keeping its slot (returning true) until its last
   * slice is delivered. A malformed batch throws here, and its slot goes
   * back at once.
   */
  private onEvent(kind: string, args: unknown[]): boolean {
    if (this.closed) return false;
    if (kind === 'batch') {
      const [records, count, plain, plainLength, slot] = args as [Uint8Array, number, Uint8Array, number, number];
      this.queue.push({ count, records: new RecordBatch(records, count, plain, plainLength), slot });
      return true;
    }
    if (kind === 'interface-gone') {
      // In its turn: the records captured before it are delivered first.
      const [name, ifindex, code, message] = args as [string, number, string, string];
      this.queue.push({ count: 0, gone: { interface: name, ifindex, code, message } });
    } else if (kind === 'error') {
      this.emit('error', new Error(String(args[0])));
    }
    return false;
  }

  private done(q: Queued): void {
    if ('records' in q) {
      if (!this.closed) this.handle.release(q.slot);
      return;
    }
    if (this.closed) return;
    const { ifindex, ...gone } = q.gone;
    this.names.delete(ifindex);
    this.counts.delete(gone.interface);
    this.emit('interface-gone', gone);
  }

  /**
   * Records [from, to) of a queued batch, as one 'beacons' event. Per
   * record on a flood: so the interface's name and counters are looked up
   * once per run of records from one ifindex, in the one pass.
   */
  private deliver(batch: RecordBatch, from: number, to: number): void {
    if (this.closed) return;
    const out: LiveRecord[] = [];
    let ifindex = -1;
    let name: string | undefined;
    let c: RingStats | undefined;
    for (let i = from; i < to; i++) {
      const r = batch.decode(i);
      if (r.ifindex !== ifindex) {
        ifindex = r.ifindex;
        name = this.names.get(ifindex);
        c = name === undefined ? undefined : this.counts.get(name);
      }
      if (name === undefined) continue; // removed while its block was in flight
      const fp = r.keyIndex >= 0 ? this.fingerprints.get(r.keyGeneration)?.[r.keyIndex] : undefined;
      const rec: { -readonly [K in keyof LiveRecord]: LiveRecord[K] } = { interface: name, time: r.time, frame: r.frame, verdict: r.verdict };
      if (r.pktType === PACKET_LOOPBACK) rec.loopback = true;
      if (fp !== undefined) {
        rec.keyFingerprint = fp;
        this.matched.set(fp, (this.matched.get(fp) ?? 0) + 1);
      }
      if (c) {
        if (r.verdict.ok) c.beacons++;
        else c.rejected++;
      }
      out.push(rec);
    }
    if (out.length === 0) return;
    this.emit('beacons', out);
  }
}

function isFernetKey(k: FernetKey | Keyring): k is FernetKey {
  return (k as FernetKey).signing instanceof Uint8Array;
}

/** The keys in the order the worker tries them: the current key, then the previous ones as the keyring orders them. */
function keyringOrder(k: Keyring): ReturnType<Keyring['signingKey']>[] {
  return [k.signingKey(), ...k.previousKeys()];
}

function fingerprintsOf(k: Keyring): string[] {
  return keyringOrder(k).map((e) => e.fingerprint);
}

function nativeKeys(k: FernetKey | Keyring): NativeKeys {
  if (isFernetKey(k)) return { signingKey: k.signing, encryptionKey: k.encryption, ...v3Of(k) };
  const [current, ...previous] = keyringOrder(k);
  return {
    signingKey: current!.key.signing,
    encryptionKey: current!.key.encryption,
    ...v3Of(current!.key),
    // The worker judges windows at whole seconds (the packet's second), so
    // a fractional end is rounded up: at most one second more, never less.
    previousKeys: previous.map((e) => ({
      signingKey: e.key.signing,
      encryptionKey: e.key.encryption,
      ...v3Of(e.key),
      acceptUntil: Math.ceil(e.acceptUntil!),
    })),
  };
}

/** A key's v3 key for the worker (native/capture_napi.cc), when v3 is accepted. */
function v3Of(k: FernetKey): { v3Key?: Uint8Array; v3KeyId?: Uint8Array } {
  return k.v3 ? { v3Key: k.v3.key, v3KeyId: k.v3.id } : {};
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
