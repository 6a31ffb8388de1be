/**
 * Beacon format v3 on a switched lab network (issue 18's done-when):
 *
 *   switch namespace: bridges brX and brY
 *   host R: r0 (10.50.0.1/24) and r1 (no address) on X, r2 (10.51.0.1/24) on Y   formats [v3] (config file)
 *   host P: p0 (10.50.0.2/24) on X, p1 (10.51.0.2/24) on Y                          --formats v3
 *   host C: c0 (10.50.0.3/24) on X                                                   v2 only (the default)
 *
 * R and P beacon in v3 only and must still find each other's fabrics as
 * issue 4's test wants them: r0~r1 from R's own v3 beacons, P's
 * interfaces on the right segments. C, which speaks v2 alone like a MAAS
 * rack, must be unaffected: it drops R's and P's v3 multicast as an
 * unknown version, and still hears them, because they answer its v2
 * solicitations in v2; R hears C's v2 multicast. R runs the native engine
 * where the addon loads and P the JS engine, so both engines' v3 paths
 * (and the native worker's key ring) run here.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../src/agent/control';
import type { TopologyHint } from '../../src/topology/hints';
import { netnsUnavailable } from '../../src/lab/netns';
import { macIn, twoFabricLab } from '../helpers/fabric-lab';
import { cliCommand, runCli } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

interface Status {
  formats: { sending: string[]; accepting: string[] };
  peers: Array<{ name: string; mac: string; interface: string; formats: string[] }>;
  interfaces: Array<{ name: string; received: Record<string, number>; sent: Record<string, number> }>;
  counters: { replays: number; replays_by_format: Record<string, number> };
}

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the v3 fabric test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('v3 agents find each other, and a v2-only agent beside them still hears them over v2', async (t) => {
    const { lab, dir } = twoFabricLab(t, 'v3f');
    lab.addHost('c');
    lab.link({ host: 'c', name: 'c0', addresses: ['10.50.0.3/24'] }, { host: 'sw', name: 'sc0', master: 'brX' });
    const mac = { p0: macIn(lab, 'p', 'p0'), p1: macIn(lab, 'p', 'p1'), r0: macIn(lab, 'r', 'r0'), c0: macIn(lab, 'c', 'c0') };
    const engines = enginesToTest();
    const config = join(dir, 'r.yaml');
    writeFileSync(config, 'beacons:\n  formats: [v3]\n');

    const logs: Record<string, string> = { r: '', p: '', c: '' };
    const start = (host: 'r' | 'p' | 'c', ifaces: string[], engine: string, extra: string[]) => {
      const args = [...cliCommand(), 'agent', '--secret-file', vector('secret'), '--engine', engine, '--socket', join(dir, `${host}.sock`)];
      args.push('--journal', join(dir, `${host}.jsonl`), '--log-level', 'debug', ...extra);
      for (const i of ifaces) args.push('-i', i);
      const child = lab.spawn(host, args);
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (logs[host] += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (logs[host] += d));
      return child;
    };
    const agents = [
      start('r', ['r0', 'r1', 'r2'], engines[engines.length - 1]!, ['--config', config]),
      start('p', ['p0', 'p1'], 'js', ['--formats', 'v3']),
      start('c', ['c0'], engines[engines.length - 1]!, []),
    ];
    t.teardown(() => agents.forEach((a) => a.kill('SIGKILL')));

    const want: Record<'r' | 'p' | 'c', Array<Partial<TopologyHint>>> = {
      r: [
        { hint: 'same_local_fabric_as', ifname: 'r0', related_ifname: 'r1' },
        { hint: 'rx_own_beacon_on_other_interface', ifname: 'r0', related_ifname: 'r1' },
        { hint: 'on_remote_network', ifname: 'r0', related_ifname: 'p0', related_mac: mac.p0 },
        { hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p0', related_mac: mac.p0 },
        { hint: 'on_remote_network', ifname: 'r2', related_ifname: 'p1', related_mac: mac.p1 },
        { hint: 'on_remote_network', ifname: 'r0', related_ifname: 'c0', related_mac: mac.c0 },
      ],
      p: [{ hint: 'on_remote_network', ifname: 'p0', related_ifname: 'r0', related_mac: mac.r0 }],
      c: [{ hint: 'routable_to', ifname: 'c0', related_ifname: 'r0', related_mac: mac.r0 }],
    };
    const has = (hints: TopologyHint[], w: Partial<TopologyHint>) =>
      hints.some((h) => Object.entries(w).every(([k, v]) => (h as unknown as Record<string, unknown>)[k] === v));
    const hints: Record<string, TopologyHint[]> = { r: [], p: [], c: [] };
    // Past one 30 s solicitation round: on a loaded machine an agent can still
    // be starting while the others send their first beacons and retries.
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 500));
      for (const h of ['r', 'p', 'c'] as const) hints[h] = (await request(join(dir, `${h}.sock`), 'hints').catch(() => [])) as TopologyHint[];
      if ((['r', 'p', 'c'] as const).every((h) => want[h].every((w) => has(hints[h]!, w)))) break;
    }
    for (const h of ['r', 'p', 'c'] as const) for (const w of want[h]) t.ok(has(hints[h]!, w), `${h.toUpperCase()} reports ${JSON.stringify(w)}`);
    const X = new Set(['r0', 'r1', 'p0', 'c0']);
    const Y = new Set(['r2', 'p1']);
    const crossing = hints.r!.filter(
      (h) => h.related_ifname !== undefined && X.has(h.ifname) !== X.has(h.related_ifname) && (Y.has(h.ifname) || Y.has(h.related_ifname)),
    );
    t.same(crossing, [], 'no hint joins X with Y');
    t.notOk(
      hints.c!.some((h) => h.hint === 'on_remote_network'),
      'C heard no multicast from R or P: they multicast v3 only, which a v2 receiver drops',
    );

    const topo = await runCli(['topology', '--socket', join(dir, 'r.sock'), '--json']);
    t.equal(topo.status, 0, topo.stderr);
    const view = JSON.parse(topo.stdout) as { fabrics: Array<{ segments: Array<{ ifname: string }> }> };
    t.same(
      view.fabrics
        .map((f) =>
          f.segments
            .map((s) => s.ifname)
            .sort()
            .join(','),
        )
        .sort(),
      ['r0,r1', 'r2'],
      'R: two fabrics, {r0, r1} and {r2}',
    );

    const status = async (h: string) => (await request(join(dir, `${h}.sock`), 'status')) as Status;
    const [r, p] = [await status('r'), await status('p')];
    // C's hints can be complete (from R's v2 replies) before R's or P's next
    // v3 multicast reaches c0: wait for one, up to a solicitation round.
    let c = await status('c');
    for (const until = Date.now() + 35_000; (c.interfaces[0]?.received.version ?? 0) === 0 && Date.now() < until; c = await status('c'))
      await new Promise((res) => setTimeout(res, 500));
    t.same(r.formats, { sending: ['v3'], accepting: ['v2', 'v3'] }, 'R: formats from its config file');
    t.same(p.formats, { sending: ['v3'], accepting: ['v2', 'v3'] }, 'P: formats from --formats');
    t.same(c.formats, { sending: ['v2'], accepting: ['v2'] }, 'C: MAAS only');
    const peer = (s: Status, m: string) => s.peers.find((x) => x.mac === m);
    t.same(peer(r, mac.p0)?.formats, ['v3'], 'R heard P in v3');
    t.same(peer(r, mac.c0)?.formats, ['v2'], 'R heard C in v2');
    t.same(peer(c, mac.r0)?.formats, ['v2'], 'C heard R in v2 (its replies)');
    t.ok((c.interfaces[0]?.received.version ?? 0) > 0, `C dropped v3 as an unknown version (${c.interfaces[0]?.received.version ?? 0})`);
    t.ok((c.interfaces[0]?.received.valid ?? 0) > 0, 'and still received valid v2 beacons');
    t.same(Object.keys(r.counters.replays_by_format).sort(), ['v2', 'v3'], 'replays counted per format');

    // R's journal: multicast went out in v3 only, the answers to C in v2.
    const tx = readFileSync(join(dir, 'r.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { direction: string; version: number; destination_ip: string })
      .filter((l) => l.direction === 'tx');
    const multicast = (ip: string) => ip === '224.0.0.118' || ip === 'ff02::15a';
    t.ok(
      tx.some((l) => l.version === 3 && multicast(l.destination_ip)),
      'R multicast in v3',
    );
    t.same(
      tx.filter((l) => l.version === 2 && multicast(l.destination_ip)),
      [],
      'and never in v2: v2 went out only as answers (to C, by IPv4 or link-local IPv6)',
    );
    t.ok(
      tx.some((l) => l.version === 2 && l.destination_ip === '10.50.0.3'),
      'R answered C in v2',
    );

    const text = await runCli(['status', '--socket', join(dir, 'r.sock')]);
    t.match(text.stdout, /formats: sending v3; accepting v2, v3; replays v2 \d+, v3 \d+/);
    t.match(text.stdout, new RegExp(`${mac.p0}\\s+heard on r[01]\\s+formats v3`));
    const doctor = await runCli(['doctor', '--secret-file', vector('secret'), '--socket', join(dir, 'r.sock'), '--json']);
    const d = JSON.parse(doctor.stdout) as { formats: { agent: { sending: string[]; peers: Array<{ mac: string; formats: string[] }> } } };
    t.same(d.formats.agent.sending, ['v3'], 'doctor asks the agent');
    t.ok(
      d.formats.agent.peers.some((x) => x.mac === mac.c0 && x.formats.join() === 'v2'),
      'doctor: per peer formats',
    );

    // SIGHUP: R's config now says [v2, v3]; the formats change at once, nothing restarts.
    writeFileSync(config, 'beacons:\n  formats: [v2, v3]\n');
    agents[0]!.kill('SIGHUP');
    let after = r;
    for (let i = 0; i < 40 && after.formats.sending.length < 2; i++) {
      await new Promise((res) => setTimeout(res, 250));
      after = await status('r');
    }
    t.same(after.formats, { sending: ['v2', 'v3'], accepting: ['v2', 'v3'] }, 'R after SIGHUP: sending both');

    for (const a of agents) a.kill('SIGTERM');
    if (t.passing() === false) t.comment(`R's log:\n${logs.r?.slice(-4000)}\nP's log:\n${logs.p?.slice(-2000)}\nC's log:\n${logs.c?.slice(-2000)}`);
  });
}
