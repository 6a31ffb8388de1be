/**
 * A captured v3 beacon replayed to a running agent (issue 18, part 4):
 *
 *   switch namespace: bridge brX
 *   host R: r0 (10.52.0.1/24), the agent under test, formats [v3], --metrics, --journal
 *   host P: p0 (10.52.0.2/24), an agent beaconing in v3
 *   host X: x0 (10.52.0.9/24), the attacker: captures one of P's v3 multicast
 *           beacons off the wire and resends its exact bytes to R three times
 *
 * R received the original on r0; each copy is the same authenticated
 * (key id, ULID) on the same segment, so it must be counted as a v3 replay:
 * in status (JSON and text), in netbeacon_replays_total{format="v3"}
 * scraped from R's own namespace, in `watch` (format and key id), and in
 * R's journal, whose key ids make `netbeacon replay` count the same replays.
 */
import t, { type Test } from 'tap';
import { join, resolve } from 'node:path';
import { request, subscribe } from '../../src/agent/control';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { withV3 } from '../../src/protocol/v3';
import { sodiumReady } from '../../src/protocol/sodium';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { cliCommand, runCli } from '../helpers/cli';
import { corpusKey, vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';
import { jsonLines, nodeInNs } from '../helpers/netns';

const REPLAYER = resolve(__dirname, '..', 'helpers', 'v3-replayer.ts');
const COPIES = 3;
const METRICS_PORT = 19240;

interface Status {
  counters: { replays: number; replays_by_format: Record<string, number> };
  peers: Array<{ mac: string; formats: string[]; key_id?: string }>;
}

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the v3 replay test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest()) t.test(`a captured v3 beacon replayed to an agent is a v3 replay (${engine} engine)`, (t) => replayed(t, engine));
}

