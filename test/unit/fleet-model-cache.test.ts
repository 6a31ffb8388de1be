/**
 * The builder that reuses the last model's joins gives buildFleetModel's
 * answer, whatever the next input is; and the topology document made from
 * parts is JSON.stringify's, byte for byte.
 */
import t, { type Test } from 'tap';
import { buildFleetModel, type ModelInput } from '../../src/fleet/model/model';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FleetModelBuilder, sameJoins, shareUnchanged, topologyBytes, topologyJson } from '../../src/fleet/model/cache';
import { jsonEqual } from '../../src/fleet/model/json-equal';
import { sendJsonParts, whenPartsSent } from '../../src/fleet/web';
import type { FleetModel, HostRecord } from '../../src/fleet/model/types';
import { iface, local, record, remote, report, T0 } from '../helpers/fleet-reports';

const A0 = '52:54:00:0a:00:00';
const A1 = '52:54:00:0a:00:01';
const B0 = '52:54:00:0b:00:00';
const C0 = '52:54:00:0c:00:00';
const D0 = '52:54:00:0d:00:00';

const rack1 = (seq: number, hints = [remote('eth0', 'ens3', B0), local('eth0', 'eth1'), local('eth1', 'eth0'), remote('eth1', 'x', D0)]) =>
  report('rack1', [iface('eth0', A0), iface('eth1', A1, { vids: [7] })], hints, { seq, counters: { sent: seq } });
const rack2 = (seq: number) =>
  report('rack2', [iface('ens3', B0)], [remote('ens3', 'eth0', A0), remote('ens3', 'eth1', A1, { vid: 7, related_vid: 7 })], { seq });
const rack3 = (seq: number) => report('rack3', [iface('p0', C0)], [], { seq, period_seconds: 10 });

/** Builds `input` with `b` and checks it against a full computation; returns the model and how it was made. */
function check(t: Test, b: FleetModelBuilder, input: ModelInput, kind: 'full' | 'reused' | 'incremental', what: string): FleetModel {
  const m = b.build(input);
  t.equal(b.lastKind, kind, `${what}: ${kind}`);
  const full = buildFleetModel(input);
  t.same(m, full, `${what}: the same model as buildFleetModel`);
  t.ok(topologyJson(m.topology).equals(Buffer.from(JSON.stringify(full.topology))), `${what}: the same document bytes`);
  return m;
}

const at = (r: HostRecord['report'], receivedAtMs: number): HostRecord => record(r, receivedAtMs, T0);

