/**
 * The fleet service over HTTP, in this process, over SQLite and a real
 * PostgreSQL: the write side's checks (HMAC, sequence, shape, size), the
 * read side (model, hosts, history, token), health and metrics, and a
 * database that goes away and comes back.
 */
import t, { type Test } from 'tap';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetService } from '../../src/fleet/service';
import { parseDbUrl } from '../../src/fleet/db';
import { deriveFleetKey, signReport } from '../../src/fleet/model/auth';
import { parseServiceUrl, sendRequest, type ServiceTarget } from '../../src/net/http-client';
import type { FleetTopology, FleetTopologyOverview } from '../../src/fleet/model/types';
import pg from 'pg';
import { fleetBackends, type Backend } from '../helpers/fleet-backends';
import { getJson, iface, postReport, remote, report } from '../helpers/fleet-reports';

const KEY = deriveFleetKey(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
const OTHER_KEY = deriveFleetKey(Buffer.from('ffeeddccbbaa99887766554433221100', 'hex'));
const A0 = '52:54:00:0a:00:00';
const B0 = '52:54:00:0b:00:00';
const TOKEN = 'read-token-0123456789abcdef';

async function start(
  t: Test,
  url: string,
  extra: Partial<Parameters<typeof FleetService.start>[0]> = {},
): Promise<{ service: FleetService; target: ServiceTarget }> {
  const service = await FleetService.start({
    db: parseDbUrl(url),
    listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    fleetKey: KEY,
    refreshMs: 50,
    ...extra,
  });
  t.teardown(() => service.stop());
  return { service, target: parseServiceUrl(`http://${service.address}`) };
}

const rack1 = (seq: number, hints = [remote('eth0', 'ens3', B0)]) => report('rack1', [iface('eth0', A0)], hints, { seq });
const rack2 = (seq: number) => report('rack2', [iface('ens3', B0)], [remote('ens3', 'eth0', A0)], { seq });

for (const backend of fleetBackends(t, 'server')) {
  t.test(`${backend.name}: reports`, (t) => reports(t, backend));
  t.test(`${backend.name}: the read side`, (t) => readSide(t, backend));
  if (backend.name === 'postgres') t.test('postgres: the database goes away and comes back', (t) => databaseDown(t, backend));
  if (backend.name === 'postgres') t.test('postgres: a stalled database: reports past max_queued_reports get 503 busy', (t) => stalled(t, backend));
}

t.test('the read token, a Unix socket, and paths that do not exist', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-fleet-sock-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const service = await FleetService.start({
    db: parseDbUrl(`sqlite:${join(dir, 'f.db')}`),
    listen: { kind: 'unix', path: join(dir, 'fleet.sock') },
    fleetKey: KEY,
    readToken: TOKEN,
  });
  t.teardown(() => service.stop());
  t.equal(service.address, `unix:${join(dir, 'fleet.sock')}`);
  const target = parseServiceUrl(service.address);
  t.equal((await postReport(target, KEY, rack1(1))).status, 200, 'the write side needs no read token');
  const denied = await getJson(target, '/api/v1/topology');
  t.equal(denied.status, 401);
  t.match(denied.doc.message, /Authorization: Bearer TOKEN/);
  t.equal((await getJson(target, '/api/v1/hosts', { authorization: 'Bearer wrong-token-0123456789abcd' })).status, 401);
  const ok = await getJson(target, '/api/v1/hosts', { authorization: `Bearer ${TOKEN}` });
  t.equal(ok.status, 200);
  t.equal((ok.doc.hosts as unknown[]).length, 1);
  t.equal((await getJson(target, '/healthz')).status, 200, '/healthz stays open');
  t.equal((await sendRequest(target, { method: 'GET', path: '/metrics', timeoutMs: 5000 })).status, 200, '/metrics stays open');
  const page = await sendRequest(target, { method: 'GET', path: '/', headers: { authorization: `Bearer ${TOKEN}` }, timeoutMs: 5000 });
  t.match(page.body.toString(), /<title>netbeacon fleet map<\/title>/, 'the map is the page at /');
  const missing = await getJson(target, '/api/v2/anything', { authorization: `Bearer ${TOKEN}` });
  t.equal(missing.status, 404);
  t.equal((await getJson(target, '/api/v1/reports')).status, 405, 'reports are POSTed');
  const post = await sendRequest(target, { method: 'POST', path: '/api/v1/topology', body: '{}', timeoutMs: 5000 });
  t.equal(post.status, 405, 'the read side takes no writes');
  const metrics = (await sendRequest(target, { method: 'GET', path: '/metrics', timeoutMs: 5000 })).body.toString();
  t.match(metrics, /netbeacon_fleet_requests_total\{path="other",status="404"\} 1/, 'unknown paths share one label');
});

