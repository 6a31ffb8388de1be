/**
 * Beacons of an exact size, for MTU probes and padded replies.
 *
 * The bulk of the padding is a `pad` string inside the payload, so it is
 * authenticated with the rest: a path that mangles or truncates it fails
 * the HMAC instead of passing for a clean one. The string is random (gzip
 * would squeeze a constant one back to nothing), so the encoded size
 * cannot be computed in advance; it is found by bisecting the pad length
 * with the ULID and clock fixed. Fernet pads its ciphertext to 16-byte
 * blocks, so the token alone can hit only every 16th size; the last 0-15
 * bytes (occasionally a few more when gzip's output steps) go after the
 * token as filler, which the protocol defines as ignored ("bytes after the
 * declared payload are ignored"; MAAS and both engines here do so).
 *
 * Pure apart from the random pad text, which a caller may supply.
 */
import { randomBytes } from 'node:crypto';
import { encodeBeacon } from './beacon';
import type { FernetKeyObjects } from './fernet';
import type { BeaconTypeName } from './header';

export interface PaddedBeacon {
  /** The whole UDP payload: header, token, filler. Exactly the length asked for. */
  readonly bytes: Buffer;
  readonly ulid: string;
  /** Characters of `pad` in the payload (0: no pad key at all). */
  readonly padLength: number;
  /** Filler bytes after the token. */
  readonly filler: number;
}

export interface PadOptions {
  readonly nowMs: number;
  readonly ulid?: string;
  /** Pad characters to draw from (tests fix it); random base64url otherwise. */
  readonly padText?: string;
}

/**
 * Encodes `{...payload, pad}` so that the UDP payload is exactly
 * `datagramLength` bytes. RangeError when even the unpadded beacon is
 * longer.
 */
export function encodePadded(
  keys: FernetKeyObjects,
  type: BeaconTypeName,
  payload: Record<string, unknown>,
  datagramLength: number,
  opts: PadOptions,
): PaddedBeacon {
  if (!Number.isInteger(datagramLength) || datagramLength < 0 || datagramLength > 65507) throw new RangeError(`cannot pad a beacon to ${datagramLength} bytes`);
  const base = encodeBeacon(keys, type, payload, { nowMs: opts.nowMs, ulid: opts.ulid });
  const ulid = base.ulid;
  if (base.bytes.length > datagramLength) {
    throw new RangeError(`a beacon of ${datagramLength} bytes is too short for this payload (it needs ${base.bytes.length})`);
  }
  // Each character costs at least ~0.5 bytes after gzip, so twice the
  // target always suffices to overshoot.
  const text = opts.padText ?? randomBytes(datagramLength * 2).toString('base64url');
  const encode = (n: number): Buffer => encodeBeacon(keys, type, { ...payload, pad: text.slice(0, n) }, { nowMs: opts.nowMs, ulid }).bytes;
  let best: Buffer = base.bytes;
  let bestN = 0;
  // Largest n with encode(n) <= target. Sizes grow with n (a longer random
  // suffix never compresses the whole to less), so bisection finds it.
  let lo = 1;
  let hi = Math.min(text.length, datagramLength * 2);
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const b = encode(mid);
    if (b.length <= datagramLength) {
      best = b;
      bestN = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const filler = datagramLength - best.length;
  const bytes = filler === 0 ? best : Buffer.concat([best, Buffer.alloc(filler)]);
  return { bytes, ulid, padLength: bestN, filler };
}
