/**
 * Network namespaces for integration tests. Everything a test sends stays
 * inside namespaces it made itself: each pair is two fresh namespaces
 * joined by a veth created directly inside them (never in the root
 * namespace), named with the test's pid and a counter so that tests running
 * at the same time never collide. destroy() is idempotent and registered
 * by the caller with t.teardown, so namespaces go away on failure too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

let counter = 0;

export interface NsPair {
  readonly nsA: string;
  readonly nsB: string;
  /** The veth end in nsA / nsB (same names in both namespaces is fine, but these differ for clarity). */
  readonly ifA: string;
  readonly ifB: string;
  readonly ip4A: string;
  readonly ip4B: string;
  readonly destroy: () => void;
}

export function canUseNetns(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `\`ip netns\` does not work here: ${r.error?.message ?? r.stderr}`;
  return undefined;
}

export function sh(args: readonly string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export function inNs(ns: string, args: readonly string[]): string {
  return sh(['ip', 'netns', 'exec', ns, ...args]);
}

/**
 * Two namespaces A and B with one veth between them: 10.77.N.1/24 on A's
 * end, 10.77.N.2/24 on B's, both up, IPv6 DAD off so link-local addresses
 * work at once.
 */
export function createPair(tag: string): NsPair {
  const n = counter++;
  const base = `nbt-${tag}-${process.pid}-${n}`;
  const nsA = `${base}-a`;
  const nsB = `${base}-b`;
  const ifA = `nba${n}`;
  const ifB = `nbb${n}`;
  const net = 10 + (n % 200);
  const ip4A = `10.77.${net}.1`;
  const ip4B = `10.77.${net}.2`;
  let destroyed = false;
  const destroy = (): void => {
    if (destroyed) return;
    destroyed = true;
    // Deleting a namespace deletes the veth in it (and so its peer).
    for (const ns of [nsA, nsB]) spawnSync('ip', ['netns', 'del', ns]);
  };
  try {
    sh(['ip', 'netns', 'add', nsA]);
    sh(['ip', 'netns', 'add', nsB]);
    sh(['ip', 'link', 'add', 'name', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    for (const [ns, ifn, ip] of [
      [nsA, ifA, ip4A],
      [nsB, ifB, ip4B],
    ] as const) {
      inNs(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
      inNs(ns, ['sysctl', '-q', '-w', `net.ipv6.conf.${ifn}.accept_dad=0`]);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', ifn]);
      inNs(ns, ['ip', 'link', 'set', ifn, 'up']);
    }
    // Both ends up is not yet carrier: until the kernel says RUNNING, Node's
    // networkInterfaces() leaves the interface out (libuv wants UP and
    // RUNNING) and the udp engine would find no address to join on.
    waitCarrier(nsA, ifA);
    waitCarrier(nsB, ifB);
  } catch (err) {
    destroy();
    throw err;
  }
  return { nsA, nsB, ifA, ifB, ip4A, ip4B, destroy };
}

function waitCarrier(ns: string, ifname: string): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; i < 200; i++) {
    if (inNs(ns, ['cat', `/sys/class/net/${ifname}/operstate`]).trim() === 'up') return;
    Atomics.wait(pause, 0, 0, 25);
  }
  throw new Error(`${ifname} in ${ns} has no carrier after 5 s`);
}

/** The IPv6 link-local address of an interface (waits for it to appear). */
export async function linkLocal(ns: string, ifname: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const out = inNs(ns, ['ip', '-6', '-o', 'addr', 'show', 'dev', ifname, 'scope', 'link']);
    const m = /inet6 (fe80::[0-9a-f:]+)\/64/.exec(out);
    if (m && !/tentative/.test(out)) return m[1]!;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no link-local address on ${ifname} in ${ns}`);
}

export function macOf(ns: string, ifname: string): string {
  return inNs(ns, ['cat', `/sys/class/net/${ifname}/address`]).trim();
}

/**
 * Runs a node script under `ip netns exec`, so it runs inside the
 * namespace. With `loader`, this process's flags come along (tap's
 * TypeScript loader, for a .ts script); plain JS starts much faster.
 */
export function nodeInNs(ns: string, script: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, loader = true): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, ...(loader ? process.execArgv : []), script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** Lines of a child's stdout, as JSON, handed to `onLine` as they come. */
export function jsonLines(child: ChildProcess, onLine: (v: Record<string, unknown>) => void): void {
  let buf = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onLine(JSON.parse(line) as Record<string, unknown>);
    }
  });
}
