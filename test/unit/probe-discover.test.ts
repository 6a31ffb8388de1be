/** DiscoveryBook: hosts keyed by identity, never by ULID; same vs different secret; own beacons left out. */
import t from 'tap';
import { DiscoveryBook, type BookRecord } from '../../src/probe/discover-book';
import { renderDiscover } from '../../src/probe/render';
import type { FrameInfo } from '../../src/protocol/frame-types';
import type { BeaconVerdict } from '../../src/protocol/verdict';
import { ulidAt, T0 } from '../helpers/agent';

const P_MAC = '52:54:00:0b:00:01';
const frame = (over: Partial<FrameInfo> = {}): FrameInfo => ({
  sourceMac: P_MAC,
  destinationMac: '01:00:5e:00:00:76',
  sourceIp: '10.0.0.2',
  destinationIp: '224.0.0.118',
  sourcePort: 5240,
  destinationPort: 5240,
  payloadOffset: 42,
  payloadLength: 300,
  ...over,
});
const beacon = (payload: Record<string, unknown>, type: 'solicitation' | 'advertisement' = 'solicitation'): BeaconVerdict => ({
  ok: true,
  version: 2,
  type,
  payload,
});
const rec = (verdict: BeaconVerdict, f: Partial<FrameInfo> = {}, iface = 'r0'): BookRecord => ({ interface: iface, frame: frame(f), verdict });
const remote = { name: 'p0', mac_address: P_MAC.toUpperCase(), type: 'physical' };

t.test('a peer with our secret: one host with its names, role, URL, addresses and where it was heard', async (t) => {
  const b = new DiscoveryBook({ localMacs: ['52:54:00:0a:00:01'] });
  const mine = ulidAt(T0, 1);
  b.noteSent(mine);
  b.add(rec(beacon({ remote, role: 'region', maas_url: 'http://10.0.0.2:5240/MAAS', ulid: ulidAt(T0, 2), type: 1 })));
  b.add(rec(beacon({ remote, acks: mine, ulid: ulidAt(T0, 3), type: 2 }, 'advertisement'), { sourceIp: 'fe80::1' }));
  b.add(rec(beacon({ remote, ulid: ulidAt(T0, 4), type: 1 }), { vid: 30 }));
  const [h, ...rest] = b.hosts();
  t.same(rest, []);
  t.same(h, {
    id: P_MAC,
    secret: 'same',
    names: ['p0'],
    macs: [P_MAC],
    addresses: ['10.0.0.2', 'fe80::1'],
    seen_on: [{ interface: 'r0' }, { interface: 'r0', vid: 30 }],
    answered: true,
    beacons: 3,
    replays: 0,
    local: false,
    role: 'region',
    maas_url: 'http://10.0.0.2:5240/MAAS',
  });
});

t.test('a replayed beacon does not make a second host, from the same source or another one', async (t) => {
  const b = new DiscoveryBook();
  const u = ulidAt(T0, 9);
  const v = beacon({ remote, ulid: u, type: 1 });
  b.add(rec(v));
  b.add(rec(v));
  b.add(rec(v, { sourceMac: '52:54:00:66:66:66', sourceIp: '10.0.0.66' }));
  const hosts = b.hosts();
  t.equal(hosts.length, 1, 'keyed by the authenticated remote MAC');
  t.equal(hosts[0]!.beacons, 1, 'one beacon, heard three times');
  t.equal(hosts[0]!.replays, 2);
  t.same(hosts[0]!.macs, ['52:54:00:0b:00:01', '52:54:00:66:66:66'], "the replayer's MAC is on record");
  b.add(rec(v, {}, 'r1'));
  t.equal(b.hosts()[0]!.replays, 2, 'the same beacon on another segment is not a replay');
});

