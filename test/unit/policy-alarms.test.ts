/** Alarms from correlation results: replay, loop and segment flood, rate-limited per kind and segment. */
import t from 'tap';
import { ulid } from 'ulid';
import type { ReceivedBeacon } from '../../src/topology/beacons';
import { Correlator } from '../../src/topology/correlate';
import { segment } from '../../src/topology/segment';
import { Alarms, type AlarmSource } from '../../src/policy/alarms';

const T0 = 1_795_000_000_000;

function received(ulidText: string, iface: string, vid?: number): ReceivedBeacon {
  const b = {
    interface: iface,
    source_ip: '10.0.0.9',
    source_port: 5240,
    destination_ip: '224.0.0.118',
    version: 2,
    type: 'solicitation' as const,
    payload: { type: 1, ulid: ulidText, remote: { name: 'ens3', mac_address: '52:54:00:77:00:01' } },
  };
  return vid === undefined ? b : { ...b, vid };
}

t.test('a replay from the real correlator raises one alarm with its evidence', async (t) => {
  const c = new Correlator();
  const alarms = new Alarms();
  const id = ulid(T0);
  t.same(alarms.observe(c.onReceive(received(id, 'eth0'), T0), T0), [], 'a first reception is no alarm');
  const [a, ...rest] = alarms.observe(c.onReceive(received(id, 'eth0'), T0 + 1000), T0 + 1000);
  t.same(rest, []);
  t.same(a, {
    kind: 'replay',
    segment: { ifname: 'eth0' },
    timeMs: T0 + 1000,
    suppressed: 0,
    evidence: { ulid: id, own: false },
    message: `beacon ${id} received again on eth0: replayed by someone who captured it, or copied by a switching loop`,
  });
});

t.test('our own beacon back on the interface that sent it is a loop alarm with the hint', async (t) => {
  const c = new Correlator();
  const alarms = new Alarms();
  const id = ulid(T0);
  c.onTransmit({ ulid: id, interface: 'eth0' }, T0);
  const [a] = alarms.observe(c.onReceive(received(id, 'eth0', 7), T0), T0);
  t.equal(a?.kind, 'loop');
  t.same(a?.segment, { ifname: 'eth0', vid: 7 }, 'the receiving segment');
  t.same(a?.evidence, { ulid: id, hints: [{ ifname: 'eth0', hint: 'rx_own_beacon_on_tx_interface', related_ifname: 'eth0', related_vid: 7 }] });
  t.equal(a?.message, `our own beacon ${id} came back on eth0 vid 7, the interface that sent it: a loop, a broadcast storm or a replay`);
  // The same copy again on the same segment is a replay of our own beacon.
  const [r] = alarms.observe(c.onReceive(received(id, 'eth0', 7), T0 + 1), T0 + 1);
  t.match(r, { kind: 'replay', evidence: { own: true }, message: /^our own beacon .* received again on eth0 vid 7/ });
});

t.test('one ULID on too many segments is a segment flood', async (t) => {
  const c = new Correlator({ maxSegmentsPerBeacon: 2 });
  const alarms = new Alarms();
  const id = ulid(T0);
  const raised = [1, 2, 3, 4].flatMap((vid) => alarms.observe(c.onReceive(received(id, 'eth0', vid), T0), T0));
  t.same(
    raised.map((a) => [a.kind, a.segment.vid, a.evidence.ulid]),
    [
      ['segment_flood', 3, id],
      ['segment_flood', 4, id],
    ],
    'one per segment: each forged VID is its own segment',
  );
  t.match(raised[0]!.message, /arrived on more segments than allowed, the latest eth0 vid 3: one beacon replayed under forged VLAN tags\?/);
});

t.test('other drops raise nothing', async (t) => {
  const alarms = new Alarms();
  const src: AlarmSource = { segment: segment('eth0'), hints: [], events: [{ kind: 'dropped', reason: 'old_version', segment: segment('eth0') }] };
  t.same(alarms.observe(src, T0), []);
});

