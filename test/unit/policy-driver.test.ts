/**
 * PolicyDriver, the agent's policy glue, without a network and on a fake
 * clock: filters and their counters, reply limits, the key each peer
 * used, alarms, drift, the `status` shapes, and loadPolicy's errors.
 * Reload is policy-reload.test.ts's.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopologyHint } from '../../src/topology/hints';
import { alarmFields, loadPolicy, MAX_KEY_PEERS, PolicyDriver, type LoadedPolicy } from '../../src/agent/policy-driver';
import type { LiveRecord } from '../../src/capture/live';
import { UsageError } from '../../src/errors';
import type { AlarmSource } from '../../src/policy/alarms';
import { parsePolicyConfig } from '../../src/policy/config';
import { parseExpected } from '../../src/policy/expected';
import { Keyring, keyringEntry } from '../../src/protocol/keyring';
import { parseYaml } from '../../src/policy/validate';
import { deriveKey, keyFingerprint } from '../../src/protocol/key';

const SRC = { name: 'netbeacon.yaml', code: 'E_CONFIG' };
const config = (yaml: string) => parsePolicyConfig(SRC, (parseYaml(SRC, yaml) as { policy?: unknown } | null)?.policy);
const policy = (yaml: string, expected?: string): LoadedPolicy =>
  expected === undefined ? { config: config(yaml) } : { config: config(yaml), expected: parseExpected(expected, 'expected.yaml') };
const driver = (yaml: string, extra: Partial<LoadedPolicy> = {}) => new PolicyDriver({ policy: { ...policy(yaml), ...extra }, nowMs: 0 });

const record = (iface: string, mac: string, opts: { vid?: number; fp?: string } = {}): LiveRecord => ({
  interface: iface,
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
    ...(opts.vid !== undefined && { vid: opts.vid }),
  },
  verdict: { ok: true, version: 2, type: 'solicitation', payload: null },
  ...(opts.fp !== undefined && { keyFingerprint: opts.fp }),
});

const key = (hex: string) => deriveKey(Buffer.from(hex, 'hex'));
const KEY_A = key('00112233445566778899aabbccddeeff');
const KEY_B = key('ffeeddccbbaa99887766554433221100');

t.test('filters: none configured, every record passes untouched and nothing is counted', async (t) => {
  const d = driver('policy: {}\n');
  const records = [record('eth0', 'aa:00:00:00:00:01'), record('eth1', 'bb:00:00:00:00:01', { vid: 7 })];
  t.equal(d.filter(records), records, 'the same array: no copy on the hot path');
  t.same(d.filterDrops, {});
  t.same(d.filterDropReasons, {});
});

t.test('filters: allow and deny by MAC and VID, per interface; each drop counted by rule item and by reason', async (t) => {
  const d = driver(`policy:
  filters:
    - { interfaces: ["eth*"], deny_macs: ["aa:00:00:00:00:01", "bb:*"] }
    - { interfaces: [eth1], allow_vids: [untagged, 10, "20-29"] }
    - { allow_macs: ["aa:*", "bb:*"], deny_vids: [4095] }
`);
  const cases: Array<[LiveRecord, string | null]> = [
    [record('eth0', 'aa:00:00:00:00:01'), 'filters[0].deny_macs[0]'],
    [record('eth0', 'BB:00:00:00:00:09'), 'filters[0].deny_macs[1]'], // MACs compare case-insensitively
    [record('eth0', 'aa:00:00:00:00:02'), null],
    [record('eth1', 'aa:00:00:00:00:02', { vid: 10 }), null],
    [record('eth1', 'aa:00:00:00:00:02', { vid: 25 }), null],
    [record('eth1', 'aa:00:00:00:00:02'), null], // untagged is allowed on eth1
    [record('eth1', 'aa:00:00:00:00:02', { vid: 30 }), 'filters[1].allow_vids'],
    [record('eth0', 'aa:00:00:00:00:02', { vid: 30 }), null], // rule 1 is eth1's only
    [record('lo', 'aa:00:00:00:00:01'), null], // rule 0 is eth*'s only; rule 2 allows aa:*
    [record('lo', 'cc:00:00:00:00:01'), 'filters[2].allow_macs'],
    [record('eth2', 'aa:00:00:00:00:02', { vid: 4095 }), 'filters[2].deny_vids[0]'],
  ];
  const kept = d.filter(cases.map(([r]) => r));
  t.same(
    kept,
    cases.filter(([, drop]) => drop === null).map(([r]) => r),
    'the accepted records, in order',
  );
  const expectDrops = {
    eth0: { 'policy.filters[0].deny_macs[0]': 1, 'policy.filters[0].deny_macs[1]': 1 },
    eth1: { 'policy.filters[1].allow_vids': 1 },
    lo: { 'policy.filters[2].allow_macs': 1 },
    eth2: { 'policy.filters[2].deny_vids[0]': 1 },
  };
  t.same(d.filterDrops, expectDrops, 'by interface and rule item, named as in the config');
  t.same(
    d.filterDropReasons,
    { eth0: { 'mac-denied': 2 }, eth1: { 'vid-not-allowed': 1 }, lo: { 'mac-not-allowed': 1 }, eth2: { 'vid-denied': 1 } },
    'by interface and reason: the metric labels',
  );
  d.filter([record('eth0', 'aa:00:00:00:00:01'), record('eth0', 'bb:00:00:00:00:01')]);
  t.same(d.filterDrops.eth0, { 'policy.filters[0].deny_macs[0]': 2, 'policy.filters[0].deny_macs[1]': 2 }, 'counts add up across batches');
  t.same((d.status(0) as { filters: unknown }).filters, { rules: 3, drops: d.filterDrops });
});

t.test('allowReply: a bucket per peer (MAC + IP) on the caller clock; held replies counted', async (t) => {
  const d = driver('policy:\n  replies:\n    per_peer: { rate: 2, burst: 3 }\n    total: { rate: 1000, burst: 1000 }\n');
  const a = { sourceMac: 'aa:00:00:00:00:01', sourceIp: '10.0.0.2' };
  t.same(
    [0, 0, 0, 0].map((ms) => d.allowReply(a, ms)),
    [true, true, true, false],
    'a burst of 3, then held',
  );
  t.equal(d.allowReply(a, 499), false, 'at 2/s a token takes 500 ms');
  t.equal(d.allowReply(a, 500), true);
  t.equal(d.allowReply({ ...a, sourceMac: 'AA:00:00:00:00:01' }, 500), false, 'the same peer whatever the case of its MAC');
  t.equal(d.allowReply({ ...a, sourceIp: '10.0.0.3' }, 500), true, 'another source IP is another peer');
  t.equal(d.allowReply({ ...a, sourceMac: 'aa:00:00:00:00:02' }, 500), true, 'another MAC is another peer');
  t.equal(d.allowReply(a, 100), false, 'a clock that steps back mints nothing');
  t.same(d.replyStats(), { sent: 6, held: { 'peer-limit': 4, 'total-limit': 0 } });
  t.same((d.status(500) as { replies: unknown }).replies, { sent: 6, held: { 'peer-limit': 4, 'total-limit': 0 }, peers: 3, evicted: 0, evicted_active: 0 });
});

t.test('allowReply: the total bucket bounds every peer together; a reply it holds costs the peer nothing', async (t) => {
  const d = driver('policy:\n  replies:\n    per_peer: { rate: 1, burst: 2 }\n    total: { rate: 10, burst: 3 }\n');
  const peer = (n: number) => ({ sourceMac: `aa:00:00:00:00:0${n}`, sourceIp: `10.0.0.${n}` });
  t.same(
    [1, 2, 3, 4].map((n) => d.allowReply(peer(n), 0)),
    [true, true, true, false],
    'three replies in total, whoever asks',
  );
  t.same(d.replyStats().held, { 'peer-limit': 0, 'total-limit': 1 });
  t.equal(d.allowReply(peer(4), 100), true, 'at 10/s the total refills a token in 100 ms');
  t.equal(d.allowReply(peer(1), 100), false, 'total empty again');
  t.equal(d.allowReply(peer(1), 200), true, "peer 1's own bucket was not charged for the reply held back");
  t.equal(d.allowReply(peer(1), 300), false, 'and now it is empty: 2 replies, the second at 200 ms, 1/s');
  t.same(d.replyStats(), { sent: 5, held: { 'peer-limit': 1, 'total-limit': 2 } });
});

t.test('allowReply: MAAS-sized defaults (5 a peer at once, then 1/s)', async (t) => {
  const d = driver('policy: {}\n');
  const a = { sourceMac: 'aa:00:00:00:00:01', sourceIp: '10.0.0.2' };
  t.same(
    Array.from({ length: 6 }, () => d.allowReply(a, 0)),
    [true, true, true, true, true, false],
  );
  t.equal(d.allowReply(a, 999), false);
  t.equal(d.allowReply(a, 1000), true);
});

t.test('allowReply: max_peers bounds the table; a peer forgotten with tokens spent is counted', async (t) => {
  const d = driver('policy:\n  replies:\n    max_peers: 2\n');
  const peer = (n: number) => ({ sourceMac: `aa:00:00:00:00:0${n}`, sourceIp: '10.0.0.2' });
  d.allowReply(peer(1), 0);
  d.allowReply(peer(2), 0);
  d.allowReply(peer(3), 0);
  const r = (d.status(0) as { replies: { peers: number; evicted: number; evicted_active: number } }).replies;
  t.same([r.peers, r.evicted, r.evicted_active], [2, 1, 1], 'peer 1 went, with its bucket not yet full again');
  d.allowReply(peer(1), 60_000);
  const later = (d.status(60_000) as { replies: { evicted: number; evicted_active: number } }).replies;
  t.same([later.evicted, later.evicted_active], [2, 1], 'peer 2, full again after a minute, went uncounted as active');
});

t.test('noteKey: the key each peer last used, by fingerprint, in status sorted by MAC', async (t) => {
  const keyring = new Keyring([keyringEntry(KEY_A, 'current'), keyringEntry(KEY_B, 'previous', 2000)]);
  const fa = keyFingerprint(KEY_A);
  const fb = keyFingerprint(KEY_B);
  const d = new PolicyDriver({ policy: { config: config('policy: {}\n'), keyring }, nowMs: 0, keyMatches: () => ({ [fa]: 7, [fb]: 1 }) });
  d.noteKey(record('eth0', 'cc:00:00:00:00:01', { fp: fb }));
  d.noteKey(record('eth0', 'aa:00:00:00:00:01', { fp: fb }));
  d.noteKey(record('eth0', 'aa:00:00:00:00:01', { fp: fa }));
  d.noteKey(record('eth0', 'bb:00:00:00:00:01')); // no fingerprint: not noted
  d.noteKey(record('eth0', '', { fp: fa })); // no MAC (the udp engine): not noted
  const keys = (d.status(1_000_000) as { keys: Record<string, unknown> }).keys;
  t.same(keys, {
    signing: fa,
    keys: [
      { fingerprint: fa, role: 'current', accepting: true },
      { fingerprint: fb, role: 'previous', accepting: true, acceptUntil: 2000 },
    ],
    matched: { [fa]: 7, [fb]: 1 },
    peers: { 'aa:00:00:00:00:01': fa, 'cc:00:00:00:00:01': fb },
  });
  t.equal(Object.keys(keys.peers as object)[0], 'aa:00:00:00:00:01', 'sorted by MAC, not by arrival');
  const later = (d.status(3_000_000) as { keys: { keys: Array<{ accepting: boolean }> } }).keys;
  t.same(
    later.keys.map((k) => k.accepting),
    [true, false],
    "a key's window is judged at the time status is asked",
  );
  const bare = new PolicyDriver({ policy: { config: config('policy: {}\n'), keyring }, nowMs: 0 });
  t.notOk('matched' in (bare.status(0) as { keys: object }).keys, 'no matched counts without a source for them');
  t.equal((driver('policy: {}\n').status(0) as { keys: unknown }).keys, null, 'no keyring: no keys section');
});

t.test('noteKey: at most MAX_KEY_PEERS peers; the one unchanged the longest goes first', async (t) => {
  const fa = keyFingerprint(KEY_A);
  const fb = keyFingerprint(KEY_B);
  const d = new PolicyDriver({ policy: { config: config('policy: {}\n'), keyring: new Keyring([keyringEntry(KEY_A, 'current')]) }, nowMs: 0 });
  const peers = () => (d.status(0) as { keys: { peers: Record<string, string> } }).keys.peers;
  const mac = (n: number) => `02:00:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
  for (let n = 0; n < MAX_KEY_PEERS; n++) d.noteKey(record('eth0', mac(n), { fp: fa }));
  d.noteKey(record('eth0', mac(5), { fp: fb }));
  t.equal(Object.keys(peers()).length, MAX_KEY_PEERS, 'a full table');
  t.ok(mac(0) in peers(), 'a known peer changing keys pushes nobody out');
  t.equal(peers()[mac(5)], fb);
  d.noteKey(record('eth0', mac(1), { fp: fa })); // the same key again: not a change
  d.noteKey(record('eth0', mac(MAX_KEY_PEERS), { fp: fa }));
  t.notOk(mac(0) in peers(), 'a newcomer pushes out the peer unchanged the longest');
  d.noteKey(record('eth0', mac(MAX_KEY_PEERS + 1), { fp: fa }));
  t.notOk(mac(1) in peers(), 'then peer 1: hearing the same key again did not renew it');
  t.equal(peers()[mac(5)], fb, 'peer 5, which changed keys, is among the newest');
  t.equal(peers()[mac(MAX_KEY_PEERS + 1)], fa);
  t.equal(Object.keys(peers()).length, MAX_KEY_PEERS, 'still bounded');
});

const seg = (ifname: string, vid?: number) => (vid === undefined ? { ifname } : { ifname, vid });
const replayOn = (s: ReturnType<typeof seg>, ulid = '01J0000000000000000000000A'): AlarmSource => ({
  segment: s,
  ulid,
  hints: [],
  events: [{ kind: 'replay', ulid, own: false, segment: s }],
});

t.test('observe: replays, loops and segment floods become alarms, one per kind and segment per interval', async (t) => {
  const d = driver('policy:\n  alarms: { interval: 10 }\n');
  const [first] = d.observe(replayOn(seg('eth0')), 0);
  t.match(first, {
    kind: 'replay',
    segment: { ifname: 'eth0' },
    timeMs: 0,
    suppressed: 0,
    evidence: { ulid: '01J0000000000000000000000A', own: false },
    message: /beacon 01J0000000000000000000000A received again on eth0/,
  });
  t.same(d.observe(replayOn(seg('eth0')), 5000), [], 'held back within the interval');
  t.same(
    d.observe(replayOn(seg('eth0', 5)), 5000).map((a) => a.kind),
    ['replay'],
    'another segment (eth0 vid 5) is another alarm',
  );
  const loop: TopologyHint = { ifname: 'eth0', hint: 'rx_own_beacon_on_tx_interface', related_ifname: 'eth0' };
  const [l] = d.observe({ segment: seg('eth0'), ulid: '01J0000000000000000000000B', hints: [loop], events: [] }, 5000);
  t.match(l, { kind: 'loop', evidence: { ulid: '01J0000000000000000000000B', hints: [loop] }, message: /came back on eth0, the interface that sent it/ });
  const [f] = d.observe(
    {
      segment: seg('eth0', 99),
      hints: [],
      events: [{ kind: 'dropped', reason: 'too_many_segments', segment: seg('eth0', 99), ulid: '01J0000000000000000000000C' }],
    },
    5000,
  );
  t.match(f, { kind: 'segment_flood', segment: { ifname: 'eth0', vid: 99 }, evidence: { ulid: '01J0000000000000000000000C' } });
  t.same(
    d.observe({ segment: seg('eth0'), hints: [], events: [{ kind: 'dropped', reason: 'expired', segment: seg('eth0') }] }, 5000),
    [],
    'other drops raise nothing',
  );
  const [again] = d.observe(replayOn(seg('eth0'), '01J0000000000000000000000D'), 10_000);
  t.match(
    again,
    { kind: 'replay', suppressed: 1, evidence: { ulid: '01J0000000000000000000000D' }, message: /\(1 more since the last report\)$/ },
    'after the interval: raised, with the count held back',
  );
  t.same(d.alarmCounts(), { replay: 4, loop: 1, segment_flood: 1 }, 'raised and held back, by kind (the metric)');
  t.same((d.status(10_000) as { alarms: unknown }).alarms, {
    raised: { replay: 3, loop: 1, segment_flood: 1 },
    suppressed: { replay: 1, loop: 0, segment_flood: 0 },
    tracked: 4,
    evicted: 0,
  });
});

t.test('alarms: max_tracked bounds the table of recent alarms', async (t) => {
  const d = driver('policy:\n  alarms: { interval: 60, max_tracked: 2 }\n');
  for (const vid of [1, 2, 3]) d.observe(replayOn(seg('eth0', vid)), 0);
  t.match((d.status(0) as { alarms: unknown }).alarms, { tracked: 2, evicted: 1 });
  t.equal(d.observe(replayOn(seg('eth0', 1)), 1000).length, 1, 'the forgotten one is raised again at once');
});

t.test('alarmFields: the log line of an alarm', async (t) => {
  const d = driver('policy: {}\n');
  const [tagged] = d.observe(replayOn(seg('eth0', 5)), 0);
  t.same(alarmFields(tagged!), {
    kind: 'replay',
    interface: 'eth0',
    vid: 5,
    segment: 'eth0 vid 5',
    suppressed: 0,
    ulid: '01J0000000000000000000000A',
    own: false,
  });
  const [untagged] = d.observe(replayOn(seg('eth1')), 0);
  const fields = alarmFields(untagged!);
  t.notOk('vid' in fields, 'no vid key when untagged');
  t.equal(fields.segment, 'eth1');
  const loop: TopologyHint = { ifname: 'eth1', hint: 'rx_own_beacon_on_tx_interface', related_ifname: 'eth1' };
  const [l] = d.observe({ segment: seg('eth1'), ulid: '01J0000000000000000000000B', hints: [loop], events: [] }, 0);
  t.same(
    alarmFields(l!),
    { kind: 'loop', interface: 'eth1', segment: 'eth1', suppressed: 0, ulid: '01J0000000000000000000000B', hints: [loop] },
    'the evidence is spread into the line',
  );
});

t.test('drift: nothing without a declaration; with one, what appeared and cleared since the last check', async (t) => {
  t.equal(driver('policy: {}\n').drift([]), undefined);
  const declared = 'fabrics:\n  a: { interfaces: [eth0] }\n  b: { interfaces: [eth1] }\n';
  const d = new PolicyDriver({
    policy: { config: config('policy:\n  expected: /etc/netbeacon/expected.yaml\n'), expected: parseExpected(declared, 'expected.yaml') },
    nowMs: 0,
  });
  t.equal(d.expected?.fabrics.length, 2);
  const joined: TopologyHint[] = [
    { ifname: 'eth0', hint: 'same_local_fabric_as', related_ifname: 'eth1' },
    { ifname: 'eth1', hint: 'same_local_fabric_as', related_ifname: 'eth0' },
  ];
  const first = d.drift(joined)!;
  t.equal(first.report.ok, false);
  t.same(
    first.appeared.map((e) => e.kind),
    ['fabrics_merged'],
  );
  t.same(first.cleared, []);
  const moreProof: TopologyHint[] = [...joined, { ifname: 'eth0', vid: 10, hint: 'same_local_fabric_as', related_ifname: 'eth1', related_vid: 10 }];
  const second = d.drift(moreProof)!;
  t.same([second.appeared, second.cleared], [[], []], 'the same finding with more evidence is not new');
  const third = d.drift([])!;
  t.same(
    third.cleared.map((e) => e.kind),
    ['fabrics_merged'],
    'no hints: the merge is gone',
  );
  t.same(third.appeared.map((e) => e.kind).sort(), ['interface_missing', 'interface_missing'], 'and both interfaces are missing');
  t.same(
    d.driftCounts(),
    { wrong_fabric: 0, fabrics_merged: 0, fabric_split: 0, interface_missing: 2, vid_missing: 0, vid_unexpected: 0, loop: 0, not_alone: 0 },
    'every kind, 0 when none',
  );
  const st = (d.status(0) as { drift: { events: Array<Record<string, unknown>> } & Record<string, unknown> }).drift;
  t.match(st, { declared: '/etc/netbeacon/expected.yaml', ok: false, checks: 3, appeared: 3, cleared: 1, counts: d.driftCounts() });
  t.same(
    st.events.map((e) => Object.keys(e).sort()),
    [
      ['evidence', 'kind', 'message'],
      ['evidence', 'kind', 'message'],
    ],
    'status events carry kind, evidence and message; not the hints and paths',
  );
  t.same(
    st.events.map((e) => e.evidence),
    ['absence', 'absence'],
  );
});

t.test('drift: declared but not yet checked', async (t) => {
  const d = new PolicyDriver({ policy: { config: config('policy:\n  expected: x.yaml\n'), expected: parseExpected('alone: [eth0]\n', 'x.yaml') }, nowMs: 0 });
  t.match((d.status(0) as { drift: unknown }).drift, { declared: 'x.yaml', ok: null, checks: 0, events: [] });
});

t.test('status: the shape with nothing configured', async (t) => {
  const p = policy('policy: {}\n');
  const d = new PolicyDriver({ policy: p, nowMs: 0 });
  t.equal(d.loaded, p);
  t.equal(d.expected, undefined);
  t.same(d.status(0), {
    reloads: 0,
    filters: { rules: 0, drops: {} },
    replies: { sent: 0, held: { 'peer-limit': 0, 'total-limit': 0 }, peers: 0, evicted: 0, evicted_active: 0 },
    alarms: { raised: { replay: 0, loop: 0, segment_flood: 0 }, suppressed: { replay: 0, loop: 0, segment_flood: 0 }, tracked: 0, evicted: 0 },
    drift: null,
    keys: null,
  });
  t.same(d.driftCounts(), {
    wrong_fabric: 0,
    fabrics_merged: 0,
    fabric_split: 0,
    interface_missing: 0,
    vid_missing: 0,
    vid_unexpected: 0,
    loop: 0,
    not_alone: 0,
  });
  t.same(d.alarmCounts(), { replay: 0, loop: 0, segment_flood: 0 });
});

t.test('loadPolicy: reads the key files and the declaration the policy names', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cur.secret'), '00112233445566778899aabbccddeeff\n', { mode: 0o600 });
  writeFileSync(join(dir, 'prev.secret'), 'ffeeddccbbaa99887766554433221100', { mode: 0o600 });
  writeFileSync(join(dir, 'expected.yaml'), 'fabrics:\n  mgmt: { interfaces: [eth0, eth1] }\n');
  const c = config(`policy:
  keys:
    - { secret_file: ${join(dir, 'cur.secret')}, role: current }
    - { secret_file: ${join(dir, 'prev.secret')}, role: previous, accept_until: 2000 }
  expected: ${join(dir, 'expected.yaml')}
`);
  const loaded = loadPolicy(c);
  t.equal(loaded.config, c);
  t.equal(loaded.keyring?.signingKey().fingerprint, keyFingerprint(KEY_A), 'the current key signs (whitespace around the hex is fine)');
  t.same(loaded.keyring?.states(1000), [
    { fingerprint: keyFingerprint(KEY_A), role: 'current', accepting: true },
    { fingerprint: keyFingerprint(KEY_B), role: 'previous', accepting: true, acceptUntil: 2000 },
  ]);
  t.same(
    loaded.expected?.fabrics.map((f) => [f.name, f.interfaces.map((i) => i.ifname)]),
    [['mgmt', ['eth0', 'eth1']]],
  );
  t.same(Object.keys(loadPolicy(config('policy: {}\n'))), ['config'], 'nothing named, nothing read');
});

t.test('loadPolicy: every error names the file, and for a key file its key in the config', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nbt-policy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good.secret');
  writeFileSync(good, '00112233445566778899aabbccddeeff', { mode: 0o600 });
  const keys = (second: string) =>
    config(`policy:\n  keys:\n    - { secret_file: ${good}, role: current }\n    - { secret_file: ${second}, role: previous, accept_until: 2000 }\n`);
  const missing = join(dir, 'missing.secret');
  const err = t.throws(() => loadPolicy(keys(missing))) as UsageError;
  t.ok(err instanceof UsageError, 'a usage error (exit 2)');
  t.equal(err.code, 'E_SECRET_UNREADABLE');
  t.equal(err.exitCode, 2);
  t.equal(err.message, `secret file ${missing} (policy.keys[1].secret_file) does not exist`);
  t.notMatch(err.message, /--secret-file/, 'not blamed on the flag: the file came from the config');
  const notHex = join(dir, 'nothex.secret');
  writeFileSync(notHex, 'not a secret\n');
  t.throws(() => loadPolicy(keys(notHex)), {
    code: 'E_SECRET_NOT_HEX',
    message: `secret file ${notHex} (policy.keys[1].secret_file) does not hold hex digits (MAAS stores the secret as hex)`,
  });
  const empty = join(dir, 'empty.secret');
  writeFileSync(empty, '\n');
  t.throws(() => loadPolicy(keys(empty)), { code: 'E_SECRET_EMPTY', message: new RegExp(`${empty} \\(policy\\.keys\\[1\\]\\.secret_file\\) is empty`) });
  t.throws(() => loadPolicy(keys(dir)), { code: 'E_SECRET_UNREADABLE', message: new RegExp(`${dir} \\(policy\\.keys\\[1\\]\\.secret_file\\) is a directory`) });

  const expected = (file: string) => config(`policy:\n  expected: ${file}\n`);
  const nofile = join(dir, 'nope.yaml');
  t.throws(() => loadPolicy(expected(nofile)), { name: 'UsageError', code: 'E_EXPECTED_IO', message: `expected file ${nofile} cannot be read (ENOENT)` });
  const subdir = join(dir, 'sub.yaml');
  mkdirSync(subdir);
  t.throws(() => loadPolicy(expected(subdir)), { code: 'E_EXPECTED_IO', message: `expected file ${subdir} cannot be read (EISDIR)` });
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'fabrics:\n  a: { interfaces: [] }\n');
  t.throws(
    () => loadPolicy(expected(bad)),
    { code: 'E_EXPECTED_FORMAT', message: `${bad}: fabrics.a.interfaces: must name at least one interface` },
    'the file and the key in it',
  );
});
