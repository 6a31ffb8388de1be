/** Drift between the declared topology and the fabric view, each kind with its proof; and the proof graph itself. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sortHints, type TopologyHint } from '../../src/topology/hints';
import { segment } from '../../src/topology/segment';
import { buildTopology } from '../../src/topology/fabrics';
import { detectDrift, driftExitCode, type DriftEvent } from '../../src/policy/drift';
import { FabricGraph, hintsOfPaths } from '../../src/policy/evidence';
import { parseExpected } from '../../src/policy/expected';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'policy', 'expected.yaml');
const REFERENCE_HINTS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas', 'hints.json');

/** same_local_fabric_as both ways, as the correlator emits it. */
function link(a: string, b: string, avid?: number, bvid?: number): TopologyHint[] {
  const one = (x: string, xv: number | undefined, y: string, yv: number | undefined): TopologyHint => ({
    ifname: x,
    ...(xv === undefined ? {} : { vid: xv }),
    hint: 'same_local_fabric_as',
    related_ifname: y,
    ...(yv === undefined ? {} : { related_vid: yv }),
  });
  return [one(a, avid, b, bvid), one(b, bvid, a, avid)];
}

function heard(local: string, mac: string, vid?: number, kind: 'on_remote_network' | 'routable_to' = 'on_remote_network'): TopologyHint {
  return {
    ifname: local,
    ...(vid === undefined ? {} : { vid }),
    hint: kind,
    related_ifname: 'ens3',
    related_mac: mac,
    ...(vid === undefined ? {} : { related_vid: vid }),
  };
}

const loopHint = (ifname: string, vid?: number): TopologyHint => ({
  ifname,
  ...(vid === undefined ? {} : { vid }),
  hint: 'rx_own_beacon_on_tx_interface',
  related_ifname: ifname,
});

const drift = (yaml: string, hints: TopologyHint[]): readonly DriftEvent[] => detectDrift(parseExpected(yaml, 'x.yaml'), buildTopology(hints)).drift;

t.test('no drift: exit code 0, and undeclared interfaces listed apart', async (t) => {
  const yaml = 'fabrics:\n  mgmt:\n    interfaces:\n      eth0: { vids: [10] }\n      eth1: {}\n  storage:\n    interfaces: [eth2]\nalone: [eth3]\n';
  const hints = [
    ...link('eth0', 'eth1'),
    heard('eth0', 'aa:00:00:00:00:01', 10),
    heard('eth2', 'aa:00:00:00:00:02'),
    heard('eth3', 'aa:00:00:00:00:03'),
    heard('eth9', 'aa:00:00:00:00:09'),
  ];
  const report = detectDrift(parseExpected(yaml, 'x.yaml'), buildTopology(hints));
  t.same(report, { ok: true, drift: [], undeclared: ['eth9'] });
  t.equal(driftExitCode(report), 0);
});

t.test('wrong_fabric: the odd one out, with the chain of hints that puts it there', async (t) => {
  const yaml = 'fabrics:\n  mgmt:\n    interfaces: [eth0, eth1, eth4]\n  storage:\n    interfaces: [eth2, eth3]\n';
  const hints = [...link('eth0', 'eth1'), ...link('eth4', 'eth2'), ...link('eth2', 'eth3'), ...link('eth3', 'eth7')];
  const events = drift(yaml, hints);
  t.equal(events.length, 1, 'no merge and no split: the interface moved, not the fabrics; undeclared eth7 is no fabric');
  t.same(events[0], {
    kind: 'wrong_fabric',
    ifname: 'eth4',
    declared: 'mgmt',
    observed_with: ['storage'],
    interfaces: ['eth2', 'eth3'],
    evidence: 'hints',
    message: 'eth4 is declared on fabric mgmt but shares a fabric with eth2, eth3 (declared on storage)',
    hints: sortHints(link('eth2', 'eth4')),
    paths: [[{ from: segment('eth4'), to: segment('eth2'), via: 'link', hints: sortHints(link('eth2', 'eth4')) }]],
  });
  t.equal(driftExitCode({ ok: false, drift: events, undeclared: [] }), 1);
});

