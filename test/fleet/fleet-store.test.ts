/**
 * The fleet store and the model state over it: the same tests over SQLite
 * and a real PostgreSQL.
 */
import t, { type Test } from 'tap';
import { sql } from 'kysely';
import { gzipSync } from 'node:zlib';
import { FleetStore, StoreBusyError, storedReportText, type IngestInput } from '../../src/fleet/store';
import { FleetState } from '../../src/fleet/state';
import { parseDbUrl } from '../../src/fleet/db';
import type { FleetChange } from '../../src/fleet/model/history';
import { parseReport, type FleetReport } from '../../src/fleet/model/report';
import { fleetBackends, type Backend } from '../helpers/fleet-backends';
import { iface, local, remote, report } from '../helpers/fleet-reports';

const A0 = '52:54:00:0a:00:00';
const A1 = '52:54:00:0a:00:01';
const B0 = '52:54:00:0b:00:00';

function input(host: string, seq: number, body: string, digest = `d${seq}`, receivedAtMs = 1_000): IngestInput {
  // Half of the hosts' reports stored gzip'd, as agents send them.
  const gzip = host.endsWith('1');
  return {
    host,
    seq,
    instance: 'i1',
    periodMs: 30_000,
    digest,
    body: gzip ? gzipSync(body) : Buffer.from(body),
    encoding: gzip ? 'gzip' : 'identity',
    receivedAtMs,
    address: '10.0.0.1',
  };
}

async function open(t: Test, url: string): Promise<FleetStore> {
  const { store } = await FleetStore.open(parseDbUrl(url));
  t.teardown(() => store.close());
  return store;
}

const body = (host: string, seq: number, interfaces = [iface('eth0', A0)], hints = [remote('eth0', 'ens3', B0)]): string =>
  JSON.stringify(report(host, interfaces, hints, { seq }));

for (const backend of fleetBackends(t, 'store')) {
  t.test(`${backend.name}: migrations`, (t) => migrations(t, backend));
  t.test(`${backend.name}: ingest`, (t) => ingest(t, backend));
  t.test(`${backend.name}: reports that arrive together`, (t) => together(t, backend));
  t.test(`${backend.name}: the queue of waiting reports is bounded`, (t) => bounded(t, backend));
  t.test(`${backend.name}: derived state and history`, (t) => derivedAndHistory(t, backend));
  t.test(`${backend.name}: two servers over one database agree and write each change once`, (t) => twoServers(t, backend));
  t.test(`${backend.name}: a report this server stored is not read back, unless the database has a newer one`, (t) => storedHere(t, backend));
}

async function migrations(t: Test, backend: Backend): Promise<void> {
  const url = backend.fresh();
  const first = await FleetStore.open(parseDbUrl(url));
  t.same(first.applied, ['0001-initial'], 'a new database gets every migration');
  await first.store.close();
  const again = await FleetStore.open(parseDbUrl(url));
  t.same(again.applied, [], 'an up-to-date one gets none');
  // What a newer netbeacon would leave behind.
  await sql`insert into kysely_migration (name, timestamp) values ('0002-from-the-future', '2030-01-01T00:00:00Z')`.execute(again.store.db);
  await again.store.close();
  await t.rejects(FleetStore.open(parseDbUrl(url)), {
    code: 'E_FLEET_DB_NEWER',
    message:
      /was written by a newer netbeacon: it has schema migration 0002-from-the-future, which netbeacon [\d.]+ does not know \(it knows up to 0001-initial\)/,
  });
}

