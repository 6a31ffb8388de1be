/**
 * Building beacons as MAAS builds them (decoding is the engine's: src/engine/decode.ts).
 * Pure: the key, the clock and the ULID source come from the caller.
 */
import { serialize } from 'bson';
import { constants, gzipSync } from 'node:zlib';
import { fernetEncrypt, type FernetKeyObjects } from './fernet';
import { BEACON_TYPES, HEADER_LENGTH, PROTOCOL_VERSION, writeHeader, type BeaconTypeName } from './header';
import { ulidFactory } from './ulid';
import { sealV3 } from './v3';

/** The beacon formats: MAAS's v2, and netbeacon's v3 (docs/beacon-v3.md). */
export type BeaconFormat = 'v2' | 'v3';
export const BEACON_FORMATS: readonly BeaconFormat[] = ['v2', 'v3'];
export const FORMAT_VERSION: Readonly<Record<BeaconFormat, number>> = { v2: PROTOCOL_VERSION, v3: 3 };

export interface EncodeOptions {
  /** Clock in ms since the epoch; stamps the ULID and (in seconds) the token. */
  readonly nowMs: number;
  /** A fixed ULID (tests, replies that must reuse one); fresh otherwise. */
  readonly ulid?: string;
  readonly iv?: Uint8Array;
  /** v2 (the default, MAAS's) or v3, which needs keys made from a key with a v3 key (src/protocol/v3.ts). */
  readonly format?: BeaconFormat;
  /** v3: a fixed nonce (test vectors only). */
  readonly nonce?: Uint8Array;
}

const nextUlid = ulidFactory();

/** A fresh ULID stamped `nowMs`, from the factory encodeBeacon uses (monotonic within a millisecond). */
export function newUlid(nowMs: number): string {
  return nextUlid(nowMs);
}

/**
 * The smallest deflate window (2^9 to 2^15 bytes) that holds `length` bytes
 * and deflate's look-ahead (262 bytes): for such an input every match the
 * default 32 KiB window could find is inside it, so the stream is the same
 * byte for byte (test/unit/beacon-send-cost.test.ts checks it), and zlib sets
 * up 1 KiB instead of 64 KiB of window per beacon, a third of gzip's cost.
 */
export function deflateWindowBits(length: number): number {
  let bits = 9;
  while (bits < 15 && 2 ** bits - 262 < length) bits++;
  return bits;
}

/**
 * Encode a beacon: v2 header, then a raw Fernet token over gzip (level 9)
 * of BSON of `{...payload, ulid, type}`, as MAAS builds it (sealV2); or v3.
 */
export function encodeBeacon(
  keys: FernetKeyObjects,
  type: BeaconTypeName,
  payload: Record<string, unknown>,
  opts: EncodeOptions,
): { bytes: Buffer; ulid: string } {
  const code = BEACON_TYPES[type];
  const ulid = opts.ulid ?? nextUlid(opts.nowMs);
  const bson = beaconBson(type, payload, ulid);
  if (opts.format === 'v3') {
    if (!keys.v3) throw new Error('beacon format v3 needs a v3 key: derive it with withV3() once libsodium is ready');
    const timestamp = Math.floor(opts.nowMs / 1000);
    return { bytes: sealV3(keys.v3, bson, { type: code, timestamp, ...(opts.nonce && { nonce: opts.nonce }) }), ulid };
  }
  return { bytes: sealV2(keys, { bson, type: code, timeSeconds: opts.nowMs / 1000, ...(opts.iv && { iv: opts.iv }) }), ulid };
}

/** The BSON document a beacon carries: `{...payload, ulid, type}`, as MAAS builds it. */
export function beaconBson(type: BeaconTypeName, payload: Record<string, unknown>, ulid: string): Uint8Array {
  return serialize({ ...payload, ulid, type: BEACON_TYPES[type] });
}

/** One v2 beacon to seal: its BSON, header type code, time (seconds; the integer part is stamped) and, for vectors, a fixed IV. */
export interface SealItem {
  readonly bson: Uint8Array;
  readonly type: number;
  readonly timeSeconds: number;
  readonly iv?: Uint8Array;
}

/**
 * Seal a v2 beacon: the header, then a raw Fernet token over gzip (level 9)
 * of the BSON. This is the JS engine's sealer (src/engine/js-sealer.ts) and
 * what encodeBeacon runs; native/seal.cc makes the same bytes.
 *
 * The deflate stream uses fixed Huffman codes (Z_FIXED), which is what
 * MAAS's Python zlib picks for beacon-sized payloads anyway. Node's zlib
 * would pick a dynamic block, a few bytes smaller, whose code tables every
 * receiver must rebuild: about 1.2 us more per beacon in our native
 * verifier (0.98 vs 2.1 us per token, same payload, measured here).
 */
export function sealV2(keys: FernetKeyObjects, item: SealItem): Buffer {
  const { bson } = item;
  const token = fernetEncrypt(
    keys,
    gzipSync(bson, { level: 9, strategy: constants.Z_FIXED, windowBits: deflateWindowBits(bson.length) }),
    Math.floor(item.timeSeconds),
    item.iv,
  );
  const bytes = Buffer.allocUnsafe(HEADER_LENGTH + token.length);
  writeHeader(bytes, PROTOCOL_VERSION, item.type, token.length);
  token.copy(bytes, HEADER_LENGTH);
  return bytes;
}
