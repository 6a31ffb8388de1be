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
 * - keys must be ASCII; `__proto__` and `$`-keys (DBRef) are declined, and
 *   so is a document that repeats a key or has more than MAX_FIELDS;
 * - array keys are skipped, as bson skips them (values take indices);
 * - documents nested deeper than MAX_DEPTH are declined.
 *
 * Shapes. Beacons repeat a few document layouts (the element types and
 * names, in order) with different values, and building a fresh `{}` by
 * keyed stores `obj[name] = value` is most of the cost (V8 goes through its
 * megamorphic store path for every property). So a document's elements are
 * first decoded onto a value stack while their names are only located, and
 * the layout is then looked up in a small cache of shapes: a fixed table
 * of SHAPE_SLOTS entries indexed by a hash of (type, name length, first and
 * last name byte) per element, each entry compared in full, byte for byte
 * (types and names), before it is used. A shape that has matched
 * COMPILE_AT times gets a constructor: a function generated once with
 * `new Function`, returning one object literal whose property names are
 * emitted only as JSON.stringify of keys already validated as printable
 * ASCII (not `__proto__`, not `$`-keys, no repeats), and whose values are
 * read from the stack; every object it makes has one hidden class. Until
 * then, and for keys that are not printable ASCII, the object is built by
 * keyed stores as before. The table never grows: a colliding layout
 * replaces an entry only once the entry has lost as many lookups as it had
 * won (capped at MAX_SCORE), so alternating layouts cannot make it compile
 * over and over; a layout that is not cached is simply built by stores.
 */

const MAX_DEPTH = 32;
/** Documents with more elements than this are left to bson (beacons have a handful). */
const MAX_FIELDS = 64;
const SHAPE_SLOTS = 256;
const COMPILE_AT = 16;
const MAX_SCORE = 64;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);

/** Set by the readers below: the index just past what they read. */
let next = 0;

