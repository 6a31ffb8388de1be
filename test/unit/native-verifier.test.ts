/**
 * The native verifier on its own: MAAS's corpus, the edges that only the
 * native code has (argument checks at the N-API boundary, int64 clocks,
 * 64-bit stamps, the plaintext buffer it reuses between calls), gzip as
 * Python reads it, and cryptoFloor. The suite shared with the JS engine is
 * verifier-suite.test.ts; agreement on random inputs is
 * engine-agreement.test.ts.
 */
import t from 'tap';
import { deserialize } from 'bson';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadBinding } from '../../src/engine/binding';
import { NativeBatchVerifier } from '../../src/engine/native-verifier';
import type { VerifiedBatch } from '../../src/engine/types';
import type { FernetKey } from '../../src/protocol/key';
import { fernetEncrypt, keyObjects } from '../../src/protocol/fernet';
import { MAX_INFLATED, reasonName } from '../../src/protocol/reasons';
import { corpusCases, corpusKey, reasonsForMaas } from '../helpers/corpus';

interface NativeVerifier {
  verify(data: unknown, offsets: unknown, now: unknown, count: unknown): VerifiedBatch;
}
interface Addon {
  NativeVerifier: new (...args: unknown[]) => NativeVerifier;
  cryptoFloor(tokens: unknown, offsets: unknown, signing: unknown, encryption: unknown, iterations: unknown): number;
}

const key = corpusKey();
const keys = keyObjects(key);
const T0 = 1_795_000_000;
const BSON_OPTIONS = { promoteLongs: true, promoteValues: true, promoteBuffers: true, bsonRegExp: false } as const;

/** A datagram: header, then `token`. */
function datagram(token: Uint8Array, version = 2, type = 1): Buffer {
  return Buffer.concat([Buffer.from([version, type, token.length >> 8, token.length & 0xff]), token]);
}

/** An authentic token over `padded` (whole blocks, padding NOT added), stamped `stamp`. */
function rawToken(padded: Uint8Array, stamp: bigint = BigInt(T0)): Buffer {
  const iv = randomBytes(16);
  const c = createCipheriv('aes-128-cbc', keys.encryption, iv).setAutoPadding(false);
  const body = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(8), iv, c.update(padded), c.final()]);
  body.writeBigUInt64BE(stamp, 1);
  return Buffer.concat([body, createHmac('sha256', keys.signing).update(body).digest()]);
}

/** Verifies each datagram alone at `now`; returns reason names and plaintexts. */
function verifyEach(v: NativeBatchVerifier, items: Uint8Array[], now = T0): { reason: string; plain: Buffer }[] {
  const data = Buffer.concat(items);
  const offsets = new Uint32Array(items.length + 1);
  items.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
  const r = v.verify({ count: items.length, data, offsets, now: new Float64Array(items.length).fill(now) });
  return items.map((_, i) => ({
    reason: reasonName(r.status[i]!),
    plain: Buffer.from(r.plain.subarray(r.plainOffsets[i], r.plainOffsets[i + 1])),
  }));
}

