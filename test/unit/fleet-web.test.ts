/**
 * The fleet map's server side (src/fleet/web.ts): the built page from
 * memory with ETags and the CSP, a clear answer when it is not built, the
 * read API's ETags and 304s; and `fleet topology --format dot`'s renderer.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CONTENT_SECURITY_POLICY, defaultWebDir, FleetWeb, sendJsonCached } from '../../src/fleet/web';
import { dotString, renderDot } from '../../src/fleet/model/dot';
import { buildFleetModel } from '../../src/fleet/model/model';
import { seedReports, startSeededFleet } from '../helpers/fleet-map';
import { runInProcess } from '../helpers/inprocess';
import { record, T0 } from '../helpers/fleet-reports';

async function serve(t: Test, web: FleetWeb, json: Buffer): Promise<string> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (web.handles(path)) web.serve(req, res, path);
    else sendJsonCached(req, res, json);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

t.test('the built page: from memory, with ETags, under the CSP', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-web-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>map</title>');
  writeFileSync(join(dir, 'map.js'), 'void 0;');
  writeFileSync(join(dir, 'map.css'), 'body{}');
  writeFileSync(join(dir, 'notes.bin'), 'not served');
  const web = FleetWeb.load(dir);
  t.equal(web.missing, undefined);
  const url = await serve(t, web, Buffer.from('{"version":1}'));
  const page = await fetch(`${url}/`);
  t.equal(page.status, 200);
  t.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  t.equal(page.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(page.headers.get('referrer-policy'), 'no-referrer');
  t.equal(await page.text(), '<!doctype html><title>map</title>');
  const etag = page.headers.get('etag')!;
  t.match(etag, /^"[A-Za-z0-9_-]{22}"$/);
  const again = await fetch(`${url}/`, { headers: { 'if-none-match': `W/${etag}, "other"` } });
  t.equal(again.status, 304, 'unchanged: 304 (a weak ETag in a list matches too)');
  t.equal((await fetch(`${url}/assets/map.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.equal((await fetch(`${url}/assets/notes.bin`)).status, 404, 'only known kinds of file are served');
  t.equal((await fetch(`${url}/assets/nothing.js`)).status, 404);
  t.notOk(web.handles('/api/v1/topology'));
});

t.test('no build: / says how to build it, the rest still answers', async (t) => {
  const web = FleetWeb.load(join(tmpdir(), 'nb-web-does-not-exist'));
  t.match(web.missing, /npm run build:web/);
  const url = await serve(t, web, Buffer.from('{}'));
  const res = await fetch(`${url}/`);
  t.equal(res.status, 503);
  t.match(await res.text(), /not built/);
  t.equal((await fetch(`${url}/api/v1/topology`)).status, 200);
});

t.test('the read API: an ETag per document, 304 while it is the same', async (t) => {
  const body = Buffer.from('{"version":1,"fabrics":[]}');
  const url = await serve(t, FleetWeb.load(join(tmpdir(), 'nb-web-none')), body);
  const first = await fetch(`${url}/api/v1/topology`);
  t.equal(first.status, 200);
  t.equal(first.headers.get('content-type'), 'application/json');
  const etag = first.headers.get('etag')!;
  t.equal((await fetch(`${url}/api/v1/topology`, { headers: { 'if-none-match': etag } })).status, 304);
  t.equal((await fetch(`${url}/api/v1/topology`, { headers: { 'if-none-match': '"stale"' } })).status, 200);
  t.equal((await fetch(`${url}/api/v1/topology`, { headers: { 'if-none-match': '*' } })).status, 304);
});

t.test('the default web dir is dist/web, built by npm test', async (t) => {
  t.match(defaultWebDir(), /dist[/\\]web$|[/\\]web$/);
  t.equal(FleetWeb.load().missing, undefined, 'npm test builds the page before the tests (npm run build:web)');
});

t.test('--format dot: fabrics and hosts as clusters, joins as edges, findings drawn', async (t) => {
  const r = seedReports();
  const hosts = [...r.stale.map((x) => record(x, T0)), ...[r.before[0]!, r.before[2]!, r.after[0]!].map((x) => record(x, T0 + 100_000))];
  const topo = buildFleetModel({ hosts, names: new Map(), nowMs: T0 + 100_000 }).topology;
  const dot = renderDot(topo);
  t.match(dot, /^graph fleet \{\n/);
  t.match(dot, /\}\n$/);
  for (const f of topo.fabrics) t.ok(dot.includes(`subgraph "cluster_${f.name}" {`), f.name);
  t.ok(dot.includes('subgraph "cluster_'), 'hosts are clusters in their fabrics');
  const edges = dot.split('\n').filter((l) => l.includes(' -- '));
  t.equal(
    edges.length,
    topo.fabrics.reduce((n, f) => n + f.joins.length, 0),
    'one edge per join',
  );
  t.ok(
    edges.some((e) => e.includes('"rack1/eth0 vid 100"') && e.includes('color="#c62828"')),
    'the native-VLAN mismatch in red',
  );
  t.ok(dot.includes('old1 (stale)') && dot.includes('dashed'), 'the stale host greyed and dashed');
  t.ok(dot.includes('"rack1/eth0" [label="eth0"]'));
  t.equal(dotString('a "b" \\ c\nd'), '"a \\"b\\" \\\\ c\\nd"', 'quotes, backslashes and newlines escaped');
  t.match(renderDot({ ...topo, fabrics: [], findings: [] }), /graph fleet \{[^]*\}\n$/, 'an empty fleet is a valid graph');
});

t.test('netbeacon fleet topology --format dot|json, against a real service', async (t) => {
  const fleet = await startSeededFleet();
  t.teardown(() => fleet.stop());
  const dot = await runInProcess(['fleet', 'topology', '--server', fleet.url, '--format', 'dot']);
  t.equal(dot.code, 0, dot.stderr);
  t.match(dot.stdout, /^graph fleet \{/);
  t.match(dot.stdout, /"rack1\/eth0" -- "rack2\/ens3"/);
  const json = await runInProcess(['fleet', 'topology', '--server', fleet.url, '--format', 'json']);
  t.equal((JSON.parse(json.stdout) as { version: number }).version, 1);
  const bad = await runInProcess(['fleet', 'topology', '--server', fleet.url, '--format', 'png']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--format must be text, json or dot/);
});
