/**
 * Builds the demo's network (plan.ts) with the Lab, and finds and removes
 * demo networks left by a `--keep` run. Privileged work, kept small: only
 * namespaces, veth pairs and plain bridges, all inside namespaces the Lab
 * creates, never a link in the host's namespace.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../lab/netns';
import { BRIDGES, HOSTS, INTERFACES, SWITCH, portName } from './plan';

export const DEMO_TAG = 'demo';
/** Every demo namespace starts with this (the Lab adds pid and counter). */
export const DEMO_NS_PREFIX = `nb-${DEMO_TAG}-`;
export const DEMO_DIR_PREFIX = 'netbeacon-demo-';

export interface BuiltInterface {
  readonly host: string;
  readonly name: string;
  readonly mac: string;
  readonly mtu: number;
  readonly address: string | null;
  readonly bridge: string;
  readonly port: string;
  readonly port_mtu: number;
}

export interface BuiltNetwork {
  readonly lab: Lab;
  readonly interfaces: readonly BuiltInterface[];
}

/** Builds everything in plan.ts. On failure, what was made is removed before the error is thrown. */
export function buildNetwork(): BuiltNetwork {
  const lab = new Lab(DEMO_TAG);
  try {
    lab.addHost(SWITCH);
    for (const h of HOSTS) lab.addHost(h);
    for (const b of BRIDGES) lab.addBridge(SWITCH, b);
    const interfaces: BuiltInterface[] = [];
    for (const i of INTERFACES) {
      lab.link(
        { host: i.host, name: i.name, mtu: i.mtu, addresses: i.address ? [i.address] : [] },
        { host: SWITCH, name: portName(i), mtu: i.portMtu, master: i.bridge },
      );
      const mac = lab.exec(i.host, ['cat', `/sys/class/net/${i.name}/address`]).trim();
      interfaces.push({
        host: i.host,
        name: i.name,
        mac,
        mtu: i.mtu ?? 1500,
        address: i.address ?? null,
        bridge: i.bridge,
        port: portName(i),
        port_mtu: i.portMtu ?? 1500,
      });
    }
    return { lab, interfaces };
  } catch (err) {
    lab.destroy();
    throw err;
  }
}

export function listDemoNamespaces(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!.trim())
    .filter((n) => n.startsWith(DEMO_NS_PREFIX));
}

/**
 * Removes every demo network (`netbeacon demo --remove`, after `--keep`):
 * kills the processes inside each demo namespace, deletes the namespaces
 * and the demo's temporary directories. Touches nothing else.
 */
export function removeDemoNetworks(): { namespaces: string[]; processes: number; dirs: string[] } {
  const namespaces = listDemoNamespaces();
  let processes = 0;
  for (const ns of namespaces) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        processes++;
      } catch {
        /* already gone */
      }
    }
  }
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  const dirs = readdirSync(tmpdir())
    .filter((d) => d.startsWith(DEMO_DIR_PREFIX))
    .map((d) => join(tmpdir(), d));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return { namespaces, processes, dirs };
}
