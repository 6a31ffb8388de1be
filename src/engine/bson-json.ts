/**
 * BSON straight to JSON bytes, for `observe`, which needs a beacon's
 * payload only to print it: no document, no strings, no JSON.stringify,
 * just the verifier's output bytes transcoded into the output buffer.
 *
 * The contract, checked by test/unit/bson-json.test.ts: whenever
 * bsonToJson succeeds, the bytes it wrote are exactly
 * Buffer.from(JSON.stringify(bson.deserialize(doc))) (decode.ts's options),
 * and `payloadType` is what `doc.type` would be. It declines (returns -1,
 * the caller takes the object path) wherever the fast path of bson-fast.ts
 * declines, and also where a JS object would not print its keys in BSON
 * order or once each:
 * - a key that starts with a digit (array-index keys are ordered first);
 * - a key seen twice in one document (the last value would win, in the
 *   first one's place), and documents of more than MAX_KEYS keys;
 * - a string or key that JSON would escape (control characters, `"`,
 *   `\`) or that is not ASCII.
 */
import { int32, key } from './bson-fast';

const MAX_DEPTH = 32;
/** Keys per document checked for repeats; more is declined (the check is quadratic, and a hostile 256 KiB document holds thousands). */
const MAX_KEYS = 64;
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** The top-level `type` of the last document transcoded: a number, or NaN when it was missing or not a number. */
export let payloadType = Number.NaN;

/** Set by the writers below: where the output ends. */
let w = 0;
/** Keys of the document being written, per depth, to find repeats. */
const keysAt: string[][] = [];

/** Writes a short ASCII string (a number, true, false, null); false when it does not fit before `limit`. */
function put(out: Uint8Array, s: string, limit: number): boolean {
  if (limit - w < s.length) return false;
  for (let k = 0; k < s.length; k++) out[w++] = s.charCodeAt(k);
  return true;
}

/** A JSON string from b[from..to): printable ASCII without `"` or `\`, copied; false otherwise. */
function putString(out: Uint8Array, b: Uint8Array, from: number, to: number, limit: number): boolean {
  if (limit - w < to - from + 2) return false;
  out[w++] = 0x22;
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
    out[w++] = c;
  }
  out[w++] = 0x22;
  return true;
}

function container(b: Uint8Array, at: number, limit: number, isArray: boolean, depth: number, out: Uint8Array, outLimit: number): number {
  if (depth > MAX_DEPTH || limit - at < 5) return -1;
  const size = int32(b, at);
  if (size < 5 || size > limit - at) return -1;
  const end = at + size - 1;
  if (b[end] !== 0) return -1;
  const keys = isArray ? undefined : (keysAt[depth] ??= []);
  if (keys) keys.length = 0;
  if (w >= outLimit) return -1;
  out[w++] = isArray ? 0x5b : 0x7b;
  let first = true;
  let i = at + 4;
  while (i < end) {
    const type = b[i++]!;
    const nameStart = i;
    while (i < end && b[i] !== 0) i++;
    if (i >= end) return -1;
    if (!first) {
      if (w >= outLimit) return -1;
      out[w++] = 0x2c;
    }
    first = false;
    let name: string | undefined;
    if (keys) {
      const c = b[nameStart]!;
      if (i > nameStart && c >= 0x30 && c <= 0x39) return -1;
      name = key(b, nameStart, i);
      if (name === undefined || keys.length >= MAX_KEYS || keys.includes(name)) return -1;
      keys.push(name);
      if (!putString(out, b, nameStart, i, outLimit) || w >= outLimit) return -1;
      out[w++] = 0x3a;
    }
    i++;
    let number = Number.NaN;
    switch (type) {
      case 0x01: {
        if (end - i < 8) return -1;
        for (let k = 0; k < 8; k++) scratchBytes[k] = b[i + k]!;
        number = scratch[0]!;
        i += 8;
        // JSON.stringify prints NaN and the infinities as null.
        if (!put(out, Number.isFinite(number) ? String(number) : 'null', outLimit)) return -1;
        break;
      }
      case 0x02: {
        if (end - i < 4) return -1;
        const len = int32(b, i);
        i += 4;
        if (len <= 0 || len > end - i || b[i + len - 1] !== 0) return -1;
        if (!putString(out, b, i, i + len - 1, outLimit)) return -1;
        i += len;
        break;
      }
      case 0x03:
      case 0x04:
        i = container(b, i, end, type === 0x04, depth + 1, out, outLimit);
        if (i < 0) return -1;
        break;
      case 0x08: {
        if (end - i < 1) return -1;
        const v = b[i++];
        if (v !== 0 && v !== 1) return -1;
        if (!put(out, v === 1 ? 'true' : 'false', outLimit)) return -1;
        break;
      }
      case 0x0a:
        if (!put(out, 'null', outLimit)) return -1;
        break;
      case 0x10:
        if (end - i < 4) return -1;
        number = int32(b, i);
        i += 4;
        if (!put(out, String(number), outLimit)) return -1;
        break;
      case 0x12: {
        if (end - i < 8) return -1;
        number = int32(b, i + 4) * 4294967296 + (int32(b, i) >>> 0);
        if (!Number.isSafeInteger(number)) return -1;
        i += 8;
        if (!put(out, String(number), outLimit)) return -1;
        break;
      }
      default:
        return -1;
    }
    if (depth === 0 && name === 'type') payloadType = number;
  }
  if (w >= outLimit) return -1;
  out[w++] = isArray ? 0x5d : 0x7d;
  return end + 1;
}

/**
 * Writes the JSON of the BSON document b[start..end) into out[at..outLimit)
 * and returns where it ends, or -1 when it declines (out may then hold
 * partial output past `at`). Sets payloadType.
 */
export function bsonToJson(b: Uint8Array, start: number, end: number, out: Uint8Array, at: number, outLimit = out.length): number {
  w = at;
  payloadType = Number.NaN;
  const next = container(b, start, end, false, 0, out, Math.min(outLimit, out.length));
  return next === end ? w : -1;
}
