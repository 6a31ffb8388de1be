/**
 * Case many-interfaces: what an agent costs on a rack with many interfaces
 * (issue 20, part 5). The real agent (`node dist/src/cli/main.js agent`, as
 * a unit runs it) on 1, 16 and 128 veth interfaces of one namespace
 * (lib/many-links.ts: one segment per interface, as one VLAN each), with
 * NOTIFY_SOCKET pointing at a stand-in for systemd. Per run:
 * - READY: from spawning the agent to its READY=1, and to the first
 *   `status` answer that lists every interface;
 * - RSS (VmRSS) and open descriptors 10 s after start, and the CPU it
 *   used in those 10 s;
 * - idle CPU: CPU seconds used over an idle window (30 s, which holds one
 *   solicitation round), per minute;
 * - a flood of 10,000 authentic advertisements/s spread evenly over the
 *   interfaces (one sender, a bridge delivering each frame to one
 *   interface) for 5 s; drops = sent − received valid (lost anywhere).
 * The row's median is the RSS; the rest are in its details. Goals at 128
 * interfaces: RSS ≤ 150 MiB, idle CPU ≈ 0, READY < 2 s, 0 drops.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../src/agent/control';
import type { BenchContext } from '../lib/context';
import { corpusKey, keyHex } from '../lib/inputs';
import { Flood } from '../lib/live';
import { createManyLinks, type ManyLinks } from '../lib/many-links';
import { netnsUnavailable } from '../lib/netns';
import { repoRoot, vectorsDir } from '../lib/paths';
import { cpuSeconds, cpuTimes, inNamespace, killGroup, pinned, spawnTracked } from '../lib/proc';
import { PYTHON } from '../lib/python';
import { median, skippedRow, summarize, type CaseResult } from '../lib/result';
import { senderCpu } from './live-capture';

const UNIT = 'MiB';
const FLOOD_RATE = 10_000;

export interface ManyRun {
  readyMs: number | null;
  /** CPU seconds the agent had used when READY=1 came: start-up work, whatever the machine's load. */
  readyCpuSeconds: number | null;
  statusMs: number;
  rssMiB: number;
  hwmMiB: number;
  fds: number;
  startCpuSeconds: number;
  idleCpuPerMinute: number;
  /** Of idleCpuPerMinute, user and kernel time (on a loaded machine the kernel's share shows sends, not JS). */
  idleUserPerMinute: number;
  idleSysPerMinute: number;
  sent: number;
  sentRate: number;
  valid: number;
  drops: number;
  ringDrops: number;
  /** Of ringDrops, what the kernel itself dropped (the rest the agent shed, counted per interface). */
  kernelDrops: number;
  /** Beacons received valid per CPU-second of the agent during the flood: what one core takes, whatever the load. */
  perCpuSecond: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procStatus(pid: number, field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Why the case cannot run here, or null. */
function unavailable(): string | null {
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  if (!existsSync(main)) return `needs the built CLI (${main}): run npm run build:ts`;
  if (!existsSync(PYTHON)) return `needs ${PYTHON} for the stand-in of systemd's notify socket`;
  return netnsUnavailable() ?? Flood.unavailable();
}

/** A stand-in for systemd's notify socket: prints each datagram with the wall-clock time it came. */
function notifyListener(path: string): { child: ChildProcess; bound: Promise<void>; ready: Promise<number> } {
  const script = [
    'import socket, sys, time',
    's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
    's.bind(sys.argv[1])',
    'print("bound", flush=True)',
    'while True:',
    '    m = s.recv(4096).decode()',
    '    print("%.3f %s" % (time.time() * 1000, m.replace("\\n", "|")), flush=True)',
  ].join('\n');
  const child = spawn(PYTHON, ['-c', script, path], { stdio: ['ignore', 'pipe', 'ignore'] });
  let onBound: () => void = () => undefined;
  let onReady: (t: number) => void = () => undefined;
  const bound = new Promise<void>((r) => (onBound = r));
  const ready = new Promise<number>((r) => (onReady = r));
  let buf = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const line of lines) {
      if (line === 'bound') onBound();
      const m = /^([\d.]+) (.*)$/.exec(line);
      if (m && m[2]!.split('|').includes('READY=1')) onReady(Number(m[1]));
    }
  });
  return { child, bound, ready };
}