async function ingest(t: Test, backend: Backend): Promise<void> {
  const store = await open(t, backend.fresh());
  const fp0 = await store.fingerprint();
  t.same(await store.ingest(input('rack1', 10, body('rack1', 10))), { status: 'stored', seq: 10 });
  const fp1 = await store.fingerprint();
  t.not(fp1, fp0, 'a stored report moves the fingerprint');
  t.same(await store.ingest(input('rack1', 10, body('rack1', 10))), { status: 'duplicate', seq: 10 }, 'a retry is idempotent');
  t.equal(await store.fingerprint(), fp1, 'and changes nothing');
  t.same(await store.ingest(input('rack1', 9, body('rack1', 9))), { status: 'stale', currentSeq: 10 }, 'an older report never overwrites');
  t.same(
    await store.ingest(input('rack1', 10, body('rack1', 10, []), 'other')),
    { status: 'stale', currentSeq: 10 },
    'nor one with the same seq and other bytes',
  );
  t.same(await store.ingest(input('rack1', 11, body('rack1', 11, []), 'd11', 2_000)), { status: 'stored', seq: 11 });
  t.same(await store.ingest(input('rack2', 3, body('rack2', 3))), { status: 'stored', seq: 3 });
  t.same(
    await store.hostSeqs(),
    new Map([
      ['rack1', 11],
      ['rack2', 3],
    ]),
  );
  const [row] = await store.loadHosts(['rack1']);
  t.equal(row!.encoding, 'gzip');
  t.equal(storedReportText(row!), body('rack1', 11, []), 'the newest report is stored as sent');
  t.equal(row!.received_at, 2_000);
  t.equal(row!.first_seen, 1_000, 'first_seen stays');
  t.equal(row!.address, '10.0.0.1');
}

/**
 * Reports ingested at once (over PostgreSQL they are stored in batches):
 * each gets its own answer, a host's reports are stored in the order they
 * came, and a report the database refuses fails alone.
 */
async function bounded(t: Test, backend: Backend): Promise<void> {
  await t.rejects(FleetStore.open(parseDbUrl(backend.fresh()), { maxQueued: 0 }), { message: /maxQueued must be a positive integer, not 0/ });
  const { store } = await FleetStore.open(parseDbUrl(backend.fresh()), { maxQueued: 2 });
  t.teardown(() => store.close());
  const hosts = ['q0', 'q1', 'q2', 'q3', 'q4'];
  // All five at once: the first is taken into a batch as it comes, the next two wait for the next batch.
  const answers = await Promise.all(
    hosts.map((h) =>
      store.ingest(input(h, 1, body(h, 1))).then(
        (r) => r.status,
        (err: unknown) => err,
      ),
    ),
  );
  if (backend.name === 'sqlite') {
    // SQLite stores each report as it comes: nothing waits, nothing is turned away.
    t.same(answers, ['stored', 'stored', 'stored', 'stored', 'stored']);
  } else {
    t.same(answers.slice(0, 3), ['stored', 'stored', 'stored'], 'the one in the batch and the two waiting are stored');
    for (const err of answers.slice(3)) {
      t.ok(err instanceof StoreBusyError, 'the rest are turned away');
      t.match(err, { limit: 2, message: '2 reports are already waiting for the database (max_queued_reports)' });
    }
    t.same(await store.hostSeqs(), new Map(hosts.slice(0, 3).map((h) => [h, 1])), 'a turned-away report stored nothing');
    t.same((await store.ingest(input('q3', 1, body('q3', 1)))).status, 'stored', 'and is stored when sent again');
  }
  t.equal(store.queued, 0, 'nothing is left waiting');
}

