import t from 'tap';
import { INVALID, parseUlid, readUlid } from '../../src/topology/beacons';
import { UlidQueue, type UlidQueued } from '../../src/topology/queues';
import { prng } from '../helpers/prng';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface Entry extends UlidQueued {
  readonly text: string;
}

function entry(text: string, keyId?: string): Entry {
  const parts = new Int32Array(3);
  const t = readUlid(text, parts);
  if (t === INVALID) throw new Error(`not a ULID: ${text}`);
  return { text, timeMs: t >= 0 ? t : -1 - t, r0: parts[0]!, r1: parts[1]!, r2: parts[2]!, keyId, qseq: 0, next: undefined };
}

function find(q: UlidQueue<Entry>, text: string, keyId?: string): Entry | undefined {
  const e = entry(text, keyId);
  return q.get(e.timeMs, e.r0, e.r1, e.r2, keyId);
}

/**
 * The reference decode, written apart from readUlid: the ULID as one
 * 130-bit BigInt (26 characters x 5 bits, the first 0-7), its time the top
 * 48 bits, its random parts the random bits 79-50, 49-20 and 19-0, as
 * readUlid splits them (characters 10-15, 16-21, 22-25).
 */
function reference(s: string): { timeMs: number; parts: number[] } {
  let n = 0n;
  for (const c of s.toUpperCase()) {
    const d = ALPHABET.indexOf(c);
    if (d < 0) throw new Error(`not Crockford: ${c}`);
    n = (n << 5n) | BigInt(d);
  }
  const random = n & ((1n << 80n) - 1n);
  return {
    timeMs: Number(n >> 80n),
    parts: [Number(random >> 50n), Number((random >> 20n) & ((1n << 30n) - 1n)), Number(random & ((1n << 20n) - 1n))],
  };
}

t.test('readUlid reads time and random part as an independent decode does, in either case', async (t) => {
  const parts = new Int32Array(3);
  const lower = new Int32Array(3);
  const rnd = prng(7);
  let wrong = 0;
  for (let n = 0; n < 2_000; n++) {
    let s = String(Math.floor(rnd() * 8));
    for (let i = 1; i < 26; i++) s += ALPHABET[Math.floor(rnd() * 32)];
    const want = reference(s);
    // Upper case: the time; with lower-case letters, -1 - the time (digits only have no case).
    const lowerHasLetters = /[A-Z]/.test(s);
    if (readUlid(s, parts) !== want.timeMs) wrong++;
    if (readUlid(s.toLowerCase(), lower) !== (lowerHasLetters ? -1 - want.timeMs : want.timeMs)) wrong++;
    if ([...parts].join() !== want.parts.join() || [...lower].join() !== want.parts.join()) wrong++;
    const u = parseUlid(s.toLowerCase());
    if (u?.timeMs !== want.timeMs || u.key !== s || u.text !== s.toLowerCase()) wrong++;
  }
  t.equal(wrong, 0, 'every time, every random part and parseUlid agreed with the reference');
  t.same(reference('7ZZZZZZZZZZZZZZZZZZZZZZZZZ'), { timeMs: 2 ** 48 - 1, parts: [2 ** 30 - 1, 2 ** 30 - 1, 2 ** 20 - 1] }, 'the reference itself');
  t.equal(readUlid('7ZZZZZZZZZZZZZZZZZZZZZZZZZ', parts), 2 ** 48 - 1, 'the largest time');
  t.same([...parts], [2 ** 30 - 1, 2 ** 30 - 1, 2 ** 20 - 1]);
  // Each 30-bit part is exactly its six characters.
  t.equal(readUlid('00000000000000000000000001', parts), 0);
  t.same([...parts], [0, 0, 1]);
  t.equal(readUlid('0000000000ZZZZZZ0000000000', parts), 0);
  t.same([...parts], [2 ** 30 - 1, 0, 0]);
  for (const bad of ['', '0000000000000000000000000', '8ZZZZZZZZZZZZZZZZZZZZZZZZZ', '0000000000000000000000000U', '000000000000000000000000é0']) {
    t.equal(readUlid(bad, parts), INVALID, `${JSON.stringify(bad)} is not a ULID`);
    t.equal(parseUlid(bad), undefined);
  }
  t.equal(parseUlid(42), undefined, 'not a string');
});

