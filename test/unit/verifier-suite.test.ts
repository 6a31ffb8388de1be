/**
 * One suite over every BatchVerifier engine: the corpus MAAS produced, the
 * age window edges, structural rejections and batch handling. Each engine
 * runs it twice, v2 alone and with beacon format v3 accepted too: v2's
 * verdicts must not change when v3 is on (test/unit/v3-suite.test.ts has
 * v3's own).
 */
import t from 'tap';
import { serialize } from 'bson';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createVerifier } from '../../src/engine/verifier';
import { decodeItem } from '../../src/engine/decode';
import { encodeBeacon } from '../../src/protocol/beacon';
import { decodeBeacon } from '../../src/engine/decode';
import { fernetEncrypt, keyObjects } from '../../src/protocol/fernet';
import { REASONS } from '../../src/protocol/reasons';
import { sodiumReady } from '../../src/protocol/sodium';
import { withV3 } from '../../src/protocol/v3';
import { corpusCases, corpusKey, reasonsForMaas } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const key = corpusKey();
const keys = keyObjects(key);
const T0 = 1_795_000_000;

/** A beacon datagram around an arbitrary plaintext, authentic for the corpus key. */
function datagramFor(plaintext: Uint8Array, stampSeconds = T0, headerType = 1, version = 2): Buffer {
  const token = fernetEncrypt(keys, plaintext, stampSeconds);
  const head = Buffer.from([version, headerType, token.length >> 8, token.length & 0xff]);
  return Buffer.concat([head, token]);
}

