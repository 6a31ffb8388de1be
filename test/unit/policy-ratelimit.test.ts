/** Reply limits: token buckets on a fake clock, per peer and in total, with a bounded peer table. */
import t from 'tap';
import { DEFAULT_PER_PEER, DEFAULT_TOTAL, ReplyLimiter, TokenBucket, type ReplyPeer } from '../../src/policy/ratelimit';

const T0 = 1_795_000_000_000;
const peer = (n: number): ReplyPeer => ({ mac: `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`, ip: `10.0.0.${n}` });

t.test('a bucket starts full, spends its burst, refills at its rate and never above the burst', async (t) => {
  const b = new TokenBucket({ ratePerSecond: 2, burst: 3 }, T0);
  t.ok(b.isFull(T0));
  t.same([b.tryTake(T0), b.tryTake(T0), b.tryTake(T0), b.tryTake(T0)], [true, true, true, false], 'burst of 3');
  t.equal(b.tokens(T0 + 250), 0.5, 'half a token after 250 ms at 2/s');
  t.notOk(b.tryTake(T0 + 250), 'half a token is not a token');
  t.ok(b.tryTake(T0 + 500), 'one token after 500 ms');
  t.equal(b.tokens(T0 + 60_000), 3, 'capped at the burst');
  t.ok(b.isFull(T0 + 60_000));
});

t.test('a clock that steps back mints nothing', async (t) => {
  const b = new TokenBucket({ ratePerSecond: 1, burst: 1 }, T0);
  t.ok(b.tryTake(T0));
  t.equal(b.tokens(T0 - 5000), 0, 'no refill going back');
  t.equal(b.tokens(T0 + 500), 0.5, 'and the stamp did not move back');
  t.notOk(b.canTake(T0 + 999));
  t.ok(b.canTake(T0 + 1000));
});

t.test('bad bucket configurations are refused', async (t) => {
  for (const bad of [
    { ratePerSecond: 0, burst: 1 },
    { ratePerSecond: -1, burst: 1 },
    { ratePerSecond: Number.NaN, burst: 1 },
    { ratePerSecond: Number.POSITIVE_INFINITY, burst: 1 },
    { ratePerSecond: 1, burst: 0.5 },
    { ratePerSecond: 1, burst: Number.POSITIVE_INFINITY },
  ]) {
    t.throws(() => new TokenBucket(bad, T0), RangeError, JSON.stringify(bad));
  }
  t.throws(() => new ReplyLimiter({ perPeer: { ratePerSecond: 0, burst: 1 } }), { message: /^per-peer rate/ });
  t.throws(() => new ReplyLimiter({ total: { ratePerSecond: 1, burst: 0 } }), { message: /^bucket burst/ });
  t.throws(() => new ReplyLimiter({ maxPeers: 0 }), RangeError);
  t.throws(() => new ReplyLimiter({ maxPeers: 2.5 }), RangeError);
});

t.test('defaults: 1/s burst 5 per peer, 50/s burst 100 in total', async (t) => {
  t.same(DEFAULT_PER_PEER, { ratePerSecond: 1, burst: 5 });
  t.same(DEFAULT_TOTAL, { ratePerSecond: 50, burst: 100 });
  const l = new ReplyLimiter({}, T0);
  const first = Array.from({ length: 6 }, () => l.decide(peer(1), T0));
  t.same(first.slice(0, 5), Array(5).fill({ kind: 'send' }), 'one solicitation heard on five segments is answered five times');
  t.same(first[5], { kind: 'hold', reason: 'peer-limit' });
  t.same(l.decide(peer(1), T0 + 1000), { kind: 'send' }, 'a token a second');
  t.same(l.decide(peer(1), T0 + 1000), { kind: 'hold', reason: 'peer-limit' });
  t.same(l.decide(peer(2), T0 + 1000), { kind: 'send' }, 'another peer has its own bucket');
});