async function together(t: Test, backend: Backend): Promise<void> {
  const store = await open(t, backend.fresh());
  const hosts = Array.from({ length: 20 }, (_, i) => `rack${i}`);
  t.same(
    await Promise.all(hosts.map((h) => store.ingest(input(h, 5, body(h, 5))))),
    hosts.map(() => ({ status: 'stored', seq: 5 })),
    'twenty hosts at once: each stored',
  );
  t.same(await store.hostSeqs(), new Map(hosts.map((h) => [h, 5])));

  const mixed = await Promise.all([
    store.ingest(input('rack0', 6, body('rack0', 6), 'd6', 2_000)),
    store.ingest(input('rack1', 5, body('rack1', 5))),
    store.ingest(input('rack2', 4, body('rack2', 4))),
    store.ingest(input('rack3', 5, body('rack3', 5, []), 'other')),
    store.ingest(input('new1', 1, body('new1', 1))),
  ]);
  t.same(
    mixed,
    [
      { status: 'stored', seq: 6 },
      { status: 'duplicate', seq: 5 },
      { status: 'stale', currentSeq: 5 },
      { status: 'stale', currentSeq: 5 },
      { status: 'stored', seq: 1 },
    ],
    'stored, a retry, an older report and the same seq with other bytes, together: each its own answer',
  );

  t.same(
    await Promise.all([
      store.ingest(input('rack5', 7, body('rack5', 7))),
      store.ingest(input('rack5', 8, body('rack5', 8, []), 'd8', 3_000)),
      store.ingest(input('rack5', 8, body('rack5', 8, []), 'd8', 3_000)),
      store.ingest(input('rack6', 9, body('rack6', 9))),
      store.ingest(input('rack6', 6, body('rack6', 6))),
    ]),
    [
      { status: 'stored', seq: 7 },
      { status: 'stored', seq: 8 },
      { status: 'duplicate', seq: 8 },
      { status: 'stored', seq: 9 },
      { status: 'stale', currentSeq: 9 },
    ],
    'one host twice and thrice at once: stored in the order they came',
  );
  const [rack5] = await store.loadHosts(['rack5']);
  t.equal(storedReportText(rack5!), body('rack5', 8, []), 'the last one is the one stored');
  t.equal(rack5!.received_at, 3_000);

  // A report the database refuses (no digest: a NOT NULL column) among good ones.
  const refused = { ...input('rack8', 10, body('rack8', 10)), digest: null as unknown as string };
  const settled = await Promise.allSettled([
    store.ingest(input('rack7', 10, body('rack7', 10))),
    store.ingest(refused),
    store.ingest(input('rack9', 10, body('rack9', 10))),
    store.ingest(input('rack8', 11, body('rack8', 11))),
  ]);
  t.same(
    settled.map((s) => s.status),
    ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    'the refused report fails alone',
  );
  t.same(
    settled.map((s) => (s.status === 'fulfilled' ? s.value : undefined)),
    [{ status: 'stored', seq: 10 }, undefined, { status: 'stored', seq: 10 }, { status: 'stored', seq: 11 }],
  );
  const seqs = await store.hostSeqs();
  t.same(
    ['rack7', 'rack8', 'rack9'].map((h) => seqs.get(h)),
    [10, 11, 10],
    "the others are stored, and the refused host's next report too",
  );
}

async function derivedAndHistory(t: Test, backend: Backend): Promise<void> {
  const store = await open(t, backend.fresh());
  const seg = (host: string, ifname: string, vid: number | null, before: string | null, after: string | null): FleetChange => ({
    kind: 'segment_fabric',
    host,
    interface: ifname,
    vid,
    before,
    after,
  });
  const v1 = await store.commitChanges(
    0,
    [
      { kind: 'host_presence', host: 'rack1', interface: null, vid: null, before: null, after: 'fresh' },
      seg('rack1', 'eth0', null, null, 'fabric-0'),
      seg('rack1', 'eth0', 100, null, 'fabric-0'),
      { kind: 'placement', host: 'rack1', interface: 'eth0', vid: null, before: null, after: 'fabric-0' },
    ],
    5_000,
  );
  t.equal(v1, 1);
  t.equal(await store.commitChanges(0, [seg('rack1', 'eth1', null, null, 'fabric-1')], 5_500), undefined, 'a commit over an old version is refused');
  const v2 = await store.commitChanges(
    1,
    [
      seg('rack1', 'eth0', 100, 'fabric-0', null),
      seg('rack1', 'eth0', null, 'fabric-0', 'fabric-3'),
      { kind: 'host_presence', host: 'rack1', interface: null, vid: null, before: 'fresh', after: 'stale' },
    ],
    6_000,
  );
  t.equal(v2, 2);
  const { version, derived } = await store.loadDerived();
  t.equal(version, 2);
  t.same([...derived.fabrics], [['rack1\u0000eth0', 'fabric-3']], 'a segment that went away is gone');
  t.same([...derived.placements], [['rack1\u0000eth0', 'fabric-0']]);
  t.same([...derived.presence], [['rack1', 'stale']]);

  // All or nothing: a change the database refuses (no interface) takes the others with it.
  const broken = [seg('rack1', 'eth5', null, null, 'fabric-9'), { ...seg('rack1', 'x', null, null, 'fabric-9'), interface: null }];
  await t.rejects(store.commitChanges(2, broken, 7_000));
  t.equal(await store.stateVersion(), 2, 'the version did not move');
  t.equal((await store.history({ limit: 100 })).length, 7, 'no history row of the failed commit');
  t.notOk((await store.loadDerived()).derived.fabrics.has('rack1\u0000eth5'));

  const all = await store.history({ limit: 100 });
  t.same(
    all.map((r) => r.timeMs),
    [6_000, 6_000, 6_000, 5_000, 5_000, 5_000, 5_000],
    'newest first',
  );
  t.same(all[0]!.change, { kind: 'host_presence', host: 'rack1', interface: null, vid: null, before: 'fresh', after: 'stale' }, 'by id within one time');
  t.equal((await store.history({ limit: 2 })).length, 2);
  t.same(
    (await store.history({ limit: 100, interface: 'eth0', sinceMs: 5_500 })).map((r) => [r.change.vid, r.change.after]),
    [
      [null, 'fabric-3'],
      [100, null],
    ],
  );
  t.same(await store.history({ limit: 100, host: 'rack9' }), []);
}

