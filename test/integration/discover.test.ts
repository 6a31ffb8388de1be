/**
 * `netbeacon discover` on a switched lab network:
 *
 *   switch namespace: bridge br0 (and br9, with nobody on it)
 *   R: r0 (10.70.0.1/24) on br0, r9 on br9       runs discover
 *   P: p0 (10.70.0.2/24), agent with our secret, --role region --maas-url …
 *   Q: q0 (10.70.0.3/24), agent with another secret, soliciting every 2 s
 *   X: x0 (no address), replays one beacon claiming P three times
 *
 * R must list P once (same secret, interface r0, P's MAC, role, URL,
 * answered), Q as "different secret" by its MAC, nobody for X's replays;
 * discover on r9 finds nobody and exits 1.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import type { DiscoveredHost } from '../../src/probe/discover-book';
import { corpusKey, vector } from '../helpers/corpus';
import { buildUdp4Frame, GROUP4, GROUP4_MAC } from '../../src/protocol/frame-build';
import { agentUp, macOf, otherSecret, runInNs, startAgent } from '../helpers/probe-lab';
import { loadBinding } from '../../src/engine/binding';

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the discover test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('discover lists peers by identity, tells a different secret, ignores replays, exits 1 alone', discover);
}

const REPLAYER = join(__dirname, '..', 'helpers', 'raw-replayer.ts');

/** The raw replayer in X, loaded and waiting: send(hex, n) sends a frame n times, once. */
async function startReplayer(lab: Lab): Promise<{ send(hex: string, n: number): Promise<void> }> {
  const child = lab.spawn('x', [process.execPath, ...process.execArgv, REPLAYER, 'x0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const seen = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => (re.test(out) ? resolve() : undefined);
      child.stdout!.on('data', check);
      child.on('exit', (code) => reject(new Error(`the replayer exited ${code}: ${out}`)));
      check();
    });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  await seen(/ready/);
  return {
    send: (hex: string, n: number) => {
      child.stdin!.write(`${hex} ${n}\n`);
      return seen(/sent \d+/);
    },
  };
}

async function discover(t: Test): Promise<void> {
  t.setTimeout(240_000);
  const lab = new Lab('disc');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-disc-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p', 'q', 'x']) lab.addHost(h);
  lab.addBridge('sw', 'br0');
  lab.addBridge('sw', 'br9');
  lab.link({ host: 'r', name: 'r0', addresses: ['10.70.0.1/24'] }, { host: 'sw', name: 'sr0', master: 'br0' });
  lab.link({ host: 'r', name: 'r9' }, { host: 'sw', name: 'sr9', master: 'br9' });
  lab.link({ host: 'p', name: 'p0', addresses: ['10.70.0.2/24'] }, { host: 'sw', name: 'sp0', master: 'br0' });
  lab.link({ host: 'q', name: 'q0', addresses: ['10.70.0.3/24'] }, { host: 'sw', name: 'sq0', master: 'br0' });
  lab.link({ host: 'x', name: 'x0' }, { host: 'sw', name: 'sx0', master: 'br0' });
  const pMac = macOf(lab, 'p', 'p0');
  const qMac = macOf(lab, 'q', 'q0');
  const xMac = macOf(lab, 'x', 'x0');

  const qConfig = join(dir, 'q.yaml');
  writeFileSync(qConfig, 'periods:\n  solicitation: 2\n');
  const p = startAgent(lab, 'p', dir, ['--secret-file', vector('secret'), '-i', 'p0', '--role', 'region', '--maas-url', 'http://10.70.0.2:5240/MAAS']);
  // Q solicits every 2 s so that it beacons inside the window; a MAAS rack does every 30 s.
  const q = startAgent(lab, 'q', dir, ['--config', qConfig, '--secret-file', otherSecret(dir), '-i', 'q0']);
  await agentUp(p, ['p0']);
  await agentUp(q, ['q0']);

  // A beacon "captured" from P (authentic, naming P's interface) that X replays.
  const replayed = encodeBeacon(
    keyObjects(corpusKey()),
    'solicitation',
    { remote: { name: 'p0', mac_address: pMac, type: 'physical', parents: [], subnet: '10.70.0.0/24' } },
    { nowMs: Date.now() },
  ).bytes;
  // Checksums right (buildUdp4Frame): a bridge running br_netfilter drops IPv4 with a bad header checksum.
  const frame = buildUdp4Frame({
    destinationMac: GROUP4_MAC,
    sourceMac: xMac,
    sourceIp: '10.70.0.66',
    destinationIp: GROUP4,
    sourcePort: 5240,
    destinationPort: 5240,
    ttl: 1,
    dontFragment: true,
    payload: replayed,
  }).toString('hex');
  const canReplay = loadBinding().ok;
  if (!canReplay) t.comment('the native addon is not built: the replay part (raw frames from X) is skipped');
  const replayer = canReplay ? await startReplayer(lab) : undefined;
  let replayed3: Promise<void> | undefined;

  const r = await runInNs(lab, 'r', ['discover', '-i', 'r0', '--timeout', '6', '--json', '--secret-file', vector('secret')], {
    onStderr: (err) => {
      if (replayer && !replayed3 && /discovering on r0/.test(err)) replayed3 = replayer.send(frame, 3);
    },
  });
  await replayed3;
  t.equal(r.status, 0, `exit 0 when a host is found: ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { interfaces: string[]; timeout_seconds: number; hosts: DiscoveredHost[]; stats: { solicitations: number } };
  t.same(out.interfaces, ['r0']);
  t.ok(out.stats.solicitations >= 2, 'solicited, and again after 3 s');
  const same = out.hosts.filter((h) => h.secret === 'same');
  t.same(
    same.map((h) => h.id),
    [pMac],
    'P, once: the replays did not make another host',
  );
  const ph = same[0]!;
  t.match(ph, { names: ['p0'], seen_on: [{ interface: 'r0' }], role: 'region', maas_url: 'http://10.70.0.2:5240/MAAS', answered: true, local: false });
  t.ok(ph.addresses.includes('10.70.0.2'), `P's address: ${ph.addresses.join(', ')}`);
  t.ok(ph.macs.includes(pMac));
  if (canReplay) {
    t.ok(ph.replays >= 2, `the replayed beacon was counted as replays (${ph.replays})`);
    t.ok(ph.macs.includes(xMac), "and the replayer's MAC is on record");
  }
  const diff = out.hosts.filter((h) => h.secret === 'different');
  t.same(
    diff.map((h) => h.id),
    [qMac],
    'Q is listed as "different secret", by its MAC',
  );
  t.ok(diff[0]?.addresses.includes('10.70.0.3'));
  t.same(diff[0]?.names, [], 'its payload is unreadable');

  const table = await runInNs(lab, 'r', ['discover', '-i', 'r0', '--timeout', '3', '--secret-file', vector('secret')]);
  t.equal(table.status, 0);
  t.match(table.stdout, new RegExp(`${pMac} +same +region +p0 +r0 `), 'the table shows P');

  const alone = await runInNs(lab, 'r', ['discover', '-i', 'r9', '--timeout', '1.5', '--secret-file', vector('secret')]);
  t.equal(alone.status, 1, 'nobody on br9: exit 1');
  t.match(alone.stdout, /^0 beaconing hosts heard on r9/);
  const bad = await runInNs(lab, 'r', ['discover', '-i', 'nope0', '--secret-file', vector('secret')]);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /no interface matches "nope0"/);

  if (t.passing() === false) t.comment(`P's log:\n${p.log().slice(-3000)}\nQ's log:\n${q.log().slice(-2000)}\ndiscover stderr:\n${r.stderr}`);
}