t.test('a beacon failing only its MAC is a host with a different secret, keyed by source MAC', async (t) => {
  const b = new DiscoveryBook();
  const mac: BeaconVerdict = { ok: false, reason: 'mac' };
  b.add(rec(mac, { sourceMac: '52:54:00:0c:00:01', sourceIp: '10.0.0.3' }));
  b.add(rec(mac, { sourceMac: '52:54:00:0C:00:01', sourceIp: 'fe80::3' }));
  b.add(rec({ ok: false, reason: 'expired' }, { sourceMac: '52:54:00:0d:00:01' }));
  b.add(rec({ ok: false, reason: 'token' }, { sourceMac: '52:54:00:0d:00:01' }));
  b.add(rec(beacon({ remote: { name: 'q0', mac_address: '52:54:00:0c:00:01' }, ulid: ulidAt(T0, 5), type: 1 }), { sourceMac: '52:54:00:0c:00:01' }));
  const hosts = b.hosts();
  t.same(
    hosts.map((h) => [h.secret, h.id, h.beacons]),
    [
      ['same', '52:54:00:0c:00:01', 1],
      ['different', '52:54:00:0c:00:01', 2],
    ],
    'same secret first; one MAC speaking both secrets is listed twice, and other rejections add no host',
  );
  t.same(hosts[1]!.names, []);
  t.same(hosts[1]!.addresses, ['10.0.0.3', 'fe80::3']);
  t.same(b.stats().rejected, { mac: 2, expired: 1, token: 1 });
});

t.test('our own beacons heard back are not hosts, even when heard before the send reported its ULID', async (t) => {
  const b = new DiscoveryBook({ localMacs: ['52:54:00:0a:00:01'] });
  const own = { remote: { name: 'r0', mac_address: '52:54:00:0a:00:01' }, type: 1 };
  const early = ulidAt(T0, 20);
  b.add(rec(beacon({ ...own, ulid: early }), {}, 'r1')); // captured before noteSent
  b.noteSent(early);
  const late = ulidAt(T0, 21);
  b.noteSent(late);
  b.add(rec(beacon({ ...own, ulid: late }), {}, 'r1'));
  t.same(b.hosts(), []);
  t.equal(b.stats().own, 1);
  // An answer captured before its solicitation's ULID was noted still counts.
  const b2 = new DiscoveryBook();
  const sol = ulidAt(T0, 30);
  b2.add(rec(beacon({ remote, acks: sol, ulid: ulidAt(T0, 31), type: 2 }, 'advertisement')));
  t.notOk(b2.hosts()[0]!.answered);
  b2.noteSent(sol);
  t.ok(b2.hosts()[0]!.answered);
  // Another beaconer on this very host (same MAC as one of ours) is marked local.
  const b3 = new DiscoveryBook({ localMacs: ['52:54:00:0A:00:01'] });
  b3.add(rec(beacon({ ...own, ulid: ulidAt(T0, 40) }), { sourceMac: '52:54:00:0a:00:01' }));
  t.ok(b3.hosts()[0]!.local);
});

t.test('bare beacons (no remote, no ULID) and malformed fields; the book is bounded', async (t) => {
  const b = new DiscoveryBook({ maxHosts: 2 });
  b.add(rec({ ok: true, version: 2, type: 'solicitation', payload: null }, { sourceMac: '52:54:00:00:00:01' }));
  b.add(
    rec(beacon({ remote: { name: 7, mac_address: '' }, role: 5, maas_url: 'x'.repeat(5000), type: 1 }), {
      sourceMac: '52:54:00:00:00:02',
      sourceIp: '0.0.0.0',
    }),
  );
  b.add(rec(beacon({ type: 1 }), { sourceMac: '52:54:00:00:00:03' }));
  const hosts = b.hosts();
  t.equal(hosts.length, 2);
  t.same(hosts[1], {
    id: '52:54:00:00:00:02',
    secret: 'same',
    names: [],
    macs: ['52:54:00:00:00:02'],
    addresses: [],
    seen_on: [{ interface: 'r0' }],
    answered: false,
    beacons: 1,
    replays: 0,
    local: false,
  });
  t.equal(b.stats().overflow, 1);
});

t.test('the table for people', async (t) => {
  const b = new DiscoveryBook();
  b.add(rec(beacon({ remote, role: 'rack', ulid: ulidAt(T0, 50), type: 1 })));
  b.add(rec({ ok: false, reason: 'mac' }, { sourceMac: '52:54:00:0c:00:01', vid: 7 }));
  const text = renderDiscover(b.hosts(), ['r0'], 5);
  t.match(text, /^2 beaconing hosts heard on r0 in 5 s\n/);
  t.match(text, /52:54:00:0b:00:01 +same +rack +p0 +r0 +10\.0\.0\.2 +no +1 +-/);
  t.match(text, /52:54:00:0c:00:01 +DIFFERENT +- +- +r0 vid 7/);
  t.equal(renderDiscover([], ['r0', 'r1'], 1), '0 beaconing hosts heard on r0, r1 in 1 s\n');
});
