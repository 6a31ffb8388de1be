/**
 * Case seal: batch sealing of one 128-interface multicast round (256 v2
 * beacons) by the native sealer and the JS one, side by side in one worker
 * (bench/workers/seal.ts). Rows: beacons/s per engine, with the CPU time per
 * beacon beside it and native's ratio to JS.
 */
import { loadBinding } from '../../src/engine/binding';
import { fmtRate, type BenchContext } from '../lib/context';
import { nodeArgv, pinned, runJson, workerScript } from '../lib/proc';
import { median, ratioTo, skippedRow, summarize, type CaseResult } from '../lib/result';

const UNIT = 'beacons/s';
type PerEngine = Record<'native' | 'js', { beaconsPerSecond: number; cpuUsPerBeacon: number }>;

export async function runSeal(ctx: BenchContext): Promise<CaseResult[]> {
  const state = loadBinding();
  if (!state.ok)
    return (['native', 'js'] as const).map((e) => skippedRow('seal', e, UNIT, `skipped: the native addon is not available (${state.why}): ${state.detail}`));
  if (typeof state.binding.NativeSealer !== 'function')
    return (['native', 'js'] as const).map((e) => skippedRow('seal', e, UNIT, 'skipped: the addon has no NativeSealer export (rebuild it)'));
  const seconds = ctx.opts.quick ? 0.1 : 2.0;
  const warmup = ctx.opts.quick ? 0.05 : 0.5;
  const runs: PerEngine[] = [];
  for (let run = 0; run < ctx.opts.runs; run++) {
    const argv = nodeArgv(workerScript('seal'), ['--inputs', ctx.inputsPath, '--seconds', String(seconds), '--warmup', String(warmup)]);
    const { value } = await runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 120_000 });
    const v = value as unknown as PerEngine;
    runs.push(v);
    ctx.log(
      `seal run ${run + 1}/${ctx.opts.runs}: native ${fmtRate(v.native.beaconsPerSecond)} ${UNIT} (${v.native.cpuUsPerBeacon.toFixed(1)} CPU µs each), ` +
        `js ${fmtRate(v.js.beaconsPerSecond)} ${UNIT} (${v.js.cpuUsPerBeacon.toFixed(1)} CPU µs each)`,
    );
  }
  const rows = (['native', 'js'] as const).map((engine): CaseResult => {
    const cpu = median(runs.map((r) => r[engine].cpuUsPerBeacon));
    return {
      name: 'seal',
      engine,
      unit: UNIT,
      ...summarize(runs.map((r) => r[engine].beaconsPerSecond)),
      cpuUsPerBeacon: cpu,
      note: `${cpu.toFixed(1)} CPU µs a beacon, 256 a round (128 interfaces x IPv4 + IPv6), one batch a round`,
    };
  });
  ratioTo(rows, 'js');
  return rows;
}
