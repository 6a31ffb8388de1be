/**
 * A cable moves under a running agent (issue 15): in the two-bridge lab
 * (helpers/fabric-lab.ts), R's r1 is plugged from bridge X (with r0 and
 * P's p0) into bridge Y (with r2 and P's p1) while R and P run. R must see
 * r1 leave its old fabric and join the new one within the ageing time plus
 * one beacon period, and `watch` must say so: hint_expired for the old
 * hints, hint_added for the new.
 *
 * Both agents run the code they always run, with a config that shortens the
 * ageing (queues.ttl) and the periods, so that the test takes seconds
 * rather than MAAS's two minutes: TTL 8 s, a solicitation every 2 s.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request, subscribe } from '../../src/agent/control';
import type { AgentEvent } from '../../src/agent/daemon';
import type { Topology } from '../../src/topology/fabrics';
import type { TopologyHint } from '../../src/topology/hints';
import { netnsUnavailable } from '../../src/lab/netns';
import { macIn, twoFabricLab } from '../helpers/fabric-lab';
import { cliCommand } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const TTL_S = 8;
const PERIOD_S = 2;
/** Scheduling, the poll below and the beacon's trip: what "within" allows beyond the ageing. */
const SLACK_MS = 1_500;

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the moved-cable test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest()) t.test(`${engine} engine: r1 moves from bridge X to bridge Y`, (t) => movedCable(t, engine));
}

type HintEvent = Extract<AgentEvent, { hint: TopologyHint }>;

async function movedCable(t: Test, engine: string): Promise<void> {
  const { lab, dir } = twoFabricLab(t, 'mv');
  const pMac = { p0: macIn(lab, 'p', 'p0'), p1: macIn(lab, 'p', 'p1') };
  const config = join(dir, 'netbeacon.yaml');
  writeFileSync(config, `periods: {solicitation: ${PERIOD_S}, retry: 0.5, advertisement: 1}\nqueues: {ttl: ${TTL_S}}\n`);
  const logs: Record<string, string> = { r: '', p: '' };
  const start = (host: 'r' | 'p', ifaces: string[]): void => {
    const args = [...cliCommand(), 'agent', '--config', config, '--secret-file', vector('secret'), '--engine', engine, '--socket', join(dir, `${host}.sock`)];
    for (const i of ifaces) args.push('-i', i);
    const child = lab.spawn(host, args);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (logs[host] += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (logs[host] += d));
    t.teardown(() => void child.kill('SIGKILL'));
  };
  start('r', ['r0', 'r1', 'r2']);
  start('p', ['p0', 'p1']);
  const sock = join(dir, 'r.sock');

  const fabricsOf = async (): Promise<string[]> => {
    const topo = (await request(sock, 'topology').catch(() => ({ fabrics: [] }))) as Topology;
    return topo.fabrics.map((f) => [...f.segments.map((s) => s.ifname), ...f.peers.map((p) => p.ifname)].sort().join(',')).sort();
  };
  const until = async (want: string[], deadlineMs: number): Promise<{ at: number; got: string[] }> => {
    let got: string[] = [];
    while (Date.now() < deadlineMs) {
      got = await fabricsOf();
      if (JSON.stringify(got) === JSON.stringify(want)) return { at: Date.now(), got };
      await new Promise((res) => setTimeout(res, 200));
    }
    return { at: Number.NaN, got };
  };

  const before = ['p0,r0,r1', 'p1,r2'];
  const first = await until(before, Date.now() + 20_000);
  t.same(first.got, before, 'as wired: r0 and r1 with p0 on X, r2 with p1 on Y');

  const events: HintEvent[] = [];
  const watch = subscribe(sock, 'watch', (e) => {
    const ev = e as AgentEvent;
    if (ev.event === 'hint_added' || ev.event === 'hint_expired') events.push(ev);
  });
  t.teardown(() => watch.close());
  await new Promise((res) => setTimeout(res, 300));

  // The cable of r1 moves to the other bridge; R itself sees no link change.
  lab.exec('sw', ['ip', 'link', 'set', 'sr1', 'master', 'brY']);
  const movedAt = Date.now();
  await new Promise((res) => setTimeout(res, 1_000));
  const soon = (await request(sock, 'hints')) as TopologyHint[];
  t.ok(
    soon.some((h) => h.hint === 'same_local_fabric_as' && h.ifname === 'r0' && h.related_ifname === 'r1'),
    'a second after the move R still holds what it last heard: hints age, they do not vanish',
  );

  const after = ['p0,r0', 'p1,r1,r2'];
  const settled = await until(after, movedAt + TTL_S * 1000 + PERIOD_S * 1000 + SLACK_MS);
  t.same(settled.got, after, `r1 left X and joined Y within the ageing time plus one period (${TTL_S + PERIOD_S} s)`);
  if (!Number.isNaN(settled.at)) t.comment(`settled ${((settled.at - movedAt) / 1000).toFixed(1)} s after the move`);

  const hints = (await request(sock, 'hints')) as TopologyHint[];
  const joins = (a: string, b: string): boolean => hints.some((h) => h.ifname === a && h.related_ifname === b);
  t.notOk(joins('r0', 'r1') || joins('r1', 'r0') || joins('r1', 'p0'), 'no hint relates r1 to X any more');
  t.ok(joins('r1', 'r2') && joins('r2', 'r1'), 'r1 and r2 are related');
  t.ok(
    hints.some((h) => h.hint === 'on_remote_network' && h.ifname === 'r1' && h.related_mac === pMac.p1),
    'r1 hears p1',
  );

  const seen = (kind: HintEvent['event'], w: Partial<TopologyHint>): HintEvent | undefined =>
    events.find((e) => e.event === kind && Object.entries(w).every(([k, v]) => (e.hint as unknown as Record<string, unknown>)[k] === v));
  const gone = [
    { hint: 'same_local_fabric_as', ifname: 'r0', related_ifname: 'r1' },
    { hint: 'same_local_fabric_as', ifname: 'r1', related_ifname: 'r0' },
    { hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p0', related_mac: pMac.p0 },
  ] as const;
  for (const w of gone) {
    const e = seen('hint_expired', w);
    t.ok(e, `watch: hint_expired ${JSON.stringify(w)}`);
    // Aged out: not before the last beacon that supported it could have gone stale, nor long after.
    if (e) t.ok(e.time * 1000 - movedAt <= TTL_S * 1000 + SLACK_MS, `  ${((e.time * 1000 - movedAt) / 1000).toFixed(1)} s after the move`);
  }
  const joined = [
    { hint: 'same_local_fabric_as', ifname: 'r1', related_ifname: 'r2' },
    { hint: 'on_remote_network', ifname: 'r1', related_ifname: 'p1', related_mac: pMac.p1 },
  ] as const;
  for (const w of joined) t.ok(seen('hint_added', w), `watch: hint_added ${JSON.stringify(w)}`);
  t.notOk(
    events.some((e) => e.event === 'hint_expired' && e.hint.ifname === 'r2' && e.hint.related_ifname === 'p1'),
    'hints that still hold are not expired: r2 keeps hearing p1',
  );

  const status = (await request(sock, 'status')) as { correlation: { hints: number; ageing: { expired: number } } };
  t.equal(status.correlation.hints, hints.length, 'status counts the hints held now');
  t.ok(status.correlation.ageing.expired >= gone.length, 'and how many aged out');
  if (t.passing() === false) t.comment(`R's log:\n${logs.r?.slice(-4000)}\nP's log:\n${logs.p?.slice(-2000)}\nevents: ${JSON.stringify(events)}`);
}
