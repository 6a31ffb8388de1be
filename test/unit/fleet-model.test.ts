import t from 'tap';
import { buildFleetModel } from '../../src/fleet/model/model';
import { diffDerived, EMPTY_DERIVED } from '../../src/fleet/model/history';
import type { FleetTopology } from '../../src/fleet/model/types';
import { iface, local, record, remote, report, T0 } from '../helpers/fleet-reports';

const A0 = '52:54:00:0a:00:00';
const A1 = '52:54:00:0a:00:01';
const B0 = '52:54:00:0b:00:00';
const C0 = '52:54:00:0c:00:00';

const fabricsOf = (t: FleetTopology): Record<string, string[]> =>
  Object.fromEntries(t.fabrics.map((f) => [f.name, f.segments.map((s) => `${s.host}/${s.interface}${s.vid === null ? '' : `.${s.vid}`}`)]));

const rack1 = report('rack1', [iface('eth0', A0), iface('eth1', A1)], [remote('eth0', 'ens3', B0), local('eth0', 'eth1'), local('eth1', 'eth0')]);
const rack2 = report('rack2', [iface('ens3', B0)], [remote('ens3', 'eth0', A0)]);
const rack3 = report('rack3', [iface('p0', C0)]);

t.test('segments of several hosts join into fabrics across hosts', async (t) => {
  const m = buildFleetModel({ hosts: [record(rack3), record(rack2), record(rack1)], names: new Map(), nowMs: T0 });
  t.same(fabricsOf(m.topology), { 'fabric-0': ['rack1/eth0', 'rack1/eth1', 'rack2/ens3'], 'fabric-1': ['rack3/p0'] });
  const f0 = m.topology.fabrics[0]!;
  t.same(f0.hosts, ['rack1', 'rack2']);
  t.same(f0.vids, [null]);
  const cross = f0.joins.find((j) => j.kind === 'remote')!;
  t.same(cross.a, { host: 'rack1', interface: 'eth0', vid: null });
  t.same(cross.b, { host: 'rack2', interface: 'ens3', vid: null });
  t.same(
    cross.hints.map((h) => h.host),
    ['rack1', 'rack2'],
    'the join carries the hints of both ends',
  );
  const localJoin = f0.joins.find((j) => j.kind === 'local')!;
  t.equal(localJoin.hints.length, 2);
  t.same(m.topology.findings, []);
  t.same(m.topology.hosts, { total: 3, stale: 0 });
});

t.test('fabric names last: growth keeps a name, a merge keeps the larger one, a new fabric takes the lowest free number', async (t) => {
  const first = buildFleetModel({ hosts: [record(rack1), record(rack2), record(rack3)], names: new Map(), nowMs: T0 });
  // rack3 comes first in a new host order: names must not follow the order.
  const rack0 = report('rack0', [iface('z0', '52:54:00:00:00:00')]);
  const second = buildFleetModel({ hosts: [record(rack0), record(rack1), record(rack2), record(rack3)], names: first.derived.fabrics, nowMs: T0 });
  t.same(fabricsOf(second.topology), { 'fabric-2': ['rack0/z0'], 'fabric-0': ['rack1/eth0', 'rack1/eth1', 'rack2/ens3'], 'fabric-1': ['rack3/p0'] });
  // rack3/p0 hears rack2: fabric-1 merges into the larger fabric-0.
  const moved = report('rack3', [iface('p0', C0)], [remote('p0', 'ens3', B0)]);
  const third = buildFleetModel({ hosts: [record(rack0), record(rack1), record(rack2), record(moved)], names: second.derived.fabrics, nowMs: T0 });
  t.same(fabricsOf(third.topology), { 'fabric-2': ['rack0/z0'], 'fabric-0': ['rack1/eth0', 'rack1/eth1', 'rack2/ens3', 'rack3/p0'] });
  const changes = diffDerived(second.derived, third.derived).filter((c) => c.kind === 'segment_fabric');
  t.same(changes, [{ kind: 'segment_fabric', host: 'rack3', interface: 'p0', vid: null, before: 'fabric-1', after: 'fabric-0' }]);
  // Naming a model with its own names changes nothing.
  const again = buildFleetModel({ hosts: [record(rack0), record(rack1), record(rack2), record(moved)], names: third.derived.fabrics, nowMs: T0 });
  t.same(again.topology, third.topology);
  t.same(diffDerived(third.derived, again.derived), []);
});

