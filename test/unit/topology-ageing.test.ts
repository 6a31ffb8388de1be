/**
 * Hint ageing (src/topology/ageing.ts through the Correlator): a hint lives
 * while a received ULID supporting it is at most the TTL old, by the ULID's
 * time; bounded support; what a driver's timer needs.
 */
import t from 'tap';
import { Correlator } from '../../src/topology/correlate';
import { HintTable } from '../../src/topology/hint-table';
import { HintAgeing, supportSlot } from '../../src/topology/ageing';
import { T0, rx, ulidAt } from '../helpers/agent';

const TTL = 120_000;
const PEER_HINT = { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'ens3', related_mac: '52:54:00:77:00:01' };

t.test('a hint lives until its ULID is more than 120 s old, then expire() returns it', async (t) => {
  const c = new Correlator();
  t.equal(c.nextExpiryMs(), undefined, 'nothing held, nothing to age');
  const r = c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0 + 30_000);
  t.same(r.added, [PEER_HINT]);
  t.same(r.expired, []);
  t.equal(c.nextExpiryMs(), T0 + TTL + 1, "the first ms past 120 s after the ULID's own time, not after arrival");
  t.same(c.expire(T0 + TTL), [], 'exactly 120 s old is kept');
  t.same(c.hints(), [PEER_HINT]);
  t.same(c.expire(T0 + TTL + 1), [PEER_HINT], 'one ms later it goes');
  t.same(c.hints(), []);
  t.equal(c.nextExpiryMs(), undefined);
  t.same(c.expire(T0 + TTL + 5_000), [], 'gone once');
  t.match(c.stats(), { hints: 0, ageing: { ulids: 0, support: 0, expired: 1, evicted: 0 } });
});

t.test('a hint lives while any ULID supporting it is fresh, and comes back as added', async (t) => {
  const c = new Correlator();
  c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0);
  const again = c.onReceive(rx({ ulid: ulidAt(T0 + 30_000, 2) }), T0 + 30_000);
  t.same(again.hints, [PEER_HINT], 'supported again');
  t.same(again.added, [], 'but not new');
  t.same(c.expire(T0 + TTL + 1), [], 'the older support went, the newer holds it');
  t.equal(c.nextExpiryMs(), T0 + 30_000 + TTL + 1);
  t.same(c.expire(T0 + 30_000 + TTL + 1), [PEER_HINT]);
  const back = c.onReceive(rx({ ulid: ulidAt(T0 + 200_000, 3) }), T0 + 200_000);
  t.same(back.added, [PEER_HINT], 'heard again after it went: new again');
});

t.test('onReceive ages first and reports what went in `expired`', async (t) => {
  const c = new Correlator();
  c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth1' }), T0);
  const later = c.onReceive(rx({ ulid: ulidAt(T0 + 121_000, 2) }), T0 + 121_000);
  t.same(later.expired, [{ ...PEER_HINT, ifname: 'eth1' }]);
  t.same(later.added, [PEER_HINT]);
  t.same(c.hints(), [PEER_HINT]);
  // Dropped beacons and replays still age the set.
  c.onReceive(rx({ ulid: ulidAt(T0 + 125_000, 3), iface: 'eth2' }), T0 + 125_000);
  const dropped = c.onReceive(rx({ ulid: ulidAt(T0, 9), iface: 'eth3' }), T0 + 241_500);
  t.equal(dropped.verdict, 'dropped');
  t.same(dropped.expired, [PEER_HINT], 'the ULID of T0 + 121 s is 120.5 s old');
  c.onReceive(rx({ ulid: ulidAt(T0 + 200_000, 4), iface: 'eth3', remote: null }), T0 + 200_000);
  const replay = c.onReceive(rx({ ulid: ulidAt(T0 + 200_000, 4), iface: 'eth3', remote: null }), T0 + 245_001);
  t.equal(replay.verdict, 'replay');
  t.same(replay.expired, [{ ...PEER_HINT, ifname: 'eth2' }]);
});

t.test('a late beacon ages by its ULID: 80 s late, it holds its hint 40 s', async (t) => {
  const c = new Correlator();
  const r = c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0 + 80_000);
  t.same(r.added, [PEER_HINT]);
  t.same(c.expire(T0 + 120_001), [PEER_HINT]);
});

t.test('a beacon already past the TTL, or further ahead than it, adds nothing', async (t) => {
  const c = new Correlator();
  const old = c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0 + TTL + 1);
  t.same(old.events, [{ kind: 'dropped', reason: 'expired', segment: { ifname: 'eth0' }, ulid: ulidAt(T0, 1) }]);
  const ahead = c.onReceive(rx({ ulid: ulidAt(T0 + TTL + 1, 2) }), T0);
  t.same(ahead.events, [{ kind: 'dropped', reason: 'future', segment: { ifname: 'eth0' }, ulid: ulidAt(T0 + TTL + 1, 2) }]);
  t.same(c.hints(), []);
  // Ahead by the TTL exactly: accepted, and kept until 120 s after its own time.
  const edge = c.onReceive(rx({ ulid: ulidAt(T0 + TTL, 3) }), T0);
  t.same(edge.added, [PEER_HINT]);
  t.equal(c.nextExpiryMs(), T0 + 2 * TTL + 1);
  t.same(c.stats().dropped, { old_version: 0, no_ulid: 0, expired: 1, future: 1, too_many_segments: 0 });
});

