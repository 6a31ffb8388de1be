/**
 * The fleet in network namespaces: three hosts with agents, a switch with
 * two bridges, and a management namespace for the service, joined to the
 * hosts by a management bridge of its own, so that reports never leave
 * the namespaces:
 *
 *   sw:   brA (h1/a0, h2/a0, h3/a0)   brB (h1/b0, h2/b0)
 *   mgmt: brM 10.99.0.254/24 (h1/m0 .1, h2/m0 .2, h3/m0 .3); fleet serve on it
 *
 * The service must show two fabrics across the three hosts. Then it is
 * killed (-9) and restarted with nothing lost, and h3's cable moves from brA
 * to brB: the model and the history show the move.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { cliCommand } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import type { FleetTopology } from '../../src/fleet/model/types';

const SERVICE = 'http://10.99.0.254:9241';

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the fleet namespace test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('two fabrics across three hosts, a service killed and restarted, a cable moved', (t) => fleet(t));
}

interface Run {
  lab: Lab;
  dir: string;
  logs: Record<string, string>;
}

function cli(run: Run, args: string[]): string {
  return run.lab.exec('mgmt', [...cliCommand(), ...args, '--server', SERVICE]);
}

function topology(run: Run): FleetTopology | undefined {
  try {
    return JSON.parse(cli(run, ['fleet', 'topology', '--json'])) as FleetTopology;
  } catch {
    return undefined;
  }
}

/** The fabrics as sorted lists of host/interface, themselves sorted. */
function shape(t: FleetTopology | undefined): string[][] {
  return (t?.fabrics ?? []).map((f) => f.segments.map((s) => `${s.host}/${s.interface}`).sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function startService(run: Run): ChildProcess {
  const child = run.lab.spawn('mgmt', [
    ...cliCommand(),
    'fleet',
    'serve',
    '--db',
    `sqlite:${join(run.dir, 'fleet.db')}`,
    '--listen',
    '10.99.0.254:9241',
    '--secret-file',
    vector('secret'),
  ]);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (run.logs.service += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (run.logs.service += d));
  return child;
}

function startAgent(run: Run, host: string, ifaces: string[]): ChildProcess {
  const args = [...cliCommand(), 'agent', '--secret-file', vector('secret'), '--socket', join(run.dir, `${host}.sock`), '--fleet', SERVICE, '--name', host];
  for (const i of ifaces) args.push('-i', i);
  const child = run.lab.spawn(host, args);
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (run.logs[host] += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (run.logs[host] += d));
  return child;
}

async function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await gone;
}

async function fleet(t: Test): Promise<void> {
  const lab = new Lab('fleet');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-fleet-'));
  const run: Run = { lab, dir, logs: { service: '', h1: '', h2: '', h3: '' } };
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'mgmt', 'h1', 'h2', 'h3']) lab.addHost(h);
  lab.addBridge('sw', 'brA');
  lab.addBridge('sw', 'brB');
  lab.addBridge('mgmt', 'brM');
  lab.exec('mgmt', ['ip', 'addr', 'add', '10.99.0.254/24', 'dev', 'brM']);
  const wiring: Record<string, string[]> = { h1: ['a0', 'b0'], h2: ['a0', 'b0'], h3: ['a0'] };
  for (const [host, ifaces] of Object.entries(wiring)) {
    const n = host.slice(1);
    for (const i of ifaces) lab.link({ host, name: i }, { host: 'sw', name: `s${n}${i[0]}`, master: i === 'a0' ? 'brA' : 'brB' });
    lab.link({ host, name: 'm0', addresses: [`10.99.0.${n}/24`] }, { host: 'mgmt', name: `m${n}`, master: 'brM' });
  }
  t.teardown(() => {
    if ((t as unknown as { passing(): boolean }).passing()) return;
    for (const [who, log] of Object.entries(run.logs)) t.comment(`--- ${who}\n${log.slice(-3000)}`);
  });

  let service = startService(run);
  // The agents beacon on their data interfaces only; m0 carries the reports.
  const agents: Record<string, ChildProcess> = {};
  for (const [host, ifaces] of Object.entries(wiring)) agents[host] = startAgent(run, host, ifaces);

  const before = [
    ['h1/a0', 'h2/a0', 'h3/a0'],
    ['h1/b0', 'h2/b0'],
  ];
  await until('two fabrics across the three hosts', () => JSON.stringify(shape(topology(run))) === JSON.stringify(before), 60_000);
  const first = topology(run)!;
  t.same(shape(first), before, 'brA and brB are two fabrics, each across hosts');
  const nameA = first.fabrics.find((f) => f.segments.some((s) => s.interface === 'a0'))!.name;
  const nameB = first.fabrics.find((f) => f.segments.some((s) => s.interface === 'b0'))!.name;
  const joinA = first.fabrics.find((f) => f.name === nameA)!.joins;
  t.ok(
    joinA.some((j) => j.kind === 'remote' && j.hints.some((h) => h.hint === 'on_remote_network')),
    'joined across hosts by on_remote_network naming the MACs the hosts reported',
  );
  t.same(first.findings, [], 'no findings: every MAC heard belongs to a reporting host');
  const placements = Object.fromEntries(first.placements.map((p) => [`${p.host}/${p.interface}`, p]));
  t.equal(placements['h3/a0']?.fabric, nameA, 'MAAS would place h3/a0 on brA\u2019s fabric');

  // kill -9 mid-run: every report it acknowledged survives; the agents retry.
  const hostsBefore = JSON.parse(cli(run, ['fleet', 'hosts', '--json'])) as { hosts: Array<{ name: string; seq: number }> };
  await stopped(service, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  const status = lab.exec('h1', [...cliCommand(), 'status', '--socket', join(dir, 'h1.sock')]);
  t.match(status, /fleet http:\/\/10\.99\.0\.254:9241 as h1: /, 'status shows the fleet link');
  service = startService(run);
  await until('the service back', () => topology(run) !== undefined, 30_000);
  const hostsAfter = JSON.parse(cli(run, ['fleet', 'hosts', '--json'])) as { hosts: Array<{ name: string; seq: number }> };
  for (const h of hostsBefore.hosts) t.ok((hostsAfter.hosts.find((x) => x.name === h.name)?.seq ?? 0) >= h.seq, `${h.name}: nothing acknowledged was lost`);
  // Move h3's cable from brA to brB. Hints do not age out on this agent
  // yet (hint ageing, issue 15, does that), so the agents start afresh and
  // learn the new wiring; their first reports come before their hints.
  lab.exec('sw', ['ip', 'link', 'set', 's3a', 'nomaster']);
  lab.exec('sw', ['ip', 'link', 'set', 's3a', 'master', 'brB']);
  for (const [host, ifaces] of Object.entries(wiring)) {
    await stopped(agents[host]!, 'SIGTERM');
    agents[host] = startAgent(run, host, ifaces);
  }
  const after = [
    ['h1/a0', 'h2/a0'],
    ['h1/b0', 'h2/b0', 'h3/a0'],
  ];
  await until('h3/a0 on brB\u2019s fabric', () => JSON.stringify(shape(topology(run))) === JSON.stringify(after), 60_000);
  const moved = topology(run)!;
  t.same(shape(moved), after, 'the model shows the move');
  t.equal(moved.fabrics.find((f) => f.segments.some((s) => s.host === 'h3'))!.name, nameB, 'h3/a0 is on the fabric brB had');
  t.equal(moved.fabrics.find((f) => f.segments.some((s) => s.host === 'h1' && s.interface === 'a0'))!.name, nameA, 'brA keeps its name');
  // Written within a refresh interval of the model showing it.
  await new Promise((r) => setTimeout(r, 1500));
  const history = JSON.parse(cli(run, ['fleet', 'history', '--host', 'h3', '--interface', 'a0', '--json'])) as {
    changes: Array<{ kind: string; before: string | null; after: string | null }>;
  };
  const seg = history.changes.filter((c) => c.kind === 'segment_fabric');
  t.equal(seg[0]?.after, nameB, 'the newest change puts h3/a0 on brB\u2019s fabric');
  t.ok(
    seg.some((c) => c.before === nameA),
    `and the history shows it leaving ${nameA}`,
  );
  t.equal(seg.at(-1)?.before, null, 'back to the segment appearing');
  const table = cli(run, ['fleet', 'history', '--host', 'h3', '--interface', 'a0']);
  t.match(table, new RegExp(`segment_fabric\\s+h3/a0\\s+\\S+\\s+${nameB}\\n`), 'the table says it too');
  writeFileSync(join(dir, 'history.txt'), table);
  for (const a of Object.values(agents)) await stopped(a, 'SIGTERM');
  await stopped(service, 'SIGTERM');
}
