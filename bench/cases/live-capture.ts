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
 *
 * Last, one more native row, `mode: 'end-to-end'`: the receiver is the real
 * agent daemon (live-receiver --agent: native capture -> verify ->
 * correlate -> hints, pinned to the measured core), and the flood is of
 * distinct valid advertisements, each with its own ULID (flood `distinct`),
 * so that every one is a new beacon to the correlator (a repeated ULID is a
 * replay, and a solicitation would draw a reply). Each step builds
 * count = ceil(offered * stepSeconds) of them first, stepSeconds =
 * min(2, 1e6 / offered), so that none repeats within the step. A step has
 * zero drops when sent - correlated = 0 and the rings dropped nothing; the
 * row's median is correlated/s at the highest zero-drop step of each run
 * (the sustained end-to-end rate), `zeroDropMax` that step's offered rate.
 * It comes last so that the capture+verify native row is the one found
 * first by name and engine (report.ts).
 * BENCH_E2E_RATES=R1,R2,… replaces its steps and BENCH_E2E_NODE_FLAGS
 * (space-separated, e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") is given to
 * its receiver's node: a profile of the receiver at a chosen rate.
 */
import { retryIfAddonGone } from '../lib/addon';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fmtRate, type BenchContext } from '../lib/context';
import { corpusKey, firstCorpusBeacon, keyHex } from '../lib/inputs';
import { Flood, LiveReceiver, receiverUnavailable, type ReceiverStats } from '../lib/live';
import { createLink, netnsUnavailable, type Link } from '../lib/netns';
import { cpuSeconds } from '../lib/proc';
import { median, ratioTo, skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'beacons/s';
const ENGINES: readonly EngineLabel[] = ['native', 'js', 'maas-python'];
export const GOAL_RATE = 100_000;
/** The end-to-end goal: valid beacons/s through capture, verify, correlate and hints on one core, with no drop. */
export const E2E_GOAL_RATE = 300_000;
const E2E_RATES = [10_000, 25_000, 50_000, 100_000, 200_000, E2E_GOAL_RATE, 400_000, 500_000, 700_000, 1_000_000];
const E2E_QUICK_RATES = [10_000, 100_000];

/** Seconds an end-to-end step lasts at `offered`/s: 2, or fewer so that a step is at most 1,000,000 beacons. */
export function e2eStepSeconds(offered: number): number {
  return Math.min(2, 1e6 / offered);
}

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

  const e2eRuns: E2eStep[][] = [];
  let e2eFailure: string | undefined;
  const e2eRates = envRates() ?? (ctx.opts.quick ? E2E_QUICK_RATES : E2E_RATES);
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
    if (usable.includes('native'))
      for (let run = 0; run < ctx.opts.runs && e2eFailure === undefined; run++) {
        try {
          const f = flood;
          e2eRuns.push(await retryIfAddonGone(ctx.log, 'live-capture end-to-end', () => e2eRun(ctx, link, f, key, remote, e2eRates)));
        } catch (err) {
          e2eFailure = err instanceof Error ? err.message : String(err);
          ctx.log(`live-capture native end-to-end FAILED: ${e2eFailure}`);
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
  // After ratioTo: its ratio would be to maas-python's capture+verify.
  rows.push(e2eRow(e2eRuns, e2eRates, e2eFailure));
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

// ------------------------------------------------------------ end to end

interface E2eStep {
  offered: number;
  /** What the step built: ceil(offered * stepSeconds) distinct advertisements. */
  count: number;
  sent: number;
  sentPerS: number;
  correlated: number;
  correlatedPerS: number;
  /** sent - correlated: lost anywhere before the correlator took it as new. */
  drops: number;
  ringDrops: number;
  rejected: number;
  replays: number;
  duplicates: number;
  correlatorDrops: number;
  hints: number;
  /** The receiver's CPU time over the step (send and drain), as a share of one core. */
  receiverCpu: number;
  /** Time its threads were runnable but waited for the core (schedstat), as a share of the step: another load on the core. */
  receiverWaited: number;
  /**
   * The receiver's CPU time per beacon correlated (µs): 1e6 / this is the
   * rate it could take with a core to itself (an estimate, not a measurement).
   */
  cpuUsPerBeacon: number;
}

/** Summed over a process's threads: time spent waiting on a run queue (/proc/PID/task/TID/schedstat, 2nd field), in seconds. */
function runQueueWait(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]) / 1e9;
      } catch {
        /* a thread that ended */
      }
    }
  } catch {
    return NaN;
  }
  return total;
}

