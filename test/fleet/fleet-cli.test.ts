/**
 * `netbeacon fleet …` as processes: serve's config and its errors, a
 * database from a newer netbeacon, kill -9 losing no acknowledged report
 * (SQLite in WAL mode and PostgreSQL), and the read commands' tables.
 */
import t, { type Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { cliCommand, runCli } from '../helpers/cli';
import { fleetBackends, type Backend } from '../helpers/fleet-backends';
import { deriveFleetKey } from '../../src/fleet/model/auth';
import { parseServiceUrl, sendRequest } from '../../src/net/http-client';
import { iface, postReport, remote, report } from '../helpers/fleet-reports';

const SECRET_HEX = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const KEY = deriveFleetKey(Buffer.from(SECRET_HEX, 'hex'));

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'nb-fleet-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'secret'), SECRET_HEX, { mode: 0o600 });
  return dir;
}

/** Starts `fleet serve` on a Unix socket in `dir`; resolves once it listens. */
async function serve(t: Test, dir: string, db: string, extra: string[] = []): Promise<ChildProcess> {
  const [node, main] = cliCommand();
  const child = spawn(
    node!,
    [main!, 'fleet', 'serve', '--db', db, '--listen', `unix:${join(dir, 'fleet.sock')}`, '--secret-file', join(dir, 'secret'), ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const end = Date.now() + 30_000;
  const target = parseServiceUrl(`unix:${join(dir, 'fleet.sock')}`);
  for (;;) {
    const up = await sendRequest(target, { method: 'GET', path: '/healthz', timeoutMs: 2000 }).catch(() => undefined);
    if (up?.status === 200) return child;
    if (child.exitCode !== null || Date.now() > end) throw new Error(`fleet serve did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

t.test('serve: config checked with key paths; bad flags are usage errors', async (t) => {
  const dir = scratch(t);
  const good = join(dir, 'fleet.yaml');
  writeFileSync(good, `db: sqlite:${join(dir, 'x.db')}\nlisten: 9299\nsecret_file: ${join(dir, 'secret')}\nmax_report_bytes: 65536\nrefresh_interval: 2\n`);
  const ok = await runCli(['fleet', 'serve', '--config', good, '--check-config']);
  t.equal(ok.status, 0, ok.stderr);
  t.match(ok.stdout, new RegExp(`config ${good} is valid\\ndatabase: sqlite:.*x\\.db\\nlisten: 9299\\n`));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'listen: "no such thing"\n');
  const r1 = await runCli(['fleet', 'serve', '--config', bad, '--check-config']);
  t.equal(r1.status, 2);
  t.match(r1.stderr, /config .*bad\.yaml: listen: must be PORT, HOST:PORT or unix:\/path, got "no such thing"/);
  writeFileSync(bad, 'dbb: sqlite:/x\n');
  t.match((await runCli(['fleet', 'serve', '--config', bad])).stderr, /dbb: unknown key \(known here: db, listen/);
  const r2 = await runCli(['fleet', 'serve', '--db', 'mysql://x', '--secret-file', join(dir, 'secret'), '--check-config']);
  t.equal(r2.status, 2);
  t.match(r2.stderr, /database must be sqlite:PATH or postgres:\/\/USER@HOST\/DB, got "mysql:\/\/x"/);
  const r3 = await runCli(['fleet', 'serve', '--read-token-file', join(dir, 'nope'), '--secret-file', join(dir, 'secret'), '--check-config']);
  t.equal(r3.status, 2);
  t.match(r3.stderr, /read token file .*nope does not exist/);
  const help = await runCli(['fleet', '--help']);
  t.match(help.stdout, /serve .*\n.*topology/s);
});

t.test('serve refuses a database from a newer netbeacon, naming it', async (t) => {
  const dir = scratch(t);
  const file = join(dir, 'newer.db');
  const ok = await serve(t, dir, `sqlite:${file}`);
  ok.kill('SIGTERM');
  await new Promise((r) => ok.once('exit', r));
  const db = new BetterSqlite3(file);
  db.prepare("insert into kysely_migration (name, timestamp) values ('0099-later', 'x')").run();
  db.close();
  const r = await runCli(['fleet', 'serve', '--db', `sqlite:${file}`, '--listen', `unix:${join(dir, 'f.sock')}`, '--secret-file', join(dir, 'secret')]);
  t.equal(r.status, 1);
  t.match(r.stderr, /database sqlite:.*newer\.db was written by a newer netbeacon: it has schema migration 0099-later/);
});

for (const backend of fleetBackends(t, 'cli')) t.test(`${backend.name}: kill -9 loses no acknowledged report`, (t) => killNine(t, backend));

async function killNine(t: Test, backend: Backend): Promise<void> {
  const dir = scratch(t);
  const db = backend.name === 'sqlite' ? `sqlite:${join(dir, 'fleet.db')}` : backend.fresh();
  const target = parseServiceUrl(`unix:${join(dir, 'fleet.sock')}`);
  let child = await serve(t, dir, db);
  const acked = new Map<string, number>();
  // Reports stream in from 20 hosts; the server dies in the middle of it.
  let stop = false;
  const writer = (async () => {
    for (let seq = 1; !stop; seq++) {
      await Promise.all(
        Array.from({ length: 20 }, async (_, h) => {
          const host = `h${h}`;
          const res = await postReport(target, KEY, report(host, [iface('eth0', `52:54:00:00:00:${h.toString(16).padStart(2, '0')}`)], [], { seq })).catch(
            () => undefined,
          );
          if (res?.status === 200) acked.set(host, Math.max(acked.get(host) ?? 0, seq));
        }),
      );
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  stop = true;
  await writer;
  t.ok(acked.size === 20, `reports were acknowledged before the kill (${[...acked.values()].reduce((a, b) => a + b, 0)})`);
  child = await serve(t, dir, db);
  const res = await sendRequest(target, { method: 'GET', path: '/api/v1/hosts', timeoutMs: 10_000 });
  const hosts = (JSON.parse(res.body.toString()) as { hosts: Array<{ name: string; seq: number }> }).hosts;
  const lost = [...acked].filter(([name, seq]) => (hosts.find((h) => h.name === name)?.seq ?? 0) < seq);
  t.same(lost, [], 'every acknowledged report is there after the restart');
  child.kill('SIGTERM');
}

t.test('fleet topology, hosts, history: tables, --json, and errors', async (t) => {
  const dir = scratch(t);
  await serve(t, dir, `sqlite:${join(dir, 'fleet.db')}`, ['--log-level', 'warn']);
  const server = `unix:${join(dir, 'fleet.sock')}`;
  const target = parseServiceUrl(server);
  const A0 = '52:54:00:0a:00:00';
  const B0 = '52:54:00:0b:00:00';
  t.equal((await postReport(target, KEY, report('rack1', [iface('eth0', A0, { vids: [100] })], [remote('eth0', 'ens3', B0)], { seq: 1 }))).status, 200);
  t.equal((await postReport(target, KEY, report('rack2', [iface('ens3', B0)], [remote('ens3', 'gone0', '52:54:00:ff:00:01')], { seq: 1 }))).status, 200);
  const topo = await runCli(['fleet', 'topology', '--server', server]);
  t.equal(topo.status, 0, topo.stderr);
  t.match(topo.stdout, /fleet: 2 hosts \(0 stale\), 1 fabric, as of /);
  t.match(topo.stdout, /fabric-0: 3 segments on 2 hosts \(rack1, rack2\); VIDs untagged, 100\n/);
  t.match(topo.stdout, /rack1\/eth0 vid 100\s+rack1\/eth0: same interface/);
  t.match(topo.stdout, /rack2\/ens3\s+rack1\/eth0: on_remote_network/);
  t.match(topo.stdout, /rack1\s+eth0\s+fabric-0\s+-\s+yes\s+on_remote_network names rack2\/ens3/);
  t.match(topo.stdout, /findings \(1\):\n {2}unknown_mac: 52:54:00:ff:00:01 \(gone0\) is named by 1 hint of rack2/);
  const json = await runCli(['fleet', 'topology', '--server', server, '--json']);
  t.equal((JSON.parse(json.stdout) as { version: number }).version, 1);
  const hosts = await runCli(['fleet', 'hosts', '--server', server]);
  t.match(hosts.stdout, /HOST\s+STATE\s+LAST REPORT\s+SEQ\s+INTERFACES\s+HINTS\s+PEERS\s+AGENT\nrack1\s+fresh\s+\S+\s+1\s+eth0\s+1\s+0\s+0\.1\.0 js\n/);
  // The history is written within a refresh interval (1 s).
  let history = await runCli(['fleet', 'history', '--server', server, '--host', 'rack1']);
  for (let i = 0; i < 40 && !history.stdout.includes('segment_fabric'); i++) {
    await new Promise((r) => setTimeout(r, 250));
    history = await runCli(['fleet', 'history', '--server', server, '--host', 'rack1']);
  }
  t.match(history.stdout, /TIME\s+KIND\s+WHAT\s+BEFORE\s+AFTER\n/);
  t.match(history.stdout, /segment_fabric\s+rack1\/eth0 vid 100\s+-\s+fabric-0/);
  t.match(history.stdout, /host_presence\s+rack1\s+-\s+fresh/);
  const limited = await runCli(['fleet', 'history', '--server', server, '--limit', '1', '--json']);
  t.equal((JSON.parse(limited.stdout) as { changes: unknown[] }).changes.length, 1);
  const badSince = await runCli(['fleet', 'history', '--server', server, '--since', 'soon']);
  t.equal(badSince.status, 1);
  t.match(badSince.stderr, /answered 400: since must be an ISO 8601 time/);
  const nobody = await runCli(['fleet', 'hosts', '--server', `unix:${join(dir, 'none.sock')}`]);
  t.equal(nobody.status, 1);
  t.match(nobody.stderr, /fleet service unix:.*none\.sock did not answer: connect ENOENT/);
  const badUrl = await runCli(['fleet', 'hosts', '--server', 'ftp://x']);
  t.equal(badUrl.status, 2);
  t.match(badUrl.stderr, /--server must be http:\/\/, https:\/\/ or unix:\/path, got "ftp:\/\/x"/);
});
