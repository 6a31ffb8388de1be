import type { SealItem } from '../protocol/beacon';
import type { FernetKeyObjects } from '../protocol/fernet';

/**
 * The hot-path contract. Each capability here has a native (C++ addon) and a
 * pure-JS implementation with exactly this shape; src/engine/select.ts is the
 * only module that decides which one runs.
 */

/**
 * Many UDP payloads in one buffer, so that one call crosses the JS/C++
 * boundary per batch. Item i is data[offsets[i] .. offsets[i+1]); its age is
 * judged against now[i] (seconds since the epoch; may be fractional, the
 * integer part is used as Fernet does).
 */
export interface PayloadBatch {
  readonly count: number;
  readonly data: Uint8Array;
  readonly offsets: Uint32Array; // count + 1 entries
  readonly now: Float64Array; // count entries
}

/**
 * Per-item verdicts. status[i] is a code from src/protocol/reasons.ts (0 =
 * authentic). For authentic items, plain[plainOffsets[i] .. plainOffsets[i+1])
 * holds the gunzipped BSON bytes. Zero bytes on an authentic item means the
 * header declared no payload; an authentic token that gunzips to nothing is
 * reported as 'bson' by the verifier itself.
 * version and headerType are the clear-text header fields (0 when the
 * datagram was too short to hold them).
 */
export interface VerifiedBatch {
  readonly count: number;
  readonly status: Uint8Array;
  readonly version: Uint8Array;
  readonly headerType: Uint8Array;
  readonly plain: Uint8Array;
  readonly plainOffsets: Uint32Array; // count + 1 entries
}

/** Verifies batches of beacon datagrams with one derived key. */
export interface BatchVerifier {
  verify(batch: PayloadBatch): VerifiedBatch;
}

/**
 * Seals v2 beacons a batch at a time: a multicast round's every beacon in
 * one call (src/agent/sender.ts), so the native engine crosses into the
 * addon once a round. Both engines give the same bytes for the same item.
 */
export interface BeaconSealer {
  readonly engine: EngineName;
  /** Datagram i (header and token) for items[i], in order. */
  sealV2(keys: FernetKeyObjects, items: readonly SealItem[]): Buffer[];
}

export type EngineName = 'native' | 'js';
