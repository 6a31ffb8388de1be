/**
 * A BatchVerifier over a keyring: the batch is verified with the current
 * key, and only the items that failed on the HMAC ('mac') are verified
 * again, with each previous key still inside its window, one batch call per
 * such key and only when it has something to do. A flood of forgeries thus
 * costs one extra HMAC per item per open window, never more, and a quiet
 * rotation (no window open, or every peer already on the new secret) costs
 * nothing at all.
 *
 * The window is judged per item at the item's own clock (`batch.now[i]`,
 * the capture time), the same clock its token age is judged by, so a batch
 * that straddles the end of a window is cut exactly there.
 *
 * Beacon format v3 needs no trial: its key id names the key. An item the
 * current key answers with 'key' (another key id) goes to the one previous
 * key, still in its window, whose v3 key id it carries, or stays 'key'.
 *
 * Per item the result says which key's HMAC matched (its fingerprint), so
 * that `status` can show which secret each peer still uses. The engine
 * (native or JS) stays the engine module's choice: verifiers come from the
 * factory passed in, one per key, made once and kept.
 */
import { HEADER_LENGTH } from '../protocol/header';
import { REASON_CODE } from '../protocol/reasons';
import type { BatchVerifier, PayloadBatch, VerifiedBatch } from './types';
import type { FernetKey } from '../protocol/key';
import { accepts, type Keyring, type KeyringEntry } from '../protocol/keyring';

export type VerifierFactory = (key: FernetKey) => BatchVerifier;

export interface KeyedVerifiedBatch extends VerifiedBatch {
  /**
   * Per item, the fingerprint of the key whose HMAC matched (whatever
   * failed after that: padding, gzip, ...), or null: rejected before any
   * HMAC was computed, no payload to authenticate, or no key matched.
   */
  readonly keyFingerprints: readonly (string | null)[];
}

export interface MultiKeyStats {
  readonly batches: number;
  readonly items: number;
  /** Item verifications with a previous key (an item tried with two previous keys counts twice). */
  readonly retried: number;
  /** Batch calls beyond the first, one per previous key that had items to try. */
  readonly extraCalls: number;
  /** Items authenticated, by key fingerprint. */
  readonly matched: Readonly<Record<string, number>>;
}

const MAC = REASON_CODE.mac;
const KEY = REASON_CODE.key;
// Reasons decided before the HMAC is computed: no key was involved.
const BEFORE_MAC = new Set<number>([
  REASON_CODE.short,
  REASON_CODE.length,
  REASON_CODE.version,
  REASON_CODE.token,
  REASON_CODE.expired,
  REASON_CODE.future,
  MAC,
  KEY,
]);

export class MultiKeyVerifier implements BatchVerifier {
  readonly #factory: VerifierFactory;
  #keyring: Keyring;
  #verifiers = new Map<string, BatchVerifier>();
  #batches = 0;
  #items = 0;
  #retried = 0;
  #extraCalls = 0;
  readonly #matched = new Map<string, number>();

  constructor(keyring: Keyring, factory: VerifierFactory) {
    this.#factory = factory;
    this.#keyring = keyring;
    this.setKeyring(keyring);
  }

