/**
 * The fleet map's DOM-free parts, in Node: the server's model as graph
 * elements (ids, nesting, finding marks), the view in the URL, the shelf
 * packing and the table's rows. The browser test (test/browser/) drives
 * the whole page; these pin the pieces down.
 */
import t from 'tap';
import { buildFleetModel } from '../../src/fleet/model/model';
import { buildMapModel, fabricId, fromOverview, hostId, joinId, joinLabel, labelWidth, segmentId } from '../../web/src/model';
import { topologyOverview } from '../../src/fleet/model/cache';
import { EMPTY_VIEW, formatView, hasFilters, parseView, segmentMatches, segmentPasses } from '../../web/src/view';
import { packPositions, type PackNode } from '../../web/src/pack';
import { rowOf, tsvOf, visibleSegments, COLUMNS } from '../../web/src/rows';
import { EDGES_ZOOM, labelsReadable, stylesheet } from '../../web/src/style';
import { seedReports } from '../helpers/fleet-map';
import { record, T0 } from '../helpers/fleet-reports';

function seededTopology() {
  const r = seedReports();
  const hosts = [
    ...r.stale.map((x) => record(x, T0)),
    ...r.before.filter((x) => x.host !== 'rack2').map((x) => record(x, T0 + 100_000)),
    ...r.after.map((x) => record(x, T0 + 100_000)),
  ];
  return buildFleetModel({ hosts, names: new Map(), nowMs: T0 + 100_000 }).topology;
}

t.test('the overview (no hints) draws the same elements as the full topology', async (t) => {
  const topo = seededTopology();
  t.ok(
    topo.fabrics.some((f) => f.joins.some((j) => j.hints.length > 0)),
    'a model with hints',
  );
  const over = fromOverview(JSON.parse(JSON.stringify(topologyOverview(topo))) as ReturnType<typeof topologyOverview>);
  t.same(
    over,
    { ...topo, fabrics: topo.fabrics.map((f) => ({ ...f, joins: f.joins.map((j) => ({ ...j, hints: [] })) })) },
    'the topology, every join without hints',
  );
  const a = buildMapModel(topo);
  const b = buildMapModel(over);
  t.same(
    b.nodes.map((n) => [n.data, n.classes]),
    a.nodes.map((n) => [n.data, n.classes]),
    'the same nodes, data and classes',
  );
  t.same(
    b.edges.map((e) => [e.data.id, e.data.source, e.data.target, e.classes]),
    a.edges.map((e) => [e.data.id, e.data.source, e.data.target, e.classes]),
    'the same edges',
  );
});

t.test('the model as elements: fabrics hold hosts hold segments; joins are edges', async (t) => {
  const topo = seededTopology();
  const m = buildMapModel(topo);
  const byId = new Map(m.nodes.map((n) => [n.data.id, n]));
  for (const f of topo.fabrics) {
    t.ok(byId.has(fabricId(f.name)), `${f.name} is a group`);
    for (const h of f.hosts) t.equal(byId.get(hostId(f.name, h))?.data.parent, fabricId(f.name), `${h} inside ${f.name}`);
    for (const s of f.segments) t.equal(byId.get(segmentId(s))?.data.parent, hostId(f.name, s.host));
  }
  t.equal(
    m.edges.length,
    topo.fabrics.reduce((n, f) => n + f.joins.length, 0),
    'one edge per join',
  );
  for (const e of m.edges) t.ok(byId.has(e.data.source) && byId.has(e.data.target), `${e.data.id} joins two segments`);
  t.same(
    m.edges.map((e) => e.data.id),
    topo.fabrics.flatMap((f) => f.joins.map((j) => joinId(j))),
    'each edge named joinId of its join',
  );
  // Names JSON must escape: an edge's id is built from its ends' ids, and must still be joinId's.
  const odd = { a: { host: 'h"1\\', interface: 'é\u2028', vid: 7 }, b: { host: '', interface: ',]', vid: null } };
  const oddTopo = {
    ...topo,
    fabrics: [{ ...topo.fabrics[0]!, hosts: ['h"1\\', ''], segments: [odd.a, odd.b], joins: [{ ...odd, kind: 'local' as const, hints: [] }] }],
  };
  t.same(
    buildMapModel(oddTopo).edges.map((e) => e.data.id),
    [joinId(odd)],
    'an edge of odd names too',
  );
  t.equal(new Set(m.nodes.map((n) => n.data.id)).size, m.nodes.length, 'ids are unique');
  t.equal(segmentId({ host: 'a', interface: 'b"c', vid: null }), 's["a","b\\"c",null]', 'any name maps to one id (JSON)');
});

