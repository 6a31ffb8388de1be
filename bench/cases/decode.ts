/**
 * Cases decode-valid, decode-forged, decode-stale, decode-garbage: datagrams
 * decoded per second on one core, by native, js and maas-python, on the
 * same bytes at the same clock (lib/inputs.ts). verify-valid is
 * decode-valid stopped at the BSON bytes (the verifier alone, no BSON
 * step), for native and js; MAAS's read_beacon_payload has no such stage,
 * so its rows are related to maas-python's decode-valid.
 *
 * Each measurement is a fresh child process pinned with taskset, and the
 * engines take turns within every run (their order rotating from run to
 * run), so that whatever else the machine does lands on all of them alike.
 */
import { retryIfAddonGone } from '../lib/addon';
import { loadBinding } from '../../src/engine/binding';
import { fmtRate, type BenchContext } from '../lib/context';
import { EXPECTED, verdictProblem, type DecodeInput } from '../lib/inputs';
import { nodeArgv, pinned, runJson, workerScript } from '../lib/proc';
import { PYTHON, pythonScript, pythonUnavailable } from '../lib/python';
import { ratioTo, skippedRow, summarize, type CaseName, type CaseResult, type EngineLabel } from '../lib/result';

export const DECODE_CASES: Readonly<Record<string, DecodeInput>> = {
  'decode-valid': 'valid',
  'verify-valid': 'valid',
  'decode-forged': 'forged',
  'decode-stale': 'stale',
  'decode-garbage': 'garbage',
  'decode-valid-v3': 'valid-v3',
  'verify-valid-v3': 'valid-v3',
  'decode-forged-v3': 'forged-v3',
  'decode-wrongkey-v3': 'wrongkey-v3',
};

/** Cases MAAS has no row for: its stage does not exist (verify-valid), or it drops v3 as an unknown version. */
const NOT_MAAS = new Set<CaseName>(['verify-valid', 'decode-valid-v3', 'verify-valid-v3', 'decode-forged-v3', 'decode-wrongkey-v3']);
/** Each v3 row is related to the same engine's v2 row on the same payload. */
const V2_OF: Partial<Record<CaseName, CaseName>> = {
  'decode-valid-v3': 'decode-valid',
  'verify-valid-v3': 'verify-valid',
  'decode-forged-v3': 'decode-forged',
  'decode-wrongkey-v3': 'decode-forged',
};

const ENGINES: readonly EngineLabel[] = ['native', 'js', 'maas-python'];
const UNIT = 'datagrams/s';

/** Why an engine cannot decode here, or null. */
export function engineUnavailable(engine: EngineLabel): string | null {
  if (engine === 'native') {
    const s = loadBinding();
    return s.ok ? null : `the native addon is not available (${s.why}): ${s.detail}`;
  }
  if (engine === 'maas-python') return pythonUnavailable();
  return null;
}

export async function runDecodeCases(ctx: BenchContext, names: readonly CaseName[]): Promise<CaseResult[]> {
  const seconds = ctx.opts.quick ? 0.05 : 1.0;
  const warmup = ctx.opts.quick ? 0.02 : 0.3;
  const usable = ENGINES.filter((e) => engineUnavailable(e) === null);
  for (const e of ENGINES) {
    const why = engineUnavailable(e);
    if (why) ctx.log(`decode: ${e} skipped: ${why}`);
  }
  const samples = new Map<string, number[]>();
  const failures = new Map<string, string>();
  const key = (name: CaseName, e: EngineLabel): string => `${name}/${e}`;

  for (let run = 0; run < ctx.opts.runs; run++) {
    for (const name of names) {
      const input = DECODE_CASES[name]!;
      // Rotate the engines' order from run to run.
      const order = usable.map((_, i) => usable[(i + run) % usable.length]!);
      for (const engine of order) {
        const k = key(name, engine);
        if (failures.has(k) || (NOT_MAAS.has(name) && engine === 'maas-python')) continue;
        try {
          const stage = name.startsWith('verify-valid') ? 'verify' : 'decode';
          const rate = await retryIfAddonGone(ctx.log, `${name} ${engine}`, () => measureOnce(ctx, engine, input, seconds, warmup, stage));
          const list = samples.get(k) ?? [];
          list.push(rate);
          samples.set(k, list);
          ctx.log(`${name} ${engine} run ${run + 1}/${ctx.opts.runs}: ${fmtRate(rate)} ${UNIT}`);
        } catch (err) {
          const msg = err instanceof Error ? err.message : String(err);
          failures.set(k, msg);
          ctx.log(`${name} ${engine} FAILED: ${msg}`);
        }
      }
    }
  }

  const out: CaseResult[] = [];
  for (const name of names) {
    const rows: CaseResult[] = [];
    for (const engine of ENGINES) {
      const why = engineUnavailable(engine);
      const k = key(name, engine);
      if (NOT_MAAS.has(name) && engine === 'maas-python') continue;
      if (why) rows.push(skippedRow(name, engine, UNIT, `skipped: ${why}`));
      else if (failures.has(k)) rows.push(skippedRow(name, engine, UNIT, `failed: ${failures.get(k)!}`));
      else rows.push({ name, engine, unit: UNIT, ...summarize(samples.get(k) ?? []), input: DECODE_CASES[name], expected: EXPECTED[DECODE_CASES[name]!] });
    }
    ratioTo(rows, 'maas-python');
    out.push(...rows);
  }
  // v3 against v2, engine by engine, on the same payload.
  for (const r of out) {
    const v2 = V2_OF[r.name];
    const base = v2 && out.find((b) => b.name === v2 && b.engine === r.engine);
    if (!base || r.median === null || !base.median) continue;
    r.ratio = r.median / base.median;
    r.baseline = `${v2} ${r.engine}`;
  }
  // To-BSON-bytes against MAAS's whole decode (the 20x), when both ran.
  const python = out.find((r) => r.name === 'decode-valid' && r.engine === 'maas-python');
  for (const r of out) {
    if (r.name !== 'verify-valid' || r.median === null || !python || !python.median) continue;
    r.ratio = r.median / python.median;
    r.baseline = 'maas-python decode-valid';
  }
  return out;
}

async function measureOnce(
  ctx: BenchContext,
  engine: EngineLabel,
  input: DecodeInput,
  seconds: number,
  warmup: number,
  stage: 'decode' | 'verify',
): Promise<number> {
  const common = ['--inputs', ctx.inputsPath, '--input', input, '--seconds', String(seconds), '--warmup', String(warmup)];
  const argv =
    engine === 'maas-python'
      ? [PYTHON, pythonScript('maas_decode.py'), ...common]
      : nodeArgv(workerScript('decode'), ['--engine', engine, '--stage', stage, ...common]);
  const { value } = await runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 120_000 });
  const verdicts = value.verdicts as Record<string, number>;
  // MAAS has one reason for every Fernet failure; netbeacon names them.
  const problem = verdictProblem(input, verdicts);
  if (problem) throw new Error(`${engine}: ${problem}`);
  if (engine !== 'maas-python' && input !== 'garbage' && EXPECTED[input] !== 'ok' && !verdicts[EXPECTED[input]]) {
    throw new Error(`${engine}: ${input} input not rejected as ${EXPECTED[input]}: ${JSON.stringify(verdicts)}`);
  }
  if (engine === 'maas-python' && (input === 'forged' || input === 'stale') && !verdicts.decrypt) {
    throw new Error(`maas-python: ${input} input not rejected at decryption: ${JSON.stringify(verdicts)}`);
  }
  return value.rate as number;
}