t.test('the TTL is an option (queues and hints alike)', async (t) => {
  const c = new Correlator({ ttlMs: 10_000 });
  c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0);
  t.equal(c.nextExpiryMs(), T0 + 10_001);
  t.same(c.expire(T0 + 10_001), [PEER_HINT]);
  t.equal(c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0 + 10_001).verdict, 'dropped', 'and the receive queue forgot the ULID with it');
});

t.test('each ULID holds the hints all its receptions derived, and only those', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 5);
  c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0);
  c.onReceive(rx({ ulid: u, iface: 'eth1' }), T0 + 10);
  // Another ULID refreshes only the eth0 hint.
  c.onReceive(rx({ ulid: ulidAt(T0 + 60_000, 6), iface: 'eth0' }), T0 + 60_000);
  const gone = c.expire(T0 + TTL + 1);
  t.same(gone.map((h) => `${h.hint} ${h.ifname}`).sort(), ['on_remote_network eth1', 'same_local_fabric_as eth0', 'same_local_fabric_as eth1']);
  t.same(c.hints(), [PEER_HINT]);
  t.match(c.stats().ageing, { ulids: 1, support: 1, expired: 3 });
});

t.test('a multicast duplicate pairs every segment of the ULID, unicast receptions too (as MAAS)', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 7);
  c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0);
  c.onReceive(rx({ ulid: u, iface: 'eth1', dst: '10.0.0.5' }), T0);
  const third = c.onReceive(rx({ ulid: u, iface: 'eth2' }), T0);
  const pairs = third.hints.filter((h) => h.hint === 'same_local_fabric_as').map((h) => `${h.ifname}>${h.related_ifname}`);
  t.same(pairs.sort(), ['eth0>eth1', 'eth0>eth2', 'eth1>eth0', 'eth1>eth2', 'eth2>eth0', 'eth2>eth1'], 'eth0-eth1 too, which the unicast copy did not pair');
  const fourth = c.onReceive(rx({ ulid: u, iface: 'eth3' }), T0);
  t.equal(fourth.hints.filter((h) => h.hint === 'same_local_fabric_as').length, 6, 'then only the new segment: 3 pairs, both ways');
});

t.test('support is bounded: past it the oldest ULIDs go first, counted, and their hints unless held fresher', async (t) => {
  const c = new Correlator({ maxHintSupport: 2 });
  c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth1' }), T0);
  c.onReceive(rx({ ulid: ulidAt(T0 + 1, 2), iface: 'eth0' }), T0);
  const third = c.onReceive(rx({ ulid: ulidAt(T0 + 2, 3), iface: 'eth0' }), T0);
  t.same(third.expired, [{ ...PEER_HINT, ifname: 'eth1' }], 'the oldest ULID was evicted, and eth1 had no other support');
  const fourth = c.onReceive(rx({ ulid: ulidAt(T0 + 3, 4), iface: 'eth0' }), T0);
  t.same(fourth.expired, [], 'evicting the ULID of T0+1 leaves eth0 held by two fresher ones');
  t.match(c.stats().ageing, { ulids: 2, support: 2, evicted: 2, expired: 0 });
  t.same(c.hints(), [PEER_HINT]);
});

t.test('a full hint table frees room as hints age out', async (t) => {
  const c = new Correlator({ maxHints: 1 });
  c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth0' }), T0);
  const refused = c.onReceive(rx({ ulid: ulidAt(T0, 2), iface: 'eth1' }), T0);
  t.same(refused.hints, [{ ...PEER_HINT, ifname: 'eth1' }], 'derived and reported');
  t.same(refused.added, []);
  t.equal(c.stats().ageing.support, 1, 'but not held, so not aged');
  c.expire(T0 + TTL + 1);
  t.same(c.onReceive(rx({ ulid: ulidAt(T0 + TTL + 1, 3), iface: 'eth1' }), T0 + TTL + 1).added, [{ ...PEER_HINT, ifname: 'eth1' }]);
  t.equal(c.stats().hintsRefused, 1);
});

t.test('a peer inventing names leaves nothing behind once its hints age out', async (t) => {
  const table = new HintTable();
  const ageing = new HintAgeing(table, { ttlMs: TTL, capacity: 1_000 });
  const eth0 = table.segment('eth0', undefined);
  const vlan = table.segment('eth0', 42);
  t.equal(table.segment('eth0', 42), vlan, 'segments are interned');
  t.not(vlan, eth0);
  const added: unknown[] = [];
  const gone: unknown[] = [];
  for (let i = 0; i < 50; i++) {
    const a = table.remote('on_remote_network', eth0, `x${i}`, `mac${i % 7}`, i % 3 === 0 ? undefined : i);
    const b = table.remote('routable_to', vlan, 'same', `mac${i}`, undefined);
    const p = table.pair('same_local_fabric_as', eth0, vlan);
    ageing.support(
      supportSlot(T0 + i),
      [a!, b!, p!].filter((e, k, all) => all.indexOf(e) === k),
      added as never[],
      gone as never[],
    );
  }
  t.equal(table.size, 101);
  t.equal(added.length, 101);
  t.equal(table.values().length, 101);
  ageing.expire(T0 + 49 + TTL + 1, gone as never[]);
  t.equal(gone.length, 101);
  t.equal(table.size, 0);
  t.same([...table.entries()], []);
  t.equal(eth0.remotes.size + vlan.remotes.size + eth0.pairs.size, 0, 'no empty maps left under the segments');
});

t.test('options are checked', async (t) => {
  const table = new HintTable();
  t.throws(() => new HintAgeing(table, { ttlMs: 0 }), RangeError);
  t.throws(() => new HintAgeing(table, { ttlMs: 1, capacity: 0 }), RangeError);
  t.throws(() => new HintTable(0), RangeError);
});