t.test('fabrics_merged: two declared fabrics joined by one remote interface heard on both', async (t) => {
  const yaml = 'fabrics:\n  mgmt:\n    interfaces: [eth0]\n  storage:\n    interfaces: [eth2]\n';
  const mac = '52:54:00:00:00:07';
  const events = drift(yaml, [heard('eth0', mac), heard('eth2', mac)]);
  t.same(events, [
    {
      kind: 'fabrics_merged',
      fabrics: ['mgmt', 'storage'],
      interfaces: ['eth0', 'eth2'],
      evidence: 'hints',
      message: 'fabrics mgmt and storage are one fabric: eth0, eth2 are joined',
      hints: [heard('eth0', mac), heard('eth2', mac)],
      paths: [[{ from: segment('eth0'), to: segment('eth2'), via: 'peer', hints: [heard('eth0', mac), heard('eth2', mac)], peer: { mac } }]],
    },
  ]);
});

t.test('fabrics_merged: one event per pair of fabrics, with a path per component that joins them', async (t) => {
  // Cables swapped: each component holds one interface of each fabric, so no side is the odd one out.
  const yaml = 'fabrics:\n  a:\n    interfaces: [eth0, eth1]\n  b:\n    interfaces: [eth2, eth3]\n';
  const events = drift(yaml, [...link('eth0', 'eth2'), ...link('eth1', 'eth3')]);
  t.same(
    events.map((e) => e.kind),
    ['fabrics_merged', 'fabric_split', 'fabric_split'],
  );
  const merged = events[0] as Extract<DriftEvent, { kind: 'fabrics_merged' }>;
  t.same(merged.interfaces, ['eth0', 'eth1', 'eth2', 'eth3']);
  t.equal(merged.paths.length, 2);
  t.same(events[1], {
    kind: 'fabric_split',
    fabric: 'a',
    parts: [['eth0'], ['eth1']],
    evidence: 'absence',
    message: 'fabric a is split: no beacon joins eth0 | eth1',
    hints: [],
    paths: [],
  });
});

t.test('three fabrics that are one: a merge event per pair, in order', async (t) => {
  const yaml =
    'fabrics:\n  c:\n    interfaces: [eth2]\n  a:\n    interfaces: [eth0]\n  b:\n    interfaces: [eth1]\n  d:\n    interfaces: [eth8]\n  e:\n    interfaces: [eth9]\n';
  const events = drift(yaml, [...link('eth0', 'eth1'), ...link('eth1', 'eth2')]);
  t.same(
    events.map((e) => (e.kind === 'fabrics_merged' ? e.fabrics.join('+') : e.message)),
    [
      'a+b',
      'a+c',
      'b+c',
      'eth8, declared on fabric d, is in no hint: no beacon was seen on it',
      'eth9, declared on fabric e, is in no hint: no beacon was seen on it',
    ],
  );
});

t.test('fabric_split: a declared fabric seen in groups that nothing joins', async (t) => {
  const yaml = 'fabrics:\n  mgmt:\n    interfaces: [eth0, eth1, eth2]\n';
  const events = drift(yaml, [heard('eth0', 'aa:00:00:00:00:01'), heard('eth2', 'aa:00:00:00:00:01'), heard('eth1', 'aa:00:00:00:00:02')]);
  t.same(events, [
    {
      kind: 'fabric_split',
      fabric: 'mgmt',
      parts: [['eth0', 'eth2'], ['eth1']],
      evidence: 'absence',
      message: 'fabric mgmt is split: no beacon joins eth0, eth2 | eth1',
      hints: [],
      paths: [],
    },
  ]);
});

