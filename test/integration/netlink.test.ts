/**
 * Interfaces from the kernel's own events (issue 20, part 2), in network
 * namespaces (root only):
 * - the agent sees a veth come, an address come and go, a link go down
 *   and a veth go, in `watch` and `status`, and starts no process while it
 *   runs: strace, attached once it runs, follows every thread and child of
 *   the agent and records each execve. The same check on the `ip` poll
 *   (NETBEACON_INTERFACES=poll) must see `ip` started, so the check itself
 *   can fail;
 * - agreement: for the same namespace, the model the rtnetlink watcher
 *   keeps (from its dump, then from events) equals the model of
 *   `ip -j -d addr show`, after every kind of change.
 * How fast the changes arrive is measured in the bench (interface-events),
 * not here.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request, subscribe } from '../../src/agent/control';
import { loadBinding } from '../../src/engine/binding';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import type { HostInterface } from '../../src/topology/interfaces';
import { cliCommand } from '../helpers/cli';
import { labAgentArgv } from '../helpers/lab-agent';
import { jsonLines } from '../helpers/netns';

const strace = spawnSync('strace', ['-V']);
const why =
  netnsUnavailable() ??
  (loadBinding().ok ? undefined : 'the native addon is not built (the rtnetlink watcher lives there)') ??
  (strace.error ? 'strace is not installed (CI installs it)' : undefined);
if (why) {
  if (process.env.CI && strace.error) t.fail('strace is not installed; CI must install it');
  t.comment(`skipping the rtnetlink tests: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.setTimeout(600_000);
  t.test('the agent follows rtnetlink events and starts no process', events);
  t.test('the rtnetlink model equals the `ip -j -d addr show` model, at start and after every change', agreement);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | Promise<T | undefined>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function lab(t: Test, tag: string): { lab: Lab; dir: string } {
  const l = new Lab(tag);
  const dir = mkdtempSync(join(tmpdir(), `netbeacon-${tag}-`));
  t.teardown(() => {
    l.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  l.addHost('a');
  l.addHost('b');
  l.link({ host: 'a', name: 'a0', addresses: ['10.70.0.1/24'] }, { host: 'b', name: 'b0', addresses: ['10.70.0.2/24'] });
  return { lab: l, dir };
}

/** The agent in host a. `ip netns exec` and env exec their command in place: the child's pid is the agent's. */
function startAgent(l: Lab, sock: string, env: Record<string, string> = {}): ChildProcess {
  return l.spawn('a', labAgentArgv(['--socket', sock, '--log-level', 'warn'], env));
}

/**
 * strace attached to a running process, following every thread it has and
 * every thread and child it makes, writing each execve to `trace`.
 * Resolves once attached. Stopping strace detaches it; the agent goes on.
 */
