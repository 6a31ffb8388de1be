/**
 * Case crypto-floor: the addon's cryptoFloor loop on the valid input's
 * token (HMAC verify + AES-CBC + inflate, nothing else): what native
 * decoding would cost if the pipeline around the cryptography were free.
 * Its ratio is decode-valid native / crypto-floor (1.0 = no overhead).
 */
import { retryIfAddonGone } from '../lib/addon';
import { loadBinding } from '../../src/engine/binding';
import { fmtRate, type BenchContext } from '../lib/context';
import { nodeArgv, pinned, runJson, workerScript } from '../lib/proc';
import { skippedRow, summarize, type CaseResult } from '../lib/result';

const UNIT = 'tokens/s';

export async function runCryptoFloor(ctx: BenchContext): Promise<CaseResult[]> {
  const state = loadBinding();
  if (!state.ok) return [skippedRow('crypto-floor', 'native', UNIT, `skipped: the native addon is not available (${state.why}): ${state.detail}`)];
  if (typeof state.binding.cryptoFloor !== 'function')
    return [skippedRow('crypto-floor', 'native', UNIT, 'not available yet: the addon has no cryptoFloor export')];
  const seconds = ctx.opts.quick ? 0.05 : 1.0;
  const warmup = ctx.opts.quick ? 0.02 : 0.3;
  const samples: number[] = [];
  for (let run = 0; run < ctx.opts.runs; run++) {
    const argv = nodeArgv(workerScript('crypto-floor'), ['--inputs', ctx.inputsPath, '--seconds', String(seconds), '--warmup', String(warmup)]);
    try {
      const { value } = await retryIfAddonGone(ctx.log, 'crypto-floor', () => runJson(pinned(argv, ctx.opts.cpu), { timeoutMs: 120_000 }));
      samples.push(value.rate as number);
      ctx.log(
        `crypto-floor native run ${run + 1}/${ctx.opts.runs}: ${fmtRate(value.rate as number)} ${UNIT} (${(value.nsPerToken as number).toFixed(0)} ns/token)`,
      );
    } catch (err) {
      return [skippedRow('crypto-floor', 'native', UNIT, `failed: ${err instanceof Error ? err.message : String(err)}`)];
    }
  }
  return [{ name: 'crypto-floor', engine: 'native', unit: UNIT, ...summarize(samples) }];
}

/** Sets the floor row's ratio to decode-valid native / floor, once both are known. */
export function relateFloor(rows: CaseResult[]): void {
  const floor = rows.find((r) => r.name === 'crypto-floor' && r.engine === 'native');
  const native = rows.find((r) => r.name === 'decode-valid' && r.engine === 'native');
  if (!floor || !native || floor.median === null || native.median === null || floor.median === 0) return;
  floor.ratio = native.median / floor.median;
  floor.baseline = 'decode-valid native ÷ this';
  const verify = rows.find((r) => r.name === 'verify-valid' && r.engine === 'native');
  if (verify && verify.median !== null) floor.verifyRatio = verify.median / floor.median;
}