t.test('per-peer vs total: the total limit holds everyone, and a held reply takes no token', async (t) => {
  const l = new ReplyLimiter({ perPeer: { ratePerSecond: 1, burst: 2 }, total: { ratePerSecond: 1, burst: 3 } }, T0);
  const d = [l.decide(peer(1), T0), l.decide(peer(1), T0), l.decide(peer(1), T0), l.decide(peer(2), T0), l.decide(peer(3), T0)];
  t.same(
    d.map((x) => (x.kind === 'send' ? 'send' : x.reason)),
    ['send', 'send', 'peer-limit', 'send', 'total-limit'],
  );
  // peer 1 over its own limit did not spend the total: peer 2 got the third total token.
  // peer 3 held by the total kept its own burst: after one second (one total token) it is served.
  t.same(l.decide(peer(3), T0 + 1000), { kind: 'send' });
  t.same(l.decide(peer(3), T0 + 1000), { kind: 'hold', reason: 'total-limit' });
  t.same(l.stats(), { sent: 4, held: { 'peer-limit': 1, 'total-limit': 2 }, peers: 3, evicted: 0, evictedActive: 0 });
});

t.test('the peer key is MAC and IP: the same IP from another MAC is another peer; MAC case does not matter', async (t) => {
  const l = new ReplyLimiter({ perPeer: { ratePerSecond: 1, burst: 1 } }, T0);
  t.equal(l.decide({ mac: 'AA:00:00:00:00:01', ip: '10.0.0.1' }, T0).kind, 'send');
  t.equal(l.decide({ mac: 'aa:00:00:00:00:01', ip: '10.0.0.1' }, T0).kind, 'hold');
  t.equal(l.decide({ mac: 'aa:00:00:00:00:02', ip: '10.0.0.1' }, T0).kind, 'send');
  t.equal(l.decide({ mac: 'aa:00:00:00:00:01', ip: 'fe80::1' }, T0).kind, 'send');
  t.equal(l.stats().peers, 3);
});

t.test('the peer table is bounded: the least recently used peer goes, and a forgotten active peer is counted', async (t) => {
  const l = new ReplyLimiter({ perPeer: { ratePerSecond: 1, burst: 2 }, maxPeers: 2 }, T0);
  l.decide(peer(1), T0); // 1: one token left
  l.decide(peer(2), T0); // 2: one token left
  l.decide(peer(1), T0 + 10); // 1 used again: 2 is now the least recently used
  l.decide(peer(3), T0 + 20); // evicts 2, not yet refilled
  t.same(l.stats(), { sent: 4, held: { 'peer-limit': 0, 'total-limit': 0 }, peers: 2, evicted: 1, evictedActive: 1 });
  t.same(l.decide(peer(1), T0 + 30), { kind: 'hold', reason: 'peer-limit' }, 'peer 1 was kept, with its empty bucket');
  // Long after, peer 3's bucket is full again: evicting it loses nothing.
  l.decide(peer(1), T0 + 10_000);
  l.decide(peer(4), T0 + 10_000); // evicts 3 (least recently used), full
  t.same(l.stats().evicted, 2);
  t.same(l.stats().evictedActive, 1, 'a full bucket forgotten is not counted as active');
  t.equal(l.stats().peers, 2);
});

t.test('a flood of spoofed peers stays within the total and the table bound', async (t) => {
  const l = new ReplyLimiter({ maxPeers: 100 }, T0);
  let sent = 0;
  for (let i = 0; i < 10_000; i++) if (l.decide({ mac: '52:54:00:00:00:01', ip: `10.${i >> 8}.${i & 255}.1` }, T0 + i).kind === 'send') sent++;
  // 10 s at 50/s plus the burst of 100.
  t.ok(sent <= 100 + 50 * 10 + 1, `sent ${sent}`);
  t.equal(l.stats().peers, 100);
  t.equal(l.stats().evicted, 9_900);
});
