/**
 * What verifying and decoding one beacon datagram gives: the document, or
 * the stable reason it was rejected (src/protocol/reasons.ts). Both engines
 * return these; everything above the engine consumes them.
 */
import type { BeaconTypeName } from './header';
import type { RejectReason } from './reasons';

export interface DecodedBeacon {
  readonly ok: true;
  readonly version: number;
  readonly type: BeaconTypeName;
  /** The BSON document (includes `ulid` and `type`), or null for a header with no payload. */
  readonly payload: Record<string, unknown> | null;
}

export interface RejectedBeacon {
  readonly ok: false;
  readonly reason: RejectReason;
}

export type BeaconVerdict = DecodedBeacon | RejectedBeacon;
