/**
 * Cases memory-forged and memory-valid: peak RSS (VmHWM) of a fresh process
 * after 1,000,000 forged packets, and after 1,000,000 valid beacons with
 * unique ULIDs through verification and correlation, with RSS at every
 * quarter. The row's median is the peak at the end; its ratio is that peak
 * over the peak at the first quarter (about 1.0 when memory levels off).
 */
import { retryIfAddonGone } from '../lib/addon';
import { loadBinding } from '../../src/engine/binding';
import type { BenchContext } from '../lib/context';
import { corpusKey, keyHex } from '../lib/inputs';
import { nodeArgv, pinned, runJson, workerScript } from '../lib/proc';
import { median, skippedRow, summarize, type CaseName, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'MiB';
const ENGINES: readonly ('native' | 'js')[] = ['native', 'js'];

interface Checkpoint {
  at: number;
  rssMiB: number;
  hwmMiB: number;
}

export async function runMemory(ctx: BenchContext, names: readonly ('memory-forged' | 'memory-valid')[]): Promise<CaseResult[]> {
  const count = ctx.opts.quick ? 20_000 : 1_000_000;
  const key = keyHex(corpusKey());
  const native = loadBinding();
  const rows: CaseResult[] = [];
  for (const name of names) {
    const kind = name === 'memory-forged' ? 'forged' : 'valid';
    for (const engine of ENGINES) {
      if (engine === 'native' && !native.ok) {
        rows.push(skippedRow(name, engine, UNIT, `skipped: the native addon is not available (${native.why}): ${native.detail}`));
        continue;
      }
      const runs: Array<{ checkpoints: Checkpoint[]; startMiB: number; seconds: number; correlator: string; correlatorStats: unknown }> = [];
      try {
        for (let run = 0; run < ctx.opts.runs; run++) {
          const argv = nodeArgv(workerScript('memory'), ['--kind', kind, '--engine', engine, '--count', String(count), '--key', key]);
          const { value } = await retryIfAddonGone(ctx.log, `${name} ${engine}`, () => runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 30 * 60_000 }));
          const r = value as unknown as (typeof runs)[number];
          runs.push(r);
          const cps = r.checkpoints.map((c) => `${c.at / 1000}k ${c.rssMiB.toFixed(1)}`).join(', ');
          ctx.log(
            `${name} ${engine} run ${run + 1}/${ctx.opts.runs}: RSS MiB at ${cps}; peak ${r.checkpoints.at(-1)!.hwmMiB.toFixed(1)} (${r.seconds.toFixed(1)} s)`,
          );
        }
      } catch (err) {
        rows.push(skippedRow(name, engine, UNIT, `failed: ${err instanceof Error ? err.message : String(err)}`));
        continue;
      }
      rows.push(summarizeMemory(name, engine, count, runs));
    }
  }
  return rows;
}

function summarizeMemory(
  name: CaseName,
  engine: EngineLabel,
  count: number,
  runs: Array<{ checkpoints: Checkpoint[]; startMiB: number; seconds: number; correlator: string; correlatorStats: unknown }>,
): CaseResult {
  const quarters = [0, 1, 2, 3].map((q) => ({
    at: runs[0]!.checkpoints[q]!.at,
    rssMiB: median(runs.map((r) => r.checkpoints[q]!.rssMiB)),
    hwmMiB: median(runs.map((r) => r.checkpoints[q]!.hwmMiB)),
  }));
  const peak = runs.map((r) => r.checkpoints[3]!.hwmMiB);
  const row: CaseResult = {
    name,
    engine,
    unit: UNIT,
    ...summarize(peak),
    packets: count,
    startMiB: median(runs.map((r) => r.startMiB)),
    checkpoints: quarters,
    correlator: runs[0]!.correlator,
    correlatorStats: runs[0]!.correlatorStats,
    secondsPerRun: median(runs.map((r) => r.seconds)),
    note: `median = peak RSS after ${count.toLocaleString('en-US')} packets`,
    details: [
      `RSS (peak) at ${quarters.map((q) => `${(q.at / 1000).toLocaleString('en-US')}k: ${q.rssMiB.toFixed(1)} (${q.hwmMiB.toFixed(1)}) MiB`).join(', ')}; at start ${median(runs.map((r) => r.startMiB)).toFixed(1)} MiB`,
      ...(name === 'memory-valid' ? [`correlation: ${runs[0]!.correlator}`] : []),
    ],
  };
  if (quarters[0]!.hwmMiB > 0) {
    row.ratio = quarters[3]!.hwmMiB / quarters[0]!.hwmMiB;
    row.baseline = 'peak at 1st quarter';
  }
  return row;
}
