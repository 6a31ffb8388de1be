/**
 * The native sealer makes the JS sealer's bytes (the JS one is what
 * encodeBeacon runs): random documents of 0 to 4,200 bytes, random times and
 * IVs, in random batches, and MAAS's own beacons. And the addon's own
 * argument checks, reached past the TypeScript ones, since the addon must
 * never read out of bounds whatever it is handed.
 */
import t from 'tap';
import fc from 'fast-check';
import { loadBinding } from '../../src/engine/binding';
import { JsBeaconSealer } from '../../src/engine/js-sealer';
import { NativeBeaconSealer, nativeSealerClass } from '../../src/engine/native-sealer';
import { beaconBson, type SealItem } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { corpusKey, maasV2Beacons } from '../helpers/corpus';
import { prng } from '../helpers/prng';

const state = loadBinding();
if (!state.ok) {
  console.error(`# native sealer not tested here: ${state.why}: ${state.detail}`);
  t.pass('no addon: nothing to agree with');
} else {
  const key = corpusKey();
  const keys = keyObjects(key);
  const js = new JsBeaconSealer();
  const native = new NativeBeaconSealer();

  t.test('random documents, times and IVs: the same bytes', async (t) => {
    const item = fc.record({
      bson: fc.oneof(
        fc.uint8Array({ minLength: 0, maxLength: 4200 }),
        // Compressible, as beacons are: few symbols, long repeats.
        fc.array(fc.constantFrom(0x00, 0x61, 0x62, 0x2e), { minLength: 0, maxLength: 4200 }).map((a) => Uint8Array.from(a)),
        fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean())).map((d) => beaconBson('advertisement', d, '01M7Q5CQP8Q1G6HRZ22724C6AZ')),
      ),
      type: fc.constantFrom(1, 2),
      timeSeconds: fc.oneof(fc.double({ min: 0, max: 2 ** 40, noNaN: true }), fc.integer({ min: 0, max: 2 ** 32 })),
      iv: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    });
    let compared = 0;
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 12 }), (items) => {
        const a = js.sealV2(keys, items);
        const b = native.sealV2(keys, items);
        compared += items.length;
        return a.length === b.length && a.every((x, i) => x.equals(b[i]!));
      }),
      { numRuns: 250, seed: 20 },
    );
    t.ok(compared > 250, `${compared} documents, byte for byte`);
  });

  t.test('every size from 0 to 4,200 bytes in one batch', async (t) => {
    const rand = prng(5240);
    const items: SealItem[] = [];
    for (let n = 0; n <= 4200; n += 7)
      items.push({
        bson: Uint8Array.from({ length: n }, () => (rand() < 0.7 ? 0x61 + Math.floor(rand() * 4) : Math.floor(rand() * 256))),
        type: 1,
        timeSeconds: rand() * 2e9,
        iv: Uint8Array.from({ length: 16 }, () => Math.floor(rand() * 256)),
      });
    const a = js.sealV2(keys, items);
    const b = native.sealV2(keys, items);
    t.equal(a.filter((x, i) => !x.equals(b[i]!)).length, 0, `${items.length} sizes, the same bytes`);
  });

  t.test("MAAS's beacons, re-sealed with their time and IV: the same bytes", async (t) => {
    const cases = maasV2Beacons();
    for (const { c, item } of cases) t.same(native.sealV2(keys, [item]), js.sealV2(keys, [item]), c.label);
    t.ok(cases.length >= 4, `${cases.length} MAAS beacons`);
  });

  t.test('a new key gets its own addon sealer', async (t) => {
    const other = keyObjects({ signing: Buffer.alloc(16, 1), encryption: Buffer.alloc(16, 2) });
    const item = { bson: Buffer.from('doc'), type: 1, timeSeconds: 5, iv: Buffer.alloc(16) };
    const [a] = native.sealV2(keys, [item]);
    const [b] = native.sealV2(other, [item]);
    t.not(a!.toString('hex'), b!.toString('hex'));
    t.same(b, js.sealV2(other, [item])[0]);
    t.same(native.sealV2(keys, [item])[0], a, 'the first key again');
  });

  t.test("the addon's own checks", async (t) => {
    const cls = nativeSealerClass();
    if (cls instanceof Error) throw cls;
    t.throws(() => new cls(Buffer.alloc(15), Buffer.alloc(16)), { name: 'RangeError', message: 'signing must be 16 bytes, got 15' });
    t.throws(() => new cls(Buffer.alloc(16), 'key' as unknown as Uint8Array), { name: 'TypeError', message: 'encryption must be a Uint8Array' });
    const s = new cls(key.signing, key.encryption);
    const data = Buffer.alloc(20);
    const off = (...o: number[]) => Uint32Array.from(o);
    const seal = (d: unknown, o: unknown, types: unknown, times: unknown, ivs: unknown, count: unknown) => () =>
      s.seal(d as Uint8Array, o as Uint32Array, types as Uint8Array, times as Float64Array, ivs as Uint8Array, count as number);
    const one = [Uint8Array.of(1), Float64Array.of(5)] as const;
    t.throws(seal('x', off(0, 5), ...one, undefined, 1), { name: 'TypeError', message: 'seal: data must be a Uint8Array' });
    t.throws(seal(data, [0, 5], ...one, undefined, 1), { name: 'TypeError', message: 'seal: offsets must be a Uint32Array' });
    t.throws(seal(data, off(0, 5), Uint16Array.of(1), one[1], undefined, 1), { name: 'TypeError', message: 'seal: types must be a Uint8Array' });
    t.throws(seal(data, off(0, 5), one[0], [5], undefined, 1), { name: 'TypeError', message: 'seal: times must be a Float64Array' });
    t.throws(seal(data, off(0, 5), ...one, 'iv', 1), { name: 'TypeError', message: 'seal: ivs must be a Uint8Array' });
    t.throws(seal(data, off(0, 5), ...one, undefined, -1), { name: 'RangeError', message: /seal: count must be an integer from 0 to 65536/ });
    t.throws(seal(data, off(0, 5), ...one, undefined, 2), { name: 'RangeError', message: 'seal: offsets must have count + 1 = 3 entries, got 2' });
    t.throws(seal(data, off(0, 5), Uint8Array.of(1, 1), one[1], undefined, 1), { name: 'RangeError', message: /types and times must have count = 1 entries/ });
    t.throws(seal(data, off(0, 5), ...one, Buffer.alloc(15), 1), { name: 'RangeError', message: 'seal: ivs must be 16 x count = 16 bytes, got 15' });
    t.throws(seal(data, off(1, 5), ...one, undefined, 1), { name: 'RangeError', message: 'seal: offsets[0] must be 0' });
    t.throws(seal(data, off(0, 21), ...one, undefined, 1), {
      name: 'RangeError',
      message: 'seal: offsets[1] must be non-decreasing and within data (20 bytes)',
    });
    t.throws(seal(data, off(0, 10, 5), Uint8Array.of(1, 1), Float64Array.of(5, 5), undefined, 2), {
      name: 'RangeError',
      message: 'seal: offsets[2] must be non-decreasing and within data (20 bytes)',
    });
    t.throws(seal(Buffer.alloc(60_001), off(0, 60_001), ...one, undefined, 1), {
      name: 'RangeError',
      message: 'seal: document 0 is 60001 bytes, more than 60000',
    });
    t.throws(seal(data, off(0, 5), Uint8Array.of(3), one[1], undefined, 1), { name: 'RangeError', message: 'seal: types[0] must be 1 or 2' });
    for (const bad of [-1, NaN, Infinity, 2 ** 53])
      t.throws(
        seal(data, off(0, 5), one[0], Float64Array.of(bad), undefined, 1),
        { name: 'RangeError', message: 'seal: times[0] must be seconds from 0 to 2^53 - 1' },
        `${bad}`,
      );
    const r = s.seal(data, off(0, 5, 20), Uint8Array.of(1, 2), Float64Array.of(5, 6), undefined, 2);
    t.equal(r.offsets.length, 3);
    t.equal(r.offsets[2], r.data.length, 'the offsets cover the buffer');
    t.same(s.seal(data, off(0), new Uint8Array(0), new Float64Array(0), undefined, 0).offsets, [0], 'an empty batch');
  });
}