export async function runManyInterfaces(ctx: BenchContext): Promise<CaseResult[]> {
  const counts = ctx.opts.quick ? [1, 4] : [1, 16, 128];
  const blocked = unavailable();
  if (blocked) return counts.map((n) => ({ ...skippedRow('many-interfaces', 'native', UNIT, blocked), interfaces: n }));
  // Each run is a minute of wall time; three give a median without taking a quarter of an hour.
  const runs = ctx.opts.quick ? 1 : Math.min(ctx.opts.runs, 3);
  const rows: CaseResult[] = [];
  for (const n of counts) {
    let links: ManyLinks | undefined;
    let flood: Flood | undefined;
    const results: ManyRun[] = [];
    try {
      links = createManyLinks('mi', n);
      flood = await Flood.start(links, senderCpu(ctx.opts.cpu));
      for (let run = 0; run < runs; run++) {
        const r = await oneRun(ctx, links, flood, `${n}-${run}`);
        results.push(r);
        ctx.log(
          `many-interfaces ${n} run ${run + 1}/${runs}: READY ${r.readyMs?.toFixed(0) ?? '?'} ms (${r.readyCpuSeconds?.toFixed(2) ?? '?'} CPU-s), status ${r.statusMs.toFixed(0)} ms, RSS ${r.rssMiB.toFixed(1)} MiB, ` +
            `${r.fds} fds, start CPU ${r.startCpuSeconds.toFixed(2)} s, idle ${r.idleCpuPerMinute.toFixed(3)} CPU-s/min, ` +
            `flood ${r.sent} at ${Math.round(r.sentRate)}/s: ${r.drops} lost (ring drops ${r.ringDrops}, kernel ${r.kernelDrops}), ${Math.round(r.perCpuSecond)}/CPU-s`,
        );
      }
      rows.push(row(n, results));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      ctx.log(`many-interfaces ${n} FAILED: ${msg}`);
      rows.push({ ...skippedRow('many-interfaces', 'native', UNIT, `failed: ${msg}`), interfaces: n });
    } finally {
      await flood?.stop();
      links?.destroy();
    }
  }
  return rows;
}

function row(n: number, runs: readonly ManyRun[]): CaseResult {
  const m = (f: (r: ManyRun) => number): number => median(runs.map(f));
  const ready = runs.every((r) => r.readyMs !== null) ? m((r) => r.readyMs!) : null;
  const readyCpu = runs.every((r) => r.readyCpuSeconds !== null) ? m((r) => r.readyCpuSeconds!) : null;
  return {
    name: 'many-interfaces',
    engine: 'native',
    unit: UNIT,
    ...summarize(runs.map((r) => r.rssMiB)),
    interfaces: n,
    readyMs: ready,
    readyCpuSeconds: readyCpu,
    perCpuSecond: m((r) => r.perCpuSecond),
    statusMs: m((r) => r.statusMs),
    hwmMiB: m((r) => r.hwmMiB),
    fds: m((r) => r.fds),
    startCpuSeconds: m((r) => r.startCpuSeconds),
    idleCpuPerMinute: m((r) => r.idleCpuPerMinute),
    idleUserPerMinute: m((r) => r.idleUserPerMinute),
    idleSysPerMinute: m((r) => r.idleSysPerMinute),
    floodRate: m((r) => r.sentRate),
    drops: Math.max(...runs.map((r) => r.drops)),
    ringDrops: Math.max(...runs.map((r) => r.ringDrops)),
    kernelDrops: Math.max(...runs.map((r) => r.kernelDrops)),
    note: `${n} interface${n === 1 ? '' : 's'}: median = RSS 10 s after start (the agent as a unit runs it)`,
    details: [
      `READY=1 after ${ready === null ? '—' : ready.toFixed(0)} ms (${readyCpu === null ? '—' : readyCpu.toFixed(2)} CPU-s), first full status ${m((r) => r.statusMs).toFixed(0)} ms; ${m((r) => r.fds)} open descriptors; peak RSS ${m((r) => r.hwmMiB).toFixed(1)} MiB`,
      `CPU ${m((r) => r.startCpuSeconds).toFixed(2)} s in the first 10 s; idle ${m((r) => r.idleCpuPerMinute).toFixed(3)} CPU-s per minute (user ${m((r) => r.idleUserPerMinute).toFixed(3)}, sys ${m((r) => r.idleSysPerMinute).toFixed(3)}: medians apart)`,
      `flood ${Math.round(m((r) => r.sentRate)).toLocaleString('en-US')}/s over ${n}: ${Math.max(...runs.map((r) => r.drops))} lost at most (ring drops ${Math.max(...runs.map((r) => r.ringDrops))}, of which the kernel's ${Math.max(...runs.map((r) => r.kernelDrops))}); the agent took ${Math.round(m((r) => r.perCpuSecond)).toLocaleString('en-US')} beacons per CPU-second`,
    ],
  };
}

interface Status {
  interfaces: Array<{ name: string; received: Record<string, number> }>;
  ring_drops: number;
  capture_ring?: { drops: number };
}