function run(addon: Addon): void {
  const v = new NativeBatchVerifier(key);
  const reasonOf = (d: Uint8Array, now = T0) => verifyEach(v, [d], now)[0]!.reason;
  const plainReason = (plain: Uint8Array) => reasonOf(datagram(fernetEncrypt(keys, plain, T0)));

  t.test('every corpus case, in one batch, gives MAAS verdict', async (t) => {
    const cases = corpusCases().filter((c) => c.udp_payload_hex !== undefined && !c.not_udp);
    const items = cases.map((c) => Buffer.from(c.udp_payload_hex!, 'hex'));
    const data = Buffer.concat(items);
    const offsets = new Uint32Array(items.length + 1);
    items.forEach((b, i) => (offsets[i + 1] = offsets[i]! + b.length));
    const r = v.verify({ count: items.length, data, offsets, now: Float64Array.from(cases, (c) => c.time) });
    t.equal(r.count, cases.length);
    cases.forEach((c, i) => {
      const bytes = items[i]!;
      const plain = r.plain.subarray(r.plainOffsets[i], r.plainOffsets[i + 1]);
      t.equal(r.version[i], bytes.length >= 4 ? bytes[0] : 0, `${c.label}: version`);
      t.equal(r.headerType[i], bytes.length >= 4 ? bytes[1] : 0, `${c.label}: header type`);
      if (c.beacon) {
        t.equal(r.status[i], 0, `${c.label} is authentic`);
        t.equal(r.version[i], c.beacon.version);
        if (c.beacon.payload === null) t.equal(plain.length, 0, `${c.label}: no payload, no plaintext`);
        else t.same(deserialize(plain, BSON_OPTIONS), c.beacon.payload, `${c.label}: the BSON is MAAS's payload`);
      } else if (c.invalid!.startsWith('Inner beacon payload is not BSON')) {
        t.equal(r.status[i], 0, `${c.label}: native passes the bytes on`);
        t.throws(() => deserialize(plain, BSON_OPTIONS), `${c.label}: the shared BSON step rejects them`);
      } else {
        const reason = reasonName(r.status[i]!);
        t.ok(reasonsForMaas(c.invalid!).includes(reason), `${c.label}: ${reason} means "${c.invalid}"`);
      }
    });
  });

  t.test('the age window on integer seconds, and clocks and stamps at the extremes', async (t) => {
    const d = datagram(fernetEncrypt(keys, gzipSync(Buffer.from('x')), T0));
    t.equal(reasonOf(d, T0 + 60), 'ok', 'exactly 60 s old');
    t.equal(reasonOf(d, T0 + 60.999), 'ok', 'fraction dropped');
    t.equal(reasonOf(d, T0 + 61), 'expired');
    t.equal(reasonOf(d, T0 - 60), 'ok', 'exactly 60 s ahead');
    t.equal(reasonOf(d, T0 - 60.5), 'future', 'floor(-60.5 s) is -61 s');
    t.equal(reasonOf(d, T0 - 61), 'future');
    t.equal(reasonOf(d, 1e300), 'expired', 'a clock past int64 clamps, it does not wrap');
    t.equal(reasonOf(d, -1e300), 'future');
    const at = (stamp: bigint, now: number) => reasonOf(datagram(rawToken(Buffer.alloc(16, 16), stamp)), now);
    t.equal(at(0xffff_ffff_ffff_ffffn, T0), 'future', 'stamp 2^64-1: + 60 must not wrap to "expired"');
    t.equal(at(0x8000_0000_0000_0000n, T0), 'future', 'stamp 2^63: not a negative int64');
    t.equal(at(0xffff_ffff_ffff_ffffn, 1e300), 'future', 'even against the largest clock');
    t.equal(at(0n, 60), 'bson', 'stamp 0 at 60 s: in the window (empty plaintext)');
    t.equal(at(0n, 61), 'expired');
    t.equal(at(0n, -60), 'bson', 'a negative clock is a clock');
    t.equal(at(0n, -61), 'future');
  });

  t.test('token structure and padding', async (t) => {
    const good = fernetEncrypt(keys, gzipSync(Buffer.from('x')), T0);
    t.equal(reasonOf(datagram(good.subarray(0, 72))), 'token', '72 bytes: no whole block');
    t.equal(reasonOf(datagram(Buffer.concat([good, Buffer.alloc(1)]))), 'token', 'ciphertext not whole blocks');
    t.equal(reasonOf(datagram(Buffer.concat([Buffer.from([0x81]), good.subarray(1)]))), 'token', 'marker');
    t.equal(reasonOf(Buffer.concat([datagram(good), Buffer.from('tail')])), 'ok', 'bytes after the payload ignored');
    for (const last of [0, 17, 255]) {
      const block = Buffer.alloc(32, 3);
      block[31] = last;
      t.equal(reasonOf(datagram(rawToken(block))), 'padding', `pad byte ${last}`);
    }
    const uneven = Buffer.alloc(16, 4);
    uneven[13] = 5;
    t.equal(reasonOf(datagram(rawToken(uneven))), 'padding', 'pad bytes not all equal');
    t.equal(reasonOf(datagram(rawToken(Buffer.alloc(16, 16)))), 'bson', 'a whole block of padding: empty plaintext');
    // The longest token a 16-bit length allows: 65529 bytes (4092 blocks).
    const head = gzipSync(Buffer.from('x'));
    const largest = fernetEncrypt(keys, Buffer.concat([head, Buffer.alloc(65471 - head.length, 0x61)]), T0);
    t.equal(largest.length, 65529);
    t.equal(reasonOf(datagram(largest)), 'gzip', 'the largest token decrypts (and is junk after a member)');
  });

  t.test('gzip as Python reads it, and the size limit', async (t) => {
    const x = gzipSync(Buffer.from('abc'));
    const flagged = (flags: number, extra: number[]) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3, ...extra]), x.subarray(10)]);
    const ok = (plain: Uint8Array) => {
      const [r] = verifyEach(v, [datagram(fernetEncrypt(keys, plain, T0))]);
      return r!.reason === 'ok' ? r!.plain.toString() : r!.reason;
    };
    t.equal(ok(Buffer.concat([x, x])), 'abcabc', 'two members');
    t.equal(ok(Buffer.concat([x, Buffer.alloc(3), x, Buffer.alloc(5)])), 'abcabc', 'NUL padding between and after members');
    t.equal(ok(Buffer.concat([Buffer.alloc(1), x])), 'gzip', 'leading NUL');
    t.equal(ok(Buffer.concat([x, Buffer.from([0x1f])])), 'gzip', 'half a magic after a member');
    t.equal(ok(flagged(0xe0, [])), 'abc', 'reserved flag bits are ignored, as Python does');
    t.equal(ok(flagged(0x02, [0xde, 0xad])), 'abc', 'a wrong header CRC is not checked, as Python does not');
    t.equal(ok(flagged(0x1c, [2, 0, 9, 9, 0x6e, 0, 0x63, 0])), 'abc', 'FEXTRA, FNAME and FCOMMENT skipped');
    t.equal(ok(flagged(0x08, [0x6e, 0x6f])), 'gzip', 'an unterminated FNAME');
    t.equal(ok(flagged(0x04, [0xff, 0xff])), 'gzip', 'FEXTRA longer than the member');
    t.equal(ok(Buffer.concat([x.subarray(0, 2), Buffer.from([7]), x.subarray(3)])), 'gzip', 'method other than deflate');
    t.equal(ok(x.subarray(0, x.length - 1)), 'gzip', 'trailer cut short');
    t.equal(ok(x.subarray(0, 12)), 'gzip', 'deflate data cut short');
    const badCrc = Buffer.from(x);
    badCrc[badCrc.length - 8]! ^= 1;
    t.equal(ok(badCrc), 'gzip', 'CRC-32 mismatch');
    const badLen = Buffer.from(x);
    badLen[badLen.length - 4]! ^= 1;
    t.equal(ok(badLen), 'gzip', 'ISIZE mismatch');
    const corrupt = Buffer.from(x);
    corrupt[10] = 0xff;
    t.equal(ok(corrupt), 'gzip', 'invalid deflate block type');

    const fill = (n: number) => gzipSync(Buffer.alloc(n, 0x41), { level: 9 });
    t.equal(ok(fill(MAX_INFLATED)).length, MAX_INFLATED, 'exactly MAX_INFLATED bytes');
    t.equal(plainReason(fill(MAX_INFLATED + 1)), 'size', 'one byte more');
    t.equal(ok(Buffer.concat([fill(MAX_INFLATED - 10), fill(10)])).length, MAX_INFLATED, 'two members up to the limit');
    t.equal(plainReason(Buffer.concat([fill(MAX_INFLATED - 10), fill(11)])), 'size', 'two members past it');
    t.equal(ok(Buffer.concat([fill(MAX_INFLATED), gzipSync(Buffer.alloc(0))])).length, MAX_INFLATED, 'an empty member after a full one fits');
    // 50 MiB of zeros in under 64 KiB of deflate: rejected after 256 KiB of work.
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024), { level: 9 });
    const cpu = (f: () => unknown) => {
      const c = process.cpuUsage();
      f();
      const d = process.cpuUsage(c);
      return d.user + d.system;
    };
    // CPU time, relative to inflating it all: neither a busy machine nor
    // valgrind (scripts/leakcheck.sh) makes this flaky.
    const whole = cpu(() => gunzipSync(bomb));
    let reason = '';
    const ours = cpu(() => (reason = plainReason(bomb)));
    t.equal(reason, 'size', `a ${bomb.length}-byte gzip bomb`);
    t.ok(ours * 5 < whole, `stopped early: ${ours} us of CPU, ${whole} us to inflate it all`);
  });

  t.test('the plaintext buffer is reused, never shared with results', async (t) => {
    const a = datagram(fernetEncrypt(keys, gzipSync(Buffer.from('first')), T0));
    const b = datagram(fernetEncrypt(keys, gzipSync(Buffer.alloc(200_000, 0x62)), T0));
    const one = v.verify({ count: 1, data: a, offsets: Uint32Array.of(0, a.length), now: Float64Array.of(T0) });
    const many = Array.from({ length: 40 }, () => b);
    verifyEach(v, many); // grows the buffer to 8 MB, past what it keeps
    verifyEach(v, [b, a]);
    t.equal(Buffer.from(one.plain).toString(), 'first', 'an earlier result is untouched by later calls');
    t.equal(verifyEach(v, many).filter((r) => r.reason === 'ok' && r.plain.length === 200_000).length, 40, 'growth keeps every item');
  });

  t.test('HMAC re-initialisation keeps the key (OpenSSL 3.0.3+, self-tested)', async (t) => {
    const good = datagram(fernetEncrypt(keys, gzipSync(Buffer.from('same')), T0));
    const forged = Buffer.from(good);
    forged[forged.length - 1]! ^= 0x80;
    const mixed = Array.from({ length: 64 }, (_, i) => (i % 3 === 1 ? forged : good));
    const r = verifyEach(v, mixed);
    t.same(
      r.map((x) => x.reason),
      mixed.map((d) => (d === good ? 'ok' : 'mac')),
    );
  });

  t.test('batches: offsets that start late, sub-views, an empty batch, count below the arrays', async (t) => {
    const good = datagram(fernetEncrypt(keys, gzipSync(Buffer.from('v')), T0));
    const backing = Buffer.concat([Buffer.alloc(7, 9), good, good]);
    const view = new Uint8Array(backing.buffer, backing.byteOffset + 7, good.length * 2);
    const r = v.verify({ count: 1, data: view, offsets: Uint32Array.of(good.length, 2 * good.length, 0), now: Float64Array.of(T0, NaN) });
    t.same([r.count, r.status[0], Buffer.from(r.plain).toString()], [1, 0, 'v'], 'entries past count are not read');
    const empty = v.verify({ count: 0, data: new Uint8Array(0), offsets: Uint32Array.of(0), now: new Float64Array(0) });
    t.same([empty.status.length, empty.plain.length, Array.from(empty.plainOffsets)], [0, 0, [0]]);
    const shared = new Uint8Array(new SharedArrayBuffer(good.length));
    shared.set(good);
    const sr = v.verify({ count: 1, data: shared, offsets: new Uint32Array(new SharedArrayBuffer(8)).fill(good.length, 1), now: Float64Array.of(T0) });
    t.equal(sr.status[0], 0, 'arrays over shared memory (offsets are re-read defensively)');
    const zeroes = v.verify({ count: 2, data: new Uint8Array(0), offsets: new Uint32Array(3), now: new Float64Array(2) });
    t.same(Array.from(zeroes.status), [1, 1], 'zero-length items are short');
  });

  t.test('the addon checks its arguments itself', async (t) => {
    const NV = addon.NativeVerifier;
    const k = new Uint8Array(16);
    t.throws(() => new NV(), TypeError, 'no key');
    t.throws(() => new NV(k, new Uint8ClampedArray(16)), TypeError, 'clamped is not Uint8Array');
    t.throws(() => new NV(k, new Uint8Array(15)), RangeError, 'short key');
    t.throws(() => new NV(new Uint8Array(32), k), RangeError, 'whole key passed as one half');
    t.throws(() => (NV as unknown as (...a: unknown[]) => unknown)(k, k), TypeError, 'called without new');
    const n = new NV(k, k);
    const d = new Uint8Array(8);
    const o = Uint32Array.of(0, 8);
    const now = Float64Array.of(T0);
    t.throws(() => n.verify([1, 2], o, now, 1), TypeError, 'data is an array');
    t.throws(() => n.verify(new DataView(d.buffer), o, now, 1), TypeError, 'data is a DataView');
    t.throws(() => n.verify(d, Int32Array.of(0, 8), now, 1), TypeError, 'signed offsets');
    t.throws(() => n.verify(d, o, Float32Array.of(T0), 1), TypeError, 'float32 clock');
    t.throws(() => n.verify(d, o, now, '1'), TypeError, 'count as a string');
    for (const c of [-1, 1.5, NaN, Infinity, 2 ** 32]) t.throws(() => n.verify(d, o, now, c), RangeError, `count ${c}`);
    t.throws(() => n.verify(d, o, now, 2), RangeError, 'count beyond offsets');
    t.throws(() => n.verify(d, Uint32Array.of(0, 8, 8), now, 2), RangeError, 'count beyond clock');
    t.throws(() => n.verify(d, Uint32Array.of(4, 2), now, 1), RangeError, 'decreasing offsets');
    t.throws(() => n.verify(d, Uint32Array.of(0, 9), now, 1), RangeError, 'offsets past the data');
    for (const bad of [NaN, Infinity, -Infinity]) t.throws(() => n.verify(d, o, Float64Array.of(bad), 1), RangeError, `now ${bad}`);
    t.equal(n.verify(d, o, now, 1).status[0], 3, 'the same arguments, well-formed, work (version 0)');
  });

  t.test('NativeBatchVerifier checks the key and the batch', async (t) => {
    const bad = (k: unknown) => () => new NativeBatchVerifier(k as FernetKey);
    t.throws(bad({ signing: new Uint8Array(16), encryption: 'x' }), TypeError);
    t.throws(bad({ signing: new Uint8Array(8), encryption: new Uint8Array(16) }), RangeError);
    t.throws(() => v.verify({ count: 1, data: new Uint8Array(4), offsets: Uint32Array.of(4, 0), now: Float64Array.of(T0) }), RangeError);
  });

  t.test('NativeBatchVerifier explains an addon it cannot use', async (t) => {
    const modulePath = '../../src/engine/native-verifier';
    const without = t.mockRequire<typeof import('../../src/engine/native-verifier')>(modulePath, {
      '../../src/engine/binding': { loadBinding: () => ({ ok: false, why: 'not-built', detail: 'no .node here' }) },
    });
    t.throws(() => new without.NativeBatchVerifier(key), { message: /native engine is not available \(not-built\): no \.node here/ });
    const old = t.mockRequire<typeof import('../../src/engine/native-verifier')>(modulePath, {
      '../../src/engine/binding': { loadBinding: () => ({ ok: true, binding: { abiVersion: 1 }, path: '/x.node' }) },
    });
    t.throws(() => new old.NativeBatchVerifier(key), { message: /\/x\.node has no NativeVerifier export/ });
  });

  t.test('cryptoFloor times the crypto of authentic tokens only', async (t) => {
    const tokens = [fernetEncrypt(keys, gzipSync(Buffer.from('a')), T0), fernetEncrypt(keys, gzipSync(Buffer.alloc(300)), T0)];
    const data = Buffer.concat(tokens);
    const offsets = Uint32Array.of(0, tokens[0]!.length, data.length);
    const ns = addon.cryptoFloor(data, offsets, key.signing, key.encryption, 20);
    t.ok(ns > 0 && ns < 1e7, `${ns.toFixed(0)} ns per token`);
    const forged = Buffer.from(data);
    forged[tokens[0]!.length - 1]! ^= 1;
    t.throws(() => addon.cryptoFloor(forged, offsets, key.signing, key.encryption, 1), { message: /token 0 does not verify/ });
    t.throws(() => addon.cryptoFloor(data, Uint32Array.of(0, 10), key.signing, key.encryption, 1), { message: /token 0 is not a Fernet token/ });
    t.throws(() => addon.cryptoFloor(data, Uint32Array.of(0), key.signing, key.encryption, 1), RangeError);
    t.throws(() => addon.cryptoFloor(data, Uint32Array.of(0, data.length + 1), key.signing, key.encryption, 1), RangeError);
    t.throws(() => addon.cryptoFloor(data, offsets, key.signing, key.encryption, 0), RangeError);
    t.throws(() => addon.cryptoFloor(data, offsets, key.signing, new Uint8Array(3), 1), RangeError);
  });
}

const state = loadBinding();
if (!state.ok) {
  t.comment(`native addon not available (${state.why}): ${state.detail}`);
  t.plan(0, `the native addon is not built here: ${state.detail}`);
} else {
  run(state.binding as unknown as Addon);
}