t.test('UlidQueue behaves as a Map of upper-cased ULIDs with oldest-first expiry and eviction', async (t) => {
  const rnd = prng(11);
  const capacity = 300;
  const ttlMs = 1_000;
  const q = new UlidQueue<Entry>({ capacity, ttlMs });
  // The model: upper-cased (key id, ULID) -> [time, insertion number].
  const model = new Map<string, [number, number]>();
  let seq = 0;
  let expired = 0;
  let evicted = 0;
  let now = 0;
  const pool: string[] = [];
  const key = (text: string, keyId?: string): string => `${keyId ?? ''}/${text.toUpperCase()}`;
  const oldest = (): string | undefined => {
    let best: string | undefined;
    let bt: [number, number] | undefined;
    for (const [k, v] of model) if (!bt || v[0] < bt[0] || (v[0] === bt[0] && v[1] < bt[1])) [best, bt] = [k, v];
    return best;
  };
  for (let step = 0; step < 6_000; step++) {
    now += Math.floor(rnd() * 5);
    const r = rnd();
    if (r < 0.6 || pool.length === 0) {
      // A new ULID stamped near now (sometimes in the past), sometimes in lower case, sometimes with a key id.
      const time = Math.max(0, now - Math.floor(rnd() * 900));
      let s = time
        .toString(32)
        .toUpperCase()
        .padStart(10, '0')
        .replace(/[A-V]/g, (c) => ALPHABET[parseInt(c, 32)]!);
      for (let i = 10; i < 26; i++) s += ALPHABET[Math.floor(rnd() * 32)];
      if (rnd() < 0.3) s = s.toLowerCase();
      const keyId = rnd() < 0.2 ? 'k1' : undefined;
      pool.push(s);
      if (find(q, s, keyId) === undefined) {
        q.insert(entry(s, keyId));
        model.set(key(s, keyId), [entry(s).timeMs, seq++]);
        while (model.size > capacity) {
          model.delete(oldest()!);
          evicted++;
        }
      }
    } else if (r < 0.9) {
      const s = pool[Math.floor(rnd() * pool.length)]!;
      const variant = rnd() < 0.5 ? s.toLowerCase() : s.toUpperCase();
      const got = find(q, variant);
      t.equal(got !== undefined, model.has(key(s)), 'found exactly when the model holds it, in either case');
      if (got) t.equal(got.text.toUpperCase(), s.toUpperCase());
      t.equal(find(q, variant, 'k1') !== undefined, model.has(key(s, 'k1')), 'under a key id it is another beacon');
      t.equal(find(q, s, 'other'), undefined, 'a key id never inserted finds nothing');
    } else {
      const n = q.expire(now);
      let m = 0;
      for (const [k, v] of model) {
        if (now - v[0] > ttlMs) {
          model.delete(k);
          m++;
        }
      }
      t.equal(n, m, 'expire forgets what the model forgets');
      expired += m;
    }
    if (q.size !== model.size) {
      t.fail(`size ${q.size} != model ${model.size} at step ${step}`);
      break;
    }
  }
  t.same(q.stats(), { size: model.size, expired, evicted });
  t.ok(evicted > 0 && expired > 0, 'the run exercised eviction and expiry');
  const o = oldest();
  t.equal(q.oldestMs(), o === undefined ? Infinity : model.get(o)![0]);
  for (const s of pool) t.equal(find(q, s) !== undefined, model.has(key(s)));
});

t.test('UlidQueue grows its table past many entries and keeps finding them', async (t) => {
  const q = new UlidQueue<Entry>({ capacity: 10_000, ttlMs: 1 });
  const texts: string[] = [];
  for (let i = 0; i < 5_000; i++) {
    const s = `0000000000${i.toString(32).toUpperCase().padStart(16, '0')}`.replace(/[A-V]/g, (c) => ALPHABET[parseInt(c, 32)]!);
    texts.push(s);
    q.insert(entry(s));
  }
  t.equal(q.size, 5_000);
  t.ok(
    texts.every((s) => find(q, s)?.text === s),
    'every entry is found after the table grew',
  );
  t.equal(q.expire(2), 5_000, 'all stamped 0 go at 2 ms with a TTL of 1 ms');
  t.equal(q.size, 0);
  t.ok(texts.every((s) => find(q, s) === undefined));
  t.equal(q.oldestMs(), Infinity);
});

t.test('UlidQueue checks its options', async (t) => {
  t.throws(() => new UlidQueue({ capacity: 0 }), RangeError);
  t.throws(() => new UlidQueue({ ttlMs: 0 }), RangeError);
});
