/**
 * Fernet tokens in MAAS's raw (not base64) form:
 *   0x80 | timestamp (8 bytes BE, seconds) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32)
 * Pure functions over bytes; the key is passed in, the clock too.
 */
import { createCipheriv, createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type Decipher, type KeyObject } from 'node:crypto';
import type { FernetKey, V3Key } from './key';
import { randomBytesPooled } from './random';
import { MAX_CLOCK_SKEW_SECONDS, TOKEN_TTL_SECONDS, type RejectReason } from './reasons';

export const TOKEN_VERSION = 0x80;
export const TOKEN_OVERHEAD = 1 + 8 + 16 + 32;
const MIN_TOKEN = TOKEN_OVERHEAD + 16;

/** Node KeyObjects made once per key, so per-token work does not re-import the key. */
export interface FernetKeyObjects {
  readonly signing: KeyObject;
  readonly encryption: KeyObject;
  /** The v3 key, when the key it was made from has one (it is not a Node key: libsodium takes bytes). */
  readonly v3?: V3Key;
}

export function keyObjects(key: FernetKey): FernetKeyObjects {
  const objects = { signing: createSecretKey(key.signing), encryption: createSecretKey(key.encryption) };
  return key.v3 ? { ...objects, v3: key.v3 } : objects;
}

/** Encrypt `plaintext` into a raw Fernet token stamped `nowSeconds`. */
export function fernetEncrypt(keys: FernetKeyObjects, plaintext: Uint8Array, nowSeconds: number, iv: Uint8Array = randomBytesPooled(16)): Buffer {
  if (iv.length !== 16) throw new RangeError(`a Fernet IV is 16 bytes, got ${iv.length}`);
  const cipher = createCipheriv('aes-128-cbc', keys.encryption, iv);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const token = Buffer.allocUnsafe(1 + 8 + 16 + ct.length + 32);
  token[0] = TOKEN_VERSION;
  token.writeBigUInt64BE(BigInt(Math.floor(nowSeconds)), 1);
  token.set(iv, 9);
  token.set(ct, 25);
  createHmac('sha256', keys.signing)
    .update(token.subarray(0, token.length - 32))
    .digest()
    .copy(token, token.length - 32);
  return token;
}

/**
 * The checks that need no key: structure, then the age window against
 * `nowSeconds` (an integer, as Fernet's int(time.time())). A stale or
 * future token is rejected here, before any MAC is computed.
 */
export function checkTokenClear(b: Uint8Array, start: number, end: number, nowSeconds: number): RejectReason | undefined {
  const len = end - start;
  if (len < MIN_TOKEN || b[start] !== TOKEN_VERSION || (len - TOKEN_OVERHEAD) % 16 !== 0) return 'token';
  // The timestamp is a 64-bit unsigned integer; its high word beyond 2^21
  // would be past 2^53 s, which is "future" for any real clock.
  const hi = ((b[start + 1]! << 24) | (b[start + 2]! << 16) | (b[start + 3]! << 8) | b[start + 4]!) >>> 0;
  const lo = ((b[start + 5]! << 24) | (b[start + 6]! << 16) | (b[start + 7]! << 8) | b[start + 8]!) >>> 0;
  if (hi >= 0x200000) return 'future';
  const ts = hi * 0x1_0000_0000 + lo;
  if (ts + TOKEN_TTL_SECONDS < nowSeconds) return 'expired';
  if (ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) return 'future';
  return undefined;
}

/**
 * Verify the MAC in constant time and decrypt. The caller has already run
 * checkTokenClear. Returns the plaintext or the reason.
 */
export function fernetVerifyDecrypt(keys: FernetKeyObjects, b: Uint8Array, start: number, end: number): Uint8Array | 'mac' | 'padding' {
  const macAt = end - 32;
  const mac = createHmac('sha256', keys.signing).update(b.subarray(start, macAt)).digest();
  if (!timingSafeEqual(mac, b.subarray(macAt, end))) return 'mac';
  const decipher = createDecipheriv('aes-128-cbc', keys.encryption, b.subarray(start + 9, start + 25));
  decipher.setAutoPadding(false);
  const head = decipher.update(b.subarray(start + 25, macAt));
  const tail = decipher.final();
  const padded = tail.length === 0 ? head : Buffer.concat([head, tail]);
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > 16) return 'padding';
  for (let i = padded.length - pad; i < padded.length; i++) if (padded[i] !== pad) return 'padding';
  return padded.subarray(0, padded.length - pad);
}

/**
 * fernetVerifyDecrypt for a stream of tokens under one key: CBC decryption
 * as one long-lived AES-128-ECB decipher (the key schedule made once) and
 * the CBC chaining XOR here, instead of a new CBC decipher per token, which
 * costs about 3 us of set-up in Node. Same results, byte for byte
 * (test/unit/fernet-opener.test.ts, and the engine agreement test).
 */
export class FernetOpener {
  private readonly ecb: Decipher;

  constructor(private readonly keys: FernetKeyObjects) {
    this.ecb = createDecipheriv('aes-128-ecb', keys.encryption, null);
    this.ecb.setAutoPadding(false);
  }

  /** As fernetVerifyDecrypt: the caller has run checkTokenClear (so the ciphertext is whole blocks). */
  verifyDecrypt(b: Uint8Array, start: number, end: number): Uint8Array | 'mac' | 'padding' {
    const macAt = end - 32;
    const mac = createHmac('sha256', this.keys.signing).update(b.subarray(start, macAt)).digest();
    if (!timingSafeEqual(mac, b.subarray(macAt, end))) return 'mac';
    const ctAt = start + 25;
    // Without padding, ECB hands back every whole block at once and keeps no state between calls.
    const padded = this.ecb.update(b.subarray(ctAt, macAt));
    // CBC: each plaintext block is the ECB decryption XOR the previous ciphertext block (the IV first).
    for (let i = 0; i < padded.length; i++) padded[i] = padded[i]! ^ b[i < 16 ? start + 9 + i : ctAt + i - 16]!;
    const pad = padded[padded.length - 1]!;
    if (pad < 1 || pad > 16) return 'padding';
    for (let i = padded.length - pad; i < padded.length; i++) if (padded[i] !== pad) return 'padding';
    return padded.subarray(0, padded.length - pad);
  }
}
