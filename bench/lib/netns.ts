/**
 * The only network the bench sends on: two namespaces it creates itself,
 * a sender and a receiver, joined by one veth pair created directly inside
 * them (never in the host's namespace). Names carry the bench's pid
 * (`nbb-<pid>-<tag>-s|r`). The pair is deleted by clean-up however the
 * bench ends; everything it started inside is killed first (proc.ts runs
 * clean-ups last-registered first, and children register after the link).
 */
import { spawnSync } from 'node:child_process';
import { isRoot, onCleanup } from './proc';

export interface Link {
  readonly nsS: string;
  readonly nsR: string;
  readonly ifS: string;
  readonly ifR: string;
  readonly s: { readonly mac: string; readonly ip: string };
  readonly r: { readonly mac: string; readonly ip: string };
  destroy(): void;
}

function sh(argv: readonly string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  if (r.error) throw new Error(`${argv.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

function inNs(ns: string, argv: readonly string[]): string {
  return sh(['ip', 'netns', 'exec', ns, ...argv]);
}

/** Why namespaces cannot be made here, or null. */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (!isRoot()) return 'needs root: it creates network namespaces and a veth pair (run the bench as root)';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `needs \`ip netns\` (iproute2): ${r.error?.message ?? r.stderr.trim()}`;
  return null;
}

let counter = 0;

export function createLink(tag: string): Link {
  const n = counter++;
  const base = `nbb-${process.pid}-${tag}${n}`;
  const nsS = `${base}-s`;
  const nsR = `${base}-r`;
  const ifS = 'nbbs0';
  const ifR = 'nbbr0';
  const net = `10.252.${n % 250}`;
  let destroyed = false;
  const destroy = onCleanup(() => {
    if (destroyed) return;
    destroyed = true;
    // Deleting a namespace deletes the veth end in it, and so its peer.
    for (const ns of [nsS, nsR]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  });
  try {
    sh(['ip', 'netns', 'add', nsS]);
    sh(['ip', 'netns', 'add', nsR]);
    sh(['ip', 'link', 'add', 'name', ifS, 'netns', nsS, 'type', 'veth', 'peer', 'name', ifR, 'netns', nsR]);
    const ends = [
      [nsS, ifS, `${net}.1`],
      [nsR, ifR, `${net}.2`],
    ] as const;
    for (const [ns, ifn, ip] of ends) {
      // IPv4 only: no router solicitations or MLD reports mixed into the counts.
      inNs(ns, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
      inNs(ns, ['ip', 'addr', 'add', `${ip}/24`, 'dev', ifn]);
      inNs(ns, ['ip', 'link', 'set', ifn, 'up']);
    }
    // The kernel reports carrier (operstate UP) a moment after both ends are
    // up; whatever starts next must find the link already up.
    const deadline = Date.now() + 5000;
    for (const [ns, ifn] of ends) {
      while (inNs(ns, ['cat', `/sys/class/net/${ifn}/operstate`]).trim() !== 'up') {
        if (Date.now() > deadline) throw new Error(`${ifn} in ${ns} did not come up`);
        spawnSync('sleep', ['0.05']);
      }
    }
    const macOf = (ns: string, ifn: string): string => inNs(ns, ['cat', `/sys/class/net/${ifn}/address`]).trim();
    return { nsS, nsR, ifS, ifR, s: { mac: macOf(nsS, ifS), ip: `${net}.1` }, r: { mac: macOf(nsR, ifR), ip: `${net}.2` }, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** A counter of an interface in a namespace (/sys/class/net/IF/statistics/NAME). */
export function ifStat(ns: string, ifname: string, name: string): number {
  return Number(inNs(ns, ['cat', `/sys/class/net/${ifname}/statistics/${name}`]).trim());
}