export function int32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * A DataView of the buffer being read, kept while the same buffer comes
 * back (a batch's items share one): names and short strings are compared,
 * and ASCII checked, four bytes at a time through it.
 */
let viewOf: Uint8Array | undefined;
let dv: DataView = new DataView(new ArrayBuffer(0));

/** Whether a[ai..ai+n) and c[ci..ci+n) hold the same bytes (both ranges in bounds). */
function same(a: DataView, ai: number, c: DataView, ci: number, n: number): boolean {
  if (n < 4) {
    for (let j = 0; j < n; j++) if (a.getUint8(ai + j) !== c.getUint8(ci + j)) return false;
    return true;
  }
  // Whole words, then the last word (overlapping the one before).
  for (let j = 0; j + 4 < n; j += 4) if (a.getInt32(ai + j) !== c.getInt32(ci + j)) return false;
  return a.getInt32(ai + n - 4) === c.getInt32(ci + n - 4);
}

/** Whether dv[from..to) is all ASCII. */
function ascii(from: number, to: number): boolean {
  const v = dv;
  let high = 0;
  let i = from;
  for (; i + 4 <= to; i += 4) high |= v.getInt32(i);
  for (; i < to; i++) high |= v.getUint8(i);
  return (high & 0x80808080) === 0;
}

// Buffer's own slicers work on any Uint8Array and make a flat string in one call.
// (Node's own, undeclared in @types/node.)
const latin1Slice = (Buffer.prototype as unknown as { latin1Slice: (this: Uint8Array, start: number, end: number) => string }).latin1Slice;

/**
 * b[from..to) as a string, or undefined when it is not valid UTF-8 (or
 * holds U+FFFD). Short strings are looked up in the value table first
 * (what is there is ASCII); the rest are checked byte by byte and sliced
 * in one call when ASCII, and go through a UTF-8 decoder when not.
 */
function text(b: Uint8Array, from: number, to: number): string | undefined {
  const n = to - from;
  if (n <= INTERN_MAX) {
    const slot = n === 0 ? 0 : (n * 97 + b[from]! * 31 + b[from + (n >> 1)]! * 7 + b[to - 1]!) & (SLOTS - 1);
    const table = valueTable;
    if (table.lengths[slot] === n && same(dv, from, table.view, slot * INTERN_MAX, n)) return table.strings[slot]!;
    if (!ascii(from, to)) return wideText(b, from, to);
    return store(table, slot, b, from, to);
  }
  if (!ascii(from, to)) return wideText(b, from, to);
  return latin1Slice.call(b, from, to);
}

function wideText(b: Uint8Array, from: number, to: number): string | undefined {
  const s = utf8.decode(b.subarray(from, to));
  return s.includes('\ufffd') ? undefined : s;
}

/**
 * Short values (interface names, MACs, subnets) repeat from beacon to
 * beacon, so they are interned: a table indexed by the length and three of
 * the bytes (a hash over every byte is a serial multiply chain that costs
 * more than the slice it saves), each slot holding the string and its
 * bytes, compared in full before the string is used. A miss costs one
 * slice and replaces the slot; the tables never grow.
 */
const SLOTS = 512;
const INTERN_MAX = 40;

class InternTable {
  readonly strings: Array<string | undefined> = new Array<string | undefined>(SLOTS).fill(undefined);
  readonly lengths = new Int32Array(SLOTS).fill(-1);
  readonly bytes = new Uint8Array(SLOTS * INTERN_MAX);
  readonly view = new DataView(this.bytes.buffer);
}
const valueTable = new InternTable();

function store(table: InternTable, slot: number, b: Uint8Array, from: number, to: number): string {
  const n = to - from;
  const s = latin1Slice.call(b, from, to);
  const bytes = table.bytes;
  const base = slot * INTERN_MAX;
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
  const s = latin1Slice.call(b, from, to);
  return s === '__proto__' ? undefined : s;
}

type Build = (v: unknown[], base: number) => Record<string, unknown>;

/** A document layout: its elements' types and names, and how to build it. */
class Shape {
  /** Won lookups minus lost ones, 0..MAX_SCORE. */
  score = 1;
  uses = 0;
  build: Build | undefined;
  /** For each element that is a document or an array of them: the slot of the shape it had last, or -1. */
  readonly kids: Int16Array;
  constructor(
    readonly hash: number,
    readonly types: Uint8Array,
    /** Each name's bytes at nameAt[k]..nameAt[k + 1] in names. */
    readonly names: Uint8Array,
    readonly nameAt: Int32Array,
    readonly keys: readonly string[],
    /** Each element as it is in the document: its type, its name, a NUL; element k at layoutAt(k) = nameAt[k] + 2k. */
    readonly layout: DataView,
    /** Whether every key is printable ASCII, so that a constructor may be generated. */
    readonly compilable: boolean,
  ) {
    this.kids = new Int16Array(types.length).fill(-1);
  }
}

const shapes: Array<Shape | undefined> = new Array<Shape | undefined>(SHAPE_SLOTS).fill(undefined);
/** The slot of the shape the last document read had (or, after an array, its last document), or -1. */
let lastSlot = -1;
/** The slot of the last top-level document's shape, or -1. */
let topSlot = -1;

/** The decoded values of the documents and arrays being read, innermost last. */
const values: unknown[] = [];
let sp = 0;
/** Where each element's name starts, and its length, for the documents being read. */
const nameStart = new Int32Array(MAX_FIELDS * (MAX_DEPTH + 2));
const nameLen = new Int32Array(MAX_FIELDS * (MAX_DEPTH + 2));
let np = 0;

function matches(s: Shape, b: Uint8Array, base: number, n: number): boolean {
  if (s.types.length !== n) return false;
  const names = s.names;
  const at = s.nameAt;
  for (let k = 0; k < n; k++) {
    const from = nameStart[base + k]!;
    const len = nameLen[base + k]!;
    if (b[from - 1] !== s.types[k] || at[k + 1]! - at[k]! !== len) return false;
    const o = at[k]! - from;
    for (let i = from; i < from + len; i++) if (b[i] !== names[o + i]) return false;
  }
  return true;
}

/** The shape of the document whose names are at nameStart[base..base+n), or undefined when its keys are declined. */
function newShape(b: Uint8Array, base: number, n: number, hash: number): Shape | undefined {
  const keys: string[] = [];
  const types = new Uint8Array(n);
  const nameAt = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) total += nameLen[base + k]!;
  const names = new Uint8Array(total);
  const layout = new Uint8Array(total + 2 * n);
  let compilable = true;
  let o = 0;
  for (let k = 0; k < n; k++) {
    const from = nameStart[base + k]!;
    const len = nameLen[base + k]!;
    const name = key(b, from, from + len);
    if (name === undefined || keys.includes(name)) return undefined;
    for (let i = 0; i < len; i++) {
      const c = b[from + i]!;
      if (c < 0x20 || c > 0x7e) compilable = false;
      names[o + i] = c;
      layout[o + 2 * k + 1 + i] = c;
    }
    keys.push(name);
    types[k] = b[from - 1]!;
    layout[o + 2 * k] = b[from - 1]!;
    layout[o + 2 * k + 1 + len] = 0;
    nameAt[k] = o;
    o += len;
  }
  nameAt[n] = o;
  return new Shape(hash, types, names, nameAt, keys, new DataView(layout.buffer), compilable);
}