t.test('interface_missing, vid_missing and vid_unexpected', async (t) => {
  const yaml = [
    'fabrics:',
    '  mgmt:',
    '    interfaces:',
    '      eth0: { untagged: true, vids: [10, 20] }',
    '      eth1: { untagged: false, vids: [5] }',
    '      eth2: {}',
    'alone: [eth3]',
  ].join('\n');
  const hints = [...link('eth0', 'eth1', 10, 5), ...link('eth0', 'eth2', 99), ...link('eth1', 'eth2', 0), heard('eth0', 'aa:00:00:00:00:01')];
  const events = drift(yaml, hints);
  t.same(
    events.map((e) => [e.kind, e.evidence, e.message]),
    [
      ['interface_missing', 'absence', 'eth3, declared alone, is in no hint: no beacon was seen on it'],
      ['vid_missing', 'absence', 'eth0: VLAN 20 expected, not seen (seen: eth0, eth0 vid 10, eth0 vid 99)'],
      ['vid_unexpected', 'hints', 'eth0 vid 99: VLAN 99 seen, not declared for eth0'],
      ['vid_unexpected', 'hints', 'eth1 vid 0: untagged traffic seen, not declared for eth1'],
    ],
  );
  t.same(
    events[0],
    { kind: 'interface_missing', ifname: 'eth3', evidence: 'absence', message: events[0]!.message, hints: [], paths: [] },
    'alone: no fabric field',
  );
  t.match(events[1], { ifname: 'eth0', fabric: 'mgmt', vlan: 20, seen: [segment('eth0'), segment('eth0', 10), segment('eth0', 99)] });
  t.match(events[2], { ifname: 'eth0', fabric: 'mgmt', vlan: 99, segment: segment('eth0', 99), hints: sortHints(link('eth0', 'eth2', 99)) });
  t.match(events[3], { ifname: 'eth1', vlan: 'untagged', segment: segment('eth1', 0) }, 'VID 0 counts as untagged');
  t.notOk(
    events.some((e) => e.kind === 'vid_unexpected' && e.ifname === 'eth2'),
    'eth2 untagged, as declared by {}',
  );

  const missing = drift('fabrics:\n  m:\n    interfaces:\n      eth0: {}\n      eth1: {vids: [3]}\n', [
    heard('eth0', 'aa:00:00:00:00:01', 7),
    heard('eth1', 'aa:00:00:00:00:01', 3),
  ]);
  t.same(
    missing.map((e) => e.message),
    [
      // One remote MAC on two VIDs is two remote interfaces: nothing joins eth0 and eth1.
      'fabric m is split: no beacon joins eth0 | eth1',
      'eth0: untagged traffic expected, not seen (seen: eth0 vid 7)',
      'eth1: untagged traffic expected, not seen (seen: eth1 vid 3)',
      'eth0 vid 7: VLAN 7 seen, not declared for eth0',
    ],
  );
  t.same(
    drift('fabrics:\n  m:\n    interfaces: [eth0]\n', []).map((e) => e.message),
    ['eth0, declared on fabric m, is in no hint: no beacon was seen on it'],
  );
});

t.test('several splits and missing VLANs sort stably', async (t) => {
  const yaml = 'fabrics:\n  m:\n    interfaces:\n      eth5: {}\n      eth1: {}\n      eth3: { vids: [10] }\n';
  const hints = [heard('eth5', 'aa:00:00:00:00:05', 7), heard('eth1', 'aa:00:00:00:00:01'), heard('eth3', 'aa:00:00:00:00:03', 20)];
  t.same(
    drift(yaml, hints).map((e) => e.message),
    [
      'fabric m is split: no beacon joins eth1 | eth3 | eth5',
      'eth3: untagged traffic expected, not seen (seen: eth3 vid 20)',
      'eth3: VLAN 10 expected, not seen (seen: eth3 vid 20)',
      'eth5: untagged traffic expected, not seen (seen: eth5 vid 7)',
      'eth3 vid 20: VLAN 20 seen, not declared for eth3',
      'eth5 vid 7: VLAN 7 seen, not declared for eth5',
    ],
  );
  t.equal(JSON.stringify(drift(yaml, [...hints].reverse())), JSON.stringify(drift(yaml, hints)));
});

t.test('loop: our own beacon back on the interface that sent it, once per segment', async (t) => {
  const hints = [loopHint('eth0'), { ...loopHint('eth0'), related_vid: 3 }, loopHint('eth1', 5)];
  const events = drift('alone: { eth0: null, eth1: null }\n', hints);
  t.same(events, [
    {
      kind: 'loop',
      segment: segment('eth0'),
      evidence: 'hints',
      message: 'eth0: our own beacon came back on the interface that sent it (a loop, a broadcast storm or a replay)',
      hints: sortHints([loopHint('eth0'), { ...loopHint('eth0'), related_vid: 3 }]),
      paths: [],
    },
    {
      kind: 'loop',
      segment: segment('eth1', 5),
      evidence: 'hints',
      message: 'eth1 vid 5: our own beacon came back on the interface that sent it (a loop, a broadcast storm or a replay)',
      hints: [loopHint('eth1', 5)],
      paths: [],
    },
  ]);
});