t.test('findings are marked on the elements they name', async (t) => {
  const m = buildMapModel(seededTopology());
  const classes = (id: string) => [...m.nodes, ...m.edges].find((e) => e.data.id === id)?.classes.split(' ') ?? [];
  const tagged = segmentId({ host: 'rack1', interface: 'eth0', vid: 100 });
  t.ok(classes(tagged).includes('f-native_vlan_mismatch'));
  t.ok(classes(tagged).includes('tagged'));
  t.match(m.nodes.find((n) => n.data.id === tagged)!.data.label, /⚠$/, 'the label says so too');
  const mismatch = m.edges.find((e) => e.classes.includes('f-native_vlan_mismatch'));
  t.ok(mismatch, 'the mismatched join');
  t.ok(classes(segmentId({ host: 'node1', interface: 'n1', vid: null })).includes('f-duplicate_mac'));
  t.ok(classes(segmentId({ host: 'rack2', interface: 'ens4', vid: null })).includes('f-unknown_mac'));
  const old1 = m.nodes.find((n) => n.data.kind === 'host' && n.data.host === 'old1')!;
  t.ok(old1.classes.includes('stale'));
  t.equal(old1.data.label, 'old1 (stale)');
  t.ok(m.index.hosts.get('old1')?.stale);
  const info = m.index.segments.get(segmentId({ host: 'rack1', interface: 'eth0', vid: null }))!;
  t.equal(info.placement?.interface, 'eth0', 'a segment knows its interface’s placement');
  t.ok(info.joins.length >= 2);
  const ens4 = m.nodes.find((n) => n.data.id === segmentId({ host: 'rack2', interface: 'ens4', vid: null }))!;
  t.notOk(ens4.classes.includes('p-disagrees'), 'MAAS would make a new fabric for ens4: not a disagreement with another fabric');
  t.equal(joinLabel({ a: info.segment, b: info.segment, kind: 'interface', hints: [] }), 'same interface');
  t.match(joinLabel({ a: info.segment, b: info.segment, kind: 'peer', hints: [], peer: { mac: 'm', ifname: 'x' } }), /via x m/);
  t.equal(joinId({ a: info.segment, b: info.segment }).startsWith('j'), true);
  t.ok(labelWidth('eth0') < labelWidth('eth0 · 100'));
});

t.test('every class the model gives a finding has a style, small maps and large', async (t) => {
  for (const large of [false, true]) {
    const selectors = stylesheet(large).map((b) => ('selector' in b ? b.selector : ''));
    for (const c of ['f-native_vlan_mismatch', 'f-duplicate_mac', 'f-unknown_mac', 'stale', 'p-disagrees', 'hidden', 'match', 'ghost'])
      t.ok(
        selectors.some((s) => s.includes(`.${c}`)),
        `${c} (${large ? 'large' : 'small'})`,
      );
  }
});

t.test('a large map labels its nodes from the zoom at which the renderer draws a label, past the joins', async (t) => {
  // The renderer draws a 13 px label at 8 px and more, at the zoom rounded up to a power of two.
  t.notOk(labelsReadable(0.1, 1), 'the overview');
  t.notOk(labelsReadable(EDGES_ZOOM, 1), `not yet where the joins come (${EDGES_ZOOM})`);
  t.ok(labelsReadable(0.51, 1), 'from above 0.5');
  t.ok(labelsReadable(0.3, 2), 'earlier on a screen of two device pixels a pixel');
  t.notOk(labelsReadable(0.25, 2));
});

