/**
 * The driver behind `netbeacon demo`: builds the network (network.ts),
 * starts a real agent in each host with a throw-away secret, waits until
 * every host's fabric view matches its wiring (or the timeout), runs
 * `netbeacon mtu` and `netbeacon vlans` in rack1, and hands everything to
 * report.ts. Whatever it creates is removed on return, on failure and on
 * SIGINT/SIGTERM, unless `keep` is asked for (then `netbeacon demo
 * --remove` does it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../agent/control';
import type { TopologyHint } from '../topology/hints';
import type { Topology } from '../topology/fabrics';
import { loadBinding } from '../engine/binding';
import type { EngineChoice } from '../engine/select';
import type { MtuReport } from '../probe/mtu-report';
import type { VlanReport } from '../probe/vlan-report';
import { buildNetwork, DEMO_DIR_PREFIX, type BuiltNetwork } from './network';
import { startDemoFleet, type DemoFleet } from './fleet';
import { HOSTS, IGNORED_VIDS, interfacesOf, MTU_INTERFACE, MTU_PEER, PROBE_HOST, SWITCH, VLAN_INTERFACE, VLAN_VIDS } from './plan';
import { checkHost, hostComplete, mtuFinding, mtuMeaning, vlanFinding, vlanMeaning, type DemoDocument, type HostResult } from './report';

export interface DemoOptions {
  readonly engine: EngineChoice;
  readonly timeoutSeconds: number;
  readonly keep: boolean;
  /** Progress lines (stderr). */
  readonly progress: (line: string, final?: boolean) => void;
  /**
   * `--fleet`: the agents report to a fleet service whose map is on
   * 127.0.0.1:`port` (src/demo/fleet.ts); `ready` gets the document once the
   * fleet has every host, and the demo then stays up until SIGINT/SIGTERM.
   */
  readonly fleet?: { readonly port: number; readonly ready: (doc: DemoDocument) => Promise<void> };
}

