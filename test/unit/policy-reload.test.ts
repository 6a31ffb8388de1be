/**
 * PolicyDriver.reload (SIGHUP): what changes at once, what starts afresh,
 * and that counters never go backwards.
 */
import t from 'tap';
import type { TopologyHint } from '../../src/topology/hints';
import { PolicyDriver, type LoadedPolicy } from '../../src/agent/policy-driver';
import type { LiveRecord } from '../../src/capture/live';
import type { AlarmSource } from '../../src/policy/alarms';
import { parsePolicyConfig } from '../../src/policy/config';
import { parseExpected } from '../../src/policy/expected';
import { parseYaml } from '../../src/policy/validate';

const SRC = { name: 'netbeacon.yaml', code: 'E_CONFIG' };
const policy = (text: string, expected?: string): LoadedPolicy => {
  const config = parsePolicyConfig(SRC, (parseYaml(SRC, text) as { policy?: unknown }).policy);
  return expected === undefined ? { config } : { config, expected: parseExpected(expected, 'expected.yaml') };
};

const record = (mac: string): LiveRecord => ({
  interface: 'eth0',
  time: 0,
  frame: {
    sourceMac: mac,
    destinationMac: '01:00:5e:00:00:76',
    sourceIp: '10.0.0.2',
    destinationIp: '224.0.0.118',
    sourcePort: 5240,
    destinationPort: 5240,
    payloadOffset: 42,
    payloadLength: 100,
  },
  verdict: { ok: false, reason: 'mac' },
});
const peer = { sourceMac: 'aa:00:00:00:00:01', sourceIp: '10.0.0.2' };
const replay: AlarmSource = {
  segment: { ifname: 'eth0' },
  hints: [],
  events: [{ kind: 'replay', ulid: '01J0000000000000000000000A', own: false, segment: { ifname: 'eth0' } }],
};

t.test('filters change at once; drops keep counting', async (t) => {
  const d = new PolicyDriver({ policy: policy('policy:\n  filters:\n    - { interfaces: [eth0], deny_macs: ["aa:00:00:00:00:01"] }\n'), nowMs: 0 });
  t.equal(d.filter([record('aa:00:00:00:00:01'), record('aa:00:00:00:00:02')]).length, 1);
  d.reload(policy('policy:\n  filters:\n    - { interfaces: [eth0], deny_macs: ["aa:00:00:00:00:02"] }\n'), 1000);
  const kept = d.filter([record('aa:00:00:00:00:01'), record('aa:00:00:00:00:02')]);
  t.same(
    kept.map((r) => r.frame.sourceMac),
    ['aa:00:00:00:00:01'],
    'the new denylist applies',
  );
  t.same(d.filterDrops.eth0, { 'policy.filters[0].deny_macs[0]': 2 }, 'both drops counted (the rule item path is the same)');
  t.equal((d.status(1000) as { reloads: number }).reloads, 1);
});

t.test('reply limits: unchanged keeps the buckets, changed starts afresh, counts carry on', async (t) => {
  const tight = 'policy:\n  replies:\n    per_peer: { rate: 1, burst: 2 }\n';
  const d = new PolicyDriver({ policy: policy(tight), nowMs: 0 });
  t.same([d.allowReply(peer, 0), d.allowReply(peer, 0), d.allowReply(peer, 0)], [true, true, false]);
  d.reload(policy(tight), 0);
  t.equal(d.allowReply(peer, 0), false, 'same limits: the emptied bucket stays empty');
  d.reload(policy('policy:\n  replies:\n    per_peer: { rate: 1, burst: 3 }\n'), 0);
  t.same(
    [d.allowReply(peer, 0), d.allowReply(peer, 0), d.allowReply(peer, 0), d.allowReply(peer, 0)],
    [true, true, true, false],
    'new limits: a full bucket of the new size',
  );
  t.same(d.replyStats(), { sent: 5, held: { 'peer-limit': 3, 'total-limit': 0 } }, 'sent and held add up across the reloads');
  const st = d.status(0) as { replies: { sent: number; held: Record<string, number> } };
  t.equal(st.replies.sent, 5);
  t.equal(st.replies.held['peer-limit'], 3);
});

t.test('alarms: a new interval starts a new table; counts carry on', async (t) => {
  const d = new PolicyDriver({ policy: policy('policy:\n  alarms: { interval: 60 }\n'), nowMs: 0 });
  t.equal(d.observe(replay, 0).length, 1);
  t.equal(d.observe(replay, 1000).length, 0, 'held back within the interval');
  d.reload(policy('policy:\n  alarms: { interval: 60 }\n'), 2000);
  t.equal(d.observe(replay, 2000).length, 0, 'same interval: still held back');
  d.reload(policy('policy:\n  alarms: { interval: 1 }\n'), 3000);
  t.equal(d.observe(replay, 3000).length, 1, 'new interval: raised again');
  t.same(d.alarmCounts(), { replay: 4, loop: 0, segment_flood: 0 });
  const st = d.status(3000) as { alarms: { raised: Record<string, number>; suppressed: Record<string, number> } };
  t.equal(st.alarms.raised.replay, 2);
  t.equal(st.alarms.suppressed.replay, 2);
});

t.test('a bad policy changes nothing', async (t) => {
  const d = new PolicyDriver({ policy: policy('policy:\n  replies:\n    per_peer: { rate: 1, burst: 2 }\n'), nowMs: 0 });
  const bad = policy('policy:\n  replies:\n    per_peer: { rate: 1, burst: 2 }\n');
  const broken: LoadedPolicy = { config: { ...bad.config, replies: { perPeer: { ratePerSecond: -1, burst: 2 } } } };
  t.throws(() => d.reload(broken, 0), RangeError);
  t.equal((d.status(0) as { reloads: number }).reloads, 0);
  t.equal(d.loaded.config.replies.perPeer?.burst, 2);
});

t.test('the declaration: a new one is checked next time, none clears what stood', async (t) => {
  const hints: TopologyHint[] = [
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1' },
    { ifname: 'eth1', hint: 'same_local_fabric_as', related_ifname: 'eth0' },
  ];
  const apart = 'fabrics:\n  a: { interfaces: [eth0] }\n  b: { interfaces: [eth1] }\n';
  const together = 'fabrics:\n  a: { interfaces: [eth0, eth1] }\n';
  const d = new PolicyDriver({ policy: policy('policy: {}\n', apart), nowMs: 0 });
  const first = d.drift(hints)!;
  t.ok(first.appeared.length > 0, 'drift: the declared fabrics are one');
  t.same(d.reload(policy('policy: {}\n', together), 0), [], 'a new declaration clears nothing by itself');
  const second = d.drift(hints)!;
  t.same(second.appeared, []);
  t.same(
    second.cleared.map((e) => e.kind),
    first.appeared.map((e) => e.kind),
    'the findings the new declaration no longer has are cleared',
  );
  d.reload(policy('policy: {}\n', apart), 0);
  t.ok(d.drift(hints)!.appeared.length > 0);
  const cleared = d.reload(policy('policy: {}\n'), 0);
  t.same(
    cleared.map((e) => e.kind),
    first.appeared.map((e) => e.kind),
    'no declaration: what stood comes back cleared',
  );
  t.equal(d.drift(hints), undefined);
  t.equal((d.status(0) as { drift: unknown }).drift, null);
  t.same(
    Object.values(d.driftCounts()).reduce((a, b) => a + b, 0),
    0,
  );
});
