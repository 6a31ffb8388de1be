import t from 'tap';
import { Correlator } from '../../src/topology/correlate';
import { MCAST4, T0, rx, ulidAt } from '../helpers/agent';

const PEER = { name: 'ens3', mac_address: '52:54:00:77:00:01', type: 'physical', parents: [], subnet: null };

t.test('on_remote_network: a foreign multicast beacon naming its interface', async (t) => {
  const c = new Correlator();
  const r = c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0);
  t.equal(r.verdict, 'new');
  t.same(r.hints, [{ hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'ens3', related_mac: '52:54:00:77:00:01' }]);
  t.same(r.added, r.hints);
  t.same(r.events, []);
  t.equal(r.ulid, ulidAt(T0, 1));
  t.same(c.hints(), r.hints);
});

t.test('on_remote_network over IPv6 multicast too', async (t) => {
  const r = new Correlator().onReceive(rx({ dst: 'ff02::15a', src: 'fe80::1' }), T0);
  t.equal(r.hints[0]?.hint, 'on_remote_network');
});

t.test('routable_to: the same for a unicast beacon', async (t) => {
  const r = new Correlator().onReceive(rx({ type: 'advertisement', dst: '10.0.0.5', iface: 'eth1', acks: ulidAt(T0, 9) }), T0);
  t.same(r.hints, [{ hint: 'routable_to', ifname: 'eth1', related_ifname: 'ens3', related_mac: '52:54:00:77:00:01' }]);
});

t.test('a beacon whose payload does not name its interface gives no remote hint', async (t) => {
  const c = new Correlator();
  t.same(c.onReceive(rx({ remote: null }), T0).hints, []);
  t.same(c.onReceive(rx({ remote: { name: 'ens3' }, ulid: ulidAt(T0, 2) }), T0).hints, [], 'no MAC');
  t.same(c.onReceive(rx({ remote: null, dst: '10.0.0.5', ulid: ulidAt(T0, 3) }), T0).hints, []);
});

t.test("VIDs: the receiving VID and the remote's own VID", async (t) => {
  const c = new Correlator();
  const r = c.onReceive(rx({ vid: 42, remote: { ...PEER, name: 'ens5.42', vid: 42 } }), T0);
  t.same(r.segment, { ifname: 'eth0', vid: 42 });
  t.same(r.hints, [{ hint: 'on_remote_network', ifname: 'eth0', vid: 42, related_ifname: 'ens5.42', related_vid: 42, related_mac: PEER.mac_address }]);
  // Tagged on the wire but untagged at the sender (a trunk port re-tagging): both kept as seen.
  const r2 = c.onReceive(rx({ vid: 7, ulid: ulidAt(T0, 1) }), T0);
  t.same(r2.hints, [{ hint: 'on_remote_network', ifname: 'eth0', vid: 7, related_ifname: 'ens3', related_mac: PEER.mac_address }]);
  const r3 = c.onReceive(rx({ vid: 9999, ulid: ulidAt(T0, 2) }), T0);
  t.same(r3.segment, { ifname: 'eth0' }, 'an impossible VID from a caller reads as untagged');
});

t.test('same_local_fabric_as: one ULID on two segments, both directions, plus the remote hint', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 5);
  c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0);
  const r = c.onReceive(rx({ ulid: u, iface: 'eth2' }), T0);
  t.equal(r.verdict, 'duplicate');
  t.same(r.hints, [
    { hint: 'on_remote_network', ifname: 'eth2', related_ifname: 'ens3', related_mac: PEER.mac_address },
    { hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth2' },
    { hint: 'same_local_fabric_as', ifname: 'eth2', related_ifname: 'eth0' },
  ]);
  // A third segment (a VLAN of eth0) pairs with both earlier ones.
  const r3 = c.onReceive(rx({ ulid: u, iface: 'eth0', vid: 42 }), T0);
  t.same(
    r3.hints.filter((h) => h.hint === 'same_local_fabric_as'),
    [
      { hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth0', related_vid: 42 },
      { hint: 'same_local_fabric_as', ifname: 'eth0', vid: 42, related_ifname: 'eth0' },
      { hint: 'same_local_fabric_as', ifname: 'eth0', vid: 42, related_ifname: 'eth2' },
      { hint: 'same_local_fabric_as', ifname: 'eth2', related_ifname: 'eth0', related_vid: 42 },
    ],
  );
  t.equal(c.hints().filter((h) => h.hint === 'same_local_fabric_as').length, 6, 'every ordered pair of three segments');
  t.equal(c.stats().duplicates, 2);
});