async function twoServers(t: Test, backend: Backend): Promise<void> {
  const url = backend.fresh();
  const a = await open(t, url);
  const b = await open(t, url);
  let now = 1_000;
  const clock = (): number => now;
  const sa = new FleetState(a, { clock });
  const sb = new FleetState(b, { clock });
  await a.ingest(
    input('rack1', 1, JSON.stringify(report('rack1', [iface('eth0', A0), iface('eth1', A1)], [remote('eth0', 'ens3', B0), local('eth0', 'eth1')], { seq: 1 }))),
  );
  await b.ingest(input('rack2', 1, JSON.stringify(report('rack2', [iface('ens3', B0)], [], { seq: 1 }))));
  // SQLite serves one server: there the two take turns (one process's two connections would wait on each other).
  const both = async (): Promise<number[]> =>
    backend.name === 'postgres' ? Promise.all([sa.refresh(), sb.refresh()]) : [await sa.refresh(), await sb.refresh()];
  const [wa, wb] = (await both()) as [number, number];
  t.ok(wa + wb === 6, `the first history is written once between them (${wa} + ${wb})`);
  const ma = await sa.model();
  const mb = await sb.model();
  t.same(ma.model.topology, mb.model.topology, 'both serve the same model');
  t.same(
    ma.model.topology.fabrics.map((f) => f.segments.length),
    [3],
  );
  // rack2 reports through server B only; server A sees it at once.
  await b.ingest(input('rack3', 1, JSON.stringify(report('rack3', [iface('p0', '52:54:00:0c:00:00')], [], { seq: 1 }))));
  const after = await sa.model();
  t.equal(after.model.topology.hosts.total, 3, 'a report stored by another server is in the model');
  t.equal(after.model.topology.fabrics[1]!.name, 'fabric-1');
  // Both bring the history up to date; each change lands once.
  await both();
  await both();
  const history = await a.history({ limit: 1000 });
  const keys = history.map((r) => JSON.stringify(r.change));
  t.equal(new Set(keys).size, keys.length, 'no change written twice');
  t.equal(history.filter((r) => r.change.host === 'rack3').length, 2, 'rack3: presence and segment (placed nowhere: no change)');
  // Time alone makes a host stale; the next refresh records it.
  now += 91_000;
  t.equal(await sb.refresh(), 3, 'three hosts went stale');
  t.same(
    (await a.history({ limit: 3 })).map((r) => [r.change.kind, r.change.after, r.timeMs]),
    [
      ['host_presence', 'stale', now],
      ['host_presence', 'stale', now],
      ['host_presence', 'stale', now],
    ],
  );
  t.equal((await sa.model()).model.topology.hosts.stale, 3);

  // The race itself: B computes its changes, A commits the same ones before B does.
  await a.ingest(input('rack4', 1, JSON.stringify(report('rack4', [iface('q0', '52:54:00:0d:00:00')], [], { seq: 1 }))));
  const commit = b.commitChanges.bind(b);
  let raced = 0;
  b.commitChanges = async (base, changes, timeMs) => {
    raced++;
    if (raced === 1) t.equal(await sa.refresh(), 2, 'A writes rack4 first');
    return commit(base, changes, timeMs);
  };
  t.equal(await sb.refresh(), 0, 'B finds its changes already written and writes none');
  t.equal(raced, 1, 'B tried once, then saw there was nothing left to write');
  t.equal((await a.history({ limit: 1000, host: 'rack4' })).length, 2, 'each change of rack4 once');
}