/** argv that starts this very CLI (compiled or not). */
function cliArgv(): string[] {
  const main = require.main?.filename ?? join(__dirname, '..', 'cli', 'main.js');
  return [process.execPath, ...process.execArgv, main];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Demo {
  readonly dir = mkdtempSync(join(tmpdir(), `${DEMO_DIR_PREFIX}${process.pid}-`));
  readonly secretFile = join(this.dir, 'secret');
  net: BuiltNetwork | undefined;
  fleet: DemoFleet | undefined;
  readonly agents = new Map<string, ChildProcess>();
  readonly children = new Set<ChildProcess>();
  #removed = false;

  constructor() {
    writeFileSync(this.secretFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  }

  socket(host: string): string {
    return join(this.dir, `${host}.sock`);
  }

  startAgent(host: string, engine: string): void {
    const lab = this.net!.lab;
    const log = openSync(join(this.dir, `${host}.log`), 'a');
    const args = [
      ...cliArgv(),
      'agent',
      '--socket',
      this.socket(host),
      '--secret-file',
      this.secretFile,
      '--engine',
      engine,
      '--journal',
      join(this.dir, `${host}.jsonl`),
    ];
    for (const i of interfacesOf(host)) args.push('-i', i.name);
    if (this.fleet) args.push('--fleet', this.fleet.agentUrl, '--name', host);
    const ignored = IGNORED_VIDS[host];
    if (ignored) args.push('--ignore-vids', ignored.join(','));
    // Detached, output to a file: with --keep the agents outlive this process.
    const child = spawn('ip', ['netns', 'exec', lab.ns(host), ...args], { stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    child.on('exit', () => this.agents.delete(host));
    this.agents.set(host, child);
  }

  /** Runs `netbeacon ARGS` in a host to completion; stderr is kept for errors. */
  runIn(host: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn('ip', ['netns', 'exec', this.net!.lab.ns(host), ...cliArgv(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      this.children.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => {
        this.children.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** Synchronous, so it also runs from signal and exit handlers. Safe to call twice. */
  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    for (const c of [...this.children, ...this.agents.values()]) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.net?.lab.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops the agents the gentle way first (they remove their sockets), then removes everything. */
  async stop(): Promise<void> {
    const exits = [...this.agents.values()].map(
      (c) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r()))),
    );
    for (const c of this.agents.values()) c.kill('SIGTERM');
    await Promise.race([Promise.all(exits), sleep(3000)]);
    await this.fleet?.stop();
    this.remove();
  }
}

async function snapshot(demo: Demo, host: string): Promise<HostResult> {
  const sock = demo.socket(host);
  const hints = ((await request(sock, 'hints').catch(() => [])) as TopologyHint[]) ?? [];
  const topo = ((await request(sock, 'topology').catch(() => ({ fabrics: [] }))) as Topology) ?? { fabrics: [] };
  return { host, namespace: demo.net!.lab.ns(host), socket: sock, hints, fabrics: topo.fabrics, expected: checkHost(host, topo, demo.net!.interfaces) };
}

async function waitForFabrics(demo: Demo, o: DemoOptions): Promise<{ hosts: HostResult[]; seconds: number; complete: boolean }> {
  const started = Date.now();
  const deadline = started + o.timeoutSeconds * 1000;
  for (;;) {
    await sleep(1000);
    const hosts = await Promise.all(HOSTS.map((h) => snapshot(demo, h)));
    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const complete = hosts.every((h) => hostComplete(h.expected));
    const parts = hosts.map((h) => `${h.host} ${h.hints.length} hints, ${h.expected.filter((e) => e.found).length}/${h.expected.length} fabrics`);
    o.progress(`beaconing ${seconds.toFixed(0).padStart(3)} s: ${parts.join('; ')}`, complete);
    for (const [host, c] of HOSTS.map((h) => [h, demo.agents.get(h)] as const)) {
      if (!c) throw new Error(`the agent in ${host} exited; its log:\n${readTail(join(demo.dir, `${host}.log`))}`);
    }
    if (complete || Date.now() >= deadline) return { hosts, seconds, complete };
  }
}

function readTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-2000);
  } catch {
    return '(no log)';
  }
}

function parse<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

async function probes(demo: Demo, o: DemoOptions): Promise<Pick<DemoDocument, 'mtu' | 'vlans'>> {
  const ifs = demo.net!.interfaces;
  const peerMac = ifs.find((i) => i.host === MTU_PEER.host && i.name === MTU_PEER.name)!.mac;
  const mtuCmd = ['mtu', '--interface', MTU_INTERFACE, '--peer', peerMac, '--json', '--secret-file', demo.secretFile];
  const vlanCmd = ['vlans', '--interface', VLAN_INTERFACE, '--vids', VLAN_VIDS.join(','), '--timeout', '3', '--json', '--secret-file', demo.secretFile];
  const binding = loadBinding();
  if (!binding.ok) {
    const note = `skipped: mtu and vlans send raw frames through the native addon, which is not available (${binding.detail})`;
    return {
      mtu: { host: PROBE_HOST, command: ['netbeacon', ...mtuCmd], exit_code: null, report: null, finding: null, meaning: mtuMeaning(null), note },
      vlans: { host: PROBE_HOST, command: ['netbeacon', ...vlanCmd], exit_code: null, report: null, finding: null, meaning: vlanMeaning(null), note },
    };
  }
  o.progress(`measuring the MTU from ${PROBE_HOST}/${MTU_INTERFACE} to ${MTU_PEER.host}/${MTU_PEER.name}…`, true);
  const m = await demo.runIn(PROBE_HOST, mtuCmd);
  const mReport = parse<MtuReport>(m.stdout);
  const mF = mReport && mtuFinding(mReport, ifs);
  o.progress(`probing VLANs ${VLAN_VIDS.join(', ')} from ${PROBE_HOST}/${VLAN_INTERFACE} with tagged frames…`, true);
  // One frame per VID: on a busy machine a single loss reads as a silent
  // VLAN, so a run in which rack2 answered nothing at all is tried again.
  let v = await demo.runIn(PROBE_HOST, vlanCmd);
  let vReport = parse<VlanReport>(v.stdout);
  let vF = vReport && vlanFinding(vReport, ifs);
  for (let retry = 0; retry < 2 && vF && vF.answered.length === 0; retry++) {
    v = await demo.runIn(PROBE_HOST, vlanCmd);
    vReport = parse<VlanReport>(v.stdout);
    vF = vReport && vlanFinding(vReport, ifs);
  }
  const note = (r: { stderr: string }, rep: unknown) => (rep ? {} : { note: `failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` });
  return {
    mtu: { host: PROBE_HOST, command: ['netbeacon', ...mtuCmd], exit_code: m.code, report: mReport, finding: mF, meaning: mtuMeaning(mF), ...note(m, mReport) },
    vlans: {
      host: PROBE_HOST,
      command: ['netbeacon', ...vlanCmd],
      exit_code: v.code,
      report: vReport,
      finding: vF,
      meaning: vlanMeaning(vF),
      ...note(v, vReport),
    },
  };
}

/** Until every demo host is in the fleet model (agents report at start), or 30 s. */
async function waitForFleet(fleet: DemoFleet, o: DemoOptions): Promise<NonNullable<DemoDocument['fleet']>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const t = await fleet.topology();
    const hosts = new Set(t.fabrics.flatMap((f) => f.hosts));
    const complete = HOSTS.every((h) => hosts.has(h));
    if (complete || Date.now() >= deadline) {
      o.progress(`fleet: ${hosts.size} of ${HOSTS.length} hosts reported, ${t.fabrics.length} fabrics, ${t.findings.length} findings`, true);
      return { url: fleet.url, agents: fleet.agentUrl, hosts: [...hosts].sort(), fabrics: t.fabrics.length, findings: t.findings.length, complete };
    }
    await sleep(500);
  }
}

/** The name of the first SIGINT or SIGTERM from now on. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

function keptCommands(demo: Demo): { remove: string; commands: string[] } {
  const lab = demo.net!.lab;
  const commands = [
    ...HOSTS.map((h) => `sudo ip netns exec ${lab.ns(h)} netbeacon status --socket ${demo.socket(h)}`),
    `sudo ip netns exec ${lab.ns(PROBE_HOST)} netbeacon topology --socket ${demo.socket(PROBE_HOST)}`,
    `sudo ip netns exec ${lab.ns(PROBE_HOST)} netbeacon discover -i ${MTU_INTERFACE} --secret-file ${demo.secretFile}`,
    `sudo ip netns exec ${lab.ns(SWITCH)} bridge link`,
  ];
  return { remove: 'sudo netbeacon demo --remove', commands };
}

/**
 * Runs the whole demo. Signals remove everything and exit (130/143); an
 * error removes everything and is rethrown.
 */
export async function runDemo(o: DemoOptions): Promise<DemoDocument> {
  const demo = new Demo();
  const onSignal = (sig: NodeJS.Signals) => {
    o.progress(`${sig}: removing the demo network`, true);
    demo.remove();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const onExit = () => {
    if (!o.keep) demo.remove();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', onExit);
  let ok = false;
  try {
    o.progress('building the network: a switch namespace with bridges brA and brB, hosts rack1, rack2, node1', true);
    demo.net = buildNetwork();
    if (o.fleet) demo.fleet = await startDemoFleet(demo.dir, demo.secretFile, o.fleet.port);
    for (const h of HOSTS) demo.startAgent(h, o.engine.engine);
    o.progress(`started a ${o.engine.engine} agent in each host with a throw-away secret; waiting for the fabrics (at most ${o.timeoutSeconds} s)`, true);
    const wait = await waitForFabrics(demo, o);
    const found = await probes(demo, o);
    const lab = demo.net.lab;
    const doc: DemoDocument = {
      version: 1,
      engine: { name: o.engine.engine, why: o.engine.why },
      network: { prefix: lab.prefix, namespaces: Object.fromEntries([SWITCH, ...HOSTS].map((h) => [h, lab.ns(h)])), interfaces: demo.net.interfaces },
      wait: { seconds: wait.seconds, timeout_seconds: o.timeoutSeconds, complete: wait.complete },
      hosts: wait.hosts,
      ...found,
      kept: o.keep ? keptCommands(demo) : null,
    };
    ok = true;
    if (o.fleet && demo.fleet) {
      doc.fleet = await waitForFleet(demo.fleet, o);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const stopped = untilSignal();
      await o.fleet.ready(doc);
      o.progress(`${await stopped}: removing the demo network and the fleet service`, true);
    }
    return doc;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!o.keep || !ok) {
      await demo.stop();
      process.off('exit', onExit);
    } else {
      process.off('exit', onExit);
      for (const c of demo.agents.values()) c.unref();
    }
  }
}