t.test('a unicast duplicate relates no segments', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 6);
  c.onReceive(rx({ ulid: u, iface: 'eth0', dst: '10.0.0.5' }), T0);
  const r = c.onReceive(rx({ ulid: u, iface: 'eth1', dst: '10.0.0.5' }), T0);
  t.equal(r.verdict, 'duplicate');
  t.same(r.hints, [{ hint: 'routable_to', ifname: 'eth1', related_ifname: 'ens3', related_mac: PEER.mac_address }]);
});

t.test('own beacons: other interface, tx interface, and the duplicate pair', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 7);
  c.onTransmit({ ulid: u, interface: 'eth0' }, T0);
  const other = c.onReceive(rx({ ulid: u, iface: 'eth1', remote: { name: 'eth0', mac_address: '52:54:00:00:00:a0' } }), T0);
  t.equal(other.verdict, 'own');
  t.same(other.hints, [{ hint: 'rx_own_beacon_on_other_interface', ifname: 'eth0', related_ifname: 'eth1' }], 'no on_remote_network to ourselves');
  const back = c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0);
  t.same(back.hints, [
    { hint: 'rx_own_beacon_on_tx_interface', ifname: 'eth0', related_ifname: 'eth0' },
    { hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth1' },
    { hint: 'same_local_fabric_as', ifname: 'eth1', related_ifname: 'eth0' },
  ]);
  t.equal(c.stats().own, 2);
});

t.test('own beacons: VIDs of the sending and the receiving segment', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 8);
  c.onTransmit({ ulid: u, interface: 'eth0.42', vid: 42 }, T0);
  const r = c.onReceive(rx({ ulid: u, iface: 'eth1', vid: 42 }), T0);
  t.same(r.hints, [{ hint: 'rx_own_beacon_on_other_interface', ifname: 'eth0.42', vid: 42, related_ifname: 'eth1', related_vid: 42 }]);
});

t.test('an own beacon coming back by unicast says nothing', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 9);
  c.onTransmit({ ulid: u.toLowerCase(), interface: 'eth0' }, T0);
  const r = c.onReceive(rx({ ulid: u, iface: 'eth1', dst: '10.0.0.5' }), T0);
  t.equal(r.verdict, 'own', 'recognised whatever the case of the ULID');
  t.same(r.hints, []);
});

t.test('onTransmit refuses a ULID the caller should have built right', async (t) => {
  t.throws(() => new Correlator().onTransmit({ ulid: 'nope', interface: 'eth0' }, T0), RangeError);
});

t.test('version < 2 and missing ULIDs are dropped before correlation, and counted', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 10);
  c.onTransmit({ ulid: u, interface: 'eth0' }, T0);
  const old = c.onReceive(rx({ ulid: u, version: 1, iface: 'eth1' }), T0);
  t.equal(old.verdict, 'dropped');
  t.same(old.events, [{ kind: 'dropped', reason: 'old_version', segment: { ifname: 'eth1' }, ulid: u }]);
  t.same(old.hints, []);
  const noUlid = c.onReceive(rx({ ulid: null, vid: 3 }), T0);
  t.same(noUlid.events, [{ kind: 'dropped', reason: 'no_ulid', segment: { ifname: 'eth0', vid: 3 } }]);
  t.notOk('ulid' in noUlid);
  t.equal(c.onReceive(rx({ payload: null }), T0).verdict, 'dropped', 'no payload at all');
  t.same(c.onReceive(rx({ payload: null, version: 1 }), T0).events[0], { kind: 'dropped', reason: 'old_version', segment: { ifname: 'eth0' } });
  t.equal(c.onReceive(rx({ payload: { ulid: 'garbage', type: 1 } }), T0).verdict, 'dropped');
  // The dropped ones were not remembered: the own beacon is still fresh on eth1.
  t.equal(c.onReceive(rx({ ulid: u, iface: 'eth1' }), T0).hints[0]?.hint, 'rx_own_beacon_on_other_interface');
  t.same(c.stats().dropped, { old_version: 2, no_ulid: 3, expired: 0, future: 0, too_many_segments: 0 });
  t.equal(c.stats().received, 6);
});

t.test('replays: the same ULID on the same segment is counted, never correlated twice', async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 11);
  c.onReceive(rx({ ulid: u, iface: 'eth0', vid: 5 }), T0);
  const again = c.onReceive(rx({ ulid: u, iface: 'eth0', vid: 5 }), T0 + 1000);
  t.equal(again.verdict, 'replay');
  t.same(again.hints, []);
  t.same(again.events, [{ kind: 'replay', ulid: u, segment: { ifname: 'eth0', vid: 5 }, own: false }]);
  // Same interface, other VID: a different segment, so a duplicate, not a replay.
  const otherVid = c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0);
  t.equal(otherVid.verdict, 'duplicate');
  t.same(otherVid.hints.filter((h) => h.hint === 'same_local_fabric_as').length, 2);
  // Another interface: also a duplicate.
  t.equal(c.onReceive(rx({ ulid: u, iface: 'eth1' }), T0).verdict, 'duplicate');
  // Own beacon looping back twice on its interface: the second is a replay.
  const mine = ulidAt(T0, 12);
  c.onTransmit({ ulid: mine, interface: 'eth0' }, T0);
  c.onReceive(rx({ ulid: mine, iface: 'eth0' }), T0);
  t.same(c.onReceive(rx({ ulid: mine, iface: 'eth0' }), T0).events, [{ kind: 'replay', ulid: mine, segment: { ifname: 'eth0' }, own: true }]);
  t.equal(c.stats().replays, 2);
});