async function oneRun(ctx: BenchContext, links: ManyLinks, flood: Flood, tag: string): Promise<ManyRun> {
  const n = links.agent.length;
  const sock = join(ctx.tmp, `mi-${tag}.sock`);
  const notifyPath = join(ctx.tmp, `mi-${tag}.notify`);
  const notify = notifyListener(notifyPath);
  let agent: ChildProcess | undefined;
  try {
    // Bound before the agent starts, else READY=1 would go nowhere.
    await Promise.race([notify.bound, sleep(10_000).then(() => Promise.reject(new Error('the notify listener did not start')))]);
    const argv = [
      'env',
      `NOTIFY_SOCKET=${notifyPath}`,
      process.execPath,
      join(repoRoot(), 'dist', 'src', 'cli', 'main.js'),
      'agent',
      '--secret-file',
      join(vectorsDir(), 'secret'),
      '--socket',
      sock,
      '-i',
      'a*',
      '--log-level',
      'warn',
    ];
    const t0 = Date.now();
    agent = spawnTracked(inNamespace(links.nsA, pinned(argv, ctx.opts.cpu)));
    let stderr = '';
    agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    agent.stdout!.resume();
    // `ip netns exec`, env and taskset exec their command in place: the child's pid is the agent's.
    const pid = agent.pid!;
    // The agent's CPU at the moment READY=1 arrives (read at once: it goes on working).
    const readyAt = Promise.race([notify.ready.then((t) => ({ t, cpu: cpuSeconds(pid) ?? NaN })), sleep(60_000).then(() => null)]);
    let statusMs: number | undefined;
    while (statusMs === undefined) {
      if (Date.now() - t0 > 120_000) throw new Error(`no full status within 120 s: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      if (agent.exitCode !== null) throw new Error(`the agent exited ${agent.exitCode}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
      try {
        const s = (await request(sock, 'status', {}, 2000)) as Status;
        if (s.interfaces.length === n) statusMs = Date.now() - t0;
      } catch {
        /* not listening yet */
      }
      if (statusMs === undefined) await sleep(25);
    }
    const ready = await readyAt;
    // --quick (the smoke test) only checks that the harness works: 3 s, not 10.
    const settleMs = ctx.opts.quick ? 3_000 : 10_000;
    await sleep(Math.max(0, t0 + settleMs - Date.now()));
    const rssMiB = procStatus(pid, 'VmRSS');
    const hwmMiB = procStatus(pid, 'VmHWM');
    const fds = readdirSync(`/proc/${pid}/fd`).length;
    const startCpuSeconds = cpuSeconds(pid) ?? NaN;
    const idleMs = ctx.opts.quick ? 2_000 : 30_000;
    const c0 = cpuTimes(pid) ?? { user: NaN, sys: NaN };
    await sleep(idleMs);
    const c1 = cpuTimes(pid) ?? { user: NaN, sys: NaN };
    const idleUserPerMinute = ((c1.user - c0.user) * 60_000) / idleMs;
    const idleSysPerMinute = ((c1.sys - c0.sys) * 60_000) / idleMs;
    const idleCpuPerMinute = idleUserPerMinute + idleSysPerMinute;
    const seconds = ctx.opts.quick ? 1 : 5;
    const rate = ctx.opts.quick ? 2_000 : FLOOD_RATE;
    await flood.request({ cmd: 'spread', count: rate * seconds, keyHex: keyHex(corpusKey()), src: links.s, targets: links.agent }, 300_000);
    const before = await received(sock);
    const cpu0 = cpuSeconds(pid) ?? NaN;
    const sent = await flood.send(rate, seconds);
    // Let the agent work off what it holds; the ring's cover is well under this.
    let after = await received(sock);
    for (let i = 0; i < 40 && after.valid - before.valid < sent.sent; i++) {
      await sleep(250);
      after = await received(sock);
    }
    const floodCpu = (cpuSeconds(pid) ?? NaN) - cpu0;
    return {
      readyMs: ready === null ? null : ready.t - t0,
      readyCpuSeconds: ready === null ? null : ready.cpu,
      perCpuSecond: (after.valid - before.valid) / floodCpu,
      statusMs,
      rssMiB,
      hwmMiB,
      fds,
      startCpuSeconds,
      idleCpuPerMinute,
      idleUserPerMinute,
      idleSysPerMinute,
      sent: sent.sent,
      sentRate: sent.rate,
      valid: after.valid - before.valid,
      drops: Math.max(0, sent.sent - (after.valid - before.valid)),
      ringDrops: after.ringDrops - before.ringDrops,
      kernelDrops: after.kernelDrops - before.kernelDrops,
    };
  } finally {
    if (agent) await stopAgent(agent);
    killGroup(notify.child, 'SIGKILL');
    notify.child.kill('SIGKILL');
  }
}

async function received(sock: string): Promise<{ valid: number; ringDrops: number; kernelDrops: number }> {
  const s = (await request(sock, 'status', {}, 10_000)) as Status;
  return { valid: s.interfaces.reduce((a, i) => a + (i.received.valid ?? 0), 0), ringDrops: s.ring_drops, kernelDrops: s.capture_ring?.drops ?? 0 };
}

async function stopAgent(agent: ChildProcess): Promise<void> {
  if (agent.exitCode !== null || agent.signalCode !== null) return;
  const closed = new Promise<void>((r) => agent.once('close', () => r()));
  agent.kill('SIGTERM');
  const t = setTimeout(() => killGroup(agent, 'SIGKILL'), 15_000);
  await closed;
  clearTimeout(t);
}
