/**
 * Case latency: wire to hint. A sender in one namespace sends multicast
 * solicitations one at a time, each from a peer interface the agent has not
 * seen, so each must yield a new on_remote_network hint; the agent daemon
 * (src/agent/daemon.ts, with a real live capture) runs in the other
 * namespace. Latency = when the agent emitted hint_added minus when the
 * frame was handed to the kernel, both on this host's wall clock. p50 and
 * p99 per run; the row's median is the median p50, `p99` the median p99.
 * Probes the agent never turned into a hint within 3 s are counted as lost.
 */
import { retryIfAddonGone } from '../lib/addon';
import { join } from 'node:path';
import type { BenchContext } from '../lib/context';
import { corpusKey, keyHex } from '../lib/inputs';
import { Flood, JsonLines, receiverUnavailable } from '../lib/live';
import { createLink, netnsUnavailable, type Link } from '../lib/netns';
import { inNamespace, killGroup, nodeArgv, pinned, spawnTracked, workerScript } from '../lib/proc';
import { median, skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';
import { senderCpu } from './live-capture';

const UNIT = 'ms';
const ENGINES: readonly EngineLabel[] = ['native', 'js'];

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

interface RunResult {
  p50: number;
  p99: number;
  max: number;
  lost: number;
  probes: number;
}

export async function runLatency(ctx: BenchContext): Promise<CaseResult[]> {
  const blocked = netnsUnavailable() ?? Flood.unavailable();
  if (blocked) return ENGINES.map((e) => skippedRow('latency', e, UNIT, blocked));
  const count = ctx.opts.quick ? 20 : 200;
  const usable = ENGINES.filter((e) => receiverUnavailable(e) === null);
  const results = new Map<EngineLabel, RunResult[]>();
  const failures = new Map<EngineLabel, string>();
  const key = keyHex(corpusKey());
  const link = createLink('lat');
  let flood: Flood | undefined;
  try {
    flood = await retryIfAddonGone(ctx.log, 'flood', () => Flood.start(link, senderCpu(ctx.opts.cpu)));
    for (let run = 0; run < ctx.opts.runs; run++) {
      const order = usable.map((_, i) => usable[(i + run) % usable.length]!);
      for (const engine of order) {
        if (failures.has(engine)) continue;
        try {
          const f = flood;
          const r = await retryIfAddonGone(ctx.log, `latency ${engine}`, () => oneRun(ctx, link, f, engine, key, count, `${run}-${engine}`));
          results.set(engine, [...(results.get(engine) ?? []), r]);
          ctx.log(
            `latency ${engine} run ${run + 1}/${ctx.opts.runs}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(2)} ms, lost ${r.lost}/${r.probes}`,
          );
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.set(engine, msg);
          ctx.log(`latency ${engine} FAILED: ${msg}`);
        }
      }
    }
  } finally {
    await flood?.stop();
    link.destroy();
  }
  return ENGINES.map((engine): CaseResult => {
    const why = receiverUnavailable(engine);
    if (why) return skippedRow('latency', engine, UNIT, `skipped: ${why}`);
    if (failures.has(engine)) return skippedRow('latency', engine, UNIT, `failed: ${failures.get(engine)!}`);
    const runs = results.get(engine) ?? [];
    const p99 = summarize(runs.map((r) => r.p99));
    const lost = runs.reduce((a, r) => a + r.lost, 0);
    const probes = runs.reduce((a, r) => a + r.probes, 0);
    return {
      name: 'latency',
      engine,
      unit: UNIT,
      ...summarize(runs.map((r) => r.p50)),
      p50: median(runs.map((r) => r.p50)),
      p99: p99.median,
      p99Min: p99.min,
      p99Max: p99.max,
      lost,
      probes,
      note: `median = p50 of wire-to-hint per run, through the agent daemon (${engine === 'native' ? 'native capture' : 'JS engine through tcpdump'})`,
      details: [`p99 ${p99.median!.toFixed(2)} ms (runs ${p99.min!.toFixed(2)} – ${p99.max!.toFixed(2)}); probes without a hint: ${lost} of ${probes}`],
    };
  });
}

async function oneRun(ctx: BenchContext, link: Link, flood: Flood, engine: EngineLabel, key: string, count: number, tag: string): Promise<RunResult> {
  const argv = nodeArgv(workerScript('agent'), [
    '--engine',
    engine === 'native' ? 'native' : 'tcpdump',
    '--if',
    link.ifR,
    '--key',
    key,
    '--socket',
    join(ctx.tmp, `agent-${tag}.sock`),
  ]);
  const child = spawnTracked(inNamespace(link.nsR, pinned(argv, ctx.opts.cpu)));
  const io = new JsonLines(child);
  try {
    const first = await io.next(20_000, `agent (${engine})`);
    if (first.event !== 'ready') throw new Error(`agent: ${JSON.stringify(first)}`);
    // Let the agent's own start-up burst (its solicitations, JIT) pass.
    await new Promise((r) => setTimeout(r, ctx.opts.quick ? 300 : 1000));
    io.flush();
    const sent = (await flood.request({ cmd: 'probes', count, intervalMs: 10, keyHex: key, src: link.s }, 120_000)).probes as Array<{
      name: string;
      t: number;
    }>;
    const want = new Map(sent.map((p) => [p.name, p.t]));
    const latencies: number[] = [];
    const deadline = Date.now() + 3000;
    while (want.size > 0 && Date.now() < deadline) {
      let e: Record<string, unknown>;
      try {
        e = await io.next(Math.max(1, deadline - Date.now()), 'agent hints');
      } catch {
        break;
      }
      const h = e.hint as { hint?: string; related_ifname?: string } | undefined;
      if (e.event !== 'hint' || h?.hint !== 'on_remote_network' || !h.related_ifname) continue;
      const t0 = want.get(h.related_ifname);
      if (t0 === undefined) continue;
      want.delete(h.related_ifname);
      latencies.push((e.t as number) - t0);
    }
    latencies.sort((a, b) => a - b);
    if (latencies.length === 0) throw new Error(`no probe produced a hint (${count} sent): ${io.lastError()}`);
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies.at(-1)!, lost: want.size, probes: count };
  } finally {
    const closed = new Promise<void>((r) => (io.closed ? r() : child.once('close', () => r())));
    child.stdin!.end('close\n');
    const t = setTimeout(() => killGroup(child, 'SIGKILL'), 10_000);
    await closed;
    clearTimeout(t);
  }
}
