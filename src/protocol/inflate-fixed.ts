/**
 * A fast path for the deflate streams beacons carry: blocks with the fixed
 * Huffman codes of RFC 1951 section 3.2.6, which is what MAAS's Python zlib
 * and netbeacon's encoder (Z_FIXED) produce for beacon-sized payloads.
 * zlib through inflateRawSync costs 5-9 us a call here, most of it setting
 * up and tearing down a stream; this decodes a beacon in about one.
 *
 * It declines (returns undefined) on anything else: stored or dynamic
 * blocks, the reserved block type, codes that are invalid in a fixed block
 * (literal/length 286-287, distance 30-31), a distance reaching before the
 * start of the output, output beyond `room`, or input that ends first. The
 * caller then runs zlib, which stays the authority on every error, so both
 * engines still give the same verdict for the same bytes
 * (test/unit/engine-agreement.test.ts). When it succeeds, the output and
 * the input consumed (whole bytes, the last one partly) are what zlib gives.
 */

/** Bit-reversed 9-bit peek -> symbol << 4 | code length, for the fixed literal/length code. */
const LITLEN = new Uint16Array(512);
/** Bit-reversed 5-bit peek -> distance symbol. */
const DIST = new Uint8Array(32);
const LEN_BASE = Uint16Array.of(3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258);
const LEN_EXTRA = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0);
const DIST_BASE = Uint16Array.of(
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
);
const DIST_EXTRA = Uint8Array.of(0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13);

function reverse(code: number, len: number): number {
  let r = 0;
  for (let i = 0; i < len; i++) r |= ((code >> i) & 1) << (len - 1 - i);
  return r;
}

function fill(sym: number, code: number, len: number): void {
  const r = reverse(code, len);
  for (let hi = 0; hi < 1 << (9 - len); hi++) LITLEN[r | (hi << len)] = (sym << 4) | len;
}

// RFC 1951 3.2.6: 0-143 are 8 bits from 0x30, 144-255 9 bits from 0x190,
// 256-279 7 bits from 0, 280-287 8 bits from 0xc0.
for (let s = 0; s <= 143; s++) fill(s, 0x30 + s, 8);
for (let s = 144; s <= 255; s++) fill(s, 0x190 + s - 144, 9);
for (let s = 256; s <= 279; s++) fill(s, s - 256, 7);
for (let s = 280; s <= 287; s++) fill(s, 0xc0 + s - 280, 8);
for (let s = 0; s < 32; s++) DIST[reverse(s, 5)] = s;

let scratch: Uint8Array = new Uint8Array(4096);

/** Input bytes the last successful call consumed. */
export let inflateConsumed = 0;

/**
 * Inflates the raw deflate stream at input[start..), producing at most
 * `room` bytes. A copy of the output, or undefined when declined.
 */
export function inflateFixed(input: Uint8Array, start: number, room: number): Uint8Array | undefined {
  const end = input.length;
  let pos = start;
  let bits = 0; // bit buffer, LSB first
  let count = 0; // bits in it
  let out = 0;
  let last: number;
  do {
    while (count < 3) {
      if (pos >= end) return undefined;
      bits |= input[pos++]! << count;
      count += 8;
    }
    last = bits & 1;
    if (((bits >>> 1) & 3) !== 1) return undefined; // not a fixed block: zlib's
    bits >>>= 3;
    count -= 3;
    for (;;) {
      // Up to 9 bits for the literal/length code; past the end of the
      // input, peek zeros and check the code's length against what is real.
      while (count < 9 && pos < end) {
        bits |= input[pos++]! << count;
        count += 8;
      }
      const entry = LITLEN[bits & 511]!;
      const len = entry & 15;
      if (len > count) return undefined;
      bits >>>= len;
      count -= len;
      const sym = entry >> 4;
      if (sym < 256) {
        if (out >= room) return undefined;
        if (out >= scratch.length) scratch = grow(scratch, out + 1);
        scratch[out++] = sym;
        continue;
      }
      if (sym === 256) break;
      if (sym > 285) return undefined;
      // A length (up to 5 extra bits), a 5-bit distance code, up to 13 extra bits.
      while (count < 18 && pos < end) {
        bits |= input[pos++]! << count;
        count += 8;
      }
      const le = LEN_EXTRA[sym - 257]!;
      if (count < le + 5) return undefined;
      const length = LEN_BASE[sym - 257]! + (bits & ((1 << le) - 1));
      bits >>>= le;
      count -= le;
      const dsym = DIST[bits & 31]!;
      bits >>>= 5;
      count -= 5;
      if (dsym > 29) return undefined;
      const de = DIST_EXTRA[dsym]!;
      while (count < de && pos < end) {
        bits |= input[pos++]! << count;
        count += 8;
      }
      if (count < de) return undefined;
      const distance = DIST_BASE[dsym]! + (bits & ((1 << de) - 1));
      bits >>>= de;
      count -= de;
      if (distance > out || length > room - out) return undefined;
      if (out + length > scratch.length) scratch = grow(scratch, out + length);
      // Byte by byte: the copy may overlap what it writes (distance < length).
      for (let k = 0; k < length; k++, out++) scratch[out] = scratch[out - distance]!;
    }
  } while (!last);
  // Whole bytes still in the bit buffer were read ahead, not consumed.
  inflateConsumed = pos - (count >> 3) - start;
  return scratch.slice(0, out);
}

function grow(b: Uint8Array, need: number): Uint8Array {
  const next = new Uint8Array(Math.max(need, 2 * b.length));
  next.set(b);
  return next;
}
