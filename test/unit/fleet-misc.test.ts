/** The fleet's small parts: addresses, URLs, the config file, fabric names, the tables. */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatListen, parseFleetListen } from '../../src/fleet/listen';
import { describeTarget, parseServiceUrl } from '../../src/net/http-client';
import { loadFleetConfig, readTokenFile } from '../../src/fleet/config';
import { parseDbUrl } from '../../src/fleet/db';
import { parseTime } from '../../src/fleet/server';
import { nameFabrics } from '../../src/fleet/model/naming';
import { renderFleetTopology, renderHistory, renderHosts } from '../../src/fleet/model/render';
import { buildFleetModel } from '../../src/fleet/model/model';
import { hostsDocument } from '../../src/fleet/model/hosts';
import { compareFleetSegments, formatFleetSegment, segmentOfKey, fleetSegmentKey } from '../../src/fleet/model/segment';
import { iface, local, record, remote, report, T0 } from '../helpers/fleet-reports';

t.test('listen addresses', async (t) => {
  t.same(parseFleetListen('9241'), { kind: 'tcp', host: '127.0.0.1', port: 9241 });
  t.same(parseFleetListen('0.0.0.0:80'), { kind: 'tcp', host: '0.0.0.0', port: 80 });
  t.same(parseFleetListen('[::1]:9241'), { kind: 'tcp', host: '::1', port: 9241 });
  t.same(parseFleetListen('unix:/run/f.sock'), { kind: 'unix', path: '/run/f.sock' });
  t.throws(() => parseFleetListen('unix:rel.sock'), { code: 'E_FLEET_LISTEN' });
  t.throws(() => parseFleetListen('99999'), { message: /PORT, HOST:PORT or unix:\/path, got "99999"/ });
  t.equal(formatListen({ kind: 'tcp', host: '::1', port: 5 }), '[::1]:5');
  t.equal(formatListen({ kind: 'unix', path: '/x' }), 'unix:/x');
});

t.test('service URLs', async (t) => {
  t.same(parseServiceUrl('http://fleet:9241'), { kind: 'tcp', tls: false, host: 'fleet', port: 9241, base: '' });
  t.same(parseServiceUrl('https://[::1]/prefix/'), { kind: 'tcp', tls: true, host: '::1', port: 443, base: '/prefix' });
  t.equal(parseServiceUrl('http://x').kind === 'tcp' && (parseServiceUrl('http://x') as { port: number }).port, 80);
  t.same(parseServiceUrl('unix:/run/f.sock'), { kind: 'unix', socketPath: '/run/f.sock' });
  t.throws(() => parseServiceUrl('unix:f.sock'), { message: /absolute socket path/ });
  t.throws(() => parseServiceUrl('not a url'), { message: /must be http:\/\/HOST:PORT/ });
  t.throws(() => parseServiceUrl('http://u:p@x/'), { message: /credentials/ });
  t.equal(describeTarget(parseServiceUrl('https://[::1]:8443/a')), 'https://[::1]:8443/a');
  t.equal(describeTarget(parseServiceUrl('unix:/s')), 'unix:/s');
});

t.test('database URLs never show a password', async (t) => {
  t.same(parseDbUrl('sqlite:/var/lib/x.db'), { kind: 'sqlite', location: '/var/lib/x.db', display: 'sqlite:/var/lib/x.db' });
  t.equal(parseDbUrl('postgres://nb:secret@db/fleet').display, 'postgres://nb:***@db/fleet');
  t.equal(parseDbUrl('postgresql://db/fleet').kind, 'postgres');
  t.throws(() => parseDbUrl('sqlite:'), { code: 'E_FLEET_DB_URL' });
});

t.test('times for --since', async (t) => {
  t.equal(parseTime('1795000000'), 1_795_000_000_000);
  t.equal(parseTime('2026-12-01T00:00:00Z'), Date.parse('2026-12-01T00:00:00Z'));
  t.equal(parseTime('tomorrow'), null);
});

t.test('the config file: defaults, file, flags; a token file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-fleet-conf-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'fleet.yaml');
  writeFileSync(
    file,
    `db: postgres://db/fleet\nlisten: 9300\nread_token_file: ${join(dir, 'tok')}\nlog_level: debug\nrefresh_interval: 0.5\nmax_queued_reports: 64\n`,
  );
  const c = loadFleetConfig(file, { listen: 'unix:/x.sock' });
  t.match(c, {
    db: 'postgres://db/fleet',
    listen: 'unix:/x.sock',
    logLevel: 'debug',
    refreshMs: 500,
    maxQueuedReports: 64,
    source: file,
    readTokenFile: join(dir, 'tok'),
  });
  t.match(loadFleetConfig(join(dir, 'none.yaml') === file ? file : undefined, {}), { source: null }, 'the default path may be absent');
  t.throws(() => loadFleetConfig(join(dir, 'missing.yaml'), {}), { message: /config .*missing\.yaml: does not exist/ });
  writeFileSync(file, 'db: [1\n');
  t.throws(() => loadFleetConfig(file, {}), { message: /not valid YAML \(line/ });
  writeFileSync(file, 'db: mysql://x\n');
  t.throws(() => loadFleetConfig(file, {}), { message: /db: must be sqlite:PATH or postgres/ });
  writeFileSync(file, 'max_queued_reports: 0\n');
  t.throws(() => loadFleetConfig(file, {}), { message: /max_queued_reports/ });
  writeFileSync(file, '');
  t.equal(loadFleetConfig(file, {}).source, file);
  t.equal(loadFleetConfig(file, {}).maxQueuedReports, 1024, 'max_queued_reports defaults to 1024');
  writeFileSync(join(dir, 'tok'), 'short\n');
  t.throws(() => readTokenFile(join(dir, 'tok'), 'read token file'), { message: /holds no token of at least 16 characters/ });
  writeFileSync(join(dir, 'tok'), '  0123456789abcdef0123  \nignored\n');
  t.equal(readTokenFile(join(dir, 'tok'), 'read token file'), '0123456789abcdef0123');
});

