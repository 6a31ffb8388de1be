/**
 * Beacon format v3 (docs/beacon-v3.md), one suite over both engines: the
 * window on the sealed timestamp, the header as associated data, the key
 * id, the flags and body, mixed v2/v3 batches, and a secret rotation in
 * which the key id, not trial decryption, picks the previous key.
 */
import t from 'tap';
import { serialize } from 'bson';
import { gzipSync } from 'node:zlib';
import { createVerifier } from '../../src/engine/verifier';
import { decodeBeacon, decodeItem } from '../../src/engine/decode';
import { MultiKeyVerifier } from '../../src/engine/multikey-verifier';
import type { PayloadBatch } from '../../src/engine/types';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { deriveKey, type FernetKey } from '../../src/protocol/key';
import { Keyring, keyringEntry } from '../../src/protocol/keyring';
import { sodium, sodiumReady } from '../../src/protocol/sodium';
import { keyringWithV3, sealV3, v3KeyIds, V3_CLEAR_LENGTH, V3_GZIP_ABOVE, V3_MIN_LENGTH, withV3 } from '../../src/protocol/v3';
import { corpusKey } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';
import { prng } from '../helpers/prng';

const T0 = 1_795_000_000;
const DOC = { remote: { type: 'physical', mac_address: '52:54:00:0a:00:01', parents: [], name: 'eth0', subnet: '10.0.0.0/24' } };

/** A v3 datagram around an arbitrary plaintext (flags | stamp | body), sealed with `key`'s v3 key. */
function rawV3(key: FernetKey, plain: Uint8Array, type = 1, id = key.v3!.id): Buffer {
  const length = V3_MIN_LENGTH - 9 + plain.length;
  const head = Buffer.concat([Buffer.from([3, type, length >> 8, length & 0xff]), id, Buffer.alloc(24, 9)]);
  return Buffer.concat([head, sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plain, head, null, head.subarray(8, V3_CLEAR_LENGTH), key.v3!.key)]);
}

function plain(flags: number, stamp: bigint, body: Uint8Array): Buffer {
  const p = Buffer.alloc(9 + body.length);
  p[0] = flags;
  p.writeBigUInt64BE(stamp, 1);
  Buffer.from(body).copy(p, 9);
  return p;
}

t.before(sodiumReady);

