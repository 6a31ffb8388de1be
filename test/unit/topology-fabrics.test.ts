import t from 'tap';
import { readFileSync } from 'node:fs';
import type { TopologyHint } from '../../src/topology/hints';
import { formatTable, renderHintsTable, renderTopology } from '../../src/topology/render';
import { buildTopology, type Topology } from '../../src/topology/fabrics';
import { vector } from '../helpers/corpus';

const P0 = '52:54:00:99:00:00';
const P1 = '52:54:00:99:00:01';

/** Host R: r0 and r1 on bridge X, r2 on bridge Y. Peer P: p0 on X, p1 on Y. What R learns: */
const XY: TopologyHint[] = [
  // R's own solicitations, each heard on the other X leg (and r0's on itself: a loop).
  { hint: 'rx_own_beacon_on_other_interface', ifname: 'r0', related_ifname: 'r1' },
  { hint: 'rx_own_beacon_on_other_interface', ifname: 'r1', related_ifname: 'r0' },
  { hint: 'rx_own_beacon_on_tx_interface', ifname: 'r0', related_ifname: 'r0' },
  // P's multicast from p0, heard on r0 and r1; from p1, heard on r2.
  { hint: 'on_remote_network', ifname: 'r0', related_ifname: 'p0', related_mac: P0 },
  { hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p0', related_mac: P0 },
  { hint: 'same_local_fabric_as', ifname: 'r0', related_ifname: 'r1' },
  { hint: 'same_local_fabric_as', ifname: 'r1', related_ifname: 'r0' },
  { hint: 'on_remote_network', ifname: 'r2', related_ifname: 'p1', related_mac: P1 },
  // P's unicast replies: one straight back, and one that P routed out of p0 to r2's address.
  { hint: 'routable_to', ifname: 'r0', related_ifname: 'p0', related_mac: P0 },
  { hint: 'routable_to', ifname: 'r2', related_ifname: 'p0', related_mac: P0 },
];

const names = (topo: Topology): string[][] => topo.fabrics.map((f) => f.segments.map((s) => (s.vid === undefined ? s.ifname : `${s.ifname}.${s.vid}`)));

t.test('X/Y: a peer with a leg on each bridge does not merge them', async (t) => {
  const topo = buildTopology(XY);
  t.same(names(topo), [['r0', 'r1'], ['r2']]);
  const [x, y] = topo.fabrics;
  t.equal(x!.name, 'fabric-0');
  t.equal(y!.name, 'fabric-1');
  t.same(
    x!.links,
    [
      {
        segments: [{ ifname: 'r0' }, { ifname: 'r1' }],
        hints: [
          { hint: 'rx_own_beacon_on_other_interface', ifname: 'r0', related_ifname: 'r1' },
          { hint: 'rx_own_beacon_on_other_interface', ifname: 'r1', related_ifname: 'r0' },
          { hint: 'same_local_fabric_as', ifname: 'r0', related_ifname: 'r1' },
          { hint: 'same_local_fabric_as', ifname: 'r1', related_ifname: 'r0' },
        ],
      },
    ],
    'the join between r0 and r1, with every hint that supports it',
  );
  t.same(x!.peers, [
    {
      mac: P0,
      ifname: 'p0',
      seen_on: [
        {
          segment: { ifname: 'r0' },
          joins: true,
          hints: [
            { hint: 'on_remote_network', ifname: 'r0', related_ifname: 'p0', related_mac: P0 },
            { hint: 'routable_to', ifname: 'r0', related_ifname: 'p0', related_mac: P0 },
          ],
        },
        { segment: { ifname: 'r1' }, joins: true, hints: [{ hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p0', related_mac: P0 }] },
      ],
    },
  ]);
  t.same(x!.loops, [{ hint: 'rx_own_beacon_on_tx_interface', ifname: 'r0', related_ifname: 'r0' }]);
  t.same(y!.links, []);
  t.same(
    y!.peers.map((p) => [p.ifname, p.seen_on.map((s) => [s.segment.ifname, s.joins])]),
    [
      ['p0', [['r2', false]]],
      ['p1', [['r2', true]]],
    ],
    'p0 is listed on Y as routable, not joined',
  );
  t.same(y!.loops, []);
});

t.test('X/Y with routable_to joining (the opt-in) shows why it is off', async (t) => {
  t.same(names(buildTopology(XY, { joinOnRoutable: true })), [['r0', 'r1', 'r2']]);
  t.same(
    names(
      buildTopology(
        XY.filter((h) => !(h.hint === 'routable_to' && h.ifname === 'r2')),
        { joinOnRoutable: true },
      ),
    ),
    [['r0', 'r1'], ['r2']],
  );
});

t.test('peers are joined on their MAC and VID, not the MAC alone', async (t) => {
  const topo = buildTopology([
    { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'ens5', related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth1', vid: 42, related_ifname: 'ens5.42', related_vid: 42, related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth2', vid: 42, related_ifname: 'ens5.42', related_vid: 42, related_mac: P0 },
  ]);
  t.same(names(topo), [['eth0'], ['eth1.42', 'eth2.42']]);
  t.same(
    topo.fabrics[1]!.peers.map((p) => [p.mac, p.ifname, p.vid]),
    [[P0, 'ens5.42', 42]],
  );
});

t.test('peers in one fabric are listed by MAC, then VID, then name', async (t) => {
  const topo = buildTopology([
    { hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth1' },
    { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'b', related_vid: 9, related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth1', related_ifname: 'a', related_vid: 9, related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'z', related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth1', related_ifname: 'c', related_mac: P1 },
  ]);
  t.same(names(topo), [['eth0', 'eth1']]);
  t.same(
    topo.fabrics[0]!.peers.map((p) => `${p.mac} ${p.vid ?? '-'} ${p.ifname}`),
    [`${P0} - z`, `${P0} 9 a`, `${P0} 9 b`, `${P1} - c`],
  );
  // Hints arrive sorted by their own key (local ifname first), an order unrelated to the peers'.
  const scrambled = ['m5 x', 'm1 y', 'm3 a', 'm1 b', 'm2 q', 'm3 b', 'm0 z'].map((spec, i) => {
    const [mac, name] = spec.split(' ') as [string, string];
    return { hint: 'on_remote_network' as const, ifname: `eth${i % 2}`, related_ifname: name, related_mac: mac };
  });
  const peers = buildTopology([{ hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth1' }, ...scrambled]).fabrics[0]!.peers;
  t.same(
    peers.map((p) => `${p.mac} ${p.ifname}`),
    ['m0 z', 'm1 b', 'm1 y', 'm2 q', 'm3 a', 'm3 b', 'm5 x'],
  );
});

t.test('one remote leg reported under two names is one join, two listings', async (t) => {
  const topo = buildTopology([
    { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'old', related_mac: P0 },
    { hint: 'on_remote_network', ifname: 'eth1', related_ifname: 'new', related_mac: P0 },
  ]);
  t.same(names(topo), [['eth0', 'eth1']]);
  t.same(
    topo.fabrics[0]!.peers.map((p) => p.ifname),
    ['new', 'old'],
  );
});

t.test('VLANs of one interface are separate segments until a hint joins them', async (t) => {
  const hints: TopologyHint[] = [
    { hint: 'rx_own_beacon_on_tx_interface', ifname: 'eth0', related_ifname: 'eth0', related_vid: 5 },
    { hint: 'same_local_fabric_as', ifname: 'eth1', vid: 7, related_ifname: 'eth1' },
  ];
  const topo = buildTopology(hints);
  t.same(names(topo), [['eth0'], ['eth0.5'], ['eth1', 'eth1.7']], 'a loop joins nothing, even across VIDs');
  t.same(topo.fabrics[0]!.loops, [hints[0]]);
  t.same(topo.fabrics[1]!.loops, []);
});

t.test('malformed hints are skipped rather than invented into joins', async (t) => {
  const topo = buildTopology([
    { hint: 'same_local_fabric_as', ifname: 'eth0' },
    { hint: 'same_local_fabric_as', ifname: 'eth1', related_ifname: 'eth1' },
    { hint: 'on_remote_network', ifname: 'eth2', related_ifname: 'p' },
    { hint: 'routable_to', ifname: 'eth3', related_mac: P0 },
  ]);
  t.same(names(topo), [['eth0'], ['eth1'], ['eth2'], ['eth3']]);
  t.same(
    topo.fabrics.flatMap((f) => [...f.links, ...f.peers]),
    [],
  );
});

t.test('fabrics are numbered in segment order whatever the hint order', async (t) => {
  const a = buildTopology(XY);
  const b = buildTopology([...XY].reverse());
  t.same(a, b);
  t.same(buildTopology([]), { fabrics: [] });
});

t.test("the reference journal's hints: eth0-2 on one fabric, eth0 VID 42 apart", async (t) => {
  const hints = JSON.parse(readFileSync(vector('hints.json'), 'utf8')) as TopologyHint[];
  const topo = buildTopology(hints);
  t.same(names(topo), [['eth0', 'eth1', 'eth2'], ['eth0.42']]);
  t.same(JSON.parse(JSON.stringify(topo)), topo, 'plain JSON data');
});

t.test('the table says why each segment landed where it did', async (t) => {
  const text = renderTopology(buildTopology(XY));
  t.match(text, /^fabric-0: 2 segments, 1 peer interface$/m);
  t.match(text, /^ {2}r0 {7}r1: rx_own_beacon_on_other_interface, same_local_fabric_as$/m);
  t.match(text, /^ {11}peer p0 52:54:00:99:00:00: on_remote_network, routable_to, also heard on r1$/m);
  t.match(text, /^ {2}loop: r0 received its own beacon back on r0 \(rx_own_beacon_on_tx_interface\)$/m);
  t.match(text, /^fabric-1: 1 segment, 2 peer interfaces$/m);
  t.match(text, /^ {2}r2 {7}peer p1 52:54:00:99:00:01: on_remote_network$/m);
  t.match(text, /^ {2}52:54:00:99:00:00 {2}p0 {9}- {4}r2 \(routable_to, not joined\)$/m);
  t.notMatch(text, / +$/m, 'no trailing blanks');

  const vlan = renderTopology(
    buildTopology([
      { hint: 'on_remote_network', ifname: 'eth0', vid: 42, related_ifname: 'ens5.42', related_vid: 42, related_mac: P0 },
      { hint: 'rx_own_beacon_on_tx_interface', ifname: 'eth1', related_ifname: 'eth1', related_vid: 3 },
      { hint: 'rx_own_beacon_on_tx_interface', ifname: 'eth2' },
    ]),
  );
  t.match(vlan, /^ {2}eth0 vid 42 {2}peer ens5\.42 vid 42 52:54:00:99:00:00: on_remote_network$/m);
  t.match(vlan, /^ {2}52:54:00:99:00:00 {2}ens5\.42 {4}42 {3}eth0 vid 42 \(on_remote_network\)$/m);
  t.match(vlan, /^ {2}eth1 {5}alone: no hint joins it to another segment$/m);
  t.match(vlan, /^ {2}eth1 vid 3 {2}alone: no hint joins it to another segment$/m, 'the far side of a loop is a segment too');
  t.match(vlan, /^ {2}loop: eth1 received its own beacon back on eth1 vid 3/m);
  t.match(vlan, /^ {2}loop: eth2 received its own beacon back on eth2 /m, 'a loop hint without its related side');
  t.match(vlan, /^fabric-1: 1 segment, 0 peer interfaces$/m);
  t.equal(renderTopology({ fabrics: [] }), 'no fabrics: no topology hints\n');
});

t.test('the hints table', async (t) => {
  const text = renderHintsTable(XY.slice(0, 4));
  t.equal(
    text,
    [
      'HINT                              IFNAME  VID  RELATED_IFNAME  RELATED_VID  RELATED_MAC',
      'on_remote_network                 r0      -    p0              -            52:54:00:99:00:00',
      'rx_own_beacon_on_other_interface  r0      -    r1              -            -',
      'rx_own_beacon_on_other_interface  r1      -    r0              -            -',
      'rx_own_beacon_on_tx_interface     r0      -    r0              -            -',
      '',
    ].join('\n'),
  );
  t.match(renderHintsTable([{ hint: 'routable_to', ifname: 'e', vid: 4, related_vid: 5 }]), /routable_to {2}e {7}4 {4}- {15}5 {12}-/);
  t.equal(renderHintsTable([]), 'no topology hints\n');
  t.same(
    formatTable(
      [
        ['a', 'bb'],
        ['ccc', ''],
      ],
      '> ',
    ),
    ['> a    bb', '> ccc'],
    'padding, indent, no trailing blanks',
  );
});
