/**
 * The fast path's shape cache (src/engine/bson-fast.ts): documents of one
 * layout built by a generated constructor, layouts that collide in the
 * cache, the cache's bound, and documents that follow a cached layout for
 * a while and then leave it. Every answer is checked against
 * bson.deserialize, key order included.
 */
import t, { type Test } from 'tap';
import { deserialize, serialize } from 'bson';
import { decodeBsonFast, shapeCacheStats } from '../../src/engine/bson-fast';
import { BSON_OPTIONS } from '../../src/engine/decode';
import { prng } from '../helpers/prng';

const BEACON = {
  remote: { type: 'physical', mac_address: '52:54:00:0a:00:01', parents: [], name: 'eth0', subnet: '10.0.0.0/24' },
  ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ',
  type: 1,
};

/** bson's document for bytes, or 'throws'. */
function reference(bytes: Uint8Array): unknown {
  try {
    return deserialize(bytes, BSON_OPTIONS);
  } catch {
    return 'throws';
  }
}

/** Same values and the same key order, all the way down. */
function sameDoc(a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b);
  if (a === null || b === null || typeof a !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  if (ka.join('\u0000') !== kb.join('\u0000')) return false;
  return ka.every((k) => sameDoc((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** The fast path on bytes (inside a larger buffer): undefined when it declines; fails the test when it disagrees with bson. */
function fast(t: Test, bytes: Uint8Array, what: string): Record<string, unknown> | undefined {
  const padded = new Uint8Array(bytes.length + 5);
  padded.set(bytes, 2);
  const d = decodeBsonFast(padded, 2, 2 + bytes.length);
  if (d !== undefined && !sameDoc(d, reference(bytes))) t.fail(`${what}: differs from bson (${Buffer.from(bytes).toString('hex')})`);
  return d;
}

t.test('one layout with changing values: built by a constructor, equal to bson every time', (t) => {
  const before = shapeCacheStats().compiled;
  const random = prng(7);
  let agreed = 0;
  for (let n = 0; n < 200; n++) {
    const doc = {
      remote: {
        type: n % 2 ? 'physical' : 'vlan',
        mac_address: `52:54:00:0a:00:${(n % 256).toString(16).padStart(2, '0')}`,
        parents: n % 3 ? [] : [`eth${n}`, 'bond0'],
        name: `eth${n}`,
        subnet: `10.0.${n}.0/24`,
      },
      ulid: Math.floor(random() * 2 ** 52)
        .toString(36)
        .toUpperCase()
        .padStart(26, '0'),
      type: n % 2 ? 1 : 2,
    };
    const bytes = serialize(doc);
    const d = fast(t, bytes, `beacon ${n}`);
    if (d !== undefined && sameDoc(d, doc)) agreed++;
  }
  t.equal(agreed, 200, 'all taken, all equal');
  t.ok(shapeCacheStats().compiled >= before + 2, 'the beacon and its remote got constructors');
  // The objects handed out are independent of one another and of the cache.
  const bytes = serialize(BEACON);
  const a = fast(t, bytes, 'a')!;
  (a.remote as Record<string, unknown>).name = 'changed';
  a.extra = 1;
  const b = fast(t, bytes, 'b')!;
  t.same(b, BEACON, 'changing one document changes no other');
  t.not(a.remote, b.remote, 'nested documents are fresh objects');
  t.not((a.remote as { parents: unknown }).parents, (b.remote as { parents: unknown }).parents, 'and so are arrays');
  t.end();
});

t.test('documents that follow a cached layout and then leave it', (t) => {
  const bytes = serialize(BEACON);
  for (let n = 0; n < 40; n++) fast(t, bytes, 'warm-up');
  const variants: Array<[string, unknown]> = [
    ['an element fewer', { remote: BEACON.remote, ulid: BEACON.ulid }],
    ['an element more', { ...BEACON, extra: true }],
    ['the last name changed', { remote: BEACON.remote, ulid: BEACON.ulid, typf: 1 }],
    ['the last name longer', { remote: BEACON.remote, ulid: BEACON.ulid, types: 1 }],
    ['the last name shorter', { remote: BEACON.remote, ulid: BEACON.ulid, typ: 1 }],
    ['a type changed', { remote: BEACON.remote, ulid: BEACON.ulid, type: 'one' }],
    ['an int64 for the int32', { remote: BEACON.remote, ulid: BEACON.ulid, type: 2 ** 40 }],
    ['the first name changed', { remotf: BEACON.remote, ulid: BEACON.ulid, type: 1 }],
    ['a nested layout changed', { remote: { ...BEACON.remote, vid: 5 }, ulid: BEACON.ulid, type: 1 }],
    ['a nested document in place of an array', { remote: { ...BEACON.remote, parents: { a: 1 } }, ulid: BEACON.ulid, type: 1 }],
    ['the keys reordered', { ulid: BEACON.ulid, remote: BEACON.remote, type: 1 }],
    ['an empty document', {}],
  ];
  for (const [what, doc] of variants) {
    for (let round = 0; round < 3; round++) {
      const d = fast(t, serialize(doc as Record<string, unknown>), what);
      t.ok(d !== undefined && sameDoc(d, doc), `${what}, round ${round}: taken and equal`);
      const back = fast(t, bytes, `${what}: the beacon again`);
      t.ok(back !== undefined && sameDoc(back, BEACON), `${what}, round ${round}: the beacon again`);
    }
  }
  t.end();
});

t.test('every byte of a warmed-up beacon mutated: never a document bson would not give', (t) => {
  const bytes = serialize(BEACON);
  const random = prng(11);
  let taken = 0;
  for (let at = 0; at < bytes.length; at++) {
    for (let k = 0; k < 8; k++) {
      fast(t, bytes, 'the beacon');
      const b = new Uint8Array(bytes);
      b[at] = k === 0 ? b[at]! ^ 0x20 : k === 1 ? 0 : Math.floor(random() * 256);
      if (fast(t, b, `byte ${at} mutated`) !== undefined) taken++;
    }
  }
  t.ok(taken > 0, `some mutations are still documents (${taken})`);
  t.end();
});

t.test('layouts that collide in the cache are told apart by their bytes', (t) => {
  // Same length and the same first and last bytes: the same hash.
  const docs = [
    { axb: 1, k: 'x' },
    { ayb: 2, k: 'y' },
    { azb: 3, k: 'z' },
  ];
  const bytes = docs.map((d) => serialize(d));
  for (let n = 0; n < 300; n++) {
    const i = n % 3 === 0 ? 0 : n % 7 === 0 ? 2 : 1;
    const d = fast(t, bytes[i]!, `collider ${i}`);
    if (!(d !== undefined && sameDoc(d, docs[i]))) {
      t.fail(`collider ${i} at ${n}: ${JSON.stringify(d)}`);
      break;
    }
  }
  for (let i = 0; i < 3; i++) t.same(Object.keys(fast(t, bytes[i]!, 'after')!), Object.keys(docs[i]!), `collider ${i}'s keys`);
  t.end();
});

t.test('the cache stays bounded over many layouts, and keeps working', (t) => {
  const beacon = serialize(BEACON);
  for (let n = 0; n < 3000; n++) {
    const doc: Record<string, unknown> = { [`k${n}`]: n, [`q${n % 97}`]: [{ [`n${n % 13}`]: 'v' }] };
    const d = fast(t, serialize(doc), `layout ${n}`);
    if (!(d !== undefined && sameDoc(d, doc))) {
      t.fail(`layout ${n} not taken or wrong`);
      break;
    }
    if (n % 10 === 0) {
      const b = fast(t, beacon, 'the beacon between them');
      if (!(b !== undefined && sameDoc(b, BEACON))) {
        t.fail(`the beacon at ${n}`);
        break;
      }
    }
  }
  const { cached, compiled } = shapeCacheStats();
  t.ok(cached <= 256 && compiled <= cached, `${cached} layouts cached, ${compiled} compiled`);
  t.end();
});

t.test('keys the constructor may not be generated from, and keys declined', (t) => {
  const odd = { 'a"b': 1, 'c\\d': 2, '\u0001x': 3, "'); throw 1; ('": 4, ' ': 5, '1': 6, '0': 7 };
  for (let n = 0; n < 40; n++) {
    const d = fast(t, serialize(odd), 'odd keys');
    if (!(d !== undefined && sameDoc(d, reference(serialize(odd))))) {
      t.fail(`odd keys at ${n}`);
      break;
    }
  }
  t.same(Object.keys(fast(t, serialize(odd), 'odd keys')!), Object.keys(reference(serialize(odd)) as object), 'in bson order');
  // A repeated key: declined (bson keeps the first place and the last value).
  const one = serialize({ a: 1, b: 2 });
  const twice = Buffer.concat([one.subarray(0, one.length - 1), Buffer.from([0x10]), Buffer.from('a\0'), Buffer.from([9, 0, 0, 0]), Buffer.from([0])]);
  twice.writeInt32LE(twice.length, 0);
  for (let n = 0; n < 20; n++) t.equal(fast(t, twice, 'a repeated key'), undefined, 'a repeated key is declined');
  t.end();
});
