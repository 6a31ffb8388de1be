/**
 * One suite over every BeaconSealer engine (src/engine/types.ts): MAAS's
 * own beacons re-sealed, batches in order, IVs given and drawn, and the
 * checks on bad items. Every datagram is opened by both verifiers, so a
 * sealer cannot pass by agreeing with itself. Native == JS byte for byte is
 * test/unit/sealer-agreement.test.ts.
 */
import t from 'tap';
import { gunzipSync } from 'node:zlib';
import { createSealer } from '../../src/engine/sealer';
import { createVerifier } from '../../src/engine/verifier';
import { decodeBeacon } from '../../src/engine/decode';
import { beaconBson, encodeBeacon, type SealItem } from '../../src/protocol/beacon';
import { fernetVerifyDecrypt, keyObjects } from '../../src/protocol/fernet';
import { corpusKey, maasV2Beacons } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const key = corpusKey();
const keys = keyObjects(key);
const verifiers = enginesToTest().map((e) => createVerifier(e, key));
const T0 = 1_795_000_000;

for (const engine of enginesToTest())
  t.test(`${engine} sealer`, async (t) => {
    const sealer = createSealer(engine);
    t.equal(sealer.engine, engine);

    t.test('MAAS beacons, re-sealed with their own time and IV, read back as MAAS read them', async (t) => {
      const cases = maasV2Beacons();
      t.ok(cases.length >= 4, `${cases.length} MAAS v2 beacons`);
      const out = sealer.sealV2(
        keys,
        cases.map((x) => x.item),
      );
      cases.forEach(({ c, datagram: d, item }, i) => {
        const dg = out[i]!;
        // The header's type and the token's version, time and IV are MAAS's
        // bytes. The rest cannot be: MAAS's gzip stamps the time in its
        // header and picks dynamic codes; ours is gzipSync's (Z_FIXED).
        t.equal(dg[0], 2, `${c.label}: version 2`);
        t.equal(dg[1], d[1], `${c.label}: header type`);
        t.equal(dg.readUInt16BE(2), dg.length - 4, `${c.label}: the length field`);
        t.same(dg.subarray(4, 29), d.subarray(4, 29), `${c.label}: 0x80, time and IV as MAAS's token`);
        for (const v of verifiers) {
          const got = decodeBeacon(v, dg, item.timeSeconds);
          t.same(got.ok ? { version: got.version, type: got.type, payload: got.payload } : got, c.beacon, `${c.label}: opened as MAAS read it`);
        }
      });
    });

    t.test('a batch comes back in order, each as encodeBeacon makes it', async (t) => {
      t.same(sealer.sealV2(keys, []), [], 'an empty batch');
      const items: SealItem[] = Array.from({ length: 40 }, (_, i) => ({
        bson: beaconBson(i % 2 ? 'advertisement' : 'solicitation', { i, remote: { name: `eth${i}` } }, `01M7Q5CQP8Q1G6HRZ22724C${String(i).padStart(3, '0')}`),
        type: i % 2 ? 2 : 1,
        timeSeconds: T0 + i + 0.75,
        iv: Buffer.alloc(16, i),
      }));
      const out = sealer.sealV2(keys, items);
      t.equal(out.length, items.length);
      items.forEach((item, i) => {
        const ulid = `01M7Q5CQP8Q1G6HRZ22724C${String(i).padStart(3, '0')}`;
        const type = i % 2 ? 'advertisement' : 'solicitation';
        const expected = encodeBeacon(keys, type, { i, remote: { name: `eth${i}` } }, { nowMs: (T0 + i + 0.75) * 1000, ulid, iv: item.iv! }).bytes;
        t.same(out[i], expected, `item ${i}: encodeBeacon's bytes`);
        t.equal(out[i]!.readBigUInt64BE(5), BigInt(T0 + i), `item ${i}: the integer second is stamped`);
        for (const v of verifiers)
          t.same(decodeBeacon(v, out[i]!, T0 + i), { ok: true, version: 2, type, payload: { i, remote: { name: `eth${i}` }, ulid, type: i % 2 ? 2 : 1 } });
      });
    });

    t.test('IVs: drawn when not given, fresh for every beacon; used when given', async (t) => {
      const bson = beaconBson('solicitation', { n: 1 }, '01M7Q5CQP8Q1G6HRZ22724C6AZ');
      const drawn = sealer.sealV2(
        keys,
        Array.from({ length: 300 }, () => ({ bson, type: 1, timeSeconds: T0 })),
      );
      t.equal(new Set(drawn.map((d) => d.subarray(13, 29).toString('hex'))).size, 300, '300 beacons, 300 IVs');
      for (const v of verifiers)
        t.ok(
          drawn.every((d) => decodeBeacon(v, d, T0).ok),
          'each opens',
        );
      const fixed = Buffer.alloc(16, 0xa5);
      const mixed = sealer.sealV2(keys, [
        { bson, type: 1, timeSeconds: T0 },
        { bson, type: 1, timeSeconds: T0, iv: fixed },
        { bson, type: 2, timeSeconds: T0 },
      ]);
      t.same(mixed[1]!.subarray(13, 29), fixed, 'a given IV is used');
      t.not(mixed[0]!.subarray(13, 29).toString('hex'), mixed[2]!.subarray(13, 29).toString('hex'), 'the others are drawn');
      t.same(mixed[1], encodeBeacon(keys, 'solicitation', { n: 1 }, { nowMs: T0 * 1000, ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ', iv: fixed }).bytes);
    });

    t.test('documents of 0 bytes to the limit', async (t) => {
      for (const n of [0, 1, 250, 251, 4200, 60_000]) {
        const bson = Buffer.alloc(n, n % 251);
        const [d] = sealer.sealV2(keys, [{ bson, type: 2, timeSeconds: T0, iv: Buffer.alloc(16) }]);
        const gz = fernetVerifyDecrypt(keys, d!, 4, d!.length);
        t.ok(typeof gz !== 'string' && gunzipSync(gz).equals(bson), `${n} bytes come back`);
      }
    });

    t.test('bad items are refused, naming the item and the field', async (t) => {
      const ok: SealItem = { bson: Buffer.alloc(10), type: 1, timeSeconds: T0 };
      const refuse = (items: unknown, err: { name: string; message: RegExp }, what: string) =>
        t.throws(() => sealer.sealV2(keys, items as SealItem[]), err, what);
      refuse('x', { name: 'TypeError', message: /items must be an array/ }, 'not an array');
      refuse([ok, { ...ok, bson: 'text' }], { name: 'TypeError', message: /items\[1\]\.bson must be a Uint8Array/ }, 'bson not bytes');
      refuse([{ ...ok, bson: Buffer.alloc(60_001) }], { name: 'RangeError', message: /items\[0\]\.bson is 60001 bytes, more than 60000/ }, 'too big');
      for (const type of [0, 3, 1.5])
        refuse([{ ...ok, type }], { name: 'RangeError', message: /items\[0\]\.type must be 1 \(solicitation\) or 2 \(advertisement\)/ }, `type ${type}`);
      for (const timeSeconds of [-1, NaN, Infinity, 2 ** 53, '5'])
        refuse(
          [{ ...ok, timeSeconds }],
          { name: 'RangeError', message: /items\[0\]\.timeSeconds must be seconds from 0 to 2\^53 - 1/ },
          `time ${String(timeSeconds)}`,
        );
      refuse([ok, ok, { ...ok, iv: Buffer.alloc(15) }], { name: 'RangeError', message: /items\[2\]\.iv must be 16 bytes, got 15/ }, 'short IV');
      refuse([{ ...ok, iv: [1, 2] }], { name: 'TypeError', message: /items\[0\]\.iv must be a Uint8Array/ }, 'IV not bytes');
      refuse({ length: 70_000, [Symbol.iterator]: [][Symbol.iterator] }, { name: 'TypeError', message: /must be an array/ }, 'array-like');
      refuse(new Array(65_537).fill(ok), { name: 'RangeError', message: /at most 65536 items a batch, got 65537/ }, 'too many');
    });
  });