async function reports(t: Test, backend: Backend): Promise<void> {
  const { service, target } = await start(t, backend.fresh(), { maxReportBytes: 16_384 });
  const stored = await postReport(target, KEY, rack1(5));
  t.equal(stored.status, 200);
  t.same(JSON.parse(stored.body.toString()), { status: 'stored', seq: 5 });
  const again = await postReport(target, KEY, rack1(5));
  t.same(JSON.parse(again.body.toString()), { status: 'duplicate', seq: 5 }, 'a retry is a duplicate');
  const older = await postReport(target, KEY, rack1(4));
  t.equal(older.status, 409);
  t.match(JSON.parse(older.body.toString()), { error: 'stale', current_seq: 5 });

  const unsigned = await postReport(target, KEY, rack2(1), false);
  t.equal(unsigned.status, 401);
  const forged = await postReport(target, OTHER_KEY, rack2(1));
  t.equal(forged.status, 401, 'a report signed with another secret is refused');
  t.match((JSON.parse(forged.body.toString()) as { message: string }).message, /key derived from the MAAS secret/);
  t.same([...(await service.store.hostSeqs()).keys()], ['rack1'], 'and stored nowhere');

  const badMtu = { ...rack2(1), interfaces: [{ ...iface('ens3', B0), mtu: 'big' }] };
  const malformed = await postReport(target, KEY, JSON.stringify(badMtu));
  t.equal(malformed.status, 400);
  t.match(JSON.parse(malformed.body.toString()), { error: 'malformed', field: 'interfaces[0].mtu', message: /must be an integer from 0 to 65535, got "big"/ });
  const notJson = await postReport(target, KEY, '{"version": 1,');
  t.match(JSON.parse(notJson.body.toString()), { error: 'malformed', field: '(body)' });

  const big = report('rack3', [iface('eth0', '52:54:00:0c:00:00')], [], { seq: 1, agent: { version: 'x'.repeat(64), engine: 'js' }, counters: {} });
  const padded = JSON.stringify({ ...big, padding: 'p'.repeat(20_000) });
  const tooLarge = await postReport(target, KEY, padded);
  t.equal(tooLarge.status, 413);
  t.match(JSON.parse(tooLarge.body.toString()), { error: 'too_large', limit: 16_384 });
  // Without a Content-Length the limit holds as the bytes come.
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: (target as { port: number }).port, method: 'POST', path: '/api/v1/reports' }, (res) => {
      let b = '';
      res.on('data', (d: Buffer) => (b += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    for (let i = 0; i < 5; i++) req.write('x'.repeat(5000));
    req.end();
  });
  t.equal(chunked.status, 413);
  // gzip'd, as agents send them; the limit holds for what a body inflates to.
  t.equal((await postReport(target, KEY, rack2(1), true, 'gzip')).status, 200, 'a gzip report is taken');
  const bomb = await postReport(target, KEY, padded, true, 'gzip');
  t.equal(bomb.status, 413);
  t.match((JSON.parse(bomb.body.toString()) as { message: string }).message, /inflates past the limit/);
  const notGzip = await sendRequest(target, {
    method: 'POST',
    path: '/api/v1/reports',
    headers: { 'content-encoding': 'gzip', 'x-netbeacon-signature': signReport(KEY, 'plain') },
    body: 'plain',
    timeoutMs: 5000,
  });
  t.match(JSON.parse(notGzip.body.toString()), { error: 'malformed', field: '(body)', message: /is not gzip/ });
  t.equal((await postReport(target, KEY, rack2(2), true, 'br')).status, 415, 'an encoding it does not know');
  t.same([...(await service.store.hostSeqs()).keys()].sort(), ['rack1', 'rack2'], 'nothing refused was stored');

  const metrics = (await sendRequest(target, { method: 'GET', path: '/metrics', timeoutMs: 5000 })).body.toString();
  for (const [result, n] of [
    ['stored', 2],
    ['duplicate', 1],
    ['stale', 1],
    ['unauthorized', 2],
    ['malformed', 4],
    ['too_large', 3],
  ] as const)
    t.match(metrics, new RegExp(`netbeacon_fleet_reports_total\\{result="${result}"\\} ${n}\\n`), `metrics count ${result}`);
}

