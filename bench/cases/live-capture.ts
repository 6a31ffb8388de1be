/**
 * Case live-capture: beacons per second received and verified on a veth
 * between two namespaces, while a sender floods pre-built valid beacons at
 * rising rates. Each receiver (native, js through tcpdump, maas-python
 * through tcpdump) gets the same traffic in turn, pinned to the measured
 * core; the sender runs on another core.
 *
 * Per step: `sent` is what sendFrames put on the link, `received` the
 * authentic beacons the receiver reported once it stopped growing (so a
 * backlog still drains into the count), `drops` = sent - received (lost
 * anywhere: ring full, pipe full, never read). The row's median is
 * received/s at 100,000/s offered; `zeroDropMax` is the highest offered
 * rate a run got through with no drop.
 */
import { retryIfAddonGone } from '../lib/addon';
import { cpus } from 'node:os';
import { fmtRate, type BenchContext } from '../lib/context';
import { corpusKey, firstCorpusBeacon, keyHex } from '../lib/inputs';
import { Flood, LiveReceiver, receiverUnavailable } from '../lib/live';
import { createLink, netnsUnavailable, type Link } from '../lib/netns';
import { median, ratioTo, skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'beacons/s';
const ENGINES: readonly EngineLabel[] = ['native', 'js', 'maas-python'];
export const GOAL_RATE = 100_000;

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

interface Step {
  offered: number;
  sentPerS: number;
  receivedPerS: number;
  drops: number;
  ringDrops: number;
  rejected: number;
}

/** The core the sender gets: another one than the receivers', when there is one. */
export function senderCpu(receiverCpu: number): number | undefined {
  const n = cpus().length;
  if (n < 2) return undefined;
  return receiverCpu === 0 ? 1 : 0;
}

export async function runLiveCapture(ctx: BenchContext): Promise<CaseResult[]> {
  const blocked = netnsUnavailable() ?? Flood.unavailable();
  if (blocked) return ENGINES.map((e) => skippedRow('live-capture', e, UNIT, blocked));
  const rates = ctx.opts.quick ? [10_000, GOAL_RATE] : [10_000, 30_000, GOAL_RATE, 200_000, 500_000, 1_000_000];
  const seconds = ctx.opts.quick ? 0.25 : 2;
  const usable = ENGINES.filter((e) => receiverUnavailable(e) === null);
  const steps = new Map<EngineLabel, Step[][]>(); // engine -> runs -> steps
  const kernelDrops = new Map<EngineLabel, number[]>();
  const failures = new Map<EngineLabel, string>();
  const key = keyHex(corpusKey());
  const remote = (firstCorpusBeacon().payload as { remote: Record<string, unknown> }).remote;

  const link = createLink('live');
  let flood: Flood | undefined;
  try {
    flood = await retryIfAddonGone(ctx.log, 'flood', () => Flood.start(link, senderCpu(ctx.opts.cpu)));
    for (let run = 0; run < ctx.opts.runs; run++) {
      const order = usable.map((_, i) => usable[(i + run) % usable.length]!);
      for (const engine of order) {
        if (failures.has(engine)) continue;
        try {
          const f = flood;
          const { runSteps, kernel } = await retryIfAddonGone(ctx.log, `live-capture ${engine}`, () =>
            oneRun(ctx, link, f, engine, key, remote, rates, seconds),
          );
          steps.set(engine, [...(steps.get(engine) ?? []), runSteps]);
          if (kernel !== undefined) kernelDrops.set(engine, [...(kernelDrops.get(engine) ?? []), kernel]);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.set(engine, msg);
          ctx.log(`live-capture ${engine} FAILED: ${msg}`);
        }
      }
    }
  } finally {
    await flood?.stop();
    link.destroy();
  }

  const rows = ENGINES.map((engine): CaseResult => {
    const why = receiverUnavailable(engine);
    if (why) return skippedRow('live-capture', engine, UNIT, `skipped: ${why}`);
    if (failures.has(engine)) return skippedRow('live-capture', engine, UNIT, `failed: ${failures.get(engine)!}`);
    return summarizeRuns(engine, steps.get(engine) ?? [], rates, kernelDrops.get(engine));
  });
  ratioTo(rows, 'maas-python');
  return rows;
}

async function oneRun(
  ctx: BenchContext,
  link: Link,
  flood: Flood,
  engine: EngineLabel,
  key: string,
  remote: Record<string, unknown>,
  rates: readonly number[],
  seconds: number,
): Promise<{ runSteps: Step[]; kernel?: number }> {
  const rx = await LiveReceiver.start(engine, link, key, ctx.opts.cpu, 100);
  const runSteps: Step[] = [];
  let kernel: number | undefined;
  try {
    for (const offered of rates) {
      // Fresh tokens for every step: they must be within ±60 s when judged.
      await flood.request({ cmd: 'beacons', count: 1024, keyHex: key, src: link.s, remote });
      const before = await rx.fresh();
      const sent = await flood.send(offered, seconds);
      // Let the receiver drain what it has buffered: until it has everything,
      // or its count has not moved for half a second (10 s at most).
      let last = await rx.next();
      let lastChange = Date.now();
      const deadline = Date.now() + 10_000;
      while (last.beacons - before.beacons < sent.sent && Date.now() - lastChange < 500 && Date.now() < deadline) {
        const s = await rx.next();
        if (s.beacons !== last.beacons) lastChange = Date.now();
        last = s;
      }
      const received = last.beacons - before.beacons;
      const step: Step = {
        offered,
        sentPerS: sent.rate,
        receivedPerS: received / sent.seconds,
        drops: Math.max(0, sent.sent - received),
        ringDrops: last.drops - before.drops,
        rejected: last.rejected - before.rejected,
      };
      runSteps.push(step);
      ctx.log(
        `live-capture ${engine} @${fmtRate(offered)}/s: sent ${fmtRate(step.sentPerS)}/s, received ${fmtRate(step.receivedPerS)}/s, drops ${step.drops}` +
          (engine === 'native' ? ` (ring ${step.ringDrops})` : '') +
          (step.rejected ? `, REJECTED ${step.rejected}` : '') +
          (sent.errors ? `, send errors ${sent.errors}: ${sent.lastError}` : ''),
      );
      // Saturated, the receiver or the sender: higher rates would only
      // repeat this step. (The goal rate is always run.)
      if (offered >= GOAL_RATE && (received < 0.5 * sent.sent || sent.rate < 0.9 * offered)) break;
    }
  } finally {
    kernel = (await rx.stop()).kernelDrops;
  }
  return kernel === undefined ? { runSteps } : { runSteps, kernel };
}

function summarizeRuns(engine: EngineLabel, runs: Step[][], rates: readonly number[], kernel: number[] | undefined): CaseResult {
  const at = (offered: number): Step[] => runs.map((r) => r.find((s) => s.offered === offered)).filter((s): s is Step => s !== undefined);
  const goal = at(GOAL_RATE);
  const zeroDropMax = runs.map((r) => Math.max(0, ...r.filter((s) => s.drops === 0).map((s) => s.offered)));
  const stepSummary = rates
    .map((offered) => {
      const s = at(offered);
      if (s.length === 0) return undefined;
      return {
        offered,
        runs: s.length,
        sentPerS: median(s.map((x) => x.sentPerS)),
        receivedPerS: median(s.map((x) => x.receivedPerS)),
        drops: median(s.map((x) => x.drops)),
        ringDrops: median(s.map((x) => x.ringDrops)),
      };
    })
    .filter((s) => s !== undefined);
  const details = stepSummary.map(
    (s) =>
      `@ ${fmtRate(s.offered)}/s offered: sent ${fmtRate(s.sentPerS)}/s, received ${fmtRate(s.receivedPerS)}/s, drops ${count(s.drops)}` +
      (engine === 'native' ? ` (ring ${count(s.ringDrops)})` : '') +
      (s.runs < runs.length ? ` [${s.runs} of ${runs.length} runs got here]` : ''),
  );
  const zdm = median(zeroDropMax);
  details.push(
    `highest offered rate with 0 drops: ${zdm > 0 ? `${fmtRate(zdm)}/s` : 'none'} (median of runs)` +
      (kernel?.length ? `; tcpdump's own kernel-drop count per run: ${kernel.join(', ')}` : ''),
  );
  return {
    name: 'live-capture',
    engine,
    unit: UNIT,
    ...summarize(goal.map((s) => s.receivedPerS)),
    offered: GOAL_RATE,
    drops: goal.length ? median(goal.map((s) => s.drops)) : null,
    /** What the sender achieved at the goal step: below the offered rate, the goal rate was not really tried. */
    sentAtGoal: goal.length ? median(goal.map((s) => s.sentPerS)) : null,
    zeroDropMax: zdm,
    steps: stepSummary,
    details,
    note: `median = received/s at ${fmtRate(GOAL_RATE)}/s offered`,
  };
}
