/**
 * A fast path for the BSON step of every valid beacon. It decodes the
 * shapes beacons are made of (documents, arrays, strings, int32, int64 that
 * fit a double, doubles, booleans, null) straight from the verifier's
 * output bytes, and declines everything else by returning undefined; the
 * caller then asks `bson` itself, which stays the authority on what a
 * document means and on every error.
 *
 * The contract, checked by test/unit/bson-fast.test.ts against
 * bson.deserialize over the MAAS vectors and random documents and
 * mutations: whenever this returns a document, bson.deserialize (with the
 * options in decode.ts) returns an equal one, key order included.
 *
 * It is strict where bson is lenient, so that acceptance here implies
 * acceptance there:
 * - every length is checked against its own document's end, not only the
 *   buffer's, and each document must end exactly at its declared size;
 * - strings must be valid UTF-8 and are declined if they decode to U+FFFD
 *   (bson validates and throws; a real U+FFFD is left to bson);
 * - keys must be ASCII; `__proto__` and `$`-keys (DBRef) are declined;
 * - array keys are skipped, as bson skips them (values take indices);
 * - documents nested deeper than MAX_DEPTH are declined.
 */

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** Set by the readers below: the index just past what they read. */
let next = 0;

export function int32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

// Buffer's own slicers work on any Uint8Array and make a flat string in one call.
// (Node's own, undeclared in @types/node.)
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/**
 * b[from..to) as a string, or undefined when it is not valid UTF-8 (or
 * holds U+FFFD). ASCII, which beacons are made of, is checked byte by byte
 * and sliced in one call; anything else goes through a UTF-8 decoder.
 */
function text(b: Uint8Array, from: number, to: number): string | undefined {
  let high = 0;
  for (let i = from; i < to; i++) high |= b[i]!;
  if (high >= 0x80) return wideText(b, from, to);
  if (to - from > INTERN_MAX) return latin1Slice.call(b, from, to);
  return interned(valueTable, b, from, to);
}

function wideText(b: Uint8Array, from: number, to: number): string | undefined {
  const s = utf8.decode(b.subarray(from, to));
  return s.includes('\ufffd') ? undefined : s;
}

/**
 * Keys, and many short values (interface names, MACs, subnets), repeat from
 * beacon to beacon, so they are interned: a table indexed by the length
 * and three of the bytes (a hash over every byte is a serial multiply chain
 * that costs more than the slice it saves), each slot holding the string
 * and its bytes, compared in full before the string is used. A miss costs
 * one slice and replaces the slot; the tables never grow.
 */
const SLOTS = 512;
const INTERN_MAX = 40;

class InternTable {
  readonly strings: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
  readonly lengths = new Int32Array(SLOTS).fill(-1);
  readonly bytes = new Uint8Array(SLOTS * INTERN_MAX);
}
const keyTable = new InternTable();
const valueTable = new InternTable();

/** The ASCII string b[from..to) (at most INTERN_MAX bytes), from `table` when it is there. */
function interned(table: InternTable, b: Uint8Array, from: number, to: number): string {
  const n = to - from;
  const slot = n === 0 ? 0 : (n * 97 + b[from]! * 31 + b[from + (n >> 1)]! * 7 + b[to - 1]!) & (SLOTS - 1);
  const bytes = table.bytes;
  const base = slot * INTERN_MAX;
  if (table.lengths[slot] === n) {
    let i = 0;
    while (i < n && bytes[base + i] === b[from + i]) i++;
    if (i === n) return table.strings[slot]!;
  }
  const s = latin1Slice.call(b, from, to);
  for (let i = 0; i < n; i++) bytes[base + i] = b[from + i]!;
  table.lengths[slot] = n;
  table.strings[slot] = s;
  return s;
}

/** A key: ASCII only, not `__proto__`, not starting with `$`. */
export function key(b: Uint8Array, from: number, to: number): string | undefined {
  if (to > from && b[from] === 0x24) return undefined; // '$': DBRef rules are bson's
  let high = 0;
  for (let i = from; i < to; i++) high |= b[i]!;
  if (high >= 0x80) return undefined;
  const s = to - from > INTERN_MAX ? latin1Slice.call(b, from, to) : interned(keyTable, b, from, to);
  return s === '__proto__' ? undefined : s;
}

/**
 * The document or array at b[at..limit), whose int32 size must fit before
 * limit. Sets `next` past it. Undefined: declined.
 */
function container(b: Uint8Array, at: number, limit: number, isArray: boolean, depth: number): Record<string, unknown> | unknown[] | undefined {
  if (depth > MAX_DEPTH || limit - at < 5) return undefined;
  const size = int32(b, at);
  if (size < 5 || size > limit - at) return undefined;
  const end = at + size - 1; // the EOO byte
  if (b[end] !== 0) return undefined;
  const arr: unknown[] | undefined = isArray ? [] : undefined;
  const obj: Record<string, unknown> | undefined = isArray ? undefined : {};
  let i = at + 4;
  while (i < end) {
    const type = b[i++]!;
    // The element name: a C string that must end before the EOO.
    const nameStart = i;
    while (i < end && b[i] !== 0) i++;
    if (i >= end) return undefined;
    let name: string | undefined;
    if (!isArray) {
      name = key(b, nameStart, i);
      if (name === undefined) return undefined;
    }
    i++;
    let value: unknown;
    switch (type) {
      case 0x01: // double
        if (end - i < 8) return undefined;
        for (let k = 0; k < 8; k++) scratchBytes[k] = b[i + k]!;
        value = scratch[0];
        i += 8;
        break;
      case 0x02: {
        // string: int32 length including its NUL
        if (end - i < 4) return undefined;
        const len = int32(b, i);
        i += 4;
        if (len <= 0 || len > end - i || b[i + len - 1] !== 0) return undefined;
        value = text(b, i, i + len - 1);
        if (value === undefined) return undefined;
        i += len;
        break;
      }
      case 0x03:
      case 0x04:
        value = container(b, i, end, type === 0x04, depth + 1);
        if (value === undefined) return undefined;
        i = next;
        break;
      case 0x08: {
        if (end - i < 1) return undefined;
        const v = b[i++];
        if (v !== 0 && v !== 1) return undefined;
        value = v === 1;
        break;
      }
      case 0x0a:
        value = null;
        break;
      case 0x10:
        if (end - i < 4) return undefined;
        value = int32(b, i);
        i += 4;
        break;
      case 0x12: {
        // int64: promoted to a number when it is a safe integer, as bson does
        if (end - i < 8) return undefined;
        const v = int32(b, i + 4) * 4294967296 + (int32(b, i) >>> 0);
        if (!Number.isSafeInteger(v)) return undefined;
        value = v;
        i += 8;
        break;
      }
      default:
        return undefined;
    }
    if (arr) arr.push(value);
    else obj![name!] = value;
  }
  next = end + 1;
  return arr ?? obj;
}

/** The document in b[start..end), or undefined when the fast path declines it. */
export function decodeBsonFast(b: Uint8Array, start: number, end: number): Record<string, unknown> | undefined {
  const doc = container(b, start, end, false, 0) as Record<string, unknown> | undefined;
  return doc !== undefined && next === end ? doc : undefined;
}