t.test('the view lives in the query string and survives a round trip', async (t) => {
  const v = parseView('?host=rack1,rack2&fabric=fabric-0&vid=untagged,0100,5000,x&q=eth&view=table&sel=s%5B%22a%22%5D');
  t.same(v.host, ['rack1', 'rack2']);
  t.same(v.vid, ['untagged', '100'], 'bad VIDs are dropped, good ones normalised');
  t.equal(v.view, 'table');
  t.equal(v.sel, 's["a"]');
  t.same(parseView(formatView(v)), v, 'round trip');
  t.equal(formatView(EMPTY_VIEW), '', 'the default view is the bare URL');
  t.same(parseView('?view=bogus&host='), EMPTY_VIEW, 'nonsense is ignored');
  t.ok(hasFilters(v));
  t.notOk(hasFilters(EMPTY_VIEW));
  const d = { host: 'rack1', fabric: 'fabric-0', vid: '100', interface: 'eth0' };
  t.ok(segmentPasses(d, v));
  t.notOk(segmentPasses({ ...d, host: 'node1' }, v));
  t.notOk(segmentPasses({ ...d, vid: '200' }, v));
  t.ok(segmentPasses(d, EMPTY_VIEW), 'no filter passes everything');
  t.ok(segmentMatches(d, 'ETH'), 'case-insensitive');
  t.ok(segmentMatches(d, 'vid 100'));
  t.ok(segmentMatches(d, '0a:00', ['52:54:00:0a:00:01']), 'by MAC');
  t.notOk(segmentMatches(d, '  '), 'an empty search matches nothing');
});

t.test('the shelf packing: children inside parents, siblings apart', async (t) => {
  const nodes: PackNode[] = [
    { id: 'f', w: 0, h: 0 },
    ...[0, 1, 2, 3].map((i) => ({ id: `h${i}`, parent: 'f', w: 0, h: 0 })),
    ...[0, 1, 2, 3].flatMap((i) => [0, 1].map((j) => ({ id: `s${i}${j}`, parent: `h${i}`, w: 50, h: 18 }))),
    { id: 'lonely', w: 30, h: 18 },
  ];
  const pos = packPositions(nodes);
  t.same([...pos.keys()].sort(), nodes.map((n) => n.id).sort(), 'a place for every node, compounds too');
  const leaves = [...pos.entries()].filter(([id]) => id.startsWith('s') || id === 'lonely');
  const boxes = leaves.map(([id, p]) => ({ id, x1: p.x - p.w / 2, x2: p.x + p.w / 2, y1: p.y - p.h / 2, y2: p.y + p.h / 2 }));
  for (const a of boxes)
    for (const b of boxes) if (a.id < b.id) t.ok(a.x2 <= b.x1 || b.x2 <= a.x1 || a.y2 <= b.y1 || b.y2 <= a.y1, `${a.id} and ${b.id} do not overlap`);
  const inside = (c: string, p: string): boolean => {
    const a = pos.get(c)!;
    const b = pos.get(p)!;
    return a.x - a.w / 2 >= b.x - b.w / 2 && a.x + a.w / 2 <= b.x + b.w / 2 && a.y - a.h / 2 >= b.y - b.h / 2 && a.y + a.h / 2 <= b.y + b.h / 2;
  };
  for (const n of nodes) if (n.parent) t.ok(inside(n.id, n.parent), `${n.id} inside ${n.parent}`);
  t.same(packPositions(nodes), pos, 'deterministic');
  t.equal(packPositions([]).size, 0);
});

t.test('the table rows: one per shown segment, tab-separated to copy', async (t) => {
  const m = buildMapModel(seededTopology());
  const all = visibleSegments(m, EMPTY_VIEW);
  t.equal(all.length, m.index.segments.size);
  const rack2 = visibleSegments(m, parseView('?host=rack2'));
  t.ok(rack2.length > 0 && rack2.every((s) => s.segment.host === 'rack2'));
  t.same(
    visibleSegments(m, parseView('?q=ens3')).map((s) => s.segment.interface),
    ['ens3'],
  );
  const tagged = rowOf(m.index.segments.get(segmentId({ host: 'rack1', interface: 'eth0', vid: 100 }))!);
  t.equal(tagged.length, COLUMNS.length);
  t.equal(tagged[3], '100');
  t.match(tagged[4], /node1\/n0/);
  t.match(tagged[5], /native_vlan_mismatch/);
  t.match(rowOf(m.index.segments.get(segmentId({ host: 'old1', interface: 'eth0', vid: null }))!)[1], /\(stale\)/);
  const tsv = tsvOf(m, parseView('?host=rack2'));
  const lines = tsv.trimEnd().split('\n');
  t.equal(lines[0], COLUMNS.join('\t'));
  t.equal(lines.length, rack2.length + 1);
  t.ok(
    lines.every((l) => l.split('\t').length === COLUMNS.length),
    'no tab or newline inside a cell',
  );
});
