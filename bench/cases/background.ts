/**
 * Case background: what a busy interface costs a capture that is waiting
 * for beacons. The sender floods the receiver's end with minimum-size
 * non-beacon frames (UDP to other ports, ARP requests) at 1,000,000/s, or
 * as close as it gets (reported), while each receiver captures there; the
 * value is the CPU time (utime + stime from /proc/<pid>/stat, summed over
 * the receiver's whole process tree: node, or tcpdump + node, or tcpdump +
 * python) per second of flood, in percent of one core.
 *
 * On a veth the kernel's receive path (including the capture's BPF filter)
 * runs on the sender's core, in softirq; what is measured here is what the
 * receiving processes themselves are woken for. One sender per core (each
 * sending its share of the rate) so that the flood is not limited by one
 * core doing both the sends and the receive path.
 */
import { retryIfAddonGone } from '../lib/addon';
import { fmtRate, type BenchContext } from '../lib/context';
import { corpusKey, keyHex } from '../lib/inputs';
import { cpus } from 'node:os';
import { Flood, LiveReceiver, receiverUnavailable, type SendResult } from '../lib/live';
import { createLink, netnsUnavailable, type Link } from '../lib/netns';
import { commName, cpuSeconds, processTree } from '../lib/proc';
import { median, skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'CPU % of a core';
const ENGINES: readonly EngineLabel[] = ['native', 'js', 'maas-python'];
const TARGET = 1_000_000;

function treeCpu(root: number): { total: number; parts: Record<string, number> } {
  let total = 0;
  const parts: Record<string, number> = {};
  for (const pid of processTree(root)) {
    const s = cpuSeconds(pid);
    if (s === undefined) continue;
    total += s;
    const name = commName(pid);
    parts[name] = (parts[name] ?? 0) + s;
  }
  return { total, parts };
}

/** Senders that share a rate, one per core, sending at once. */
class FloodGroup {
  private constructor(private readonly floods: readonly Flood[]) {}

  static async start(link: Link, log: BenchContext['log']): Promise<FloodGroup> {
    const n = Math.max(1, Math.min(cpus().length, 4));
    const floods: Flood[] = [];
    try {
      for (let i = 0; i < n; i++) floods.push(await retryIfAddonGone(log, 'flood', () => Flood.start(link, n > 1 ? i : undefined)));
    } catch (err) {
      await Promise.all(floods.map((f) => f.stop()));
      throw err;
    }
    return new FloodGroup(floods);
  }

  async build(link: Link): Promise<void> {
    for (const f of this.floods) await f.request({ cmd: 'background', count: 4096, src: link.s, dst: link.r });
  }

  /** Every sender at rate/n for `seconds`; the rate achieved is the sum. */
  async send(rate: number, seconds: number): Promise<SendResult> {
    const rs = await Promise.all(this.floods.map((f) => f.send(rate / this.floods.length, seconds)));
    const sent = rs.reduce((a, r) => a + r.sent, 0);
    const secs = Math.max(...rs.map((r) => r.seconds));
    return {
      ...rs[0]!,
      sent,
      seconds: secs,
      rate: sent / secs,
      errors: rs.reduce((a, r) => a + r.errors, 0),
      txDropped: rs.reduce((a, r) => a + r.txDropped, 0),
    };
  }

  get size(): number {
    return this.floods.length;
  }

  async stop(): Promise<void> {
    await Promise.all(this.floods.map((f) => f.stop()));
  }
}

/** One receiver's CPU over one flood window. */
async function measureOnce(
  ctx: BenchContext,
  link: Link,
  flood: FloodGroup,
  engine: EngineLabel,
  key: string,
  seconds: number,
): Promise<{ pct: number; rate: number; packets: number; parts: string }> {
  const rx = await LiveReceiver.start(engine, link, key, ctx.opts.cpu, 1000);
  try {
    // Let start-up work (JIT, imports) settle before the window opens.
    await new Promise((r) => setTimeout(r, ctx.opts.quick ? 200 : 1000));
    const before = treeCpu(rx.pid);
    const sent = await flood.send(TARGET, seconds);
    const after = treeCpu(rx.pid);
    const stats = await rx.fresh();
    const parts = Object.entries(after.parts)
      .map(([n, s]) => `${n} ${(((s - (before.parts[n] ?? 0)) / sent.seconds) * 100).toFixed(2)}%`)
      .join(', ');
    return { pct: ((after.total - before.total) / sent.seconds) * 100, rate: sent.rate, packets: stats.packets, parts };
  } finally {
    await rx.stop();
  }
}

export async function runBackground(ctx: BenchContext): Promise<CaseResult[]> {
  const blocked = netnsUnavailable() ?? Flood.unavailable();
  if (blocked) return ENGINES.map((e) => skippedRow('background', e, UNIT, blocked));
  const seconds = ctx.opts.quick ? 0.5 : 5;
  const usable = ENGINES.filter((e) => receiverUnavailable(e) === null);
  const samples = new Map<EngineLabel, number[]>();
  const achieved = new Map<EngineLabel, number[]>();
  const seen = new Map<EngineLabel, number>();
  const failures = new Map<EngineLabel, string>();
  const key = keyHex(corpusKey());

  const link = createLink('bg');
  let flood: FloodGroup | undefined;
  try {
    flood = await FloodGroup.start(link, ctx.log);
    await flood.build(link);
    for (let run = 0; run < ctx.opts.runs; run++) {
      const order = usable.map((_, i) => usable[(i + run) % usable.length]!);
      for (const engine of order) {
        if (failures.has(engine)) continue;
        try {
          const f = flood;
          const m = await retryIfAddonGone(ctx.log, `background ${engine}`, () => measureOnce(ctx, link, f, engine, key, seconds));
          samples.set(engine, [...(samples.get(engine) ?? []), m.pct]);
          achieved.set(engine, [...(achieved.get(engine) ?? []), m.rate]);
          seen.set(engine, (seen.get(engine) ?? 0) + m.packets);
          ctx.log(
            `background ${engine} run ${run + 1}/${ctx.opts.runs}: ${m.pct.toFixed(2)}% of a core (${m.parts}) at ${fmtRate(m.rate)} frames/s; packets it saw: ${m.packets}`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.set(engine, msg);
          ctx.log(`background ${engine} FAILED: ${msg}`);
        }
      }
    }
  } finally {
    await flood?.stop();
    link.destroy();
  }

  const rows = ENGINES.map((engine): CaseResult => {
    const why = receiverUnavailable(engine);
    if (why) return skippedRow('background', engine, UNIT, `skipped: ${why}`);
    if (failures.has(engine)) return skippedRow('background', engine, UNIT, `failed: ${failures.get(engine)!}`);
    const rate = median(achieved.get(engine) ?? []);
    return {
      name: 'background',
      engine,
      unit: UNIT,
      ...summarize(samples.get(engine) ?? []),
      targetRate: TARGET,
      achievedRate: rate,
      packetsSeen: seen.get(engine) ?? 0,
      senders: flood?.size,
      note: `non-beacon frames at ${fmtRate(rate)}/s achieved (target ${fmtRate(TARGET)}/s, ${flood?.size ?? 0} senders); packets that reached the receiver: ${seen.get(engine) ?? 0}`,
    };
  });
  const base = rows.find((r) => r.engine === 'maas-python');
  for (const r of rows) {
    if (r === base || !base || r.median === null || base.median === null) continue;
    // A ratio against ~0 says nothing; give it only when the baseline measurably works.
    if (base.median >= 0.5) {
      r.ratio = r.median / base.median;
      r.baseline = 'maas-python';
    }
  }
  return rows;
}
