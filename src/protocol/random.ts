/**
 * Cryptographically secure random bytes for the send path (Fernet IVs,
 * ULIDs), drawn from a pool: `crypto.randomBytes(16)` costs about 15 us a
 * call here, most of it the call, not the bytes. The pool is refilled into
 * a new buffer, never in place, so bytes already handed out (views into
 * the old pool) never change and are never handed out twice.
 */
import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;

/** `n` fresh random bytes (a view: the caller owns them). */
export function randomBytesPooled(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`random byte count must be a non-negative integer, got ${n}`);
  if (n > POOL_BYTES / 4) return randomFillSync(Buffer.allocUnsafe(n));
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}