t.test('evidence leaves out a ULID the source did not have', async (t) => {
  const alarms = new Alarms();
  const flood: AlarmSource = {
    segment: segment('eth0', 9),
    hints: [],
    events: [{ kind: 'dropped', reason: 'too_many_segments', segment: segment('eth0', 9) }],
  };
  const [a] = alarms.observe(flood, T0);
  t.same(a?.evidence, {});
  t.match(a?.message, /^beacon arrived on more segments/);
  const hint = { ifname: 'eth0', hint: 'rx_own_beacon_on_tx_interface', related_ifname: 'eth0' } as const;
  const [l] = alarms.observe({ segment: segment('eth0'), hints: [hint], events: [] }, T0);
  t.same(l?.evidence, { hints: [hint] });
  t.match(l?.message, /^our own beacon came back on eth0,/);
});

const replayOn = (ifname: string, vid?: number): AlarmSource => ({
  segment: segment(ifname, vid),
  ulid: 'X',
  hints: [],
  events: [{ kind: 'replay', ulid: 'X', segment: segment(ifname, vid), own: false }],
});

t.test('identical alarms are raised once per interval; the next one carries the count', async (t) => {
  const alarms = new Alarms({ intervalMs: 60_000 });
  t.equal(alarms.observe(replayOn('eth0'), T0).length, 1);
  for (let i = 1; i <= 5; i++) t.same(alarms.observe(replayOn('eth0'), T0 + i * 10_000), [], `held back at +${i * 10} s`);
  t.equal(alarms.observe(replayOn('eth1'), T0 + 1).length, 1, 'another segment is another alarm');
  t.equal(alarms.observe(replayOn('eth0', 5), T0 + 1).length, 1, 'another VID is another segment');
  const loopSrc: AlarmSource = {
    segment: segment('eth0'),
    hints: [{ ifname: 'eth0', hint: 'rx_own_beacon_on_tx_interface', related_ifname: 'eth0' }],
    events: [],
  };
  t.equal(alarms.observe(loopSrc, T0 + 2)[0]?.kind, 'loop', 'another kind on the same segment is another alarm');
  t.same(alarms.observe(loopSrc, T0 + 3), []);
  const [again] = alarms.observe(replayOn('eth0'), T0 + 60_000);
  t.equal(again?.suppressed, 5, 'exactly one interval later: raised, with the five held back');
  t.match(again?.message, /\(5 more since the last report\)$/);
  t.same(alarms.observe(replayOn('eth0'), T0 + 60_001), [], 'and the interval restarts');
  t.same(alarms.stats(), { raised: { replay: 4, loop: 1, segment_flood: 0 }, suppressed: { replay: 6, loop: 1, segment_flood: 0 }, evicted: 0, tracked: 4 });
});

t.test('a clock that went backwards does not hold an alarm back', async (t) => {
  const alarms = new Alarms();
  alarms.observe(replayOn('eth0'), T0);
  t.equal(alarms.observe(replayOn('eth0'), T0 - 1000).length, 1);
  t.equal(new Alarms({ intervalMs: 0 }).observe(replayOn('eth0'), T0).length, 1, 'interval 0: every alarm');
});

t.test('the table is bounded: the alarm raised longest ago is forgotten first, and counted', async (t) => {
  const alarms = new Alarms({ maxKeys: 2 });
  alarms.observe(replayOn('a'), T0);
  alarms.observe(replayOn('b'), T0 + 1);
  alarms.observe(replayOn('a'), T0 + 61_000); // a raised again: now the most recent
  alarms.observe(replayOn('c'), T0 + 61_001); // evicts b
  t.equal(alarms.stats().evicted, 1);
  t.equal(alarms.stats().tracked, 2);
  t.equal(alarms.observe(replayOn('b'), T0 + 61_002).length, 1, 'b was forgotten, so it is raised again');
  t.same(alarms.observe(replayOn('c'), T0 + 61_003), [], 'c is still remembered');
});

t.test('bad options are refused', async (t) => {
  t.throws(() => new Alarms({ intervalMs: -1 }), RangeError);
  t.throws(() => new Alarms({ intervalMs: Number.NaN }), RangeError);
  t.throws(() => new Alarms({ intervalMs: Number.POSITIVE_INFINITY }), RangeError);
  t.throws(() => new Alarms({ maxKeys: 0 }), RangeError);
  t.throws(() => new Alarms({ maxKeys: 1.5 }), RangeError);
});