t.test("age-out at 120 s by the ULID's own time", async (t) => {
  const c = new Correlator();
  const u = ulidAt(T0, 13);
  c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0 + 50_000);
  // 120 s after the ULID's time (not after the 50 s late arrival) it is still known...
  t.equal(c.onReceive(rx({ ulid: u, iface: 'eth0' }), T0 + 120_000).verdict, 'replay');
  // ...and 1 ms later it is too old to remember: a late copy is dropped, not taken as new.
  const late = c.onReceive(rx({ ulid: u, iface: 'eth1' }), T0 + 120_001);
  t.same(late.events, [{ kind: 'dropped', reason: 'expired', segment: { ifname: 'eth1' }, ulid: u }]);
  t.equal(c.stats().rx.expired, 1);
  t.equal(c.stats().rx.size, 0);

  // The transmit queue ages the same way: after 120 s our own beacon is foreign.
  const mine = ulidAt(T0, 14);
  c.onTransmit({ ulid: mine, interface: 'eth0' }, T0);
  c.onReceive(rx({ ulid: ulidAt(T0 + 120_001, 1) }), T0 + 120_001);
  t.equal(c.stats().tx.expired, 1);
  t.equal(c.stats().tx.size, 0);
});

t.test('queue bounds: the oldest go first and are counted', async (t) => {
  const c = new Correlator({ rxCapacity: 2, txCapacity: 1 });
  c.onTransmit({ ulid: ulidAt(T0, 1), interface: 'eth0' }, T0);
  c.onTransmit({ ulid: ulidAt(T0 + 1, 2), interface: 'eth0' }, T0);
  t.same(c.stats().tx, { size: 1, expired: 0, evicted: 1 });
  // The evicted own beacon now reads as foreign (the cost of a full queue).
  t.equal(c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth1' }), T0).verdict, 'new');
  c.onReceive(rx({ ulid: ulidAt(T0 + 2, 3) }), T0);
  c.onReceive(rx({ ulid: ulidAt(T0 + 3, 4) }), T0);
  t.same(c.stats().rx, { size: 2, expired: 0, evicted: 1 }, 'three ULIDs, room for two');
  // The forgotten oldest, seen again on eth1, is new again rather than a replay
  // (and, older than everything kept, is at once forgotten again).
  t.equal(c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth1' }), T0).verdict, 'new');
  t.same(c.stats().rx, { size: 2, expired: 0, evicted: 2 });
});

t.test('one ULID is accepted on a bounded number of segments', async (t) => {
  const c = new Correlator({ maxSegmentsPerBeacon: 3 });
  const u = ulidAt(T0, 15);
  for (let vid = 1; vid <= 3; vid++) t.not(c.onReceive(rx({ ulid: u, vid }), T0).verdict, 'dropped');
  const r = c.onReceive(rx({ ulid: u, vid: 4 }), T0);
  t.same(r.events, [{ kind: 'dropped', reason: 'too_many_segments', segment: { ifname: 'eth0', vid: 4 }, ulid: u }]);
  t.equal(c.hints().filter((h) => h.hint === 'same_local_fabric_as').length, 6);
});

t.test('the hint set is bounded; what does not fit is counted', async (t) => {
  const c = new Correlator({ maxHints: 1 });
  const first = c.onReceive(rx({ ulid: ulidAt(T0, 1), iface: 'eth0' }), T0);
  t.equal(first.added.length, 1);
  const second = c.onReceive(rx({ ulid: ulidAt(T0, 2), iface: 'eth1' }), T0);
  t.equal(second.hints.length, 1, 'still derived');
  t.same(second.added, [], 'but not kept');
  t.equal(c.stats().hintsRefused, 1);
  t.equal(c.stats().hints, 1);
});

t.test('added lists only hints new to the correlator', async (t) => {
  const c = new Correlator();
  c.onReceive(rx({ ulid: ulidAt(T0, 1) }), T0);
  const r = c.onReceive(rx({ ulid: ulidAt(T0, 2) }), T0);
  t.equal(r.verdict, 'new');
  t.equal(r.hints.length, 1);
  t.same(r.added, [], 'the same peer on the same segment again');
  t.equal(MCAST4, '224.0.0.118');
});
