/**
 * The step both engines share after verification: BSON to a document, and
 * the beacon type. The inner `type` wins over the header's; a type other
 * than 1 or 2 is rejected (MAAS's observer crashes there).
 */
import type { deserialize as Deserialize } from 'bson';
import { decodeBsonFast } from './bson-fast';
import { BEACON_TYPE_NAMES } from '../protocol/header';
import { reasonName, type RejectReason } from '../protocol/reasons';
import type { BatchVerifier, VerifiedBatch } from './types';
import type { BeaconVerdict } from '../protocol/verdict';

// Plain objects and arrays, int64 as numbers, as pymongo hands them to json.dumps.
export const BSON_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: true, bsonRegExp: false } as const;

// bson is loaded the first time the fast path declines a document: most
// runs never need it, and loading it costs tens of ms at start-up.
let deserialize: typeof Deserialize | undefined;
function bsonDeserialize(bytes: Uint8Array): Record<string, unknown> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  deserialize ??= (require('bson') as typeof import('bson')).deserialize;
  return deserialize(bytes, BSON_OPTIONS);
}

export function decodeItem(batch: VerifiedBatch, i: number): BeaconVerdict {
  const status = batch.status[i]!;
  if (status !== 0) return { ok: false, reason: reasonName(status) as RejectReason };
  const version = batch.version[i]!;
  const start = batch.plainOffsets[i]!;
  const end = batch.plainOffsets[i + 1]!;
  if (end === start) {
    // Zero plaintext bytes from an authentic item means the header declared
    // no payload (an empty gunzip is reported by the engines as 'bson').
    const type = BEACON_TYPE_NAMES[batch.headerType[i]!];
    return type ? { ok: true, version, type, payload: null } : { ok: false, reason: 'type' };
  }
  // The fast path covers what beacons are made of; bson decides the rest, errors included.
  let doc = decodeBsonFast(batch.plain, start, end);
  if (doc === undefined) {
    try {
      doc = bsonDeserialize(batch.plain.subarray(start, end));
    } catch {
      return { ok: false, reason: 'bson' };
    }
  }
  const type = typeof doc.type === 'number' ? BEACON_TYPE_NAMES[doc.type] : undefined;
  if (!type) return { ok: false, reason: 'type' };
  return { ok: true, version, type, payload: doc };
}

export function rejectReason(verdict: BeaconVerdict): RejectReason | undefined {
  return verdict.ok ? undefined : verdict.reason;
}

/** Decode one datagram at `nowSeconds` through a verifier (batch of one). */
export function decodeBeacon(verifier: BatchVerifier, datagram: Uint8Array, nowSeconds: number): BeaconVerdict {
  const batch = verifier.verify({
    count: 1,
    data: datagram,
    offsets: Uint32Array.of(0, datagram.length),
    now: Float64Array.of(nowSeconds),
  });
  return decodeItem(batch, 0);
}