for (const engine of enginesToTest()) {
  t.test(`${engine} engine`, async (t) => {
    const key = withV3(corpusKey());
    const keys = keyObjects(key);
    const verifier = createVerifier(engine, key);
    const reason = (b: Uint8Array, now = T0) => {
      const v = decodeBeacon(verifier, b, now);
      return v.ok ? 'ok' : v.reason;
    };
    const v3 = (payload: Record<string, unknown> = DOC, type: 'solicitation' | 'advertisement' = 'solicitation') =>
      encodeBeacon(keys, type, payload, { nowMs: T0 * 1000, format: 'v3' }).bytes;

    t.test('a v3 beacon decodes to what v2 would give, version 3', async (t) => {
      const a = decodeBeacon(verifier, v3(), T0);
      const b = decodeBeacon(verifier, encodeBeacon(keys, 'solicitation', DOC, { nowMs: T0 * 1000, ulid: a.ok ? (a.payload!.ulid as string) : '' }).bytes, T0);
      t.same(a, { ...b, version: 3 });
      t.ok(v3().length < encodeBeacon(keys, 'solicitation', DOC, { nowMs: T0 * 1000 }).bytes.length, 'smaller than v2: no padding, no gzip header');
    });

    t.test('the sealed timestamp is judged as Fernet judges its own', async (t) => {
      const b = v3();
      t.equal(reason(b, T0 + 60.999), 'ok');
      t.equal(reason(b, T0 + 61), 'expired');
      t.equal(reason(b, T0 - 60), 'ok');
      t.equal(reason(b, T0 - 61), 'future');
      for (const stamp of [1n << 53n, (1n << 64n) - 1n]) t.equal(reason(rawV3(key, plain(0, stamp, serialize({ type: 1 })))), 'future', `stamp ${stamp}`);
      t.equal(reason(rawV3(key, plain(0, 0n, serialize({ type: 1 })))), 'expired');
    });

    t.test('the clear header is authenticated', async (t) => {
      const b = v3();
      for (const [at, what] of [
        [1, 'type'],
        [4, 'key id'],
        [8, 'nonce'],
        [31, 'nonce end'],
        [32, 'ciphertext'],
        [b.length - 1, 'tag'],
      ] as const) {
        const c = Buffer.from(b);
        c[at]! ^= 1;
        t.equal(reason(c), at === 4 ? 'key' : 'mac', what);
      }
      const longer = Buffer.from(b);
      longer[3]! -= 1; // one byte less declared: the tag moves
      t.equal(reason(longer), 'mac', 'declared length');
      t.equal(reason(Buffer.concat([b, Buffer.from('trailing')])), 'ok', 'bytes after the declared payload are ignored, as in v2');
      t.equal(reason(b.subarray(0, b.length - 1)), 'length');
      const other = withV3(deriveKey(Buffer.from('another secret')));
      t.equal(reason(rawV3(other, plain(0, BigInt(T0), serialize({ type: 1 })))), 'key', 'another secret: its key id is no key of ours');
      t.equal(reason(rawV3(other, plain(0, BigInt(T0), serialize({ type: 1 })), 1, key.v3!.id)), 'mac', 'our key id over another key');
    });

    t.test('shape, flags and body', async (t) => {
      const doc = serialize({ type: 2, ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ' });
      t.equal(reason(Buffer.from([3, 1, 0, 0])), 'token', 'v3 has no empty form');
      t.equal(reason(rawV3(key, plain(0, BigInt(T0), doc)).subarray(0, 4 + V3_MIN_LENGTH - 1)), 'length');
      const short = Buffer.concat([Buffer.from([3, 1, 0, V3_MIN_LENGTH - 1]), Buffer.alloc(V3_MIN_LENGTH - 1)]);
      t.equal(reason(short), 'token', 'too short for key id, nonce, prefix and tag');
      t.equal(reason(rawV3(key, plain(0, BigInt(T0), new Uint8Array(0)))), 'bson', 'an empty body');
      t.equal(reason(rawV3(key, plain(0, BigInt(T0), new Uint8Array(0)).subarray(0, 5))), 'token', 'a plaintext shorter than its prefix');
      t.equal(reason(rawV3(key, plain(2, BigInt(T0), doc))), 'token', 'an unknown flag');
      t.equal(reason(rawV3(key, plain(0x80, BigInt(T0), doc))), 'token', 'another unknown flag');
      t.equal(reason(rawV3(key, plain(1, BigInt(T0), gzipSync(doc)))), 'ok', 'gzip flag');
      t.equal(reason(rawV3(key, plain(1, BigInt(T0), doc))), 'gzip', 'gzip flag over a raw body');
      t.equal(reason(rawV3(key, plain(1, BigInt(T0), gzipSync(Buffer.alloc(300 * 1024))))), 'size', 'a gzip bomb');
      t.equal(reason(rawV3(key, plain(0, BigInt(T0), gzipSync(doc)))), 'bson', 'gzip without the flag');
      t.equal(reason(rawV3(key, plain(0, BigInt(T0), Buffer.concat([doc, doc])))), 'bson', 'two documents');
      t.same(decodeBeacon(verifier, rawV3(key, plain(0, BigInt(T0), serialize({ type: 3 }))), T0), { ok: false, reason: 'type' }, 'inner type 3');
      const wins = decodeBeacon(verifier, rawV3(key, plain(0, BigInt(T0), serialize({ type: 2 })), 1), T0);
      t.equal(wins.ok && wins.type, 'advertisement', 'the inner type wins, as in v2');
    });

    t.test("large bodies are gzip'd when that helps, small ones never", async (t) => {
      const big = { ...DOC, notes: 'x'.repeat(V3_GZIP_ABOVE * 2) };
      const b = v3(big);
      t.ok(b.length < serialize(big).length, 'compressed on the wire');
      const v = decodeBeacon(verifier, b, T0);
      t.equal(v.ok && v.payload!.notes, big.notes);
      const small = sealV3(key.v3!, serialize(DOC), { type: 1, timestamp: T0 });
      t.equal(small.length, 4 + V3_MIN_LENGTH + serialize(DOC).length, 'no gzip under the threshold');
      const rnd = prng(18);
      const random = Buffer.from(Array.from({ length: 2000 }, () => Math.floor(rnd() * 256)));
      const noisy = sealV3(key.v3!, serialize({ type: 1, r: random }), { type: 1, timestamp: T0 });
      t.equal(noisy.length, 4 + V3_MIN_LENGTH + serialize({ type: 1, r: random }).length, 'not when gzip would not shrink it');
      t.throws(() => sealV3(key.v3!, serialize(DOC), { type: 1, timestamp: T0, nonce: new Uint8Array(12) }), RangeError);
      t.throws(() => sealV3(key.v3!, serialize(DOC), { type: 1, timestamp: 1.5 }), RangeError);
    });

    t.test('v2 and v3 in one batch keep their order and versions', async (t) => {
      const items = [v3(), encodeBeacon(keys, 'advertisement', DOC, { nowMs: T0 * 1000 }).bytes, Buffer.from([2, 1, 0, 0]), v3(DOC, 'advertisement')];
      const data = Buffer.concat(items);
      const offsets = new Uint32Array(items.length + 1);
      items.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
      const out = verifier.verify({ count: 4, data, offsets, now: new Float64Array(4).fill(T0) });
      t.same(Array.from(out.version), [3, 2, 2, 3]);
      t.same(
        [0, 1, 2, 3].map((i) => {
          const d = decodeItem(out, i);
          return d.ok ? d.type : d.reason;
        }),
        ['solicitation', 'advertisement', 'solicitation', 'advertisement'],
      );
    });

    t.test('without a v3 key, v3 is an unknown version and costs nothing', async (t) => {
      const v2only = createVerifier(engine, corpusKey());
      t.same(decodeBeacon(v2only, v3(), T0), { ok: false, reason: 'version' });
      t.throws(() => encodeBeacon(keyObjects(corpusKey()), 'solicitation', DOC, { nowMs: T0 * 1000, format: 'v3' }), /needs a v3 key/);
    });

    t.test('a rotation: the key id picks the previous key, with no trial', async (t) => {
      const old = withV3(deriveKey(Buffer.from('the secret before')));
      const ring = new Keyring([keyringEntry(key, 'current'), keyringEntry(old, 'previous', T0 + 100)]);
      const made: string[] = [];
      const multi = new MultiKeyVerifier(ring, (k) => {
        made.push(k.v3!.idHex);
        return createVerifier(engine, k);
      });
      const fromOld = encodeBeacon(keyObjects(old), 'solicitation', DOC, { nowMs: T0 * 1000, format: 'v3' }).bytes;
      const forged = Buffer.from(fromOld);
      forged[forged.length - 1]! ^= 1;
      const stranger = encodeBeacon(keyObjects(withV3(deriveKey(Buffer.from('a stranger')))), 'solicitation', DOC, { nowMs: T0 * 1000, format: 'v3' }).bytes;
      const items = [v3(), fromOld, forged, stranger, fromOld];
      const batch: PayloadBatch = {
        count: items.length,
        data: Buffer.concat(items),
        offsets: Uint32Array.from(items.reduce<number[]>((o, b) => [...o, o[o.length - 1]! + b.length], [0])),
        now: Float64Array.from([T0, T0, T0, T0, T0 + 100]),
      };
      const out = multi.verify(batch);
      t.same(
        [0, 1, 2, 3, 4].map((i) => {
          const d = decodeItem(out, i);
          return d.ok ? 'ok' : d.reason;
        }),
        ['ok', 'ok', 'mac', 'key', 'key'],
        'current, previous, forged under the previous id, a stranger, the previous key past its window',
      );
      const fp = ring.previousKeys()[0]!.fingerprint;
      t.same(out.keyFingerprints, [ring.signingKey().fingerprint, fp, null, null, null]);
      const ids = v3KeyIds(ring);
      t.same(
        out.keyFingerprints.map((f) => (f === null ? null : ids.get(f))),
        [key.v3!.idHex, old.v3!.idHex, null, null, null],
        "v3KeyIds names the wire's key id of the key each match was made with (what the agent journals)",
      );
      t.same(multi.stats().retried, 2, 'only the two items carrying the previous key id were tried again, once');
      t.same(made.sort(), [key.v3!.idHex, old.v3!.idHex].sort());
      t.same(
        keyringWithV3(new Keyring([keyringEntry(corpusKey(), 'current')])).signingKey().key.v3!.idHex,
        key.v3!.idHex,
        'keyringWithV3 attaches the same key',
      );
      t.throws(() => new Keyring([keyringEntry(key, 'current'), keyringEntry({ ...old, v3: key.v3! }, 'previous', T0)]), /v3 key id .* is shared/);
    });
  });
}