t.test('a model whose hosts changed only their times and counters reuses the joins; a change of joins computes only what it affects', async (t) => {
  const b = new FleetModelBuilder();
  const m0 = check(t, b, { hosts: [at(rack1(1), T0), at(rack2(1), T0), at(rack3(1), T0)], names: new Map(), nowMs: T0 }, 'full', 'the first model');
  let names = m0.derived.fabrics;

  const m1 = check(
    t,
    b,
    { hosts: [at(rack3(2), T0 + 5_000), at(rack2(2), T0 + 5_000), at(rack1(2), T0 + 5_000)], names, nowMs: T0 + 6_000 },
    'reused',
    'new seqs, same hints',
  );
  t.equal(m1.topology.fabrics, m0.topology.fabrics, 'the fabrics are shared, not copied');
  t.equal(m1.topology.generated_at, new Date(T0 + 6_000).toISOString());

  // rack3 (period 10 s) falls silent: stale, with its finding, from the same joins.
  const m2 = check(
    t,
    b,
    { hosts: [at(rack1(3), T0 + 40_000), at(rack2(3), T0 + 40_000), at(rack3(2), T0 + 5_000)], names, nowMs: T0 + 41_000 },
    'reused',
    'a host goes stale',
  );
  t.same(m2.topology.hosts, { total: 3, stale: 1 });
  t.same(
    m2.topology.findings.map((f) => f.kind),
    ['native_vlan_mismatch', 'stale_host', 'unknown_mac'],
  );
  t.equal(m2.derived.presence.get('rack3'), 'stale');

  // And reports again: the stale finding goes, the others stay.
  const m3 = check(
    t,
    b,
    { hosts: [at(rack1(4), T0 + 50_000), at(rack2(4), T0 + 50_000), at(rack3(3), T0 + 50_000)], names, nowMs: T0 + 50_500 },
    'reused',
    'it reports again',
  );
  t.same(
    m3.topology.findings.map((f) => f.kind),
    ['native_vlan_mismatch', 'unknown_mac'],
  );
  names = m3.derived.fabrics;

  const moved = rack1(5, [remote('eth0', 'ens3', B0), local('eth1', 'eth0')]);
  const m4 = check(
    t,
    b,
    { hosts: [at(moved, T0 + 60_000), at(rack2(5), T0 + 60_000), at(rack3(4), T0 + 60_000)], names, nowMs: T0 + 60_000 },
    'incremental',
    'a hint went',
  );
  t.not(m4.topology.fabrics, m3.topology.fabrics);
  names = m4.derived.fabrics;

  const renamed = report('rack2', [iface('ens3', B0, { vids: [9] })], [...rack2(6).hints], { seq: 6 });
  names = check(
    t,
    b,
    { hosts: [at(moved, T0 + 61_000), at(renamed, T0 + 61_000), at(rack3(5), T0 + 61_000)], names, nowMs: T0 + 61_000 },
    'incremental',
    'an interface changed',
  ).derived.fabrics;

  check(t, b, { hosts: [at(moved, T0 + 62_000), at(renamed, T0 + 62_000)], names, nowMs: T0 + 62_000 }, 'incremental', 'a host left');
  check(
    t,
    b,
    { hosts: [at(moved, T0 + 63_000), at(renamed, T0 + 63_000), at(rack3(6), T0 + 63_000)], names, nowMs: T0 + 63_000 },
    'incremental',
    'a host came',
  );
  const other = report('rack4', [iface('p0', C0)], [], { seq: 7, period_seconds: 10 });
  names = b.build({ hosts: [at(moved, T0 + 64_000), at(renamed, T0 + 64_000), at(rack3(7), T0 + 64_000)], names, nowMs: T0 + 64_000 }).derived.fabrics;
  check(
    t,
    b,
    { hosts: [at(moved, T0 + 65_000), at(renamed, T0 + 65_000), at(other, T0 + 65_000)], names, nowMs: T0 + 65_000 },
    'incremental',
    'as many hosts, another name',
  );
});

t.test('names other than the last model own (another server committed) are applied without computing the joins again', async (t) => {
  const b = new FleetModelBuilder();
  const hosts = [at(rack1(1), T0), at(rack2(1), T0), at(rack3(1), T0)];
  const m0 = check(t, b, { hosts, names: new Map(), nowMs: T0 }, 'full', 'first');
  // The same input names object again: reused.
  check(t, b, { hosts, names: m0.derived.fabrics, nowMs: T0 + 1 }, 'reused', 'its own names');
  const elsewhere = new Map([...m0.derived.fabrics].map(([k, v]) => [k, v === 'fabric-0' ? 'fabric-7' : v]));
  const m2 = check(t, b, { hosts, names: elsewhere, nowMs: T0 + 2 }, 'incremental', 'names from the database');
  t.ok(
    m2.topology.fabrics.some((f) => f.name === 'fabric-7'),
    'the stored name is kept',
  );
  check(t, b, { hosts, names: elsewhere, nowMs: T0 + 3 }, 'reused', 'the same stored names again');
});

t.test('jsonEqual and sameJoins', async (t) => {
  t.ok(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 }), 'key order does not matter');
  t.ok(jsonEqual({ a: 1, b: undefined }, { a: 1 }), 'an undefined key is an absent one, as in JSON');
  t.notOk(jsonEqual({ a: 1 }, { a: 1, b: 2 }));
  t.notOk(jsonEqual({ a: 1, b: 2 }, { a: 1, c: 2 }));
  t.notOk(jsonEqual([1, 2], [1, 2, 3]));
  t.notOk(jsonEqual([1], { 0: 1 }));
  t.notOk(jsonEqual({ 0: 1 }, [1]));
  t.notOk(jsonEqual(null, {}));
  t.notOk(jsonEqual(1, '1'));
  t.notOk(jsonEqual({ a: [1] }, { a: [2] }));
  t.ok(sameJoins(rack1(1), rack1(9)), 'seq and counters do not join anything');
  t.notOk(sameJoins(rack1(1), report('rack9', [...rack1(1).interfaces], [...rack1(1).hints])), 'another host');
  t.notOk(sameJoins(rack1(1), rack1(1, [])), 'other hints');
});

