/**
 * The BSON fast path against bson itself: whenever decodeBsonFast returns a
 * document, bson.deserialize (with decode.ts's options) returns the same
 * one, key order, number kinds and -0 included; and the fast path really
 * takes the shapes beacons are made of (declining everything would also
 * satisfy the first rule). Over MAAS's corpus, random documents, random
 * mutations of their bytes, and the edges bson treats specially.
 */
import t from 'tap';
import fc from 'fast-check';
import { Binary, Long, ObjectId, deserialize, serialize } from 'bson';
import { decodeBsonFast } from '../../src/engine/bson-fast';
import { BSON_OPTIONS, decodeItem } from '../../src/engine/decode';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { corpusCases, corpusKey } from '../helpers/corpus';
import { prng } from '../helpers/prng';

const SEED = 0x2026_1125;

/** bson's verdict: its document, or 'throws'. */
function reference(bytes: Uint8Array): unknown {
  try {
    return deserialize(bytes, BSON_OPTIONS);
  } catch {
    return 'throws';
  }
}

/** Where a and b differ (key order, kinds, -0 and NaN count), or '' when they are the same. */
function diff(a: unknown, b: unknown, path = '$'): string {
  if (typeof a !== typeof b) return `${path}: ${typeof a} vs ${typeof b}`;
  if (typeof a === 'number') return Object.is(a, b) ? '' : `${path}: ${a} vs ${String(b)}`;
  if (a === null || b === null || typeof a !== 'object') return a === b ? '' : `${path}: ${String(a)} vs ${String(b)}`;
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs not`;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: different prototypes`;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.join('\u0000') !== kb.join('\u0000')) return `${path}: keys ${JSON.stringify(ka)} vs ${JSON.stringify(kb)}`;
  for (const k of ka) {
    const d = diff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
    if (d) return d;
  }
  return '';
}

/** The fast path's answer for bytes, checked against bson's: '' when it agrees (or declines). */
function check(bytes: Uint8Array): { accepted: boolean; problem: string } {
  // Decode from inside a larger buffer, as decodeItem does from a batch.
  const padded = new Uint8Array(bytes.length + 7);
  padded.fill(0xee);
  padded.set(bytes, 3);
  const fast = decodeBsonFast(padded, 3, 3 + bytes.length);
  if (fast === undefined) return { accepted: false, problem: '' };
  const ref = reference(bytes);
  if (ref === 'throws') return { accepted: true, problem: `fast path accepted what bson rejects: ${Buffer.from(bytes).toString('hex')}` };
  const d = diff(fast, ref);
  return { accepted: true, problem: d ? `${d} (${Buffer.from(bytes).toString('hex')})` : '' };
}

// What the fast path must take: the shapes beacons use.
const asciiKey = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_0123456789-'.split('')), maxLength: 12 });
const simpleLeaf = fc.oneof(
  fc.string({ maxLength: 50 }),
  // U+FFFD is left to bson (it is also what a broken sequence decodes to).
  fc.string({ unit: 'grapheme', maxLength: 20 }).filter((s) => !s.includes('\ufffd')),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.maxSafeInteger().map((n) => Long.fromNumber(n)),
);
const { simpleDoc } = fc.letrec<{ simpleDoc: Record<string, unknown>; simpleValue: unknown }>((tie) => ({
  simpleValue: fc.oneof({ maxDepth: 4 }, simpleLeaf, fc.array(tie('simpleValue'), { maxLength: 5 }), tie('simpleDoc')),
  simpleDoc: fc.dictionary(asciiKey, tie('simpleValue'), { maxKeys: 6 }),
}));

// And everything else bson knows, which the fast path may decline.
const anyLeaf = fc.oneof(
  simpleLeaf,
  fc.string({ unit: 'binary', maxLength: 10 }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Long.fromBigInt(n)),
  fc.uint8Array({ maxLength: 8 }).map((b) => new Binary(b)),
  fc.date({ noInvalidDate: true }),
  fc.constant(new ObjectId('0123456789abcdef01234567')),
);
const anyKey = fc.oneof(asciiKey, fc.string({ maxLength: 6 }), fc.constantFrom('$ref', '$id', '$db', '__proto__', '0', '1', '10'));
const { anyDoc } = fc.letrec<{ anyDoc: Record<string, unknown>; anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof({ maxDepth: 4 }, anyLeaf, fc.array(tie('anyValue'), { maxLength: 5 }), tie('anyDoc')),
  anyDoc: fc.dictionary(anyKey, tie('anyValue'), { maxKeys: 6 }),
}));

