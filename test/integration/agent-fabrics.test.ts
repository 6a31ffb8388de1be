/**
 * Two agents on a switched lab network (issue 4's integration test):
 *
 *   switch namespace: bridges brX and brY
 *   host R: r0 (10.50.0.1/24) and r1 (no address) on X, r2 (10.51.0.1/24) on Y
 *   host P: p0 (10.50.0.2/24) on X, p1 (10.51.0.2/24) on Y
 *
 * Within 15 s R must report r0~r1 on one fabric (same_local_fabric_as and
 * rx_own_beacon_on_other_interface), on_remote_network to P's p0 from r0
 * and r1 and to p1 from r2, with P's MACs, and nothing that joins X with Y;
 * `netbeacon topology` must show two fabrics.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../src/agent/control';
import type { TopologyHint } from '../../src/topology/hints';
import { netnsUnavailable } from '../../src/lab/netns';
import { macIn, twoFabricLab } from '../helpers/fabric-lab';
import { runCli } from '../helpers/cli';
import { spawnLabAgent, type LabAgent } from '../helpers/lab-agent';
import { enginesToTest } from '../helpers/engines';

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the agent fabric test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest()) t.test(`agents with the ${engine} engine find two fabrics`, (t) => fabrics(t, engine));
}

async function fabrics(t: Test, engine: string): Promise<void> {
  const { lab, dir } = twoFabricLab(t, 'fab');
  const pMac = { p0: macIn(lab, 'p', 'p0'), p1: macIn(lab, 'p', 'p1') };

  const agents: Partial<Record<'r' | 'p', LabAgent>> = {};
  const start = (host: 'r' | 'p', ifaces: string[]) => {
    const args = ['--engine', engine, '--socket', join(dir, `${host}.sock`), '--journal', join(dir, `${host}.jsonl`), '--log-level', 'debug'];
    for (const i of ifaces) args.push('-i', i);
    const agent = spawnLabAgent(lab, host, args);
    agents[host] = agent;
    return agent.child;
  };
  const r = start('r', ['r0', 'r1', 'r2']);
  const p = start('p', ['p0', 'p1']);

  const want: Array<Partial<TopologyHint>> = [
    { hint: 'same_local_fabric_as', ifname: 'r0', related_ifname: 'r1' },
    { hint: 'same_local_fabric_as', ifname: 'r1', related_ifname: 'r0' },
    { hint: 'rx_own_beacon_on_other_interface', ifname: 'r0', related_ifname: 'r1' },
    { hint: 'on_remote_network', ifname: 'r0', related_ifname: 'p0', related_mac: pMac.p0 },
    { hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p0', related_mac: pMac.p0 },
    { hint: 'on_remote_network', ifname: 'r2', related_ifname: 'p1', related_mac: pMac.p1 },
  ];
  const has = (hints: TopologyHint[], w: Partial<TopologyHint>) =>
    hints.some((h) => Object.entries(w).every(([k, v]) => (h as unknown as Record<string, unknown>)[k] === v));
  const sock = join(dir, 'r.sock');
  let hints: TopologyHint[] = [];
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    hints = (await request(sock, 'hints').catch(() => [])) as TopologyHint[];
    if (want.every((w) => has(hints, w))) break;
  }
  for (const w of want) t.ok(has(hints, w), `R reports ${JSON.stringify(w)}`);
  const X = new Set(['r0', 'r1', 'p0']);
  const Y = new Set(['r2', 'p1']);
  const crossing = hints.filter(
    (h) => h.related_ifname !== undefined && ((X.has(h.ifname) && Y.has(h.related_ifname)) || (Y.has(h.ifname) && X.has(h.related_ifname))),
  );
  t.same(crossing, [], 'no hint joins X with Y');

  const topo = await runCli(['topology', '--socket', sock, '--json']);
  t.equal(topo.status, 0, topo.stderr);
  const view = JSON.parse(topo.stdout) as { fabrics: Array<{ segments: Array<{ ifname: string }> }> };
  const groups = view.fabrics
    .map((f) =>
      f.segments
        .map((s) => s.ifname)
        .sort()
        .join(','),
    )
    .sort();
  t.same(groups, ['r0,r1', 'r2'], 'two fabrics: {r0, r1} and {r2}');

  const status = (await request(sock, 'status')) as { interfaces: Array<{ name: string; received: Record<string, number> }>; engine: { name: string } };
  t.equal(status.engine.name, engine);
  t.same(status.interfaces.map((i) => i.name).sort(), ['r0', 'r1', 'r2']);
  const hintsCli = await runCli(['hints', '--socket', sock]);
  t.equal(hintsCli.status, 0, hintsCli.stderr);
  t.ok((JSON.parse(hintsCli.stdout) as unknown[]).length >= want.length, '`netbeacon hints` prints the array');

  // SIGTERM: a clean exit, the socket removed, the journal flushed.
  const exited = new Promise<number | null>((res) => r.on('exit', (code) => res(code)));
  r.kill('SIGTERM');
  t.equal(await exited, 0, 'R exits 0 on SIGTERM');
  t.throws(() => readFileSync(sock), 'the socket is removed');
  const journal = readFileSync(join(dir, 'r.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { direction: string });
  t.ok(journal.some((l) => l.direction === 'tx') && journal.some((l) => l.direction === 'rx'), 'the journal holds what R sent and received');
  p.kill('SIGTERM');
  if (t.passing() === false) t.comment(`R's log:\n${agents.r?.log().slice(-4000)}\nP's log:\n${agents.p?.log().slice(-2000)}`);
}