function envRates(): number[] | undefined {
  const v = process.env.BENCH_E2E_RATES;
  if (!v) return undefined;
  const rates = v.split(',').map(Number);
  if (rates.some((r) => !Number.isFinite(r) || r <= 0)) throw new Error(`BENCH_E2E_RATES: rates/s separated by commas, got "${v}"`);
  return rates;
}

function envNodeFlags(): string[] {
  return (process.env.BENCH_E2E_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '');
}

const zeroDrop = (s: E2eStep): boolean => s.drops === 0 && s.ringDrops === 0;
const pct = (x: number): string => `${Math.round(x * 100)}%`;

async function e2eRun(ctx: BenchContext, link: Link, flood: Flood, key: string, remote: Record<string, unknown>, rates: readonly number[]): Promise<E2eStep[]> {
  const rx = await LiveReceiver.start('native', link, key, ctx.opts.cpu, 100, { agent: true, nodeFlags: envNodeFlags() });
  const steps: E2eStep[] = [];
  try {
    for (const offered of rates) {
      const seconds = e2eStepSeconds(offered);
      const count = Math.ceil(offered * seconds);
      // Built before the clock, stamped now: within ±60 s when judged.
      await flood.request({ cmd: 'distinct', count, keyHex: key, src: link.s, remote }, 300_000);
      const before = await rx.fresh();
      const t0 = Date.now();
      const cpu0 = cpuSeconds(rx.pid) ?? NaN;
      const wait0 = runQueueWait(rx.pid);
      const sent = await flood.send(offered, seconds);
      // Until the correlator has taken everything, or its count has not
      // moved for half a second (10 s at most).
      let last = await rx.next();
      let lastChange = Date.now();
      const deadline = Date.now() + 10_000;
      const correlated = (s: ReceiverStats): number => (s.correlated ?? 0) - (before.correlated ?? 0);
      while (correlated(last) < sent.sent && Date.now() - lastChange < 500 && Date.now() < deadline) {
        const s = await rx.next();
        if (s.correlated !== last.correlated) lastChange = Date.now();
        last = s;
      }
      const got = correlated(last);
      const wall = (Date.now() - t0) / 1000;
      const receiverCpu = ((cpuSeconds(rx.pid) ?? NaN) - cpu0) / wall;
      const receiverWaited = (runQueueWait(rx.pid) - wait0) / wall;
      const dropsOf = (s: ReceiverStats): number => Object.values(s.dropped ?? {}).reduce((a, b) => a + b, 0);
      const step: E2eStep = {
        offered,
        count,
        sent: sent.sent,
        sentPerS: sent.rate,
        correlated: got,
        correlatedPerS: got / sent.seconds,
        drops: Math.max(0, sent.sent - got),
        ringDrops: (last.ringDrops ?? 0) - (before.ringDrops ?? 0),
        rejected: last.rejected - before.rejected,
        replays: (last.replays ?? 0) - (before.replays ?? 0),
        duplicates: (last.duplicates ?? 0) - (before.duplicates ?? 0),
        correlatorDrops: dropsOf(last) - dropsOf(before),
        hints: last.hints ?? 0,
        receiverCpu,
        receiverWaited,
        cpuUsPerBeacon: got > 0 ? (receiverCpu * wall * 1e6) / got : NaN,
      };
      steps.push(step);
      ctx.log(
        `live-capture native end-to-end @${fmtRate(offered)}/s (${count.toLocaleString('en-US')} distinct over ${seconds.toFixed(2)} s): ` +
          `sent ${fmtRate(step.sentPerS)}/s, correlated ${fmtRate(step.correlatedPerS)}/s, drops ${step.drops} (ring ${step.ringDrops})` +
          (step.rejected ? `, REJECTED ${step.rejected}` : '') +
          (step.replays || step.duplicates ? `, replays ${step.replays}, duplicates ${step.duplicates}` : '') +
          (step.correlatorDrops ? `, correlator dropped ${step.correlatorDrops}` : '') +
          `, hints ${step.hints}, receiver on CPU ${pct(receiverCpu)} of the step, waiting for it ${pct(receiverWaited)}, ${step.cpuUsPerBeacon.toFixed(1)} µs CPU/beacon` +
          (sent.errors ? `, send errors ${sent.errors}: ${sent.lastError}` : ''),
      );
      // Saturated, the receiver (two dropping steps in a row, or half lost)
      // or the sender: higher rates would only repeat this. The goal rate is always run.
      const previous = steps[steps.length - 2];
      if (offered >= E2E_GOAL_RATE && (got < 0.5 * sent.sent || sent.rate < 0.9 * offered || (!zeroDrop(step) && previous && !zeroDrop(previous)))) break;
    }
  } finally {
    await rx.stop();
  }
  return steps;
}