t.test('not_alone: an interface declared alone that shares a fabric, with a path to each', async (t) => {
  const events = drift('alone: [eth3]\nfabrics:\n  m:\n    interfaces: [eth0]\n', [...link('eth3', 'eth0', 5, 5), ...link('eth3', 'eth7')]);
  t.equal(events.length, 1);
  t.same(events[0], {
    kind: 'not_alone',
    ifname: 'eth3',
    with: ['eth0', 'eth7'],
    evidence: 'hints',
    message: 'eth3 is declared alone but shares a fabric with eth0, eth7',
    hints: sortHints([...link('eth0', 'eth3', 5, 5), ...link('eth3', 'eth7')]),
    paths: [
      [{ from: segment('eth3', 5), to: segment('eth0', 5), via: 'link', hints: sortHints(link('eth0', 'eth3', 5, 5)) }],
      [{ from: segment('eth3'), to: segment('eth7'), via: 'link', hints: sortHints(link('eth3', 'eth7')) }],
    ],
  });
  t.same(events[0]!.hints, hintsOfPaths(events[0]!.paths), "hints are the union of the paths' hints");
});

t.test("the reference journal's hints against the fixture: merged fabrics, a missing interface, a loop", async (t) => {
  const hints = JSON.parse(readFileSync(REFERENCE_HINTS, 'utf8')) as TopologyHint[];
  const report = detectDrift(parseExpected(readFileSync(FIXTURE, 'utf8'), 'expected.yaml'), buildTopology(hints));
  t.same(
    report.drift.map((e) => e.message),
    [
      'fabrics mgmt and storage are one fabric: eth0, eth1, eth2 are joined',
      'eth3, declared alone, is in no hint: no beacon was seen on it',
      'eth0: our own beacon came back on the interface that sent it (a loop, a broadcast storm or a replay)',
    ],
  );
  t.same(report.undeclared, []);
  t.equal(driftExitCode(report), 1);
  // Stable: the same input in another order gives byte-identical JSON.
  const again = detectDrift(parseExpected(readFileSync(FIXTURE, 'utf8'), 'expected.yaml'), buildTopology([...hints].reverse()));
  t.equal(JSON.stringify(again), JSON.stringify(report));
});

t.test("FabricGraph: paths within a VLAN, across an interface's VLANs only when asked, hints per segment", async (t) => {
  const mac = 'aa:00:00:00:00:01';
  const hints = [...link('eth0', 'eth1', 10, 10), heard('eth0', mac), heard('eth2', mac), heard('eth3', mac, undefined, 'routable_to'), loopHint('eth1', 10)];
  const g = new FabricGraph(buildTopology(hints));
  t.same(g.interfaces(), ['eth0', 'eth1', 'eth2', 'eth3']);
  t.same(g.segmentsOf('eth0'), [segment('eth0'), segment('eth0', 10)]);
  t.same(g.segmentsOf('nope'), []);
  t.equal(g.groupOf(segment('eth0')), g.groupOf(segment('eth2')));
  t.not(g.groupOf(segment('eth0')), g.groupOf(segment('eth0', 10)));
  t.equal(g.groupOf(segment('nope')), undefined);
  t.same(g.path([segment('eth0')], [segment('eth0')], { acrossInterfaces: false }), [], 'already there');
  t.equal(g.path([segment('eth1', 10)], [segment('eth2')], { acrossInterfaces: false }), undefined, 'different VLANs: no path without interface steps');
  t.same(
    g.path([segment('eth1', 10)], [segment('eth2')], { acrossInterfaces: true })!.map((s) => [s.from, s.to, s.via]),
    [
      [segment('eth1', 10), segment('eth0', 10), 'link'],
      [segment('eth0', 10), segment('eth0'), 'interface'],
      [segment('eth0'), segment('eth2'), 'peer'],
    ],
  );
  t.equal(g.path([segment('eth0')], [segment('eth3')], { acrossInterfaces: true }), undefined, 'routable_to joins nothing');
  t.equal(g.path([segment('eth3')], [segment('eth0')], { acrossInterfaces: true }), undefined, 'from a segment nothing joins');
  t.same(g.hintsOn(segment('eth1', 10)), sortHints([...link('eth0', 'eth1', 10, 10), loopHint('eth1', 10)]), "the link's hints and the loop");
  t.same(g.hintsOn(segment('eth3')), [], 'a sighting that joins nothing is no evidence of a join');
  t.same(g.hintsOn(segment('nope')), []);
  t.same(g.segments().length, 6);
});