t.test('a split: the larger part keeps the name, the other gets a new one', async (t) => {
  const before = buildFleetModel({ hosts: [record(rack1), record(rack2)], names: new Map(), nowMs: T0 });
  const apart = report('rack1', [iface('eth0', A0), iface('eth1', A1)], [remote('eth0', 'ens3', B0)]);
  const rack2only = report('rack2', [iface('ens3', B0)], [remote('ens3', 'eth0', A0)]);
  const after = buildFleetModel({ hosts: [record(apart), record(rack2only)], names: before.derived.fabrics, nowMs: T0 });
  t.same(fabricsOf(after.topology), { 'fabric-0': ['rack1/eth0', 'rack2/ens3'], 'fabric-1': ['rack1/eth1'] });
});

t.test('VIDs: an interface carries its VIDs on one fabric; a tagged segment joined to an untagged one is a finding', async (t) => {
  const r1 = report('rack1', [iface('eth0', A0, { vids: [100] })], [remote('eth0', 'ens3', B0, { vid: 100 })]);
  const r2 = report('rack2', [iface('ens3', B0)], []);
  const m = buildFleetModel({ hosts: [record(r1), record(r2)], names: new Map(), nowMs: T0 });
  t.same(fabricsOf(m.topology), { 'fabric-0': ['rack1/eth0', 'rack1/eth0.100', 'rack2/ens3'] });
  t.same(m.topology.fabrics[0]!.vids, [null, 100]);
  const kinds = m.topology.fabrics[0]!.joins.map((j) => j.kind);
  t.same(kinds, ['interface', 'remote']);
  const mismatch = m.topology.findings.filter((f) => f.kind === 'native_vlan_mismatch');
  t.equal(mismatch.length, 1);
  t.same(mismatch[0]!.segments, [
    { host: 'rack1', interface: 'eth0', vid: 100 },
    { host: 'rack2', interface: 'ens3', vid: null },
  ]);
  t.match(mismatch[0]!.message, /rack2\/ens3 \(untagged\) and rack1\/eth0 vid 100 \(VLAN 100\)/);
});

t.test('a MAC no host reported: a finding, and the segments that heard it join through it', async (t) => {
  const M = '52:54:00:ee:00:01';
  const r1 = report(
    'rack1',
    [iface('eth0', A0)],
    [remote('eth0', 'maas0', M), { hint: 'routable_to', ifname: 'eth0', related_ifname: 'maas0', related_mac: M }],
  );
  const r2 = report('rack2', [iface('ens3', B0)], [remote('ens3', 'maas0', M)]);
  const m = buildFleetModel({ hosts: [record(r1), record(r2)], names: new Map(), nowMs: T0 });
  t.same(fabricsOf(m.topology), { 'fabric-0': ['rack1/eth0', 'rack2/ens3'] });
  const join = m.topology.fabrics[0]!.joins[0]!;
  t.equal(join.kind, 'peer');
  t.same(join.peer, { mac: M, ifname: 'maas0' });
  t.equal(join.hints.length, 2, 'on_remote_network from both; routable_to joins nothing');
  const f = m.topology.findings.find((x) => x.kind === 'unknown_mac')!;
  t.equal(f.mac, M);
  t.same(f.hosts, ['rack1', 'rack2']);
  t.equal(f.hints.length, 3);
});

t.test('two hosts reporting one MAC: a finding, and hints naming it resolve to neither', async (t) => {
  const r1 = report('rack1', [iface('eth0', A0)], [remote('eth0', 'x', C0)]);
  const r2 = report('rack2', [iface('ens3', C0)]);
  const r3 = report('rack3', [iface('p0', C0)]);
  const m = buildFleetModel({ hosts: [record(r1), record(r2), record(r3)], names: new Map(), nowMs: T0 });
  t.equal(m.topology.fabrics.length, 3);
  const f = m.topology.findings.find((x) => x.kind === 'duplicate_mac')!;
  t.same(f.hosts, ['rack2', 'rack3']);
  // The name picks one when it matches exactly one host.
  const named = report('rack1', [iface('eth0', A0)], [remote('eth0', 'p0', C0)]);
  const m2 = buildFleetModel({ hosts: [record(named), record(r2), record(r3)], names: new Map(), nowMs: T0 });
  t.same(fabricsOf(m2.topology), { 'fabric-0': ['rack1/eth0', 'rack3/p0'], 'fabric-1': ['rack2/ens3'] });
});

