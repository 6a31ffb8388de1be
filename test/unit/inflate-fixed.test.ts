/**
 * The fixed-Huffman inflate fast path against zlib: whenever it returns,
 * zlib returns the same bytes and consumed the same input; it takes every
 * fixed-block stream (declining everything would satisfy that too); and
 * it declines what it must leave to zlib.
 */
import t from 'tap';
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { inflateConsumed, inflateFixed } from '../../src/protocol/inflate-fixed';
import { prng } from '../helpers/prng';

const random = prng(0x2026_1125);
const int = (n: number): number => Math.floor(random() * n);

/** Compressible bytes: a small alphabet with some noise, so matches of every length and distance occur. */
function sample(len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = random() < 0.85 ? 97 + int(4) : int(256);
  return b;
}

/** zlib's answer: the output and the input consumed, or 'error' / 'size'. */
function zlib(input: Uint8Array, room: number): { out: Buffer; consumed: number } | string {
  try {
    const r = inflateRawSync(input, { info: true, maxOutputLength: room }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    return { out: r.buffer, consumed: r.engine.bytesWritten };
  } catch (err) {
    return (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'size' : 'error';
  }
}

t.test("every fixed-block stream is taken, with zlib's output and consumption", (t) => {
  let bad = 0;
  for (let n = 0; n < 3000; n++) {
    const data = sample(int(n < 100 ? 40 : 5000));
    const stream = deflateRawSync(data, { strategy: constants.Z_FIXED, level: 1 + int(9) });
    const input = Buffer.concat([stream, Buffer.from([0xde, 0xad, int(256)])]); // a trailer follows, as in gzip
    const got = inflateFixed(input, 0, 1 << 20);
    if (got === undefined || !Buffer.from(got).equals(data) || inflateConsumed !== stream.length) {
      if (bad++ < 5) t.fail(`length ${data.length}: ${got === undefined ? 'declined' : `consumed ${inflateConsumed} of ${stream.length}`}`);
    }
  }
  t.equal(bad, 0, '3000 streams');
  t.end();
});

t.test('mutated streams: whatever is taken, zlib gives the same', (t) => {
  const seeds = Array.from({ length: 64 }, () => deflateRawSync(sample(20 + int(400)), { strategy: constants.Z_FIXED }));
  let taken = 0;
  let bad = 0;
  for (let n = 0; n < 40_000; n++) {
    const b = Buffer.from(seeds[n % seeds.length]!);
    const cut = int(4) === 0 ? int(b.length + 1) : b.length;
    for (let k = 1 + int(3); k > 0; k--) {
      const at = int(b.length);
      b[at] = b[at]! ^ (1 << int(8));
    }
    const input = b.subarray(0, cut);
    const room = int(3) === 0 ? 1 + int(300) : 1 << 20;
    const got = inflateFixed(input, 0, room);
    if (got === undefined) continue;
    taken++;
    const ref = zlib(input, room);
    if (typeof ref === 'string' || !Buffer.from(got).equals(ref.out) || ref.consumed !== inflateConsumed) {
      if (bad++ < 5)
        t.fail(
          `mutation ${n}: fast ${got.length} bytes/${inflateConsumed} consumed, zlib ${typeof ref === 'string' ? ref : `${ref.out.length} bytes/${ref.consumed}`} (${input.toString('hex')})`,
        );
    }
  }
  t.equal(bad, 0, `40000 mutations, ${taken} taken, none different from zlib`);
  t.ok(taken > 1000, 'a good share of mutations still decode and were compared');
  t.end();
});

t.test('declined: what zlib must decide', (t) => {
  const data = sample(300);
  t.equal(inflateFixed(deflateRawSync(data, { level: 9 }), 0, 1 << 20), undefined, 'a dynamic block');
  t.equal(inflateFixed(deflateRawSync(data, { level: 0 }), 0, 1 << 20), undefined, 'a stored block');
  t.equal(inflateFixed(Uint8Array.of(0x07), 0, 100), undefined, 'the reserved block type');
  const fixed = deflateRawSync(data, { strategy: constants.Z_FIXED });
  t.equal(inflateFixed(fixed, 0, 299), undefined, 'output beyond room');
  t.ok(inflateFixed(fixed, 0, 300), 'output exactly room');
  t.equal(inflateFixed(fixed.subarray(0, fixed.length - 1), 0, 1 << 20), undefined, 'input that ends first');
  t.equal(zlib(fixed.subarray(0, fixed.length - 1), 1 << 20), 'error', '(which zlib rejects)');
  // A fixed block whose first code is a distance back into nothing: 257 (length 3), distance 1.
  // Bits LSB first: BFINAL 1, BTYPE 01, then code 0000001 (7 bits, sent MSB first), distance code 00000.
  t.equal(inflateFixed(Uint8Array.of(0x03, 0x02, 0x00), 0, 100), undefined, 'a distance before the output');
  t.equal(zlib(Uint8Array.of(0x03, 0x02, 0x00), 100), 'error', '(which zlib rejects)');
  const at = Buffer.concat([Buffer.from([9, 9, 9]), fixed]);
  t.same(Buffer.from(inflateFixed(at, 3, 1 << 20)!), data, 'a stream that starts inside its buffer');
  t.equal(inflateConsumed, fixed.length, 'consumed counts from the start');
  t.end();
});
