/**
 * A rack with many interfaces, for the many-interfaces and
 * interface-events cases: namespace A (the agent) with N veth interfaces
 * a0…aN-1, each plugged into a bridge in namespace P (the switch) on an
 * isolated port, and namespace S (the sender) on the bridge's one
 * non-isolated port. Isolated ports do not hear each other, so the agent's
 * own multicast on a3 does not come back on a7: each interface is its own
 * segment, as each VLAN of a rack is. The bridge has a static FDB entry
 * for every agent interface's MAC, so a frame the sender addresses to a5's
 * MAC reaches a5 and nothing else: one sender socket spreads a flood over
 * all N interfaces exactly.
 *
 * Everything is created inside the three namespaces (veths directly in
 * them, never in the host's), with `ip -batch` and `bridge -batch` (one
 * process per namespace, not per interface), and deleted by clean-up
 * however the bench ends. Names carry the bench's pid.
 */
import { spawnSync } from 'node:child_process';
import { onCleanup } from './proc';

export interface ManyLinks {
  readonly nsA: string;
  readonly nsP: string;
  readonly nsS: string;
  /** The sender's interface in S. */
  readonly ifS: string;
  readonly s: { readonly mac: string; readonly ip: string };
  /** The agent's interfaces, in order: name, MAC, IPv4 address. */
  readonly agent: ReadonlyArray<{ readonly name: string; readonly mac: string; readonly ip: string }>;
  destroy(): void;
}

function run(argv: readonly string[], input?: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', input });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').slice(0, 3).join(' | ')}`);
  return r.stdout;
}

/** The address of agent interface i: one /24 each, as each VLAN of a rack has its subnet. */
export function agentAddress(i: number): string {
  return `10.${200 + Math.floor(i / 250)}.${i % 250}.1`;
}

let counter = 0;

export function createManyLinks(tag: string, n: number): ManyLinks {
  const base = `nbb-${process.pid}-${tag}${counter++}`;
  const nsA = `${base}-a`;
  const nsP = `${base}-p`;
  const nsS = `${base}-s`;
  const made: string[] = [];
  let destroyed = false;
  const destroy = onCleanup(() => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of made.reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });
  try {
    for (const ns of [nsA, nsP, nsS]) {
      run(['ip', 'netns', 'add', ns]);
      made.push(ns);
    }
    const names = Array.from({ length: n }, (_, i) => `a${i}`);
    const links = [
      `link add name s0 netns ${nsS} type veth peer name sp netns ${nsP}`,
      ...names.map((a, i) => `link add name ${a} netns ${nsA} type veth peer name p${i} netns ${nsP}`),
    ];
    run(['ip', '-batch', '-'], links.join('\n') + '\n');
    // The switch: a plain bridge, forwarding at once, flooding multicast, with isolated ports for the agent.
    const sw = [
      'link set lo up',
      'link add br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0',
      'link set br0 up',
      'link set sp master br0',
      'link set sp up',
      ...names.flatMap((_, i) => [`link set p${i} master br0`, `link set p${i} up`]),
    ];
    run(['ip', '-n', nsP, '-batch', '-'], sw.join('\n') + '\n');
    run(['ip', 'netns', 'exec', nsA, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    const ag = ['link set lo up', ...names.flatMap((a, i) => [`addr add ${agentAddress(i)}/24 dev ${a}`, `link set ${a} up`])];
    run(['ip', '-n', nsA, '-batch', '-'], ag.join('\n') + '\n');
    run(['ip', '-n', nsS, '-batch', '-'], 'link set lo up\naddr add 10.199.0.2/16 dev s0\nlink set s0 up\n');
    const macs = macsOf(nsA);
    const agent = names.map((name, i) => {
      const mac = macs.get(name);
      if (!mac) throw new Error(`${name} in ${nsA} has no MAC`);
      return { name, mac, ip: agentAddress(i) };
    });
    const fdb = agent.flatMap((a, i) => [`link set dev p${i} isolated on`, `fdb replace ${a.mac} dev p${i} master static`]);
    run(['bridge', '-n', nsP, '-batch', '-'], fdb.join('\n') + '\n');
    const sMac = macsOf(nsS).get('s0');
    if (!sMac) throw new Error(`s0 in ${nsS} has no MAC`);
    waitCarrier(nsA, names);
    return { nsA, nsP, nsS, ifS: 's0', s: { mac: sMac, ip: '10.199.0.2' }, agent, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

function macsOf(ns: string): Map<string, string> {
  const links = JSON.parse(run(['ip', '-n', ns, '-j', 'link', 'show'])) as Array<{ ifname: string; address?: string }>;
  return new Map(links.filter((l) => l.address).map((l) => [l.ifname.split('@')[0]!, l.address!]));
}

/** Until every one of `names` has carrier (operstate UP): what starts next must find them up. */
function waitCarrier(ns: string, names: readonly string[]): void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const links = JSON.parse(run(['ip', '-n', ns, '-j', 'link', 'show'])) as Array<{ ifname: string; operstate?: string }>;
    const up = new Set(links.filter((l) => l.operstate === 'UP').map((l) => l.ifname));
    const waiting = names.filter((n) => !up.has(n));
    if (waiting.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${waiting.length} interfaces in ${ns} did not come up (${waiting.slice(0, 3).join(', ')}…)`);
    spawnSync('sleep', ['0.05']);
  }
}