async function replayed(t: Test, engine: string): Promise<void> {
  await sodiumReady();
  const keyId = withV3(corpusKey()).v3!.idHex;
  const lab = new Lab('v3r');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-v3r-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p', 'x']) lab.addHost(h);
  lab.addBridge('sw', 'brX');
  lab.link({ host: 'r', name: 'r0', addresses: ['10.52.0.1/24'] }, { host: 'sw', name: 'sr0', master: 'brX' });
  lab.link({ host: 'p', name: 'p0', addresses: ['10.52.0.2/24'] }, { host: 'sw', name: 'sp0', master: 'brX' });
  lab.link({ host: 'x', name: 'x0', addresses: ['10.52.0.9/24'] }, { host: 'sw', name: 'sx0', master: 'brX' });

  const logs: Record<string, string> = { r: '', p: '' };
  const agent = (host: 'r' | 'p', extra: string[]) => {
    const args = [...cliCommand(), 'agent', '--secret-file', vector('secret'), '--engine', engine, '--formats', 'v3', '--socket', join(dir, `${host}.sock`)];
    const child = lab.spawn(host, [...args, '-i', `${host}0`, ...extra]);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (logs[host] = (logs[host] + d).slice(-8000)));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (logs[host] = (logs[host] + d).slice(-8000)));
    t.teardown(() => child.kill('SIGKILL'));
    return child;
  };
  const rSock = join(dir, 'r.sock');
  const journal = join(dir, 'r.jsonl');
  const r = agent('r', ['--journal', journal, '--metrics', `127.0.0.1:${METRICS_PORT}`]);
  const status = async (): Promise<Status> => (await request(rSock, 'status')) as Status;
  for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((res) => setTimeout(res, 100)))
    if (
      await status().then(
        () => true,
        () => false,
      )
    )
      break;
  const events: Array<Record<string, unknown>> = [];
  const watch = subscribe(rSock, 'watch', (e) => events.push(e as Record<string, unknown>));
  t.teardown(() => watch.close());

  // The attacker listens before P starts, so it captures P's very first v3 multicast.
  const replayer = nodeInNs(lab.ns('x'), REPLAYER, [
    JSON.stringify({ group: '224.0.0.118', local: '10.52.0.9', from: '10.52.0.2', to: '10.52.0.1', copies: COPIES }),
  ]);
  t.teardown(() => replayer.kill('SIGKILL'));
  let rerr = '';
  replayer.stderr!.setEncoding('utf8').on('data', (d: string) => (rerr += d));
  const out: Array<Record<string, unknown>> = [];
  jsonLines(replayer, (v) => out.push(v));
  for (const until = Date.now() + 20_000; out.length === 0 && Date.now() < until;) await new Promise((res) => setTimeout(res, 50));
  t.same(out[0], { ready: true }, `the replayer listens ${rerr}`);
  agent('p', []);

  for (const until = Date.now() + 45_000; out.length < 2 && Date.now() < until;) await new Promise((res) => setTimeout(res, 100));
  t.equal(out[1]?.sent, COPIES, `the replayer captured a v3 beacon and sent it ${COPIES} times ${rerr}`);
  const captured = Buffer.from(typeof out[1]?.captured === 'string' ? out[1].captured : '', 'hex');
  t.equal(captured[0], 3, 'version byte 3');
  t.equal(captured.subarray(4, 8).toString('hex'), keyId, "the captured datagram carries the secret's v3 key id");

  let s = await status();
  for (const until = Date.now() + 10_000; (s.counters.replays_by_format.v3 ?? 0) < COPIES && Date.now() < until; s = await status())
    await new Promise((res) => setTimeout(res, 100));
  t.same(s.counters.replays_by_format, { v2: 0, v3: COPIES }, 'status: every copy is a v3 replay, none a v2 one');
  t.equal(s.counters.replays, COPIES);
  t.match(
    s.peers.find((p) => p.formats.includes('v3')),
    { formats: ['v3'], key_id: keyId },
    'status: P heard in v3, under the key id',
  );
  const text = await runCli(['status', '--socket', rSock]);
  t.match(text.stdout, new RegExp(`replays v2 0, v3 ${COPIES}`), 'status text shows v3 replays apart from v2');

  // The metric, scraped inside R's namespace, where it listens.
  const scrape = lab.exec('r', [
    process.execPath,
    '-e',
    `require('node:http').get('http://127.0.0.1:${METRICS_PORT}/metrics', (res) => { let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => process.stdout.write(b)); })`,
  ]);
  t.match(scrape, new RegExp(`^netbeacon_replays_total\\{format="v3"\\} ${COPIES}$`, 'm'), 'metric: v3 replays');
  t.match(scrape, /^netbeacon_replays_total\{format="v2"\} 0$/m, 'metric: no v2 replays');

  // The agent runs its policy driver, so replays reach watch as rate-limited replay alarms (one here, the rest suppressed).
  const alarms = events.filter((e) => e.event === 'alarm' && e.kind === 'replay');
  t.ok(alarms.length >= 1, `watch: a replay alarm (${alarms.length})`);
  t.match(alarms[0], { interface: 'r0', format: 'v3', key_id: keyId, own: false }, 'watch: the replay alarm says its format and key id');

  // The journal: v3 receptions carry the key id, and a replay of it counts what the agent counted.
  r.kill('SIGTERM');
  await new Promise((res) => r.once('exit', res));
  const rx = readFileSync(journal, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { direction: string; version: number; key_id?: string })
    .filter((l) => l.direction === 'rx' && l.version === 3);
  t.ok(rx.length > COPIES, `the journal has R's v3 receptions (${rx.length})`);
  t.ok(
    rx.every((l) => l.key_id === keyId),
    'each with its key id',
  );
  const table = await runCli(['replay', '--table', journal]);
  t.equal(table.status, 0, table.stderr);
  t.match(table.stdout, new RegExp(`\\b${COPIES} replayed\\b`), 'netbeacon replay counts the same v3 replays');
  if (t.passing() === false) t.comment(`R's log:\n${logs.r}\nP's log:\n${logs.p}`);
}