t.test('shareUnchanged: a report takes the lists of the one before that are equal to its own, and nothing else', async (t) => {
  const before = rack1(1);
  const next = rack1(2);
  const shared = shareUnchanged(before, next);
  t.equal(shared.interfaces, before.interfaces, 'equal interfaces: the list before');
  t.equal(shared.hints, before.hints, 'equal hints: the list before');
  t.equal(shared.seq, 2, 'its own seq');
  t.same(shared.counters, { sent: 2 }, 'its own counters');
  t.equal(shared.peers, next.peers, 'its own peers');
  t.same(shared, next, 'the same report as it came');

  const moved = rack1(3, [remote('eth0', 'ens3', B0)]);
  const half = shareUnchanged(before, moved);
  t.equal(half.interfaces, before.interfaces, 'the interfaces did not change: shared');
  t.equal(half.hints, moved.hints, 'the hints changed: its own');
  t.same(half, moved);

  const renamed = report('rack1', [iface('eth9', A0)], [...before.hints], { seq: 4 });
  t.equal(shareUnchanged(before, renamed).interfaces, renamed.interfaces, 'other interfaces: its own');
  const other = report('rack9', [...before.interfaces], [...before.hints], { seq: 5 });
  t.equal(shareUnchanged(before, other), other, 'another host: nothing shared');
  t.equal(shareUnchanged(next, next), next, 'itself: as it is');
  t.equal(shareUnchanged(rack1(6), rack1(7, [remote('eth1', 'x', D0)])).hints.length, 1, 'a shorter list is its own');

  // The builder sees the shared lists and reuses its joins; the model is buildFleetModel's.
  const b = new FleetModelBuilder();
  const m0 = check(t, b, { hosts: [at(before, T0), at(rack2(1), T0)], names: new Map(), nowMs: T0 }, 'full', 'before');
  check(t, b, { hosts: [at(shared, T0 + 1_000), at(rack2(2), T0 + 1_000)], names: m0.derived.fabrics, nowMs: T0 + 2_000 }, 'reused', 'shared lists');
  check(
    t,
    b,
    { hosts: [at(half, T0 + 3_000), at(rack2(3), T0 + 3_000)], names: m0.derived.fabrics, nowMs: T0 + 4_000 },
    'incremental',
    'shared interfaces, own hints',
  );
});

t.test('the document from parts is JSON.stringify, also for an empty fleet', async (t) => {
  const empty = buildFleetModel({ hosts: [], names: new Map(), nowMs: T0 });
  t.ok(topologyJson(empty.topology).equals(Buffer.from(JSON.stringify(empty.topology))));
  const m = buildFleetModel({ hosts: [record(rack1(1)), record(rack2(1))], names: new Map(), nowMs: T0 });
  const once = topologyJson(m.topology);
  t.ok(topologyJson(m.topology).equals(once), 'made again from the cached parts');
  t.same(JSON.parse(once.toString()), JSON.parse(JSON.stringify(m.topology)));
  t.equal(topologyJson({} as never).toString(), '{}');
});