t.test('fabric names: claims by weight; new names skip every old one', async (t) => {
  const prev = new Map([
    ['a', 'fabric-0'],
    ['b', 'fabric-0'],
    ['c', 'fabric-1'],
    ['d', 'mgmt'],
  ]);
  t.same(nameFabrics([['a'], ['b', 'c'], ['x'], ['d']], prev), ['fabric-2', 'fabric-0', 'fabric-3', 'mgmt'], 'the larger part keeps fabric-0');
  t.same(nameFabrics([['x'], ['y']], new Map()), ['fabric-0', 'fabric-1']);
});

t.test('segments', async (t) => {
  t.same(segmentOfKey(fleetSegmentKey('h', 'e', 7)), { host: 'h', interface: 'e', vid: 7 });
  t.same(segmentOfKey(fleetSegmentKey('h', 'e', null)), { host: 'h', interface: 'e', vid: null });
  t.equal(formatFleetSegment({ host: 'h', interface: 'e', vid: 7 }), 'h/e vid 7');
  t.ok(compareFleetSegments({ host: 'h', interface: 'e', vid: null }, { host: 'h', interface: 'e', vid: 1 }) < 0);
});

t.test('the tables', async (t) => {
  const r1 = report(
    'rack1',
    [iface('eth0', '52:54:00:0a:00:00', { vids: [5] }), iface('eth1', '52:54:00:0a:00:01')],
    [remote('eth0', 'ens3', '52:54:00:0b:00:00'), local('eth0', 'eth1')],
  );
  const r2 = report('rack2', [iface('ens3', '52:54:00:0b:00:00')], [remote('ens3', 'x', '52:54:00:ee:ee:ee'), remote('ens3', 'x', '52:54:00:ee:ee:ef')]);
  const r3 = report(
    'rack3',
    [iface('p0', '52:54:00:0c:00:00'), iface('lonely', null)],
    [remote('p0', 'x', '52:54:00:ee:ee:ee'), remote('p0', 'x', '52:54:00:ee:ee:ef')],
  );
  const m = buildFleetModel({ hosts: [record(r1), record(r2), record(r3, T0 - 100_000)], names: new Map(), nowMs: T0 });
  const text = renderFleetTopology(m.topology, new Set(['rack3']));
  t.match(text, /^fleet: 3 hosts \(1 stale\), 2 fabrics, as of /);
  t.match(text, /rack1\/eth0 vid 5\s+rack1\/eth0: same interface/);
  t.match(text, /\n\s+rack3\/p0: on_remote_network from unreported x 52:54:00:ee:ee:ee\n/);
  t.match(text, /rack3\/lonely\s+alone: nothing joins it to another segment/);
  t.match(text, /rack3 \(stale\)\s+p0\s+\(new fabric\)/);
  t.match(text, /findings \(3\):\n {2}stale_host: rack3 has not reported for 100 s/);
  t.equal(renderFleetTopology({ ...m.topology, fabrics: [], placements: [], findings: [] }).includes('no fabrics: no host has reported yet'), true);
  const hosts = renderHosts(hostsDocument([record(r1), record(r3, T0 - 100_000)], T0));
  t.match(hosts, /rack3\s+stale\s+\S+\s+1\s+p0,lonely\s+2\s+0\s+0\.1\.0 js/);
  t.equal(renderHosts({ version: 1, generated_at: '', hosts: [] }), 'no host has reported yet\n');
  t.equal(renderHistory([]), 'no changes\n');
  t.match(
    renderHistory([
      { id: 2, time: '2026-12-01T00:00:01.000Z', kind: 'host_presence', host: 'rack3', interface: null, vid: null, before: 'fresh', after: 'stale' },
      { id: 1, time: '2026-12-01T00:00:00.000Z', kind: 'segment_fabric', host: 'rack1', interface: 'eth0', vid: 5, before: null, after: 'fabric-0' },
    ]),
    /host_presence\s+rack3\s+fresh\s+stale\n.*segment_fabric\s+rack1\/eth0 vid 5\s+-\s+fabric-0\n$/s,
  );
});
