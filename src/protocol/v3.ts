/**
 * Beacon format v3 (docs/beacon-v3.md is the specification):
 *
 *   0 version (3) | 1 type | 2 length (u16 BE, bytes after these 4)
 *   4 key id (4)  | 8 nonce (24) | 32 ciphertext | tag (16)
 *
 * XChaCha20-Poly1305-IETF over `flags (1) | timestamp (u64 BE seconds) |
 * body`, with bytes 0..32 (everything in clear text) as associated data;
 * the body is one BSON document, gzip'd when the flags say so. Keys come
 * from the Fernet key with libsodium's KDF, and the key id is a
 * fingerprint of the derived key, so that a receiver picks its key without
 * trial decryption. Pure: keys, the clock and the nonce come from the caller.
 */
import { randomBytesPooled } from './random';
import { constants, gzipSync } from 'node:zlib';
import { gunzipLikePython } from './gzip';
import { HEADER_LENGTH, V3_KEY_ID_LENGTH, V3_VERSION, writeHeader } from './header';
import type { FernetKey, V3Key } from './key';
import { Keyring, type KeyringEntry } from './keyring';
import { MAX_CLOCK_SKEW_SECONDS, MAX_INFLATED, TOKEN_TTL_SECONDS, type RejectReason } from './reasons';
import { sodium } from './sodium';

export { V3_KEY_ID_LENGTH, V3_VERSION };
export const V3_NONCE_LENGTH = 24;
export const V3_TAG_LENGTH = 16;
/** Bytes in clear text before the ciphertext; all of them are the associated data. */
export const V3_CLEAR_LENGTH = HEADER_LENGTH + V3_KEY_ID_LENGTH + V3_NONCE_LENGTH; // 32
/** flags (1) and timestamp (8) open every plaintext. */
export const V3_PLAIN_PREFIX = 9;
/** The smallest declared length: key id, nonce, the plaintext prefix and the tag. */
export const V3_MIN_LENGTH = V3_KEY_ID_LENGTH + V3_NONCE_LENGTH + V3_PLAIN_PREFIX + V3_TAG_LENGTH; // 53
export const V3_FLAG_GZIP = 0x01;
/** Bodies larger than this are gzip'd when that makes them smaller: ~200-byte beacons never are. */
export const V3_GZIP_ABOVE = 1024;

/** libsodium KDF contexts (8 bytes each): one for the key, one for its id. */
export const V3_KDF_CONTEXT = 'nbeacon3';
export const V3_KDF_SUBKEY = 1;
export const V3_KEY_ID_CONTEXT = 'nbkeyid3';
export const V3_KEY_ID_SUBKEY = 1;

/**
 * The v3 key: crypto_kdf_derive_from_key(32, 1, "nbeacon3", master) where
 * master is the 32-byte PBKDF2 output that Fernet splits into its two
 * halves. One-way, so the v3 key gives nothing of the Fernet key away, and
 * the PBKDF2 stretching (what a guessed secret costs) is the same for both.
 */
export function deriveV3Key(fernet: FernetKey): V3Key {
  const na = sodium();
  const master = new Uint8Array(32);
  master.set(fernet.signing, 0);
  master.set(fernet.encryption, 16);
  const key = na.crypto_kdf_derive_from_key(32, V3_KDF_SUBKEY, V3_KDF_CONTEXT, master);
  return Object.freeze({ key, ...keyId(key) });
}

/** The key id: the first 4 bytes of crypto_kdf_derive_from_key(16, 1, "nbkeyid3", v3 key). */
export function keyId(key: Uint8Array): { id: Uint8Array; idHex: string } {
  const id = sodium().crypto_kdf_derive_from_key(16, V3_KEY_ID_SUBKEY, V3_KEY_ID_CONTEXT, key).slice(0, V3_KEY_ID_LENGTH);
  return { id, idHex: Buffer.from(id).toString('hex') };
}

/** `fernet` with its v3 key attached: what verifiers accept v3 with and senders send v3 with. */
export function withV3(fernet: FernetKey): FernetKey {
  if (fernet.v3) return fernet;
  return Object.freeze({ signing: fernet.signing, encryption: fernet.encryption, v3: deriveV3Key(fernet) });
}

/** Fingerprint -> v3 key id (hex) of every key of `keyring` that has a v3 key: what a verifier's match names on the wire. */
export function v3KeyIds(keyring: Keyring): Map<string, string> {
  const ids = new Map<string, string>();
  for (const e of [keyring.signingKey(), ...keyring.previousKeys()]) if (e.key.v3) ids.set(e.fingerprint, e.key.v3.idHex);
  return ids;
}

