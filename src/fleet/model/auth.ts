/**
 * Reports are authenticated with an HMAC-SHA256 over the body's bytes, with
 * a key every agent already has: one derived from the MAAS secret. The
 * derivation (HKDF-SHA256, empty salt, a label of its own) keeps it apart
 * from the beacon key (PBKDF2 over the same secret, protocol/key.ts): a
 * report's MAC never verifies as a beacon's, nor the other way round, and
 * neither key reveals the other.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

export const FLEET_KEY_INFO = 'netbeacon fleet report v1';
export const SIGNATURE_HEADER = 'x-netbeacon-signature';
const PREFIX = 'hmac-sha256=';

export function deriveFleetKey(secret: Uint8Array): Uint8Array {
  if (secret.length === 0) throw new RangeError('the secret is empty');
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), FLEET_KEY_INFO, 32));
}

/** The signature header's value for `body`. */
export function signReport(key: Uint8Array, body: Uint8Array | string): string {
  return PREFIX + createHmac('sha256', key).update(body).digest('hex');
}

/** Whether `header` is the signature of `body`, compared in constant time. */
export function verifyReport(key: Uint8Array, body: Uint8Array | string, header: string | undefined): boolean {
  if (header === undefined || !header.startsWith(PREFIX) || header.length !== PREFIX.length + 64) return false;
  const given = Buffer.from(header.slice(PREFIX.length), 'hex');
  if (given.length !== 32) return false;
  return timingSafeEqual(given, createHmac('sha256', key).update(body).digest());
}
