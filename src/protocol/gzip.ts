import { constants, crc32, inflateRawSync } from 'node:zlib';
import { inflateConsumed, inflateFixed } from './inflate-fixed';

/**
 * gunzip with exactly the semantics of Python's `gzip.decompress`, which is
 * what MAAS runs on a beacon's plaintext: concatenated members are joined,
 * NUL bytes between and after members are skipped, anything else after a
 * member is an error, and an empty input gives empty output. Node's
 * `gunzipSync` differs on the last three, and the native engine follows
 * this function, so both engines and MAAS agree.
 *
 * Returns the bytes, 'gzip' when the input is not valid gzip, or 'size'
 * when the output would exceed `maxOutput`.
 */
export function gunzipLikePython(input: Uint8Array, maxOutput: number): Uint8Array | 'gzip' | 'size' {
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = 0;
  for (;;) {
    if (pos >= input.length) break;
    const body = gzipHeaderEnd(input, pos);
    if (body < 0) return 'gzip';
    let out: Uint8Array;
    let consumed: number;
    const room = Math.max(1, maxOutput - total);
    const fast = inflateFixed(input, body, room);
    if (fast !== undefined) {
      out = fast;
      consumed = inflateConsumed;
    } else
      try {
        const r = inflateRawSync(input.subarray(body), { info: true, maxOutputLength: room }) as unknown as {
          buffer: Buffer;
          engine: { bytesWritten: number };
        };
        out = r.buffer;
        consumed = r.engine.bytesWritten;
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') return 'size';
        return overflowsBeforeError(input.subarray(body), maxOutput - total) ? 'size' : 'gzip';
      }
    total += out.length;
    // In stream order, as the native engine sees it: the output bytes come
    // before the trailer that might be wrong.
    if (total > maxOutput) return 'size';
    const trailer = body + consumed;
    if (trailer + 8 > input.length) return 'gzip';
    const view = new DataView(input.buffer, input.byteOffset + trailer, 8);
    if (view.getUint32(0, true) !== crc32(out) || view.getUint32(4, true) !== out.length >>> 0) return 'gzip';
    parts.push(out);
    pos = trailer + 8;
    while (pos < input.length && input[pos] === 0) pos++;
  }
  if (parts.length === 1) return parts[0]!;
  return Buffer.concat(parts, total);
}

/**
 * A deflate stream that failed: did it produce more than `room` bytes
 * before the fault? The native engine inflates into a buffer of exactly the
 * room left and so answers 'size' whenever the output outgrows it first.
 * Node's inflateRawSync cannot say how much came out before an error, so
 * find the longest input prefix that inflates without one (sync flush makes
 * a cut stream legal) by bisection, and measure what it produces. Errors and
 * output only grow with the prefix, so the bisection is exact. This runs
 * only for authentic tokens with broken gzip, never on the hot path.
 */
function overflowsBeforeError(deflate: Uint8Array, room: number): boolean {
  const attempt = (n: number): 'over' | 'error' | 'ok' => {
    try {
      const out = inflateRawSync(deflate.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: Math.max(1, room) });
      return out.length > room ? 'over' : 'ok';
    } catch (err) {
      return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'over' : 'error';
    }
  };
  let lo = 0;
  let hi = deflate.length;
  const whole = attempt(hi);
  if (whole !== 'error') return whole === 'over';
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const r = attempt(mid);
    if (r === 'over') return true;
    if (r === 'error') hi = mid;
    else lo = mid;
  }
  return false;
}

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** Offset of the deflate data after the RFC 1952 member header at `pos`, or -1. */
function gzipHeaderEnd(b: Uint8Array, pos: number): number {
  if (pos + 10 > b.length || b[pos] !== 0x1f || b[pos + 1] !== 0x8b || b[pos + 2] !== 8) return -1;
  const flags = b[pos + 3]!;
  // Python ignores the reserved flag bits and does not check FHCRC; so do we.
  let p = pos + 10;
  if (flags & FEXTRA) {
    if (p + 2 > b.length) return -1;
    p += 2 + (b[p]! | (b[p + 1]! << 8));
  }
  if (flags & FNAME) p = skipZeroTerminated(b, p);
  if (p >= 0 && flags & FCOMMENT) p = skipZeroTerminated(b, p);
  if (p >= 0 && flags & FHCRC) p += 2;
  return p >= 0 && p <= b.length ? p : -1;
}

function skipZeroTerminated(b: Uint8Array, p: number): number {
  const end = b.indexOf(0, p);
  return end < 0 ? -1 : end + 1;
}