/** The same keyring with every key's v3 key attached (fingerprints stay: they name the secret). */
export function keyringWithV3(keyring: Keyring): Keyring {
  const entries: KeyringEntry[] = [keyring.signingKey(), ...keyring.previousKeys()];
  return new Keyring(entries.map((e) => ({ ...e, key: withV3(e.key) })));
}

export interface V3SealOptions {
  readonly type: number;
  /** Seconds since the epoch, judged by receivers with Fernet's window (60 s either way). */
  readonly timestamp: number;
  /** A fixed nonce (test vectors); random otherwise, as it must be. */
  readonly nonce?: Uint8Array;
  /** Force the gzip flag on or off; by default only a large body that shrinks is gzip'd. */
  readonly gzip?: boolean;
}

/** A whole v3 datagram around `body` (one BSON document). */
export function sealV3(key: V3Key, body: Uint8Array, opts: V3SealOptions): Buffer {
  const nonce = opts.nonce ?? randomBytesPooled(V3_NONCE_LENGTH);
  if (nonce.length !== V3_NONCE_LENGTH) throw new RangeError(`a v3 nonce is ${V3_NONCE_LENGTH} bytes, got ${nonce.length}`);
  if (!Number.isInteger(opts.timestamp) || opts.timestamp < 0) throw new RangeError(`a v3 timestamp is whole seconds since the epoch, got ${opts.timestamp}`);
  let flags = 0;
  let content = body;
  if (opts.gzip ?? body.length > V3_GZIP_ABOVE) {
    const packed = gzipSync(body, { level: 9, strategy: constants.Z_FIXED });
    if (opts.gzip === true || packed.length < body.length) {
      flags |= V3_FLAG_GZIP;
      content = packed;
    }
  }
  const plain = new Uint8Array(V3_PLAIN_PREFIX + content.length);
  plain[0] = flags;
  new DataView(plain.buffer).setBigUint64(1, BigInt(opts.timestamp));
  plain.set(content, V3_PLAIN_PREFIX);
  const length = V3_MIN_LENGTH + content.length;
  const out = Buffer.alloc(HEADER_LENGTH + length);
  writeHeader(out, V3_VERSION, opts.type, length);
  out.set(key.id, HEADER_LENGTH);
  out.set(nonce, HEADER_LENGTH + V3_KEY_ID_LENGTH);
  const ad = out.subarray(0, V3_CLEAR_LENGTH);
  const sealed = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plain, ad, null, nonce, key.key);
  out.set(sealed, V3_CLEAR_LENGTH);
  return out;
}

/**
 * Opens the v3 datagram b[start..end) whose 4-byte header has been checked
 * (length within the datagram, version 3): the BSON bytes, or why not. The
 * order is the contract both engines keep (native/verify.cc): shape, key
 * id, tag, flags, age, then the body.
 */
export function openV3(key: V3Key, b: Uint8Array, start: number, nowSeconds: number): Uint8Array | RejectReason {
  const declared = (b[start + 2]! << 8) | b[start + 3]!;
  if (declared < V3_MIN_LENGTH) return 'token';
  const id = start + HEADER_LENGTH;
  const want = key.id;
  // Not secret: the key id is in clear text on the wire.
  if (b[id] !== want[0] || b[id + 1] !== want[1] || b[id + 2] !== want[2] || b[id + 3] !== want[3]) return 'key';
  const stop = start + HEADER_LENGTH + declared;
  const nonce = b.subarray(id + V3_KEY_ID_LENGTH, start + V3_CLEAR_LENGTH);
  let plain: Uint8Array;
  try {
    plain = sodium().crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      b.subarray(start + V3_CLEAR_LENGTH, stop),
      b.subarray(start, start + V3_CLEAR_LENGTH),
      nonce,
      key.key,
    );
  } catch {
    return 'mac';
  }
  return openedV3(plain, nowSeconds);
}

/** The checks after authentication, on the plaintext: flags, age, body. */
export function openedV3(plain: Uint8Array, nowSeconds: number): Uint8Array | RejectReason {
  const flags = plain[0]!;
  if ((flags & ~V3_FLAG_GZIP) !== 0) return 'token';
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
  // Exact below 2^53; a hostile larger stamp rounds, but stays far in the future.
  const ts = view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
  if (ts + TOKEN_TTL_SECONDS < nowSeconds) return 'expired';
  if (ts > nowSeconds + MAX_CLOCK_SKEW_SECONDS) return 'future';
  const body = plain.subarray(V3_PLAIN_PREFIX);
  const bson = flags & V3_FLAG_GZIP ? gunzipLikePython(body, MAX_INFLATED) : body;
  return typeof bson !== 'string' && bson.length === 0 ? 'bson' : bson;
}
