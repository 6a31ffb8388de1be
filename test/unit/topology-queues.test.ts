import t from 'tap';
import { AgeQueue } from '../../src/topology/heap';
import { BEACON_TTL_MS, DEFAULT_QUEUE_CAPACITY, UlidQueue, type UlidQueued } from '../../src/topology/queues';
import { prng } from '../helpers/prng';

/** A queue entry: `id` stands for the ULID's random part, `value` for what the caller keeps in it. */
interface Entry extends UlidQueued {
  readonly value: number;
}

function entry(id: number, timeMs: number, value = id, keyId?: string): Entry {
  return { timeMs, r0: id, r1: 0, r2: 0, keyId, qseq: 0, next: undefined, value };
}

function find(q: UlidQueue<Entry>, id: number, timeMs: number, keyId?: string): Entry | undefined {
  return q.get(timeMs, id, 0, 0, keyId);
}

t.test('entries age out 120 s after their own timestamp, not after insertion', async (t) => {
  const q = new UlidQueue<Entry>();
  q.insert(entry(1, 1_000));
  q.insert(entry(2, 60_000));
  // Inserted late: age is the stamp's, so it goes with the first.
  t.equal(q.expire(1_000 + BEACON_TTL_MS), 0, 'exactly 120 s old is kept');
  t.equal(q.oldestMs(), 1_000);
  t.equal(q.expire(1_001 + BEACON_TTL_MS), 1, 'one ms later it goes');
  t.equal(find(q, 1, 1_000), undefined);
  t.equal(find(q, 2, 60_000)?.value, 2);
  t.equal(q.oldestMs(), 60_000);
  t.equal(q.expire(60_001 + BEACON_TTL_MS), 1);
  t.same(q.stats(), { size: 0, expired: 2, evicted: 0 });
  t.equal(q.oldestMs(), Infinity);
  t.equal(q.expire(Number.MAX_SAFE_INTEGER), 0, 'an empty queue expires nothing');
});

t.test('out-of-order stamps still expire oldest first', async (t) => {
  const q = new UlidQueue<Entry>({ ttlMs: 10 });
  const stamps = [50, 10, 40, 20, 30, 10, 60, 0];
  stamps.forEach((s, i) => q.insert(entry(i, s, s)));
  t.equal(q.expire(35), 4, 'stamps 0, 10, 10, 20 are older than 10 ms at 35');
  t.same(
    stamps.map((s, i) => find(q, i, s)?.value),
    [50, undefined, 40, undefined, 30, undefined, 60, undefined],
  );
  t.equal(q.size, 4);
  t.equal(q.oldestMs(), 30);
});

t.test('a ULID is its time, its random part and its key id together', async (t) => {
  const q = new UlidQueue<Entry>({ ttlMs: 100 });
  const e = entry(7, 0);
  q.insert(e);
  t.equal(find(q, 7, 0), e);
  t.equal(find(q, 7, 1), undefined, 'the same random part at another time is another ULID');
  t.equal(q.get(0, 7, 1, 0, undefined), undefined, 'so is another second part');
  t.equal(q.get(0, 7, 0, 1, undefined), undefined, 'and another third part');
  t.equal(find(q, 7, 0, 'k'), undefined, 'and the same ULID under a key id');
  const keyed = entry(7, 0, 70, 'k');
  q.insert(keyed);
  t.equal(find(q, 7, 0, 'k'), keyed);
  t.equal(find(q, 7, 0), e, 'both are held');
  t.equal(q.size, 2);
  t.equal(q.expire(101), 2, 'both stamped 0');
});