async function attachStrace(t: Test, pid: number, trace: string): Promise<ChildProcess> {
  const s = spawn('strace', ['-f', '-e', 'trace=execve,execveat', '-o', trace, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.teardown(() => void s.kill('SIGTERM'));
  let err = '';
  s.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  await until(`strace attached to ${pid}`, () => /attached/.test(err) || (s.exitCode !== null ? Promise.reject(new Error(err)) : undefined));
  return s;
}

/** The execve lines of a trace (strace -o: "PID execve(...) = 0"). */
function execs(trace: string): string[] {
  let text: string;
  try {
    text = readFileSync(trace, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => /\bexecve(at)?\(/.test(l) && !/resumed>/.test(l));
}

async function statusOf(sock: string): Promise<Status | undefined> {
  try {
    return (await request(sock, 'status')) as Status;
  } catch {
    return undefined;
  }
}

interface Status {
  interfaces: Array<{ name: string; addresses: string[] }>;
  discovery: { source: string; why: string };
}

async function events(t: Test): Promise<void> {
  const { lab: l, dir } = lab(t, 'nlev');
  const sock = join(dir, 'agent.sock');
  const trace = join(dir, 'trace');
  const agent = startAgent(l, sock);
  const first = await until('the agent', () => statusOf(sock), 90_000);
  t.equal(first.discovery.source, 'netlink', `status says where interfaces come from: ${first.discovery.why}`);
  t.same(
    first.interfaces.map((i) => i.name),
    ['a0'],
  );
  const tracer = await attachStrace(t, agent.pid!, trace);

  const seen: Array<Record<string, unknown>> = [];
  const watch = subscribe(sock, 'watch', (e) => seen.push(e as Record<string, unknown>));
  t.teardown(() => watch.close());
  await sleep(300);
  const event = (what: string, pred: (e: Record<string, unknown>) => boolean) => until(what, () => seen.find(pred));

  l.exec('a', ['ip', 'link', 'add', 'n1', 'type', 'veth', 'peer', 'name', 'n1p']);
  l.exec('a', ['ip', 'link', 'set', 'n1', 'up']);
  l.exec('a', ['ip', 'link', 'set', 'n1p', 'up']);
  await event('n1 added', (e) => e.event === 'interface_added' && e.interface === 'n1');
  t.pass('a new veth: interface_added');
  const listed = await until('status lists n1', async () => ((await request(sock, 'status')) as Status).interfaces.find((i) => i.name === 'n1'));
  t.ok(listed, 'and status lists it');

  l.exec('a', ['ip', 'addr', 'add', '10.71.0.1/24', 'dev', 'n1']);
  const added = await event('10.71.0.1 on n1', (e) => e.event === 'interface_changed' && (e.addresses as string[]).includes('10.71.0.1/24'));
  t.equal(added.interface, 'n1', 'an address added: interface_changed with it');
  l.exec('a', ['ip', 'link', 'set', 'n1', 'mtu', '1400']);
  await event('n1 mtu 1400', (e) => e.event === 'interface_changed' && e.mtu === 1400);
  t.pass('an MTU change: interface_changed');
  l.exec('a', ['ip', 'addr', 'del', '10.71.0.1/24', 'dev', 'n1']);
  await event('10.71.0.1 gone', (e) => e.event === 'interface_changed' && e.interface === 'n1' && !(e.addresses as string[]).includes('10.71.0.1/24'));
  t.pass('an address removed: interface_changed without it');
  l.exec('a', ['ip', 'link', 'set', 'n1', 'down']);
  await event('n1 removed', (e) => e.event === 'interface_removed' && e.interface === 'n1');
  t.pass('a link down: interface_removed');
  l.exec('a', ['ip', 'link', 'del', 'n1p']);
  await event('n1p removed', (e) => (e.event === 'interface_removed' || e.event === 'interface_gone') && e.interface === 'n1p');
  t.pass('a veth deleted: it goes');
  const last = (await request(sock, 'status')) as Status;
  t.same(
    last.interfaces.map((i) => i.name),
    ['a0'],
    'status is back to a0',
  );
  // Steady state, and every change above: no process started by the agent.
  await sleep(2500);
  t.same(execs(trace), [], 'no execve by the agent, its threads or its children, through all of it');
  tracer.kill('SIGTERM');
  agent.kill('SIGTERM');

  // The same check on the poll: it must see `ip` started, or it proves nothing.
  const sock2 = join(dir, 'poll.sock');
  const trace2 = join(dir, 'trace-poll');
  const poll = startAgent(l, sock2, { NETBEACON_INTERFACES: 'poll' });
  const st = await until('the polling agent', () => statusOf(sock2), 90_000);
  t.equal(st.discovery.source, 'poll');
  const tracer2 = await attachStrace(t, poll.pid!, trace2);
  const polled = await until('an ip started by the poll', () => execs(trace2).find((l2) => /execve\("[^"]*\/ip"/.test(l2)), 20_000);
  t.match(polled, /"-j", "-d", "addr", "show"/, 'the trace does see the poll start ip');
  tracer2.kill('SIGTERM');
  poll.kill('SIGTERM');
}

/** Both models, from the helper in host a. */
class Both {
  readonly lines: Array<Record<string, unknown>> = [];
  constructor(readonly child: ChildProcess) {
    jsonLines(child, (v) => this.lines.push(v));
  }
  async ask(): Promise<{ netlink: HostInterface[]; ip: HostInterface[] }> {
    const n = this.lines.length;
    this.child.stdin!.write('both\n');
    const r = await until('both models', () => this.lines.slice(n).find((l) => l.event === 'both' || l.event === 'fatal'));
    if (r.event === 'fatal') throw new Error(String(r.message));
    return r as unknown as { netlink: HostInterface[]; ip: HostInterface[] };
  }
  /** Until the two agree (events take a few ms to arrive), or the last difference. */
  async agree(): Promise<{ netlink: HostInterface[]; ip: HostInterface[] }> {
    let last = await this.ask();
    for (let i = 0; i < 40 && JSON.stringify(last.netlink) !== JSON.stringify(last.ip); i++) {
      await sleep(100);
      last = await this.ask();
    }
    return last;
  }
}

async function agreement(t: Test): Promise<void> {
  const { lab: l } = lab(t, 'nlag');
  const sh = (...args: string[]) => l.exec('a', args);
  // A namespace with what a rack has and this kernel can make: a bridge with
  // ports (parents from IFLA_MASTER), a veth with no address, one that is
  // down, several IPv4 addresses with a secondary, IPv6 global and
  // link-local, an MTU other than 1500, a veth whose peer is here too.
  sh('ip', 'link', 'add', 'br0', 'type', 'bridge');
  sh('ip', 'link', 'add', 'p1', 'type', 'veth', 'peer', 'name', 'p1x');
  sh('ip', 'link', 'set', 'p1', 'master', 'br0');
  sh('ip', 'link', 'add', 'p2', 'type', 'veth', 'peer', 'name', 'p2x');
  sh('ip', 'link', 'set', 'p2', 'master', 'br0', 'mtu', '9000');
  for (const i of ['br0', 'p1', 'p1x', 'p2x']) sh('ip', 'link', 'set', i, 'up');
  sh('ip', 'addr', 'add', '10.80.0.1/24', 'dev', 'br0');
  sh('ip', 'addr', 'add', '10.81.0.1/16', 'dev', 'br0');
  sh('ip', 'addr', 'add', '10.80.0.2/24', 'dev', 'br0');
  sh('ip', '-6', 'addr', 'add', '2001:db8:80::1/64', 'dev', 'br0');
  const helper = l.spawn('a', [process.execPath, resolve(__dirname, '..', 'helpers', 'interfaces-both.js')], { stdio: ['pipe', 'pipe', 'pipe'] });
  cliCommand(); // the helper runs dist/: refuse a stale one
  const both = new Both(helper);
  t.teardown(() => void helper.kill('SIGKILL'));
  await until('the watcher', () => both.lines.find((x) => x.event === 'ready' || x.event === 'fatal'), 60_000);
  const check = async (what: string): Promise<HostInterface[]> => {
    const r = await both.agree();
    t.same(r.netlink, r.ip, `${what}: the same interfaces, fields and address order`);
    return r.netlink;
  };
  const start = await check('from the dump at start');
  const br = start.find((i) => i.name === 'br0');
  t.same(br?.parents, ['p1', 'p2'], 'the bridge has its ports as parents');
  t.equal(br?.type, 'bridge');
  t.same(
    br?.addresses.filter((a) => a.family === 4).map((a) => a.address),
    ['10.80.0.1', '10.81.0.1', '10.80.0.2'],
    'IPv4 in the kernel order: primaries, then the secondary',
  );
  t.equal(start.find((i) => i.name === 'p2')?.up, false, 'p2 is down');
  t.equal(start.find((i) => i.name === 'p2')?.mtu, 9000);

  // Changes, each arriving as events.
  sh('ip', 'addr', 'add', '10.82.0.1/24', 'dev', 'p1x');
  sh('ip', 'addr', 'add', '10.80.0.3/24', 'dev', 'br0');
  sh('ip', 'addr', 'del', '10.80.0.1/24', 'dev', 'br0');
  await check('addresses added and removed (a secondary promoted)');
  sh('ip', 'link', 'set', 'p2', 'up');
  sh('ip', 'link', 'set', 'p1x', 'mtu', '4000');
  await check('a link up, an MTU changed');
  sh('ip', 'link', 'add', 'q1', 'type', 'veth', 'peer', 'name', 'q1x');
  sh('ip', 'link', 'set', 'q1', 'master', 'br0');
  sh('ip', 'link', 'set', 'p1', 'nomaster');
  sh('ip', 'link', 'set', 'q1x', 'name', 'q1y');
  const moved = await check('a link made, a port moved, a link renamed');
  t.same(moved.find((i) => i.name === 'br0')?.parents, ['p2', 'q1']);
  sh('ip', 'link', 'del', 'p2');
  sh('ip', 'link', 'set', 'br0', 'down');
  const gone = await check('a link deleted (with its peer), the bridge down');
  t.notOk(
    gone.find((i) => i.name === 'p2x'),
    'the peer went with it',
  );
  helper.stdin!.end('close\n');
}
