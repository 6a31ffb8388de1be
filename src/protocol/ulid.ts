/**
 * ULIDs for beacons: 48 bits of milliseconds and 80 random bits in
 * Crockford's base32, 26 characters, as the `ulid` package writes them.
 *
 * Monotonic as that package's `monotonicFactory`: within one millisecond
 * (or when the clock goes back) the random part of the last ULID is
 * incremented, so ULIDs from one factory sort in the order they were made.
 *
 * Why not the package: it draws each of the 16 random characters with its
 * own `crypto.getRandomValues` call. On an agent with 128 interfaces that
 * was the largest single cost of a solicitation round (a CPU profile of the
 * idle agent: 17% of its JavaScript time). Here the 10 random bytes come
 * from a pool (./random.ts), one `randomFillSync` per 400 ULIDs.
 */
import { randomBytesPooled } from './random';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const TIME_MAX = 2 ** 48 - 1;
const HALF = 2 ** 40;

/** `bits` bits of `v` (a multiple of 5, at most 50: exact in a double), most significant first. */
function encodeBits(v: number, bits: number, out: string[]): void {
  for (let shift = bits - 5; shift >= 0; shift -= 5) out.push(ALPHABET[Math.floor(v / 2 ** shift) % 32]!);
}

/** Two 40-bit halves, each exact in a double. */
function fromBytes(b: Uint8Array): [number, number] {
  const hi = (((b[0]! * 256 + b[1]!) * 256 + b[2]!) * 256 + b[3]!) * 256 + b[4]!;
  const lo = (((b[5]! * 256 + b[6]!) * 256 + b[7]!) * 256 + b[8]!) * 256 + b[9]!;
  return [hi, lo];
}

export type UlidFactory = (nowMs: number) => string;

/** A monotonic ULID source; `random(10)` gives the random bytes (tests pass their own). */
export function ulidFactory(random: (n: number) => Uint8Array = randomBytesPooled): UlidFactory {
  let lastMs = -1;
  let hi = 0;
  let lo = 0;
  return (nowMs: number): string => {
    const ms = Math.floor(nowMs);
    if (!(ms >= 0 && ms <= TIME_MAX)) throw new RangeError(`a ULID's time is 0 to 2^48-1 ms, got ${nowMs}`);
    if (ms <= lastMs) {
      // The ulid package's rule: same or earlier time, last ULID's time and its random part plus one.
      if (++lo === HALF) {
        lo = 0;
        if (++hi === HALF) throw new RangeError('ULID random part overflowed within one millisecond');
      }
    } else {
      lastMs = ms;
      [hi, lo] = fromBytes(random(10));
    }
    // 48 bits of time in 10 characters (the top two bits of the first are 0), then 2 x 40 random bits.
    const out: string[] = [];
    encodeBits(lastMs, 50, out);
    encodeBits(hi, 40, out);
    encodeBits(lo, 40, out);
    return out.join('');
  };
}