t.test('the topology over HTTP in parts: the bytes, the length, and an ETag per document', async (t) => {
  const b = new FleetModelBuilder();
  const hosts = [record(rack1(1)), record(rack2(1))];
  const m0 = b.build({ hosts, names: new Map(), nowMs: T0 });
  const m1 = b.build({ hosts, names: m0.derived.fabrics, nowMs: T0 + 1_000 });
  t.equal(b.lastKind, 'reused');
  let doc = topologyBytes(m0.topology);
  const server = createServer((req, res) => void sendJsonParts(req, res, doc));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/topology`;

  const first = await fetch(url);
  t.equal(first.status, 200);
  t.equal(first.headers.get('content-type'), 'application/json');
  t.equal(Number(first.headers.get('content-length')), Buffer.byteLength(JSON.stringify(m0.topology)));
  t.equal(await first.text(), JSON.stringify(m0.topology), 'the parts make JSON.stringify of the document');
  const etag0 = first.headers.get('etag')!;
  t.match(etag0, /^"[A-Za-z0-9_-]{22}"$/);
  t.equal((await fetch(url, { headers: { 'if-none-match': etag0 } })).status, 304, 'the same document: 304');
  t.equal(topologyBytes(m0.topology).etag, etag0, 'made again, the same ETag');

  // The next model shares the fabrics and placements, but it is another document.
  doc = topologyBytes(m1.topology);
  t.equal(
    doc.parts.find((p) => p.length > 100),
    topologyBytes(m0.topology).parts.find((p) => p.length > 100),
    'the shared JSON is one buffer',
  );
  const next = await fetch(url, { headers: { 'if-none-match': etag0 } });
  t.equal(next.status, 200, 'a newer document is sent for the old ETag');
  t.equal(await next.text(), JSON.stringify(m1.topology));
  t.not(next.headers.get('etag'), etag0);
  const other = buildFleetModel({ hosts: [record(rack1(1))], names: new Map(), nowMs: T0 });
  t.not(topologyBytes(other.topology).etag, etag0, 'other fabrics, another ETag');
  t.equal((await fetch(url, { headers: { 'if-none-match': '*' } })).status, 304);
});

/** Racks in pairs that hear each other on eth0 and eth1: a fabric per pair and interface. */
function pairs(n: number, quiet: ReadonlySet<string> = new Set()): HostRecord[] {
  const mac = (r: number, i: number): string => `52:54:00:01:${r.toString(16).padStart(2, '0')}:0${i}`;
  return Array.from({ length: n }, (_, r) => {
    const peer = r ^ 1;
    const name = `r${r}`;
    const hints = [0, 1].filter((i) => !quiet.has(`${name}/eth${i}`)).map((i) => remote(`eth${i}`, `eth${i}`, mac(peer, i)));
    return record(report(name, [iface('eth0', mac(r, 0)), iface('eth1', mac(r, 1))], hints, { seq: 2 }), T0);
  });
}

const text = (b: Buffer): string => b.toString();
/** The part of a document that holds the fabrics whose first segment is `host`'s (one per host). */
const fabricsPart = (parts: readonly Buffer[], host: string): Buffer | undefined =>
  parts.find((p) => text(p).startsWith(`{"name":`) && text(p).includes(`"segments":[{"host":"${host}",`));
/** The part that holds `host`'s placements. */
const placementsPart = (parts: readonly Buffer[], host: string): Buffer | undefined => parts.find((p) => text(p).startsWith(`{"host":"${host}",`));

t.test('after one rack changed, the document is a fresh full render, and the unchanged fabrics and placements keep their bytes', async (t) => {
  const b = new FleetModelBuilder();
  const m0 = b.build({ hosts: pairs(6), names: new Map(), nowMs: T0 });
  const doc0 = topologyBytes(m0.topology);
  t.equal(m0.topology.fabrics.length, 6, 'a fabric per pair and interface');

  // r2's eth1 cable is pulled: r2/eth1 and r3/eth1 are no longer one fabric.
  const input = { hosts: pairs(6, new Set(['r2/eth1', 'r3/eth1'])), names: m0.derived.fabrics, nowMs: T0 + 1_000 };
  const m1 = b.build(input);
  t.equal(b.lastKind, 'incremental');
  const doc1 = topologyBytes(m1.topology);
  const fresh = buildFleetModel(input);
  t.ok(Buffer.concat(doc1.parts).equals(Buffer.from(JSON.stringify(fresh.topology))), 'the parts are JSON.stringify of a model computed in full');
  t.equal(doc1.length, Buffer.byteLength(JSON.stringify(fresh.topology)));
  t.not(doc1.etag, doc0.etag);

  for (const host of ['r0', 'r4']) {
    t.ok(fabricsPart(doc0.parts, host), `${host}'s fabrics have a part`);
    t.equal(fabricsPart(doc1.parts, host), fabricsPart(doc0.parts, host), `${host}'s fabrics: the same buffer, not made again`);
    t.equal(placementsPart(doc1.parts, host), placementsPart(doc0.parts, host), `${host}'s placements: the same buffer`);
  }
  t.not(fabricsPart(doc1.parts, 'r2'), fabricsPart(doc0.parts, 'r2'), 'the changed pair is made again');
  t.not(text(fabricsPart(doc1.parts, 'r2')!), text(fabricsPart(doc0.parts, 'r2')!), 'with what changed');

  // The derived maps carried from the last model's are the ones a full computation makes.
  const sorted = (m: ReadonlyMap<string, unknown>): string => JSON.stringify([...m].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
  t.equal(sorted(m1.derived.fabrics), sorted(fresh.derived.fabrics));
  t.equal(sorted(m1.derived.placements), sorted(fresh.derived.placements));

  // And the cable back, named from these names: the bytes of the first model but its time.
  const m2 = b.build({ hosts: pairs(6), names: m1.derived.fabrics, nowMs: T0 });
  t.equal(b.lastKind, 'incremental');
  const doc2 = topologyBytes(m2.topology);
  t.ok(Buffer.concat(doc2.parts).equals(Buffer.concat(doc0.parts)), 'the same document as before the change');
  t.equal(doc2.etag, doc0.etag, 'and the same ETag');
  t.equal(fabricsPart(doc2.parts, 'r0'), fabricsPart(doc0.parts, 'r0'));
});

t.test('derived maps of incremental models whose model before was never read, and of a step where a host gains an interface', async (t) => {
  const b = new FleetModelBuilder();
  let names: ReadonlyMap<string, string> = new Map();
  const steps: HostRecord[][] = [pairs(4), pairs(4, new Set(['r0/eth0'])), pairs(4, new Set(['r0/eth0', 'r1/eth0'])), pairs(4)];
  const grown = pairs(4);
  grown[3] = record(
    report('r3', [iface('eth0', '52:54:00:01:03:00'), iface('eth1', '52:54:00:01:03:01'), iface('eth2', '52:54:00:01:03:02')], [...grown[3]!.report.hints], {
      seq: 3,
    }),
    T0,
  );
  steps.push(grown);
  const sorted = (m: ReadonlyMap<string, unknown>): string => JSON.stringify([...m].sort((x, y) => (x[0] < y[0] ? -1 : 1)));
  steps.forEach((hosts, i) => {
    const m = b.build({ hosts, names, nowMs: T0 + i });
    const full = buildFleetModel({ hosts, names, nowMs: T0 + i });
    // Every other model's maps are read only after the next is built (or never).
    if (i % 2 === 0) {
      t.equal(sorted(m.derived.fabrics), sorted(full.derived.fabrics), `step ${i}: fabrics`);
      t.equal(sorted(m.derived.placements), sorted(full.derived.placements), `step ${i}: placements`);
      names = m.derived.fabrics;
    }
    t.ok(topologyJson(m.topology).equals(Buffer.from(JSON.stringify(full.topology))), `step ${i}: the document`);
  });
});

t.test('whenPartsSent: at once with no document being written, else once the ones being written are done', async (t) => {
  let resolved = false;
  let pendingWhileSent = false;
  await whenPartsSent(60_000);
  const m = buildFleetModel({ hosts: [record(rack1(1)), record(rack2(1))], names: new Map(), nowMs: T0 });
  const doc = topologyBytes(m.topology);
  let closed: Promise<void> = Promise.resolve();
  const server = createServer((req, res) => {
    closed = new Promise((r) => res.once('close', () => r()));
    sendJsonParts(req, res, doc);
    void whenPartsSent(60_000).then(() => (resolved = true));
    void Promise.resolve().then(() => (pendingWhileSent = !resolved));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  t.equal(await res.text(), JSON.stringify(m.topology));
  await closed;
  await Promise.resolve();
  t.ok(pendingWhileSent, 'pending while the answer was being written');
  t.ok(resolved, 'resolved once the answer was written');
  // A HEAD writes no body: nothing to wait for.
  const head = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { method: 'HEAD' });
  t.equal(head.status, 200);
  await closed;
  await whenPartsSent(60_000);
});
