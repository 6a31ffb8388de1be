/**
 * Builds the demo's network (plan.ts) with the Lab, and finds and removes
 * demo networks left by a `--keep` run. Privileged work, kept small: only
 * namespaces, veth pairs and plain bridges, all inside namespaces the Lab
 * creates, never a link in the host's namespace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
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

/** The pid in a demo namespace's or directory's name (nb-demo-PID-…, netbeacon-demo-PID-…), when it has one. */
export function demoOwnerPid(name: string): number | undefined {
  const m = /^(?:nb-demo-|netbeacon-demo-)(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Whether `pid` is a `netbeacon demo` still running in the foreground (not a --remove, not this process). */
export function isRunningDemo(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('demo') && !argv.includes('--remove');
  } catch {
    return false; // gone (or a pid reused by something that is not a demo)
  }
}

export interface RemovalPlan {
  readonly namespaces: string[];
  readonly dirs: string[];
  /** Demos still running, by pid, with what of theirs is left alone. */
  readonly running: ReadonlyMap<number, { namespaces: string[]; dirs: string[] }>;
}

/**
 * What `--remove` may take: what --keep left (its demo process has exited)
 * and what has no pid in its name (older versions). A demo still running,
 * in another terminal, is left alone: its Ctrl-C removes it.
 */
export function planRemoval(namespaces: readonly string[], dirs: readonly string[], isRunning: (pid: number) => boolean = isRunningDemo): RemovalPlan {
  const gone = { namespaces: [] as string[], dirs: [] as string[] };
  const running = new Map<number, { namespaces: string[]; dirs: string[] }>();
  const sort = (name: string, kind: 'namespaces' | 'dirs') => {
    const pid = demoOwnerPid(name);
    if (pid !== undefined && isRunning(pid)) {
      const held = running.get(pid) ?? { namespaces: [], dirs: [] };
      held[kind].push(name);
      running.set(pid, held);
    } else gone[kind].push(name);
  };
  for (const ns of namespaces) sort(ns, 'namespaces');
  for (const d of dirs) sort(d, 'dirs');
  return { ...gone, running };
}

/**
 * Removes the demo networks left by `--keep` (`netbeacon demo --remove`):
 * kills the processes inside each such namespace, deletes the namespaces
 * and the demo's temporary directories. Touches nothing else, and nothing
 * of a demo still running (planRemoval).
 */
export function removeDemoNetworks(): { namespaces: string[]; processes: number; dirs: string[]; running: RemovalPlan['running'] } {
  const plan = planRemoval(
    listDemoNamespaces(),
    readdirSync(tmpdir()).filter((d) => d.startsWith(DEMO_DIR_PREFIX)),
  );
  let processes = 0;
  for (const ns of plan.namespaces) {
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
  for (const ns of plan.namespaces) spawnSync('ip', ['netns', 'del', ns]);
  const dirs = plan.dirs.map((d) => join(tmpdir(), d));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  return { namespaces: plan.namespaces, processes, dirs, running: plan.running };
}