/** The constructor of a shape: one object literal, its names JSON strings of validated keys. */
function compile(keys: readonly string[]): Build {
  const props = keys.map((k, i) => `${JSON.stringify(k)}: v[b + ${i}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from validated printable-ASCII keys via JSON.stringify only (see the header)
  return new Function('v', 'b', `'use strict'; return { ${props} };`) as Build;
}

/** The shape for this document's layout, found or made; undefined: declined. */
function shapeOf(b: Uint8Array, base: number, n: number, hash: number): Shape | undefined {
  const slot = hash & (SHAPE_SLOTS - 1);
  const old = shapes[slot];
  if (old !== undefined && old.hash === hash && matches(old, b, base, n)) {
    if (old.score < MAX_SCORE) old.score++;
    used(old);
    lastSlot = slot;
    return old;
  }
  const s = newShape(b, base, n, hash);
  if (s === undefined) return undefined;
  if (old === undefined || --old.score <= 0) {
    shapes[slot] = s;
    lastSlot = slot;
  } else lastSlot = -1;
  return s;
}

/** A cached shape matched a document: it scores, and is compiled once it has matched COMPILE_AT times. */
function used(s: Shape): void {
  if (s.score < MAX_SCORE) s.score++;
  if (s.build === undefined && s.compilable && ++s.uses >= COMPILE_AT) s.build = compile(s.keys);
}

/** The shape in `slot` (a hint: it may have been replaced since), or undefined. */
function hinted(slot: number): Shape | undefined {
  return slot < 0 ? undefined : shapes[slot];
}

/** The string element's value at b[i..end): an int32 length including its NUL, the bytes, the NUL. Sets `next` past it; undefined: declined. */
function stringAt(b: Uint8Array, i: number, end: number): string | undefined {
  if (end - i < 4) return undefined;
  const len = int32(b, i);
  const start = i + 4;
  if (len <= 0 || len > end - start || b[start + len - 1] !== 0) return undefined;
  next = start + len;
  return text(b, start, start + len - 1);
}

/** The value of type `type` at b[i..end), or undefined (declined). Sets `next` past it. */
function value(type: number, b: Uint8Array, i: number, end: number, depth: number, hint: number): unknown {
  switch (type) {
    case 0x01: // double
      if (end - i < 8) return undefined;
      for (let k = 0; k < 8; k++) scratchBytes[k] = b[i + k]!;
      next = i + 8;
      return scratch[0];
    case 0x02:
      return stringAt(b, i, end);
    case 0x03:
      return doc(b, i, end, depth + 1, hinted(hint));
    case 0x04:
      return array(b, i, end, depth + 1, hint);
    case 0x08: {
      if (end - i < 1) return undefined;
      const v = b[i];
      if (v !== 0 && v !== 1) return undefined;
      next = i + 1;
      return v === 1;
    }
    case 0x0a:
      next = i;
      return null;
    case 0x10:
      if (end - i < 4) return undefined;
      next = i + 4;
      return int32(b, i);
    case 0x12: {
      // int64: promoted to a number when it is a safe integer, as bson does
      if (end - i < 8) return undefined;
      const v = int32(b, i + 4) * 4294967296 + (int32(b, i) >>> 0);
      if (!Number.isSafeInteger(v)) return undefined;
      next = i + 8;
      return v;
    }
    default:
      return undefined;
  }
}

/** The int32-sized container at b[at..limit): checks its size and EOO; its EOO's index, or -1. */
function containerEnd(b: Uint8Array, at: number, limit: number, depth: number): number {
  if (depth > MAX_DEPTH || limit - at < 5) return -1;
  const size = int32(b, at);
  if (size < 5 || size > limit - at) return -1;
  const end = at + size - 1;
  return b[end] === 0 ? end : -1;
}

/**
 * The document at b[at..limit). Sets `next` past it, and lastSlot.
 * Undefined: declined. While its elements' types and names are those of
 * `hint`, they are compared with the hint's as they are read (one pass);
 * from the first that differs on, names are only located and the shape is
 * looked up at the end.
 */
function doc(b: Uint8Array, at: number, limit: number, depth: number, hint: Shape | undefined): Record<string, unknown> | undefined {
  const end = containerEnd(b, at, limit, depth);
  if (end < 0) return undefined;
  const vbase = sp;
  const nbase = np;
  let n = 0;
  let i = at + 4;
  if (hint !== undefined) {
    const types = hint.types;
    const layout = hint.layout;
    const nameAt = hint.nameAt;
    const kids = hint.kids;
    const count = types.length;
    const v = dv;
    while (n < count && i < end) {
      const o = nameAt[n]!;
      const len = nameAt[n + 1]! - o;
      // Type, name and NUL at once; the NUL must come before the EOO.
      if (end - i < len + 2 || !same(v, i, layout, o + 2 * n, len + 2)) break;
      const type = types[n]!;
      const from = i + 1;
      nameStart[np] = from;
      nameLen[np] = len;
      np++;
      // A string, the commonest element, without value()'s switch.
      const x = type === 0x02 ? stringAt(b, from + len + 1, end) : value(type, b, from + len + 1, end, depth, kids[n]!);
      if (x === undefined) return undefined;
      if (type === 0x03 || type === 0x04) kids[n] = lastSlot;
      values[sp++] = x;
      i = next;
      n++;
    }
    if (n === count && i === end) {
      np = nbase;
      sp = vbase;
      next = end + 1;
      used(hint);
      lastSlot = shapes[hint.hash & (SHAPE_SLOTS - 1)] === hint ? hint.hash & (SHAPE_SLOTS - 1) : -1;
      return make(hint, vbase);
    }
  }
  let hash = 0;
  for (let k = 0; k < n; k++) hash = elementHash(hash, b, nameStart[nbase + k]!, nameLen[nbase + k]!);
  while (i < end) {
    if (n === MAX_FIELDS) return undefined;
    const type = b[i]!;
    const from = i + 1;
    i = from;
    while (i < end && b[i] !== 0) i++;
    if (i >= end) return undefined;
    const len = i - from;
    hash = elementHash(hash, b, from, len);
    nameStart[np] = from;
    nameLen[np] = len;
    np++;
    const v = value(type, b, i + 1, end, depth, -1);
    if (v === undefined) return undefined;
    values[sp++] = v;
    i = next;
    n++;
  }
  np = nbase;
  sp = vbase;
  next = end + 1;
  const s = shapeOf(b, nbase, n, hash);
  return s === undefined ? undefined : make(s, vbase);
}

/** The hash of a layout so far, and one more element (its type is the byte before its name). */
function elementHash(hash: number, b: Uint8Array, from: number, len: number): number {
  const last = len === 0 ? 0 : (b[from]! << 16) | (b[from + len - 1]! << 24);
  return (Math.imul(hash, 0x2f0b3c9d) + (b[from - 1]! | (len << 8) | last)) | 0;
}

/** The object of shape s whose values are on the stack from vbase. */
function make(s: Shape, vbase: number): Record<string, unknown> {
  if (s.build !== undefined) return s.build(values, vbase);
  const obj: Record<string, unknown> = {};
  const keys = s.keys;
  for (let k = 0; k < keys.length; k++) obj[keys[k]!] = values[vbase + k];
  return obj;
}

/**
 * The array at b[at..limit). Sets `next` past it, and lastSlot to the
 * shape of its last document (`hint`, the one before, when it has none).
 * Undefined: declined.
 */
function array(b: Uint8Array, at: number, limit: number, depth: number, hint: number): unknown[] | undefined {
  const end = containerEnd(b, at, limit, depth);
  if (end < 0) return undefined;
  const vbase = sp;
  let i = at + 4;
  while (i < end) {
    const type = b[i++]!;
    // The element name, skipped: a C string that must end before the EOO.
    while (i < end && b[i] !== 0) i++;
    if (i >= end) return undefined;
    const v = value(type, b, i + 1, end, depth, hint);
    if (v === undefined) return undefined;
    if (type === 0x03 || type === 0x04) hint = lastSlot;
    values[sp++] = v;
    i = next;
  }
  lastSlot = hint;
  const count = sp - vbase;
  sp = vbase;
  next = end + 1;
  return count === 0 ? [] : values.slice(vbase, vbase + count);
}

/** The document in b[start..end), or undefined when the fast path declines it. */
export function decodeBsonFast(b: Uint8Array, start: number, end: number): Record<string, unknown> | undefined {
  if (b !== viewOf) {
    dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    viewOf = b;
  }
  sp = 0;
  np = 0;
  const d = doc(b, start, end, 0, hinted(topSlot));
  if (d === undefined || next !== end) return undefined;
  topSlot = lastSlot;
  return d;
}

/** How many layouts the shape cache holds, and how many of them have a generated constructor (for tests). */
export function shapeCacheStats(): { cached: number; compiled: number } {
  let cached = 0;
  let compiled = 0;
  for (const s of shapes) {
    if (s === undefined) continue;
    cached++;
    if (s.build !== undefined) compiled++;
  }
  return { cached, compiled };
}
