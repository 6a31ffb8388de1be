import t from 'tap';
import { AgeQueue } from '../../src/topology/heap';
import { BEACON_TTL_MS, BeaconQueue, DEFAULT_QUEUE_CAPACITY } from '../../src/topology/queues';
import { prng } from '../helpers/prng';

t.test('entries age out 120 s after their own timestamp, not after insertion', async (t) => {
  const q = new BeaconQueue<string>();
  q.set('old', 1_000, 'a');
  q.set('new', 60_000, 'b');
  // Inserted late: age is the stamp's, so it goes with the first.
  t.equal(q.expire(1_000 + BEACON_TTL_MS), 0, 'exactly 120 s old is kept');
  t.equal(q.expire(1_001 + BEACON_TTL_MS), 1, 'one ms later it goes');
  t.notOk(q.has('old'));
  t.equal(q.get('new'), 'b');
  t.equal(q.expire(60_001 + BEACON_TTL_MS), 1);
  t.same(q.stats(), { size: 0, expired: 2, evicted: 0 });
  t.ok(q.isExpired(0, BEACON_TTL_MS + 1));
  t.notOk(q.isExpired(0, BEACON_TTL_MS));
});

t.test('out-of-order stamps still expire oldest first', async (t) => {
  const q = new BeaconQueue<number>({ ttlMs: 10 });
  const stamps = [50, 10, 40, 20, 30, 10, 60, 0];
  stamps.forEach((s, i) => q.set(`k${i}`, s, s));
  t.equal(q.expire(35), 4, 'stamps 0, 10, 10, 20 are older than 10 ms at 35');
  t.same(
    ['k0', 'k2', 'k4', 'k6'].map((k) => q.get(k)),
    [50, 40, 30, 60],
  );
  t.equal(q.size, 4);
});

t.test('setting a known key replaces the value and keeps the stamp', async (t) => {
  const q = new BeaconQueue<string>({ ttlMs: 100 });
  q.set('k', 0, 'first');
  q.set('k', 1_000, 'second');
  t.equal(q.get('k'), 'second');
  t.equal(q.size, 1);
  t.equal(q.expire(101), 1, 'still stamped 0');
});

t.test('a full queue forgets its oldest entries first and counts them', async (t) => {
  const q = new BeaconQueue<number>({ capacity: 3 });
  q.set('c', 30, 3);
  q.set('a', 10, 1);
  q.set('b', 20, 2);
  q.set('d', 40, 4);
  t.notOk(q.has('a'), 'the oldest stamp went, though it was not the first inserted');
  t.same(
    ['b', 'c', 'd'].map((k) => q.get(k)),
    [2, 3, 4],
  );
  q.set('z', 5, 0);
  t.notOk(q.has('z'), 'an entry older than all the others is itself the one to go');
  t.same(q.stats(), { size: 3, expired: 0, evicted: 2 });

  const ties = new BeaconQueue<number>({ capacity: 2 });
  ties.set('x', 40, 1);
  ties.set('y', 40, 2);
  ties.set('w', 50, 3);
  t.notOk(ties.has('x'), 'equal stamps: the first inserted goes first');
  t.ok(ties.has('y'));
});

t.test('the heap stays ordered under many random operations', async (t) => {
  const q = new BeaconQueue<number>({ capacity: 50, ttlMs: 1_000 });
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const live = new Map<string, number>();
  let sizeMismatches = 0;
  for (let i = 0; i < 2_000; i++) {
    const stamp = i * 10 + rand(500);
    q.set(`k${i}`, stamp, stamp);
    live.set(`k${i}`, stamp);
    if (live.size > 50) {
      // The model: drop the smallest (stamp, insertion order).
      const [oldest] = [...live.entries()].reduce((m, e) => (e[1] < m[1] ? e : m));
      live.delete(oldest);
    }
    if (i % 97 === 0) {
      const now = i * 10;
      for (const [k, s] of live) if (now - s > 1_000) live.delete(k);
      q.expire(now);
    }
    if (q.size !== live.size) sizeMismatches++;
  }
  t.equal(sizeMismatches, 0, 'the size always matched the model');
  t.same(
    [...live.keys()].map((k) => q.get(k)),
    [...live.values()],
    'the same entries survived',
  );
});

t.test('options are checked', async (t) => {
  t.throws(() => new BeaconQueue({ capacity: 0 }), RangeError);
  t.throws(() => new BeaconQueue({ capacity: 1.5 }), RangeError);
  t.throws(() => new BeaconQueue({ ttlMs: 0 }), RangeError);
  t.throws(() => new BeaconQueue({ ttlMs: Number.NaN }), RangeError);
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