for (const engine of enginesToTest())
  for (const v3 of [false, true]) {
    t.test(`${engine} engine${v3 ? ', v3 accepted too' : ''}`, async (t) => {
      await sodiumReady();
      const verifier = createVerifier(engine, v3 ? withV3(key) : key);

      t.test('every corpus case gives MAAS verdict', async (t) => {
        for (const c of corpusCases()) {
          if (c.udp_payload_hex === undefined || c.not_udp) continue;
          const v = decodeBeacon(verifier, Buffer.from(c.udp_payload_hex, 'hex'), Math.floor(c.time));
          if (c.beacon) {
            t.same(v.ok ? { version: v.version, type: v.type, payload: v.payload } : v, c.beacon, c.label);
          } else {
            t.notOk(v.ok, `${c.label} is rejected`);
            t.ok(!v.ok && reasonsForMaas(c.invalid!).includes(v.reason), `${c.label}: ${v.ok ? 'ok' : v.reason} means "${c.invalid}"`);
          }
        }
      });

      t.test('the age window is [now - 60 s, now + 60 s] on integer seconds', async (t) => {
        const { bytes } = encodeBeacon(keys, 'solicitation', { n: 1 }, { nowMs: T0 * 1000 });
        const at = (now: number) => {
          const v = decodeBeacon(verifier, bytes, now);
          return v.ok ? 'ok' : v.reason;
        };
        t.equal(at(T0 + 60), 'ok', 'exactly 60 s old');
        t.equal(at(T0 + 60.999), 'ok', 'the fraction of the clock is dropped, as int(time.time())');
        t.equal(at(T0 + 61), 'expired');
        t.equal(at(T0 - 60), 'ok', 'exactly 60 s ahead');
        t.equal(at(T0 - 61), 'future');
      });

      t.test('stamps past 2^53 s and at 2^64-1 are future, not overflow', async (t) => {
        const { bytes } = encodeBeacon(keys, 'solicitation', {}, { nowMs: T0 * 1000 });
        for (const hi of [0x00200000, 0xffffffff]) {
          const b = Buffer.from(bytes);
          b.writeUInt32BE(hi, 5);
          const v = decodeBeacon(verifier, b, T0);
          t.equal(v.ok ? 'ok' : v.reason, 'future', `high word 0x${hi.toString(16)}`);
        }
      });

      t.test('structural rejections', async (t) => {
        const { bytes } = encodeBeacon(keys, 'advertisement', { a: 1 }, { nowMs: T0 * 1000 });
        const reason = (b: Uint8Array) => {
          const v = decodeBeacon(verifier, b, T0);
          return v.ok ? 'ok' : v.reason;
        };
        t.equal(reason(bytes.subarray(0, 3)), 'short');
        t.equal(reason(bytes.subarray(0, bytes.length - 1)), 'length');
        t.equal(reason(Buffer.concat([bytes, Buffer.from('trailing')])), 'ok', 'bytes after the declared payload are ignored');
        const v0 = Buffer.from(bytes);
        v0[0] = 0;
        t.equal(reason(v0), 'version');
        const three = Buffer.from(bytes);
        three[0] = 3;
        // With v3 accepted the Fernet token's first bytes are read as a key id, which is no key's.
        t.equal(reason(three), v3 ? 'key' : 'version', 'a v2 token under version byte 3');
        const marker = Buffer.from(bytes);
        marker[4] = 0x81;
        t.equal(reason(marker), 'token', 'token marker other than 0x80');
        const tiny = Buffer.from([2, 1, 0, 72, ...bytes.subarray(4, 76)]);
        t.equal(reason(tiny), 'token', 'a token shorter than one block of ciphertext');
        const ragged = Buffer.concat([Buffer.from([2, 1, (bytes.length - 4 + 1) >> 8, (bytes.length - 4 + 1) & 0xff]), bytes.subarray(4), Buffer.from([0])]);
        t.equal(reason(ragged), 'token', 'ciphertext not whole blocks');
        const forged = Buffer.from(bytes);
        forged[forged.length - 1]! ^= 1;
        t.equal(reason(forged), 'mac');
        const flipped = Buffer.from(bytes);
        flipped[40]! ^= 1;
        t.equal(reason(flipped), 'mac', 'ciphertext changed under the MAC');
      });

      t.test('empty payload, header type and inner type', async (t) => {
        const v = decodeBeacon(verifier, Buffer.from([2, 2, 0, 0]), T0);
        t.same(v, { ok: true, version: 2, type: 'advertisement', payload: null });
        const odd = decodeBeacon(verifier, Buffer.from([2, 9, 0, 0]), T0);
        t.same(odd, { ok: false, reason: 'type' }, 'an empty beacon of unknown header type');
        const inner3 = decodeBeacon(verifier, datagramFor(gzipSync(serialize({ type: 3, ulid: 'x' }))), T0);
        t.same(inner3, { ok: false, reason: 'type' }, 'MAAS crashes on an inner type 3; we reject it');
        const noType = decodeBeacon(verifier, datagramFor(gzipSync(serialize({ ulid: 'x' }))), T0);
        t.same(noType, { ok: false, reason: 'type' });
        const strType = decodeBeacon(verifier, datagramFor(gzipSync(serialize({ type: '1' }))), T0);
        t.same(strType, { ok: false, reason: 'type' });
        const wins = decodeBeacon(verifier, datagramFor(gzipSync(serialize({ type: 2 })), T0, 1), T0);
        t.equal(wins.ok && wins.type, 'advertisement', 'inner type wins over the header');
      });

      t.test('authentic tokens with bad insides', async (t) => {
        const reason = (plain: Uint8Array) => {
          const v = decodeBeacon(verifier, datagramFor(plain), T0);
          return v.ok ? 'ok' : v.reason;
        };
        t.equal(reason(Buffer.from('not gzip at all')), 'gzip');
        t.equal(reason(new Uint8Array(0)), 'bson', 'an empty plaintext gunzips to nothing, which is not BSON');
        t.equal(reason(gzipSync(Buffer.alloc(0))), 'bson', 'gzip of nothing');
        t.equal(reason(gzipSync(Buffer.from('no bson here'))), 'bson');
        const doc = serialize({ type: 1 });
        t.equal(reason(gzipSync(Buffer.concat([doc, doc]))), 'bson', 'two documents are not one');
        t.equal(reason(gzipSync(Buffer.alloc(300 * 1024))), 'size', 'a gzip bomb stops at MAX_INFLATED');
        t.equal(
          reason(Buffer.concat([gzipSync(doc.subarray(0, 3)), Buffer.alloc(2), gzipSync(doc.subarray(3))])),
          'ok',
          'members joined across NUL padding, as Python does',
        );
        t.equal(reason(Buffer.concat([gzipSync(doc), Buffer.from('junk')])), 'gzip', 'junk after a member');
      });

      t.test('bad PKCS7 padding under a valid MAC', async (t) => {
        // Encrypt a whole block with no padding, then MAC it: authentic, but unpadded.
        const { createCipheriv, createHmac } = await import('node:crypto');
        const iv = Buffer.alloc(16, 7);
        for (const last of [0, 17, 5]) {
          const block = Buffer.alloc(16, 1);
          block[15] = last;
          const c = createCipheriv('aes-128-cbc', keys.encryption, iv).setAutoPadding(false);
          const body = Buffer.alloc(1 + 8 + 16 + 16);
          body[0] = 0x80;
          body.writeBigUInt64BE(BigInt(T0), 1);
          iv.copy(body, 9);
          c.update(block).copy(body, 25);
          const token = Buffer.concat([body, createHmac('sha256', keys.signing).update(body).digest()]);
          const d = Buffer.concat([Buffer.from([2, 1, 0, token.length]), token]);
          const v = decodeBeacon(verifier, d, T0);
          t.equal(v.ok ? 'ok' : v.reason, 'padding', `last byte ${last}`);
        }
      });

      t.test('a batch mixes verdicts and keeps their order', async (t) => {
        const good = encodeBeacon(keys, 'solicitation', { i: 0 }, { nowMs: T0 * 1000 }).bytes;
        const items = [good, Buffer.from([1]), Buffer.from([2, 1, 0, 0]), good];
        const data = Buffer.concat(items);
        const offsets = new Uint32Array(items.length + 1);
        items.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
        const out = verifier.verify({ count: items.length, data, offsets, now: Float64Array.of(T0, T0, T0, T0 + 1000) });
        t.same(
          [0, 1, 2, 3].map((i) => {
            const v = decodeItem(out, i);
            return v.ok ? v.type : v.reason;
          }),
          ['solicitation', 'short', 'solicitation', 'expired'],
        );
        t.same(Array.from(out.version), [2, 0, 2, 2], 'versions, 0 when the header is missing');
        const empty = verifier.verify({ count: 0, data: new Uint8Array(0), offsets: Uint32Array.of(0), now: new Float64Array(0) });
        t.equal(empty.count, 0);
      });

      t.test('malformed batches are refused before any work', async (t) => {
        const data = new Uint8Array(8);
        t.throws(() => verifier.verify({ count: 2, data, offsets: Uint32Array.of(0, 4), now: new Float64Array(2) }), RangeError);
        t.throws(() => verifier.verify({ count: 1, data, offsets: Uint32Array.of(4, 2), now: new Float64Array(1) }), RangeError);
        t.throws(() => verifier.verify({ count: 1, data, offsets: Uint32Array.of(0, 9), now: new Float64Array(1) }), RangeError);
        t.throws(() => verifier.verify({ count: 1, data, offsets: Uint32Array.of(0, 4), now: new Float64Array(0) }), RangeError);
      });

      t.test('random and mutated datagrams only ever give a verdict', async (t) => {
        const seed = 20261124;
        const base = encodeBeacon(keys, 'solicitation', { remote: { name: 'eth0' } }, { nowMs: T0 * 1000 }).bytes;
        fc.assert(
          fc.property(
            fc.oneof(
              fc.uint8Array({ maxLength: 400 }),
              fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, x]) => {
                const b = Buffer.from(base);
                b[i] = x;
                return b;
              }),
              fc.nat(base.length).map((n) => base.subarray(0, n)),
            ),
            (bytes) => {
              const v = decodeBeacon(verifier, bytes, T0);
              return v.ok || (REASONS as readonly string[]).includes(v.reason);
            },
          ),
          { seed, numRuns: 2000 },
        );
        t.pass(`2000 inputs, seed ${seed}`);
      });
    });
  }

t.test('a clock that is not a finite number is refused, never judged', async (t) => {
  for (const engine of enginesToTest()) {
    const v = createVerifier(engine, key);
    for (const now of [NaN, Infinity]) {
      t.throws(
        () => v.verify({ count: 1, data: new Uint8Array(4), offsets: Uint32Array.of(0, 4), now: Float64Array.of(now) }),
        RangeError,
        `${engine}: ${now}`,
      );
    }
  }
});
