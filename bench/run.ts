/**
 * `npm run bench`: runs the cases, prints the machine, the results table and
 * the goals table, and with --json FILE writes them as JSON. See
 * bench/README.md for what each case means and `--help` for the flags.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCryptoFloor, relateFloor } from './cases/crypto-floor';
import { runSeal } from './cases/seal';
import { DECODE_CASES, runDecodeCases } from './cases/decode';
import { runBackground } from './cases/background';
import { runLatency } from './cases/latency';
import { runLiveCapture } from './cases/live-capture';
import { runMemory } from './cases/memory';
import { runObserve } from './cases/observe';
import { runFleet } from './cases/fleet';
import { runFleetMap } from './cases/fleet-map';
import { runCorrelate } from './cases/correlate';
import { runManyInterfaces } from './cases/many-interfaces';
import { runInterfaceEvents } from './cases/interface-events';
import { LIFECYCLE_CASES, runLifecycle } from './cases/lifecycle';
import { runCliStartup } from './cases/cli-startup';
import { addonStamp } from './lib/addon';
import { ArgError, parseArgs, USAGE, type BenchOptions } from './lib/args';
import type { BenchContext } from './lib/context';
import { buildInputs, writeInputs } from './lib/inputs';
import { describeMachine } from './lib/machine';
import { onCleanup, runCleanups, taskset } from './lib/proc';
import { pythonUnavailable } from './lib/python';
import { formatGoals, formatMachine, formatTable, judgeGoals } from './lib/report';
import { CASE_NAMES, skippedRow, type CaseName, type CaseResult } from './lib/result';

async function runCases(ctx: BenchContext): Promise<CaseResult[]> {
  const only = ctx.opts.only;
  const rows: CaseResult[] = [];
  const guard = async (names: readonly CaseName[], unit: string, engines: readonly CaseResult['engine'][], fn: () => Promise<CaseResult[]>): Promise<void> => {
    try {
      rows.push(...(await fn()));
    } catch (err) {
      // One broken case must not lose the others' numbers.
      const msg = err instanceof Error ? err.message : String(err);
      ctx.log(`${names.join(', ')} FAILED: ${msg}`);
      for (const n of names) for (const e of engines) rows.push(skippedRow(n, e, unit, `failed: ${msg}`));
    }
  };
  const decode = CASE_NAMES.filter((c) => c in DECODE_CASES && only.has(c));
  if (decode.length) await guard(decode, 'datagrams/s', ['native', 'js', 'maas-python'], () => runDecodeCases(ctx, decode));
  if (only.has('crypto-floor')) await guard(['crypto-floor'], 'tokens/s', ['native'], () => runCryptoFloor(ctx));
  if (only.has('seal')) await guard(['seal'], 'beacons/s', ['native', 'js'], () => runSeal(ctx));
  if (only.has('live-capture')) await guard(['live-capture'], 'beacons/s', ['native', 'js', 'maas-python'], () => runLiveCapture(ctx));
  if (only.has('background')) await guard(['background'], 'CPU % of a core', ['native', 'js', 'maas-python'], () => runBackground(ctx));
  if (only.has('latency')) await guard(['latency'], 'ms', ['native', 'js'], () => runLatency(ctx));
  const memory = (['memory-forged', 'memory-valid'] as const).filter((c) => only.has(c));
  if (memory.length) await guard(memory, 'MiB', ['native', 'js'], () => runMemory(ctx, memory));
  if (only.has('observe')) await guard(['observe'], 'beacons/s', ['native', 'js', 'maas-python'], () => runObserve(ctx));
  const fleet = (['fleet-ingest', 'fleet-topology', 'fleet-memory'] as const).filter((c) => only.has(c));
  if (fleet.length) await guard(fleet, 'reports/s', ['sqlite', 'postgres'], async () => (await runFleet(ctx)).filter((r) => only.has(r.name)));
  if (only.has('fleet-map')) await guard(['fleet-map'], 'ms to first full draw', ['chromium'], () => runFleetMap(ctx));
  if (only.has('correlate') || only.has('correlate-replay'))
    await guard(['correlate', 'correlate-replay'], 'receptions/s', ['js', 'maas-python'], () => runCorrelate(ctx));
  if (only.has('interface-events')) await guard(['interface-events'], 'ms', ['native', 'js'], () => runInterfaceEvents(ctx));
  if (only.has('many-interfaces')) await guard(['many-interfaces'], 'MiB', ['native'], () => runManyInterfaces(ctx));
  const lifecycle = LIFECYCLE_CASES.filter((c) => only.has(c));
  if (lifecycle.length) await guard(lifecycle, 'ms', ['native', 'js'], () => runLifecycle(ctx, lifecycle));
  if (only.has('cli-startup')) await guard(['cli-startup'], 'ms', ['bin', 'npx'], () => runCliStartup(ctx));
  relateFloor(rows);
  return rows;
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2), cpus().length);
  } catch (err) {
    if (err instanceof ArgError) {
      process.stderr.write(`bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const tmp = mkdtempSync(join(tmpdir(), `nbb-${process.pid}-`));
  onCleanup(() => rmSync(tmp, { recursive: true, force: true }));
  const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
  const py = pythonUnavailable();
  if (py) log(`maas-python baseline NOT AVAILABLE: ${py}`);
  const inputsPath = join(tmp, 'inputs.json');
  writeInputs(inputsPath, await buildInputs());
  const ctx: BenchContext = { opts, tmp, inputsPath, log };
  const machine = describeMachine(opts.cpu, taskset() !== null);
  const started = Date.now();
  const addonAtStart = addonStamp();
  const cases = await runCases(ctx);
  machine.loadAverageEnd = Math.round(loadavg()[0]! * 100) / 100;
  machine.addonRebuiltDuringRun = addonStamp() !== addonAtStart;
  const goals = judgeGoals(cases);
  const report = [
    formatMachine(machine),
    '',
    formatTable(cases),
    '',
    formatGoals(goals),
    '',
    `(${opts.quick ? 'quick run, ' : ''}${((Date.now() - started) / 1000).toFixed(0)} s)`,
  ].join('\n');
  process.stdout.write(report + '\n');
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify({ machine, options: { quick: opts.quick, runs: opts.runs, cpu: opts.cpu, only: [...opts.only] }, cases, goals }, null, 2) + '\n',
    );
    log(`wrote ${opts.json}`);
  }
  return 0;
}

main()
  .then((code) => {
    runCleanups();
    process.exitCode = code;
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    runCleanups();
    process.exitCode = 1;
  });