t.test('a full queue forgets its oldest entries first and counts them', async (t) => {
  const q = new UlidQueue<Entry>({ capacity: 3 });
  q.insert(entry(3, 30));
  q.insert(entry(1, 10));
  q.insert(entry(2, 20));
  q.insert(entry(4, 40));
  t.equal(find(q, 1, 10), undefined, 'the oldest stamp went, though it was not the first inserted');
  t.same([find(q, 2, 20)?.value, find(q, 3, 30)?.value, find(q, 4, 40)?.value], [2, 3, 4]);
  q.insert(entry(26, 5));
  t.equal(find(q, 26, 5), undefined, 'an entry older than all the others is itself the one to go');
  t.same(q.stats(), { size: 3, expired: 0, evicted: 2 });

  const ties = new UlidQueue<Entry>({ capacity: 2 });
  ties.insert(entry(24, 40));
  ties.insert(entry(25, 40));
  ties.insert(entry(23, 50));
  t.equal(find(ties, 24, 40), undefined, 'equal stamps: the first inserted goes first');
  t.ok(find(ties, 25, 40));
  t.ok(find(ties, 23, 50));
});

t.test('the order stays right under many random operations', async (t) => {
  const q = new UlidQueue<Entry>({ capacity: 50, ttlMs: 1_000 });
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  // The model: id -> stamp, in insertion order.
  const live = new Map<number, number>();
  let sizeMismatches = 0;
  let evicted = 0;
  let expired = 0;
  for (let i = 0; i < 2_000; i++) {
    const stamp = i * 10 + rand(500);
    q.insert(entry(i, stamp, stamp));
    live.set(i, stamp);
    if (live.size > 50) {
      // Drop the smallest (stamp, insertion order).
      const [oldest] = [...live.entries()].reduce((m, e) => (e[1] < m[1] ? e : m));
      live.delete(oldest);
      evicted++;
    }
    if (i % 97 === 0) {
      const now = i * 10;
      let n = 0;
      for (const [k, s] of live)
        if (now - s > 1_000) {
          live.delete(k);
          n++;
        }
      expired += n;
      if (q.expire(now) !== n) sizeMismatches++;
    }
    if (q.size !== live.size) sizeMismatches++;
  }
  t.equal(sizeMismatches, 0, 'the size and every expiry count matched the model');
  t.same(
    [...live.entries()].map(([k, s]) => find(q, k, s)?.value),
    [...live.values()],
    'the same entries survived',
  );
  t.same(q.stats(), { size: live.size, expired, evicted }, 'expiry and eviction counted apart');
  t.equal(q.oldestMs(), Math.min(...live.values()));
});

t.test('options are checked', async (t) => {
  t.throws(() => new UlidQueue({ capacity: 0 }), RangeError);
  t.throws(() => new UlidQueue({ capacity: 1.5 }), RangeError);
  t.throws(() => new UlidQueue({ ttlMs: 0 }), RangeError);
  t.throws(() => new UlidQueue({ ttlMs: Number.NaN }), RangeError);
  t.equal(DEFAULT_QUEUE_CAPACITY, 10_000);
});

t.test('AgeQueue gives the oldest first, in order or not, through its FIFO and its heap', async (t) => {
  type Item = { timeMs: number; seq: number };
  const rand = prng(15);
  const q = new AgeQueue<Item>();
  const model: Item[] = [];
  const oldest = (): number => {
    let m = 0;
    for (let i = 1; i < model.length; i++) {
      const a = model[i]!;
      const b = model[m]!;
      if (a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.seq < b.seq)) m = i;
    }
    return m;
  };
  let seq = 0;
  let clock = 0;
  let wrong = 0;
  for (let round = 0; round < 6000; round++) {
    // Mostly in order, some late (up to 40 ms), equal times too.
    clock += Math.floor(rand() * 3);
    const item = { timeMs: rand() < 0.1 ? clock - Math.floor(rand() * 40) : clock, seq: seq++ };
    q.push(item);
    model.push(item);
    while (model.length > 0 && rand() < 0.48) {
      const m = oldest();
      if (q.peek() !== model[m]) wrong++;
      if (q.pop() !== model[m]) wrong++;
      model.splice(m, 1);
    }
    if (q.size !== model.length) wrong++;
  }
  while (model.length > 0) {
    const m = oldest();
    if (q.pop() !== model[m]) wrong++;
    model.splice(m, 1);
  }
  t.equal(wrong, 0, 'every peek and pop took the oldest (by time, then insertion)');
  t.equal(q.size, 0);
  t.equal(q.peek(), undefined);
});
