/** Placement of unknown interfaces from known ones: MAAS's rule, its generalisation to the fabric view, conflicts. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sortHints, type TopologyHint } from '../../src/topology/hints';
import { segment } from '../../src/topology/segment';
import { buildTopology } from '../../src/topology/fabrics';
import { UsageError } from '../../src/errors';
import { detectDrift } from '../../src/policy/drift';
import { parseExpected } from '../../src/policy/expected';
import { knownFromExpected, parseKnownJson, placeInterfaces, type KnownPlacement } from '../../src/policy/place';
import { renderDrift, renderPlacement } from '../../src/policy/render';

const FIXTURE = resolve(__dirname, '..', 'fixtures', 'policy', 'expected.yaml');
const REFERENCE_HINTS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas', 'hints.json');

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
const heard = (local: string, mac: string, vid?: number): TopologyHint => ({
  ifname: local,
  ...(vid === undefined ? {} : { vid }),
  hint: 'on_remote_network',
  related_ifname: 'ens3',
  related_mac: mac,
  ...(vid === undefined ? {} : { related_vid: vid }),
});
const known = (entries: Record<string, KnownPlacement>): Map<string, KnownPlacement> => new Map(Object.entries(entries));
const place = (hints: TopologyHint[], k: Record<string, KnownPlacement>) => placeInterfaces(buildTopology(hints), known(k));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

t.test("MAAS's rule: an untagged hint to a known interface places the unknown one on its VLAN", async (t) => {
  const r = place(link('eth1', 'eth0'), { eth0: { fabric: 'mgmt', vid: 0 } });
  t.same(r, {
    placements: [
      {
        ifname: 'eth1',
        fabric: 'mgmt',
        vid: 0,
        rule: 'maas',
        evidence: [
          {
            segment: segment('eth1'),
            known: segment('eth0'),
            hints: sortHints(link('eth0', 'eth1')),
            path: [{ from: segment('eth1'), to: segment('eth0'), via: 'link', hints: sortHints(link('eth0', 'eth1')) }],
          },
        ],
      },
    ],
    conflicts: [],
    unplaced: [],
  });
  // rx_own_beacon_on_other_interface counts too, in the direction MAAS reads it (ifname = the unknown one).
  const own: TopologyHint = { ifname: 'eth1', hint: 'rx_own_beacon_on_other_interface', related_ifname: 'eth0' };
  t.equal(place([own], { eth0: { fabric: 'mgmt', vid: 0 } }).placements[0]?.rule, 'maas');
  const reverse: TopologyHint = { ifname: 'eth0', hint: 'rx_own_beacon_on_other_interface', related_ifname: 'eth1' };
  t.match(
    place([reverse], { eth0: { fabric: 'mgmt', vid: 0 } }).placements[0],
    { ifname: 'eth1', fabric: 'mgmt', vid: 0, rule: 'fabric' },
    'the other direction: only the fabric view places it',
  );
});

t.test('generalised: any chain of joins in the fabric view, peers included', async (t) => {
  const mac = '52:54:00:00:00:07';
  const r = place([heard('eth0', mac), heard('eth2', mac), ...link('eth2', 'eth3')], { eth0: { fabric: 'mgmt', vid: 0 } });
  t.same(
    r.placements.map((p) => [p.ifname, p.fabric, p.vid, p.rule, p.evidence[0]!.path.map((s) => s.via)]),
    [
      ['eth2', 'mgmt', 0, 'fabric', ['peer']],
      ['eth3', 'mgmt', 0, 'fabric', ['link', 'peer']],
    ],
  );
  t.same(r.placements[1]!.evidence[0]!.hints, sortHints([...link('eth2', 'eth3'), heard('eth0', mac), heard('eth2', mac)]));
  t.match(renderPlacement(r), /\n {4}eth3 -> eth2: same_local_fabric_as x2\n {4}eth2 -> eth0: both heard 52:54:00:00:00:07 \(on_remote_network x2\)\n/);
});

t.test('VLANs: an access port, tagged segments, VID 0, and a fabric known without its VLAN', async (t) => {
  // eth0 is an access port into VLAN 30 of mgmt; eth1 (unknown) hears the same untagged traffic.
  t.match(place(link('eth1', 'eth0'), { eth0: { fabric: 'mgmt', vid: 30 } }).placements, [{ ifname: 'eth1', fabric: 'mgmt', vid: 30 }]);
  // eth1's untagged side joins eth0's VLAN 30: eth1 is an access port into VLAN 30.
  t.match(place(link('eth1', 'eth0', undefined, 30), { eth0: { fabric: 'mgmt', vid: 0 } }).placements, [{ ifname: 'eth1', fabric: 'mgmt', vid: 30 }]);
  // Only a tagged segment of eth1 joins: its fabric is known, its own untagged VLAN is not.
  const tagged = place(link('eth1', 'eth0', 30, 30), { eth0: { fabric: 'mgmt', vid: 0 } }).placements;
  t.same(
    tagged.map((p) => [p.ifname, p.fabric, p.vid, p.rule]),
    [['eth1', 'mgmt', undefined, 'fabric']],
  );
  t.notOk('vid' in tagged[0]!, 'no vid key when the VLAN is unknown');
  // VID 0 is a priority tag: untagged for placement.
  t.match(place(link('eth1', 'eth0', 0), { eth0: { fabric: 'mgmt', vid: 0 } }).placements, [{ ifname: 'eth1', vid: 0, rule: 'fabric' }]);
  // Known by fabric only (list form): the placement has the fabric only, and MAAS's rule (same VLAN) agrees.
  t.match(place(link('eth1', 'eth0'), { eth0: { fabric: 'storage' } }).placements, [{ ifname: 'eth1', fabric: 'storage', rule: 'maas' }]);
  // An unknown VLAN and a known one on the same fabric are no conflict.
  const both = place([...link('eth1', 'eth0', 5, 5), ...link('eth1', 'eth2')], { eth0: { fabric: 'm', vid: 0 }, eth2: { fabric: 'm', vid: 0 } });
  t.match(both.placements, [{ ifname: 'eth1', fabric: 'm', vid: 0 }]);
  t.equal(both.placements[0]!.evidence.length, 2, 'evidence from both segments');
});

t.test("conflicts are reported with each side's evidence, not guessed", async (t) => {
  const r = place([...link('eth5', 'eth0'), ...link('eth5', 'eth2')], { eth0: { fabric: 'mgmt', vid: 0 }, eth2: { fabric: 'storage', vid: 0 } });
  t.same(r.placements, []);
  t.same(
    r.conflicts.map((c) => [c.ifname, c.candidates.map((x) => [x.fabric, x.vid, x.evidence.map((e) => e.known.ifname)])]),
    [
      [
        'eth5',
        [
          ['mgmt', 0, ['eth0']],
          ['storage', 0, ['eth2']],
        ],
      ],
    ],
  );
  const vlans = place([...link('eth5', 'eth0'), ...link('eth5', 'eth2')], { eth0: { fabric: 'm', vid: 0 }, eth2: { fabric: 'm', vid: 7 } });
  t.same(
    vlans.conflicts[0]?.candidates.map((x) => x.vid),
    [0, 7],
    'same fabric, two VLANs for one untagged segment',
  );
  t.same(renderPlacement(vlans).split('\n')[0], 'eth5: conflict, not placed: fabric m, untagged VLAN vs fabric m, VLAN 7');
  // Candidates sorted by fabric, then VID (unknown first), whatever the order they were found in.
  const many = place([...link('eth5', 'eth0'), ...link('eth5', 'eth1'), ...link('eth5', 'eth2'), ...link('eth5', 'eth3', 4, 4)], {
    eth0: { fabric: 'zeta', vid: 0 },
    eth1: { fabric: 'alpha', vid: 7 },
    eth2: { fabric: 'alpha', vid: 0 },
    eth3: { fabric: 'alpha', vid: 0 },
  });
  t.same(
    many.conflicts[0]?.candidates.map((x) => [x.fabric, x.vid]),
    [
      ['alpha', undefined],
      ['alpha', 0],
      ['alpha', 7],
      ['zeta', 0],
    ],
  );
  t.equal(
    renderPlacement(many),
    [
      'eth5: conflict, not placed: fabric alpha, VLAN unknown vs fabric alpha, untagged VLAN vs fabric alpha, VLAN 7 vs fabric zeta, untagged VLAN',
      '  fabric alpha, VLAN unknown:',
      '    eth5 vid 4 -> eth3 vid 4: same_local_fabric_as x2',
      '  fabric alpha, untagged VLAN:',
      '    eth5 -> eth2: same_local_fabric_as x2',
      '  fabric alpha, VLAN 7:',
      '    eth5 -> eth1: same_local_fabric_as x2',
      '  fabric zeta, untagged VLAN:',
      '    eth5 -> eth0: same_local_fabric_as x2',
      '',
    ].join('\n'),
  );
});

t.test('unplaced: seen, unknown and joined to nothing known; known interfaces are not placed again', async (t) => {
  const r = place([...link('eth0', 'eth1'), heard('eth7', 'aa:00:00:00:00:01')], { eth0: { fabric: 'm', vid: 0 } });
  t.same(r.unplaced, ['eth7']);
  t.same(
    r.placements.map((p) => p.ifname),
    ['eth1'],
  );
  t.same(place([], {}), { placements: [], conflicts: [], unplaced: [] });
});

t.test('knownFromExpected: untagged declared -> VLAN 0; tagged-only or by name -> fabric only; alone left out', async (t) => {
  const e = parseExpected(
    'fabrics:\n  m:\n    interfaces:\n      eth0: {}\n      eth1: { untagged: false, vids: [5] }\n  s:\n    interfaces: [eth2]\nalone: [eth3]\n',
    'x',
  );
  t.same(
    [...knownFromExpected(e)],
    [
      ['eth0', { fabric: 'm', vid: 0 }],
      ['eth1', { fabric: 'm' }],
      ['eth2', { fabric: 's' }],
    ],
  );
});

t.test('parseKnownJson', async (t) => {
  t.same(
    [...parseKnownJson('{"eth0": {"fabric": "mgmt", "vid": 0}, "eth1": {"fabric": "storage"}}', 'k.json')],
    [
      ['eth0', { fabric: 'mgmt', vid: 0 }],
      ['eth1', { fabric: 'storage' }],
    ],
  );
  const cases: Array<[string, string]> = [
    ['[]', 'k.json: (top level): must be a mapping, got a list'],
    ['{"eth0": {"fabric": "m", "vid": 4095}}', 'k.json: eth0.vid: must be an integer 0-4094, got 4095'],
    ['{"eth0": {"fabric": "m", "vid": "0"}}', 'k.json: eth0.vid: must be an integer 0-4094, got "0"'],
    ['{"eth0": {"vid": 0}}', 'k.json: eth0.fabric: is required'],
    ['{"eth0": {"fabric": ""}}', 'k.json: eth0.fabric: must be a non-empty string, got ""'],
    ['{"eth0": {"fabric": "m", "vlan": 1}}', 'k.json: eth0.vlan: unknown key (expected "fabric", "vid")'],
    ['{"eth0": "mgmt"}', 'k.json: eth0: must be a mapping, got "mgmt"'],
    ['{"a/b": {"fabric": "m"}}', 'k.json: ["a/b"]: must be an interface name (1-15 bytes, no "/" or whitespace), got "a/b"'],
  ];
  for (const [text, message] of cases) {
    const err = thrown(() => parseKnownJson(text, 'k.json'));
    t.type(err, UsageError, text);
    t.match(err, { code: 'E_KNOWN_FORMAT', exitCode: 2 });
    t.equal((err as Error | undefined)?.message, message);
  }
  t.match((thrown(() => parseKnownJson('{', 'k.json')) as Error).message, /^k\.json: not valid JSON/);
});

t.test("the reference journal's hints: placement from the fixture, and both renderings", async (t) => {
  const hints = JSON.parse(readFileSync(REFERENCE_HINTS, 'utf8')) as TopologyHint[];
  const topology = buildTopology(hints);
  const k = known({ eth0: { fabric: 'mgmt', vid: 0 } });
  const r = placeInterfaces(topology, k);
  t.same(
    r.placements.map((p) => [p.ifname, p.fabric, p.vid, p.rule]),
    [
      ['eth1', 'mgmt', 0, 'maas'],
      ['eth2', 'mgmt', 0, 'maas'],
    ],
  );
  t.equal(
    renderPlacement(r),
    [
      "eth1: fabric mgmt, untagged VLAN (MAAS's rule agrees)",
      '    eth1 -> eth0: rx_own_beacon_on_other_interface, same_local_fabric_as x2',
      "eth2: fabric mgmt, untagged VLAN (MAAS's rule agrees)",
      '    eth2 -> eth0: same_local_fabric_as x2',
      '',
    ].join('\n'),
  );
  const expected = parseExpected(readFileSync(FIXTURE, 'utf8'), 'expected.yaml');
  t.same(placeInterfaces(topology, knownFromExpected(expected)), { placements: [], conflicts: [], unplaced: [] }, 'all declared');
  t.equal(
    renderDrift(detectDrift(expected, topology)),
    [
      '3 drift events:',
      'fabrics_merged: fabrics mgmt and storage are one fabric: eth0, eth1, eth2 are joined',
      '    eth0 -> eth2: same_local_fabric_as x2',
      'interface_missing: eth3, declared alone, is in no hint: no beacon was seen on it',
      '    (nothing seen: a quiet segment looks the same; send beacons and check again)',
      'loop: eth0: our own beacon came back on the interface that sent it (a loop, a broadcast storm or a replay)',
      '    hints: rx_own_beacon_on_tx_interface',
      '',
    ].join('\n'),
  );
});

t.test('renderings of the other cases', async (t) => {
  t.equal(renderPlacement({ placements: [], conflicts: [], unplaced: [] }), 'nothing to place: every interface seen is known\n');
  const mac = '52:54:00:00:00:07';
  const r = place([heard('eth0', mac, 42), heard('eth2', mac, 42)], { eth0: { fabric: 'mgmt', vid: 0 } });
  t.equal(
    renderPlacement({ ...r, unplaced: ['eth9'] }),
    [
      'eth2: fabric mgmt, VLAN unknown (from the fabric view)',
      `    eth2 vid 42 -> eth0 vid 42: both heard ${mac} vid 42 (on_remote_network x2)`,
      'not placed (joined to nothing known): eth9',
      '',
    ].join('\n'),
  );
  const noDrift = detectDrift(parseExpected('alone: [eth0]', 'x'), buildTopology([heard('eth0', mac), heard('eth1', mac, 3)]));
  t.equal(renderDrift(noDrift), 'no drift: what the beacons show agrees with the declared topology\nnot declared (not drift): eth1\n');
  const unexpected = detectDrift(
    parseExpected('fabrics:\n  m:\n    interfaces:\n      eth0: {}\n      eth1: {}\n', 'x'),
    buildTopology([...link('eth0', 'eth1'), ...link('eth0', 'eth1', 5, 5)]),
  );
  t.equal(
    renderDrift(unexpected),
    [
      '2 drift events:',
      'vid_unexpected: eth0 vid 5: VLAN 5 seen, not declared for eth0',
      '    hints: same_local_fabric_as x2',
      'vid_unexpected: eth1 vid 5: VLAN 5 seen, not declared for eth1',
      '    hints: same_local_fabric_as x2',
      '',
    ].join('\n'),
  );
  const oneEvent = detectDrift(parseExpected('alone: [eth0]', 'x'), buildTopology([...link('eth0', 'eth1', 5)]));
  t.equal(
    renderDrift(oneEvent),
    [
      '1 drift event:',
      'not_alone: eth0 is declared alone but shares a fabric with eth1',
      '    eth0 vid 5 -> eth1: same_local_fabric_as x2',
      'not declared (not drift): eth1',
      '',
    ].join('\n'),
  );
  // eth1 reaches eth7 only through eth0's two VLANs.
  const trunk = detectDrift(parseExpected('alone: [eth1]', 'x'), buildTopology([...link('eth1', 'eth0', undefined, 5), ...link('eth0', 'eth7')]));
  t.match(
    renderDrift(trunk),
    /\n {4}eth1 -> eth0 vid 5: same_local_fabric_as x2\n {4}eth0 vid 5 -> eth0: VLANs of one interface\n {4}eth0 -> eth7: same_local_fabric_as x2\n/,
  );
});