  /**
   * Switches to another keyring (a reloaded configuration). Verifiers for
   * keys that stay are kept; building one keys HMAC and AES, which is not
   * free, and the native one holds addon state.
   */
  setKeyring(keyring: Keyring): void {
    const next = new Map<string, BatchVerifier>();
    for (const e of [keyring.signingKey(), ...keyring.previousKeys()]) {
      next.set(e.fingerprint, this.#verifiers.get(e.fingerprint) ?? this.#factory(e.key));
    }
    this.#keyring = keyring;
    this.#verifiers = next;
  }

  verify(batch: PayloadBatch): KeyedVerifiedBatch {
    const current = this.#keyring.signingKey();
    const base = this.#verifiers.get(current.fingerprint)!.verify(batch);
    this.#batches++;
    this.#items += base.count;
    const keys: (string | null)[] = new Array<string | null>(base.count);
    for (let i = 0; i < base.count; i++) keys[i] = authenticated(base, i) ? current.fingerprint : null;

    // Items still failing on the HMAC; shrinks as previous keys match.
    let pending: number[] = [];
    for (let i = 0; i < base.count; i++) if (base.status[i] === MAC) pending.push(i);
    const fixes = new Map<number, { from: VerifiedBatch; at: number }>();
    for (const entry of this.#keyring.previousKeys()) {
      if (pending.length === 0) break;
      const tryNow = pending.filter((i) => accepts(entry, batch.now[i]!));
      if (tryNow.length === 0) continue;
      const result = this.#retry(entry, batch, tryNow);
      const matched = new Set<number>();
      tryNow.forEach((i, j) => {
        if (result.status[j] === MAC) return;
        // Every check before the HMAC passed the first time and does not
        // depend on the key, so anything but 'mac' means this key matched.
        fixes.set(i, { from: result, at: j });
        keys[i] = entry.fingerprint;
        matched.add(i);
      });
      pending = pending.filter((i) => !matched.has(i));
    }
    this.#byKeyId(batch, base, keys, fixes);
    for (const k of keys) if (k !== null) this.#matched.set(k, (this.#matched.get(k) ?? 0) + 1);
    return fixes.size === 0 ? { ...base, keyFingerprints: keys } : { ...merge(base, fixes), keyFingerprints: keys };
  }

  /** v3 items with another key id: each to the previous key that id names, if any is still accepted. */
  #byKeyId(batch: PayloadBatch, base: VerifiedBatch, keys: (string | null)[], fixes: Map<number, { from: VerifiedBatch; at: number }>): void {
    const byEntry = new Map<KeyringEntry, number[]>();
    for (let i = 0; i < base.count; i++) {
      if (base.status[i] !== KEY) continue;
      // 'key' is only given once the datagram was seen to hold a whole v3 header.
      const at = batch.offsets[i]! + HEADER_LENGTH;
      const entry = this.#keyring.previousKeys().find((e) => e.key.v3 && sameId(e.key.v3.id, batch.data, at) && accepts(e, batch.now[i]!));
      if (entry) byEntry.set(entry, [...(byEntry.get(entry) ?? []), i]);
    }
    for (const [entry, indices] of byEntry) {
      const result = this.#retry(entry, batch, indices);
      indices.forEach((i, j) => {
        fixes.set(i, { from: result, at: j });
        if (authenticated(result, j)) keys[i] = entry.fingerprint;
      });
    }
  }

  stats(): MultiKeyStats {
    return {
      batches: this.#batches,
      items: this.#items,
      retried: this.#retried,
      extraCalls: this.#extraCalls,
      matched: Object.fromEntries(this.#matched),
    };
  }

  /** Verifies items `indices` of `batch` with `entry`'s key, as one smaller batch. */
  #retry(entry: KeyringEntry, batch: PayloadBatch, indices: readonly number[]): VerifiedBatch {
    let bytes = 0;
    for (const i of indices) bytes += batch.offsets[i + 1]! - batch.offsets[i]!;
    const data = new Uint8Array(bytes);
    const offsets = new Uint32Array(indices.length + 1);
    const now = new Float64Array(indices.length);
    let at = 0;
    indices.forEach((i, j) => {
      const item = batch.data.subarray(batch.offsets[i], batch.offsets[i + 1]);
      offsets[j] = at;
      data.set(item, at);
      at += item.length;
      now[j] = batch.now[i]!;
    });
    offsets[indices.length] = at;
    this.#extraCalls++;
    this.#retried += indices.length;
    return this.#verifiers.get(entry.fingerprint)!.verify({ count: indices.length, data, offsets, now });
  }
}

function sameId(id: Uint8Array, data: Uint8Array, at: number): boolean {
  for (let k = 0; k < id.length; k++) if (data[at + k] !== id[k]) return false;
  return true;
}

/** Whether a key's HMAC matched item i: a rejection after the MAC, or success with a payload. */
function authenticated(b: VerifiedBatch, i: number): boolean {
  const status = b.status[i]!;
  if (BEFORE_MAC.has(status)) return false;
  return status !== 0 || b.plainOffsets[i + 1]! > b.plainOffsets[i]!;
}

/** `base` with the verdicts (status and plaintext) of the fixed items replaced. */
function merge(base: VerifiedBatch, fixes: ReadonlyMap<number, { from: VerifiedBatch; at: number }>): VerifiedBatch {
  const status = base.status.slice();
  const plainOffsets = new Uint32Array(base.count + 1);
  const parts: Uint8Array[] = [];
  let length = 0;
  for (let i = 0; i < base.count; i++) {
    const fix = fixes.get(i);
    const src = fix ? fix.from : base;
    const j = fix ? fix.at : i;
    status[i] = src.status[j]!;
    const part = src.plain.subarray(src.plainOffsets[j], src.plainOffsets[j + 1]);
    plainOffsets[i] = length;
    parts.push(part);
    length += part.length;
  }
  plainOffsets[base.count] = length;
  const plain = new Uint8Array(length);
  parts.forEach((p, i) => plain.set(p, plainOffsets[i]));
  // The header fields are in clear text: the same whichever key is tried.
  return { count: base.count, status, version: base.version, headerType: base.headerType, plain, plainOffsets };
}