t.test("MAAS's corpus: every authentic payload is taken by the fast path and decodes as bson decodes it", (t) => {
  const verifier = new JsBatchVerifier(corpusKey());
  let taken = 0;
  for (const c of corpusCases()) {
    if (!c.udp_payload_hex || c.not_udp) continue;
    const data = Buffer.from(c.udp_payload_hex, 'hex');
    const out = verifier.verify({ count: 1, data, offsets: Uint32Array.of(0, data.length), now: Float64Array.of(c.time) });
    if (out.status[0] !== 0 || out.plainOffsets[1] === 0) continue;
    const plain = out.plain.subarray(0, out.plainOffsets[1]);
    const r = check(plain);
    t.equal(r.problem, '', `${c.label}: agrees with bson`);
    if (c.beacon?.payload) {
      t.ok(r.accepted, `${c.label}: taken by the fast path`);
      taken++;
      const v = decodeItem(out, 0);
      t.same(v.ok && v.payload, c.beacon.payload, `${c.label}: decodeItem gives MAAS's payload`);
    }
  }
  t.ok(taken >= 5, `corpus beacons decoded (${taken})`);
  t.end();
});

t.test('random documents of the beacon shapes are all taken, and equal bson', (t) => {
  fc.assert(
    fc.property(simpleDoc, (doc) => {
      const r = check(serialize(doc));
      return r.accepted && r.problem === '';
    }),
    { seed: SEED, numRuns: 3000 },
  );
  t.pass('3000 documents');
  t.end();
});

t.test('random documents of every kind: whatever the fast path takes equals bson', (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(anyDoc, (doc) => {
      const r = check(serialize(doc));
      if (r.accepted) accepted++;
      return r.problem === '';
    }),
    { seed: SEED, numRuns: 3000 },
  );
  t.ok(accepted > 300 && accepted < 3000, `some taken, some declined (${accepted} of 3000 taken)`);
  t.end();
});

t.test('random mutations of documents: never a document bson would not give', (t) => {
  const random = prng(SEED);
  const seeds = fc.sample(simpleDoc, { seed: SEED, numRuns: 200 }).map((d) => serialize(d));
  let accepted = 0;
  let problems = 0;
  const MUTATIONS = 40_000;
  for (let n = 0; n < MUTATIONS; n++) {
    const src = seeds[n % seeds.length]!;
    const b = new Uint8Array(src);
    const kind = Math.floor(random() * 4);
    const at = Math.floor(random() * b.length);
    let bytes: Uint8Array;
    if (kind === 0) {
      b[at] = Math.floor(random() * 256);
      bytes = b;
    } else if (kind === 1) {
      b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
      bytes = b;
    } else if (kind === 2) {
      bytes = b.subarray(0, at);
    } else {
      // A size field rewritten: the int32 at a random place gets a nearby value.
      const v = (b[at]! + Math.floor(random() * 9) - 4) & 0xff;
      b[at] = v;
      bytes = b;
    }
    const r = check(bytes);
    if (r.accepted) accepted++;
    if (r.problem) {
      if (problems++ < 5) t.fail(r.problem);
    }
  }
  t.equal(problems, 0, `${MUTATIONS} mutations, no disagreement (${accepted} taken)`);
  t.end();
});