async function storedHere(t: Test, backend: Backend): Promise<void> {
  const store = await open(t, backend.fresh());
  const loaded: string[] = [];
  const loadHosts = store.loadHosts.bind(store);
  store.loadHosts = (names) => (loaded.push(...names), loadHosts(names));
  const state = new FleetState(store, { clock: () => 3_000 });
  const rack1 = (seq: number, ifname: string) => report('rack1', [iface(ifname, A0)], [], { seq });
  const stored = async (r: ReturnType<typeof rack1>, note: boolean): Promise<void> => {
    t.same(await store.ingest(input('rack1', r.seq, JSON.stringify(r), `d${r.seq}`, 2_000 + r.seq)), { status: 'stored', seq: r.seq });
    if (note) state.noteStored(r, 2_000 + r.seq, '10.0.0.1');
  };
  const segmentsOf = async (): Promise<string[]> => (await state.model()).model.topology.fabrics.flatMap((f) => f.segments.map((s) => s.interface));

  await stored(rack1(1, 'eth0'), true);
  t.same(await segmentsOf(), ['eth0']);
  t.same(loaded, ['rack1'], 'a host this state does not know yet is read from the database (its first_seen is there)');

  await stored(rack1(2, 'eth1'), true);
  t.same(await segmentsOf(), ['eth1'], 'the new report is in the model');
  t.same(loaded, ['rack1'], 'without reading it back');
  const host = (await state.model()).records[0]!;
  t.same([host.receivedAtMs, host.firstSeenMs, host.address], [2_002, 2_001, '10.0.0.1'], 'with the times the database has');

  // Noted here, then overtaken by a newer report stored by another server: the database's wins.
  await stored(rack1(3, 'eth2'), true);
  await stored(rack1(4, 'eth3'), false);
  t.same(await segmentsOf(), ['eth3']);
  t.same(loaded, ['rack1', 'rack1'], 'read from the database');

  // A report parsed with the state's previous reports: the lists it has in common with the report held (here the one read back) are that report's.
  const held = (await state.model()).records[0]!.report;
  t.match(state.hintsPlaceholder, /^netbeacon-hints-[0-9a-f]{32}$/, 'the placeholder for hints set aside is random');
  t.not(new FleetState(store).hintsPlaceholder, state.hintsPlaceholder, 'and its own per state');
  const parsed = (r: FleetReport): FleetReport => parseReport(JSON.stringify(r), state.previous, state.hintsPlaceholder);
  const same = parsed(rack1(5, 'eth3'));
  t.equal(same.interfaces, held.interfaces, 'the same interfaces: the held list');
  t.equal(same.hints, held.hints, 'the same hints: the held list');
  t.equal(same.seq, 5, 'with its own seq');
  const moved = parsed(rack1(6, 'eth4'));
  t.not(moved.interfaces, held.interfaces, 'other interfaces: its own list');
  t.same(moved.interfaces, [iface('eth4', A0)]);
  t.equal(parsed(report('rack2', [iface('eth3', A0)], [], { seq: 1 })).interfaces[0]!.name, 'eth3', 'a host it does not hold: as it is');
  await stored(same, true);
  t.same(await segmentsOf(), ['eth3']);
  await stored(moved, true);
  t.same(await segmentsOf(), ['eth4'], 'the changed report is in the model');
  t.same(loaded, ['rack1', 'rack1'], 'neither read back');
}
