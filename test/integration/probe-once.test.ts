/**
 * `netbeacon probe --once` between two namespaces through a bridge: R runs
 * the probe (the agent in-process, no socket), P runs an agent. R's one
 * JSON document must hold its interface, hints naming P's interface and
 * MAC, and a fabric with P as a peer; afterwards nothing of the probe may
 * be left: no process in R's namespace, no control socket.
 */
import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { DEFAULT_SOCKET } from '../../src/agent/control';
import type { TopologyHint } from '../../src/topology/hints';
import type { Fabric } from '../../src/topology/fabrics';
import { vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';
import { agentUp, macOf, runInNs, startAgent } from '../helpers/probe-lab';

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the probe --once test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest()) t.test(`probe --once with the ${engine} engine finds the peer and leaves nothing behind`, (t) => once(t, engine));
}

interface ProbeDocument {
  version: number;
  engine: { name: string; capture: string };
  duration_seconds: number;
  interfaces: Array<{ name: string; mac: string; mtu: number; addresses: string[] }>;
  hints: TopologyHint[];
  fabrics: Fabric[];
}

async function once(t: Test, engine: string): Promise<void> {
  t.setTimeout(180_000);
  const lab = new Lab('once');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-once-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p']) lab.addHost(h);
  lab.addBridge('sw', 'br0');
  lab.link({ host: 'r', name: 'r0', addresses: ['10.73.0.1/24'] }, { host: 'sw', name: 'sr0', master: 'br0' });
  lab.link({ host: 'p', name: 'p0', addresses: ['10.73.0.2/24'] }, { host: 'sw', name: 'sp0', master: 'br0' });
  const pMac = macOf(lab, 'p', 'p0');
  const p = startAgent(lab, 'p', dir, ['--secret-file', vector('secret'), '-i', 'p0', '--engine', engine]);
  await agentUp(p, ['p0']);

  const socketDir = '/run/netbeacon';
  const before = existsSync(socketDir) ? readdirSync(socketDir).sort() : [];
  const r = await runInNs(lab, 'r', ['probe', '--once', '-i', 'r0', '--timeout', '5', '--json', '--engine', engine, '--secret-file', vector('secret')]);
  t.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as ProbeDocument;
  t.equal(doc.version, 1);
  t.equal(doc.engine.name, engine);
  t.ok(doc.duration_seconds >= 5 && doc.duration_seconds < 30, `ran for the timeout (${doc.duration_seconds} s)`);
  t.same(
    doc.interfaces.map((i) => i.name),
    ['r0'],
  );
  t.ok(doc.interfaces[0]!.addresses.includes('10.73.0.1/24'));
  const toP = doc.hints.filter((h) => h.ifname === 'r0' && h.related_ifname === 'p0' && h.related_mac === pMac);
  t.ok(
    toP.some((h) => h.hint === 'on_remote_network'),
    `on_remote_network r0 → P's p0: ${JSON.stringify(doc.hints)}`,
  );
  t.ok(
    toP.some((h) => h.hint === 'routable_to'),
    "routable_to from P's answer to our solicitation",
  );
  t.equal(doc.fabrics.length, 1);
  t.same(doc.fabrics[0]!.segments, [{ ifname: 'r0' }]);
  t.same(
    doc.fabrics[0]!.peers.map((x) => x.mac),
    [pMac],
    'P is a peer of the fabric',
  );

  // Nothing left: the namespace holds no process, no socket was made.
  const pids = spawnSync('ip', ['netns', 'pids', lab.ns('r')], { encoding: 'utf8' }).stdout.trim();
  t.equal(pids, '', "no process left in R's namespace");
  const after = existsSync(socketDir) ? readdirSync(socketDir).sort() : [];
  t.same(after, before, `no file appeared in ${socketDir}`);
  t.notOk(existsSync(DEFAULT_SOCKET) && !before.includes('netbeacon.sock'), 'no control socket');

  const human = await runInNs(lab, 'r', ['probe', '--once', '-i', 'r0', '--timeout', '2', '--engine', engine, '--secret-file', vector('secret')]);
  t.equal(human.status, 0);
  t.match(human.stdout, /^\[\n\{"hint": /, 'without --json: the hints, then the fabrics');
  const noOnce = await runInNs(lab, 'r', ['probe', '-i', 'r0', '--secret-file', vector('secret')]);
  t.equal(noOnce.status, 2);
  t.match(noOnce.stderr, /give --once/);
  if (t.passing() === false) t.comment(`P's log:\n${p.log().slice(-3000)}\nprobe stderr:\n${r.stderr}`);
}
