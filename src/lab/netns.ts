/**
 * A throw-away network of Linux network namespaces, veth pairs and bridges,
 * for integration tests, benchmarks and `netbeacon demo`. Everything it
 * makes lives inside namespaces it created (veths are created directly in
 * their namespaces, never in the host's), names carry a unique prefix, and
 * destroy() removes every namespace it made, which removes their links.
 *
 * The kernel here may lack 802.1Q devices, bridge VLAN filtering, dummy and
 * macvlan: a lab uses only namespaces, veth and plain bridges, and tagged
 * traffic is injected as raw frames.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

let labCounter = 0;

export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not root (network namespaces need CAP_SYS_ADMIN)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error) return `iproute2 is missing: ${r.error.message}`;
  if (r.status !== 0) return `\`ip netns\` does not work here: ${r.stderr.trim()}`;
  return undefined;
}

function run(args: readonly string[]): string {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`\`${args.join(' ')}\` exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

export class Lab {
  readonly prefix: string;
  readonly namespaces: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #destroyed = false;

  /** `tag` names the user (test, demo, bench); the prefix adds the pid and a counter. */
  constructor(tag: string) {
    this.prefix = `nb-${tag}-${process.pid}-${labCounter++}`;
  }

  /** The full namespace name for a short one. */
  ns(short: string): string {
    return `${this.prefix}-${short}`;
  }

  addHost(short: string): string {
    const ns = this.ns(short);
    run(['ip', 'netns', 'add', ns]);
    this.namespaces.push(ns);
    this.exec(short, ['ip', 'link', 'set', 'lo', 'up']);
    // No duplicate address detection: link-local addresses work at once.
    this.exec(short, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
    return ns;
  }

  /** Run a command in a host's namespace and return its stdout; throws with stderr on failure. */
  exec(short: string, args: readonly string[]): string {
    return run(['ip', 'netns', 'exec', this.ns(short), ...args]);
  }

  /** Start a long-running process in a host's namespace; killed by destroy(). */
  spawn(short: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.ns(short), ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.#children.add(child);
    child.on('exit', () => this.#children.delete(child));
    return child;
  }

  addBridge(host: string, name: string, opts: { mtu?: number } = {}): void {
    this.exec(host, ['ip', 'link', 'add', name, 'type', 'bridge']);
    // Forward at once: no STP listening/learning delay in a lab.
    // Flood multicast to every port: with snooping on and no querier a
    // bridge may still prune groups it saw no report for.
    this.exec(host, ['ip', 'link', 'set', name, 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0', 'mcast_snooping', '0']);
    if (opts.mtu) this.exec(host, ['ip', 'link', 'set', name, 'mtu', String(opts.mtu)]);
    this.exec(host, ['ip', 'link', 'set', name, 'up']);
  }

  /**
   * A veth between two hosts (created directly in them). `master` plugs
   * the second end into a bridge in its host; `mtuA`/`mtuB` set each end.
   */
  link(
    a: { host: string; name: string; mtu?: number; addresses?: string[]; master?: string },
    b: { host: string; name: string; mtu?: number; addresses?: string[]; master?: string },
  ): void {
    run(['ip', 'link', 'add', 'name', a.name, 'netns', this.ns(a.host), 'type', 'veth', 'peer', 'name', b.name, 'netns', this.ns(b.host)]);
    for (const end of [a, b]) {
      if (end.mtu) this.exec(end.host, ['ip', 'link', 'set', end.name, 'mtu', String(end.mtu)]);
      if (end.master) this.exec(end.host, ['ip', 'link', 'set', end.name, 'master', end.master]);
      this.exec(end.host, ['sysctl', '-q', '-w', `net.ipv6.conf.${end.name}.accept_dad=0`]);
      for (const addr of end.addresses ?? []) this.exec(end.host, ['ip', 'addr', 'add', addr, 'dev', end.name]);
      this.exec(end.host, ['ip', 'link', 'set', end.name, 'up']);
    }
  }

  /** Removes every namespace this lab made (and so every link in them). Safe to call twice. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const c of this.#children) c.kill('SIGKILL');
    for (const ns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns]);
  }
}
