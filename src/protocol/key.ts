import { createHash, pbkdf2Sync } from 'node:crypto';

/**
 * The 32-byte Fernet key: bytes 0-15 sign, 16-31 encrypt. With `v3`, the
 * beacon format v3 key derived from it (src/protocol/v3.ts) rides along:
 * verifiers built from a key that has it accept v3 beacons too, and
 * without it v3 is an unknown version, exactly as before.
 */
export interface FernetKey {
  readonly signing: Uint8Array; // 16 bytes
  readonly encryption: Uint8Array; // 16 bytes
  readonly v3?: V3Key;
}

/** A beacon format v3 key (docs/beacon-v3.md): the AEAD key and the key id that names it on the wire. */
export interface V3Key {
  readonly key: Uint8Array; // 32 bytes, XChaCha20-Poly1305-IETF
  readonly id: Uint8Array; // 4 bytes, in every v3 header
  /** `id` in hex, for status and logs. */
  readonly idHex: string;
}

/** MAAS derives its beacon key with PBKDF2-HMAC-SHA256, an empty salt and 100,000 iterations. */
export const KDF_ITERATIONS = 100_000;

/**
 * Derive the Fernet key from the MAAS secret bytes. It costs ~100 ms, so a
 * process derives it once and passes the result around.
 */
export function deriveKey(secret: Uint8Array): FernetKey {
  if (secret.length === 0) throw new RangeError('the secret is empty');
  const key = pbkdf2Sync(secret, Buffer.alloc(0), KDF_ITERATIONS, 32, 'sha256');
  return Object.freeze({ signing: new Uint8Array(key.subarray(0, 16)), encryption: new Uint8Array(key.subarray(16, 32)) });
}

/**
 * A short, non-reversible fingerprint of a key for logs, `doctor` and
 * `status`: the first 8 hex digits of SHA-256 over a fixed label and both
 * key halves. Never print the secret.
 */
export function keyFingerprint(key: FernetKey): string {
  return createHash('sha256').update('netbeacon-fingerprint').update(key.signing).update(key.encryption).digest('hex').slice(0, 8);
}