function e2eRow(runs: E2eStep[][], rates: readonly number[], failure: string | undefined): CaseResult {
  const base = { mode: 'end-to-end', goalRate: E2E_GOAL_RATE };
  const why = receiverUnavailable('native');
  if (why) return { ...skippedRow('live-capture', 'native', UNIT, `end-to-end skipped: ${why}`), ...base };
  if (failure !== undefined) return { ...skippedRow('live-capture', 'native', UNIT, `end-to-end failed: ${failure}`), ...base };
  if (runs.length === 0) return { ...skippedRow('live-capture', 'native', UNIT, 'end-to-end: no run'), ...base };
  // Per run: the highest zero-drop step, its offered rate and its correlated/s.
  const best = runs.map((r) => r.filter(zeroDrop).reduce<E2eStep | undefined>((b, s) => (!b || s.offered > b.offered ? s : b), undefined));
  const goal = runs.map((r) => r.find((s) => s.offered === E2E_GOAL_RATE)).filter((s): s is E2eStep => s !== undefined);
  const sustained = best.map((b) => b?.correlatedPerS ?? 0);
  const zdm = median(best.map((b) => b?.offered ?? 0));
  const stepSummary = rates
    .map((offered) => {
      const s = runs.map((r) => r.find((x) => x.offered === offered)).filter((x): x is E2eStep => x !== undefined);
      if (s.length === 0) return undefined;
      const m = (f: (x: E2eStep) => number): number => median(s.map(f));
      return {
        offered,
        runs: s.length,
        zeroDropRuns: s.filter(zeroDrop).length,
        count: s[0]!.count,
        sentPerS: m((x) => x.sentPerS),
        correlatedPerS: m((x) => x.correlatedPerS),
        drops: m((x) => x.drops),
        ringDrops: m((x) => x.ringDrops),
        rejected: m((x) => x.rejected),
        replays: m((x) => x.replays),
        duplicates: m((x) => x.duplicates),
        hints: m((x) => x.hints),
        receiverCpu: m((x) => x.receiverCpu),
        receiverWaited: m((x) => x.receiverWaited),
        cpuUsPerBeacon: m((x) => x.cpuUsPerBeacon),
      };
    })
    .filter((s) => s !== undefined);
  const details = [
    'mode end-to-end: the agent daemon (native capture -> verify -> correlate -> hints) on one core; distinct valid advertisements, one ULID each',
    ...stepSummary.map(
      (s) =>
        `@ ${fmtRate(s.offered)}/s offered (${count(s.count)} distinct): sent ${fmtRate(s.sentPerS)}/s, correlated ${fmtRate(s.correlatedPerS)}/s, ` +
        `drops ${count(s.drops)} (ring ${count(s.ringDrops)}), 0 drops in ${s.zeroDropRuns} of ${s.runs} runs, ` +
        `receiver on CPU ${pct(s.receiverCpu)}, waiting for it ${pct(s.receiverWaited)}, ${s.cpuUsPerBeacon.toFixed(1)} µs CPU/beacon` +
        (s.rejected ? `, rejected ${count(s.rejected)}` : '') +
        (s.replays || s.duplicates ? `, replays ${count(s.replays)}, duplicates ${count(s.duplicates)}` : '') +
        (s.runs < runs.length ? ` [${s.runs} of ${runs.length} runs got here]` : ''),
    ),
    `highest offered rate with 0 drops: ${zdm > 0 ? `${fmtRate(zdm)}/s` : 'none'} (median of runs); goal ≥ ${fmtRate(E2E_GOAL_RATE)}/s` +
      (goal.length ? `, the sender reached ${fmtRate(median(goal.map((s) => s.sentPerS)))}/s at that step` : ''),
  ];
  return {
    name: 'live-capture',
    engine: 'native',
    unit: UNIT,
    ...summarize(sustained),
    ...base,
    zeroDropMax: zdm,
    /** What the sender achieved at the goal step: below the goal, the goal rate was not really offered. */
    sentAtGoal: goal.length ? median(goal.map((s) => s.sentPerS)) : null,
    steps: stepSummary,
    details,
    note: 'end-to-end: median = correlated/s at the highest offered rate with 0 drops (sent - correlated = 0, no ring drop)',
  };
}