t.test('the edges bson treats specially are left to bson', (t) => {
  const declined = (bytes: Uint8Array, what: string): void => {
    t.equal(decodeBsonFast(bytes, 0, bytes.length), undefined, `${what}: declined`);
  };
  // __proto__ as a key: bson defines it as an own property.
  const proto = serialize({ a: 1, b: 2 });
  const protoBytes = Buffer.concat([proto.subarray(0, 4), Buffer.from([0x10]), Buffer.from('__proto__\0'), Buffer.from([1, 0, 0, 0]), proto.subarray(4)]);
  protoBytes.writeInt32LE(protoBytes.length, 0);
  declined(protoBytes, '__proto__ key');
  t.same(Object.keys(reference(protoBytes) as object), ['__proto__', 'a', 'b'], 'bson keeps it as an own key');
  declined(serialize({ x: { $ref: 'c', $id: 1 } }), 'a DBRef');
  declined(serialize({ $x: 1 }), 'a $-key');
  declined(serialize({ n: Long.fromBigInt(2n ** 53n) }), 'an int64 beyond 2^53');
  declined(serialize({ n: Long.fromBigInt(-(2n ** 53n)) }), 'an int64 below -2^53');
  const safe = serialize({ n: Long.fromBigInt(2n ** 53n - 1n) });
  t.same(decodeBsonFast(safe, 0, safe.length), { n: 2 ** 53 - 1 }, 'the largest safe int64 is a number');
  t.same(check(serialize({ n: Long.fromBigInt(-(2n ** 53n) + 1n) })), { accepted: true, problem: '' }, 'the smallest safe int64 is taken');
  // Invalid UTF-8 in a string: bson throws.
  const s = serialize({ s: 'ab' });
  const bad = new Uint8Array(s);
  bad[bad.indexOf(0x61)] = 0xff;
  declined(bad, 'invalid UTF-8');
  t.equal(reference(bad), 'throws', 'bson rejects it');
  declined(serialize({ s: 'a\ufffdb' }), 'a real U+FFFD (bson decides)');
  t.same(check(serialize({ s: 'é and 日本 and 🙂' })), { accepted: true, problem: '' }, 'valid non-ASCII strings are taken');
  declined(serialize({ ['é']: 1 }), 'a non-ASCII key');
  // A boolean byte other than 0 or 1.
  const bool = new Uint8Array(serialize({ b: true }));
  bool[bool.length - 2] = 2;
  declined(bool, 'boolean 2');
  // Trailing bytes, and a document shorter than its buffer.
  const doc = serialize({ a: 'x' });
  declined(Buffer.concat([doc, Buffer.from([0])]), 'a trailing byte');
  declined(doc.subarray(0, doc.length - 1), 'a truncated document');
  // Nested deeper than the fast path goes.
  let deep: Record<string, unknown> = { v: 1 };
  for (let i = 0; i < 40; i++) deep = { d: deep };
  declined(serialize(deep), 'nesting of 41');
  t.equal(diff(reference(serialize(deep)), deep), '', 'which bson decodes');
  // Array keys are skipped, as bson skips them.
  const arr = new Uint8Array(serialize({ a: ['x', 'y'] }));
  arr[arr.indexOf(0x30, 8)] = 0x37; // key "0" -> "7"
  t.same(check(arr), { accepted: true, problem: '' }, 'odd array keys: same as bson');
  t.same(decodeBsonFast(arr, 0, arr.length), { a: ['x', 'y'] }, 'values take their indices');
  t.same(check(serialize({ '1': 'a', '0': 'b', z: 0 })), { accepted: true, problem: '' }, 'integer-like keys ordered as bson orders them');
  const negZero = serialize({ z: -0 });
  t.equal(diff(decodeBsonFast(negZero, 0, negZero.length), reference(negZero)), '', '-0 as bson gives it');
  t.same(check(serialize({ d: Number.NaN, e: Infinity })), { accepted: true, problem: '' }, 'NaN and Infinity');
  t.same(check(serialize({ k: 'x'.repeat(200), ['k'.repeat(60)]: 'long key' })), { accepted: true, problem: '' }, 'strings and keys too long to intern');
  t.end();
});

t.test('interning never hands back another string', (t) => {
  // Same length and same first, middle and last bytes: the same slot.
  const a = serialize({ k: 'aXb1c' });
  const b = serialize({ k: 'aYb2c' });
  t.same(decodeBsonFast(a, 0, a.length), { k: 'aXb1c' });
  t.same(decodeBsonFast(b, 0, b.length), { k: 'aYb2c' }, 'a colliding value is compared byte for byte');
  t.same(decodeBsonFast(a, 0, a.length), { k: 'aXb1c' }, 'and the first comes back again');
  const ka = serialize({ ab1cd: 1 });
  const kb = serialize({ ab2cd: 1 });
  t.same(Object.keys(decodeBsonFast(ka, 0, ka.length)!), ['ab1cd']);
  t.same(Object.keys(decodeBsonFast(kb, 0, kb.length)!), ['ab2cd'], 'keys too');
  t.end();
});
