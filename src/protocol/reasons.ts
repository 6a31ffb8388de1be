/**
 * Stable rejection reason codes. The numeric value is the wire between the
 * native engine and TypeScript (native/verify.h mirrors this table), the
 * string is what counters, logs, metrics and the CLI show. Never renumber.
 */
export const REASONS = [
  'ok', // 0: not a rejection
  'short', // 1: datagram shorter than the 4-byte header
  'length', // 2: header's payload length exceeds the datagram
  'version', // 3: header version is not 1 or 2 (or 3, when beacon format v3 is accepted)
  'token', // 4: not a Fernet token (bad 0x80 marker, too short, ciphertext not whole blocks); v3: too short, unknown flags
  'expired', // 5: token timestamp older than now - 60 s
  'future', // 6: token timestamp newer than now + 60 s
  'mac', // 7: HMAC-SHA256 does not match (wrong secret or forged); v3: the Poly1305 tag does not
  'padding', // 8: AES-CBC plaintext has bad PKCS7 padding
  'gzip', // 9: plaintext is not a gzip member
  'size', // 10: plaintext inflates past MAX_INFLATED (gzip bomb guard)
  'bson', // 11: gunzipped bytes are not exactly one BSON document
  'type', // 12: beacon type (inner, else header) is not 1 or 2
  'key', // 13: v3 only: the key id names no key accepted here (rejected without any AEAD)
] as const;

export type Reason = (typeof REASONS)[number];
export type RejectReason = Exclude<Reason, 'ok'>;

export const REASON_CODE: Readonly<Record<Reason, number>> = Object.freeze(Object.fromEntries(REASONS.map((r, i) => [r, i])) as Record<Reason, number>);

export function reasonName(code: number): Reason {
  const r = REASONS[code];
  if (r === undefined) throw new RangeError(`unknown reason code ${code}`);
  return r;
}

/** Largest gunzipped plaintext accepted. A UDP datagram is < 64 KiB; this bounds a gzip bomb. */
export const MAX_INFLATED = 256 * 1024;

/** Fernet accepts tokens (v3 judges its sealed timestamp with the same window) up to 60 s old and up to 60 s in the future (clock skew). */
export const TOKEN_TTL_SECONDS = 60;
export const MAX_CLOCK_SKEW_SECONDS = 60;