t.test('a host silent for three of its periods is stale: kept in the model, greyed, with a finding and a presence change', async (t) => {
  const hosts = [record(rack1, T0), record(rack2, T0 - 91_000)];
  const m = buildFleetModel({ hosts, names: new Map(), nowMs: T0 });
  t.same(m.topology.hosts, { total: 2, stale: 1 });
  t.same(fabricsOf(m.topology)['fabric-0'], ['rack1/eth0', 'rack1/eth1', 'rack2/ens3'], 'its segments stay');
  const f = m.topology.findings.find((x) => x.kind === 'stale_host')!;
  t.same(f.hosts, ['rack2']);
  t.equal(f.last_report, new Date(T0 - 91_000).toISOString());
  t.equal(m.validUntilMs, T0 + 90_001, 'the model holds until rack1 turns stale');
  const fresh = buildFleetModel({ hosts: [record(rack1, T0), record(rack2, T0 - 10_000)], names: new Map(), nowMs: T0 });
  t.same(
    diffDerived(fresh.derived, m.derived).filter((c) => c.kind === 'host_presence'),
    [{ kind: 'host_presence', host: 'rack2', interface: null, vid: null, before: 'fresh', after: 'stale' }],
  );
});

t.test('placements follow guess_vlan_from_hints', async (t) => {
  const r1 = report(
    'rack1',
    [iface('eth0', A0), iface('eth1', A1), iface('eth2', '52:54:00:0a:00:02'), iface('eth3', '52:54:00:0a:00:03')],
    [
      remote('eth0', 'ens3', B0),
      remote('eth0', 'ens3', B0, { vid: 7 }), // tagged: MAAS leaves it out
      local('eth1', 'eth0'),
      { hint: 'routable_to', ifname: 'eth2', related_ifname: 'p0', related_mac: C0 },
    ],
  );
  const r2 = report('rack2', [iface('ens3', B0)]);
  const r3 = report('rack3', [iface('p0', C0, { vid: 20, type: 'vlan' })]);
  const m = buildFleetModel({ hosts: [record(r1), record(r2), record(r3)], names: new Map(), nowMs: T0 });
  const p = Object.fromEntries(m.topology.placements.map((x) => [`${x.host}/${x.interface}`, x]));
  t.equal(p['rack1/eth0']!.fabric, 'fabric-0');
  t.equal(p['rack1/eth0']!.via!.interface, 'ens3');
  t.ok(p['rack1/eth0']!.agrees);
  t.match(p['rack1/eth0']!.reason, /on_remote_network names rack2\/ens3 \(52:54:00:0b:00:00\), which is on fabric-0 untagged/);
  t.equal(p['rack1/eth1']!.fabric, 'fabric-0');
  t.match(p['rack1/eth1']!.reason, /same_local_fabric_as names rack1\/eth0, which/);
  // routable_to places (as MAAS does) but does not join: the model disagrees.
  t.equal(p['rack1/eth2']!.fabric, m.derived.fabrics.get('rack3\u0000p0'));
  t.equal(p['rack1/eth2']!.vid, 20, 'a VLAN interface places on its VID');
  t.notOk(p['rack1/eth2']!.agrees);
  t.equal(p['rack1/eth3']!.fabric, null);
  t.match(p['rack1/eth3']!.reason, /MAAS would make a new fabric/);
  t.equal(m.derived.placements.get('rack1\u0000eth2'), `${p['rack1/eth2']!.fabric} vid 20`);
});

t.test('history from nothing: presence and segments appear, placements with a value', async (t) => {
  const m = buildFleetModel({ hosts: [record(rack1), record(rack2)], names: new Map(), nowMs: T0 });
  const changes = diffDerived(EMPTY_DERIVED, m.derived);
  t.same(
    changes.filter((c) => c.kind === 'host_presence').map((c) => [c.host, c.before, c.after]),
    [
      ['rack1', null, 'fresh'],
      ['rack2', null, 'fresh'],
    ],
  );
  t.equal(changes.filter((c) => c.kind === 'segment_fabric').length, 3);
  t.equal(changes.filter((c) => c.kind === 'placement').length, 3);
  // A segment that goes away is a change to null.
  const gone = buildFleetModel({
    hosts: [record(report('rack1', [iface('eth0', A0)], [remote('eth0', 'ens3', B0)])), record(rack2)],
    names: m.derived.fabrics,
    nowMs: T0,
  });
  t.same(
    diffDerived(m.derived, gone.derived).filter((c) => c.kind === 'segment_fabric'),
    [{ kind: 'segment_fabric', host: 'rack1', interface: 'eth1', vid: null, before: 'fabric-0', after: null }],
  );
});