async function readSide(t: Test, backend: Backend): Promise<void> {
  const { service, target } = await start(t, backend.fresh());
  t.equal((await postReport(target, KEY, rack1(1))).status, 200);
  t.equal((await postReport(target, KEY, rack2(1))).status, 200);
  const topo = (await getJson(target, '/api/v1/topology')).doc as unknown as FleetTopology;
  t.equal(topo.version, 1);
  t.same(
    topo.fabrics.map((f) => [f.name, f.segments.map((s) => `${s.host}/${s.interface}`)]),
    [['fabric-0', ['rack1/eth0', 'rack2/ens3']]],
  );
  t.equal(topo.placements.length, 2);
  t.ok(
    topo.fabrics.every((f) => f.joins.every((j) => Array.isArray(j.hints))),
    'the default document has every join with its hints',
  );
  t.notOk('detail' in topo, 'and no detail key');
  t.ok(
    topo.fabrics.some((f) => f.joins.some((j) => j.hints.length > 0)),
    'hints to leave out',
  );
  // ?detail=overview: the same document less the joins' hints (the map's first draw), its own ETag.
  const get = (path: string, headers: Record<string, string> = {}) => sendRequest(target, { method: 'GET', path, headers, timeoutMs: 5000 });
  const over = await get('/api/v1/topology?detail=overview');
  const overview = JSON.parse(over.body.toString()) as FleetTopologyOverview;
  t.equal(overview.detail, 'overview');
  t.same(
    overview,
    { ...topo, detail: 'overview', fabrics: topo.fabrics.map((f) => ({ ...f, joins: f.joins.map(({ hints: _h, ...j }) => j) })) },
    'the topology less the joins’ hints',
  );
  const full = await get('/api/v1/topology');
  const fullEtag = String(full.headers.etag);
  const overEtag = String(over.headers.etag);
  t.not(overEtag, fullEtag, 'an ETag of its own');
  t.equal((await get('/api/v1/topology?detail=overview', { 'if-none-match': overEtag })).status, 304);
  t.equal((await get('/api/v1/topology?detail=full')).body.toString(), full.body.toString(), 'detail=full is the default');
  const bad = await getJson(target, '/api/v1/topology?detail=some');
  t.equal(bad.status, 400);
  t.equal((bad.doc as { field?: string }).field, 'detail');
  const hosts = (await getJson(target, '/api/v1/hosts')).doc as {
    version: number;
    hosts: Array<{ name: string; state: string; address: string; hints: number }>;
  };
  t.same(
    hosts.hosts.map((h) => [h.name, h.state, h.address, h.hints]),
    [
      ['rack1', 'fresh', '127.0.0.1', 1],
      ['rack2', 'fresh', '127.0.0.1', 1],
    ],
  );
  await service.refresh();
  // rack1 stops hearing rack2: rack2 still hears rack1, so one fabric stays.
  t.equal((await postReport(target, KEY, rack1(2, []))).status, 200);
  // and then rack2 loses it too: two fabrics.
  t.equal((await postReport(target, KEY, report('rack2', [iface('ens3', B0)], [], { seq: 2 }))).status, 200);
  await service.refresh();
  const history = (await getJson(target, '/api/v1/history?host=rack2&interface=ens3')).doc as {
    changes: Array<{ kind: string; before: string | null; after: string | null; time: string }>;
  };
  t.same(
    history.changes.map((c) => [c.kind, c.before, c.after]),
    [
      ['placement', 'fabric-0', null],
      ['segment_fabric', 'fabric-0', 'fabric-1'],
      ['placement', null, 'fabric-0'],
      ['segment_fabric', null, 'fabric-0'],
    ],
    'newest first; the larger (here: first) part of the split keeps fabric-0',
  );
  const limited = (await getJson(target, '/api/v1/history?limit=1')).doc as { changes: unknown[] };
  t.equal(limited.changes.length, 1);
  const future = (await getJson(target, `/api/v1/history?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).doc as {
    changes: unknown[];
  };
  t.same(future.changes, []);
  const epoch = (await getJson(target, `/api/v1/history?since=${Math.floor(Date.now() / 1000) - 600}`)).doc as { changes: unknown[] };
  t.ok(epoch.changes.length >= 4, 'since in seconds since the epoch');
  t.match((await getJson(target, '/api/v1/history?limit=0')).doc, { error: 'bad_query', field: 'limit' });
  t.match((await getJson(target, '/api/v1/history?since=yesterday')).doc, { error: 'bad_query', field: 'since' });
  const health = await getJson(target, '/healthz');
  t.match(health, { status: 200, doc: { status: 'ok', db: backend.name, problems: [] } });
}

async function databaseDown(t: Test, backend: Backend): Promise<void> {
  const { target } = await start(t, backend.fresh());
  t.equal((await postReport(target, KEY, rack1(1))).status, 200);
  backend.cluster!.stop();
  const refused = await postReport(target, KEY, rack1(2));
  t.equal(refused.status, 503, 'a report the database cannot take is a 503: the agent retries');
  t.equal(refused.headers['retry-after'], '5');
  const health = await getJson(target, '/healthz');
  t.equal(health.status, 503);
  t.match(health.doc, { status: 'unhealthy', problems: [/^database postgresql:/] });
  t.equal((await getJson(target, '/api/v1/topology')).status, 503, 'the read side says so too');
  backend.cluster!.start();
  let res = await postReport(target, KEY, rack1(2));
  for (let i = 0; i < 20 && res.status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 250));
    res = await postReport(target, KEY, rack1(2));
  }
  t.equal(res.status, 200, 'the retry is stored once the database is back');
  t.equal((await getJson(target, '/healthz')).status, 200);
}

/** Polls `check` every 20 ms until it holds (at most 10 s). */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function stalled(t: Test, backend: Backend): Promise<void> {
  const url = backend.fresh();
  const { service, target } = await start(t, url, { maxQueuedReports: 1 });
  // Another session holds the hosts table: the service's batch waits on it, as on a stalled database.
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  t.teardown(() => locker.end());
  await locker.query('begin');
  await locker.query('lock table fleet_hosts in access exclusive mode');
  const waiting = async (): Promise<boolean> =>
    Number((await locker.query<{ n: string }>("select count(*) as n from pg_locks where not granted and relation = 'fleet_hosts'::regclass")).rows[0]!.n) > 0;
  const first = postReport(target, KEY, rack1(1));
  await until('the first batch to wait on the lock', waiting);
  const second = postReport(target, KEY, rack2(1));
  await until('the second report to queue', () => service.store.queued === 1);
  const turned = await postReport(target, KEY, report('rack3', [iface('eth0', '52:54:00:0c:00:00')], [], { seq: 1 }));
  t.equal(turned.status, 503, 'a report past max_queued_reports is refused at once');
  t.equal(turned.headers['retry-after'], '5', 'with a time to come back');
  t.match(JSON.parse(turned.body.toString()), {
    error: 'busy',
    limit: 1,
    message: /report of rack3 not stored: 1 reports are already waiting for the database \(max_queued_reports\)/,
  });
  t.equal(service.store.queued, 1, 'and it does not join the queue');
  await locker.query('rollback');
  t.equal((await first).status, 200, 'the report in the stalled batch is stored once the database answers');
  t.equal((await second).status, 200, 'and so is the one that waited');
  const again = await postReport(target, KEY, report('rack3', [iface('eth0', '52:54:00:0c:00:00')], [], { seq: 1 }));
  t.equal(again.status, 200, 'the refused report, sent again, is stored');
  const hosts = (await getJson(target, '/api/v1/hosts')).doc as { hosts: Array<{ name: string }> };
  t.same(hosts.hosts.map((h) => h.name).sort(), ['rack1', 'rack2', 'rack3'], 'nothing acknowledged was lost');
  const metrics = (await sendRequest(target, { method: 'GET', path: '/metrics', timeoutMs: 5000 })).body.toString();
  t.match(metrics, /netbeacon_fleet_reports_total\{result="busy"\} 1/, 'counted as busy');
}
