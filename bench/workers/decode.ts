/**
 * One decode measurement: an engine (native or js) decodes one input set,
 * datagram to verdict (verification, then the shared BSON step), on one
 * core, for a fixed time after a warm-up. Prints
 *   {"items", "cpuSeconds", "rate" (items per CPU-second), "verdicts": {"ok": n, "<reason>": n}}.
 *
 * Datagrams go through in batches of 256, as a live capture hands them
 * over (one ring block is one batch), each judged at the inputs' clock.
 * With --stage verify the BSON step is left out: the verdict is the
 * verifier's status, the work ends at the BSON bytes (issue 3's "full
 * verification to BSON bytes").
 */
import { decodeItem } from '../../src/engine/decode';
import { reasonName } from '../../src/protocol/reasons';
import type { BatchVerifier, EngineName, PayloadBatch } from '../../src/engine/types';
import { createVerifier } from '../../src/engine/verifier';
import { DECODE_INPUTS, isV3Input, readInputs, type DecodeInput } from '../lib/inputs';
import { sodiumReady } from '../../src/protocol/sodium';
import { withV3 } from '../../src/protocol/v3';
import { answer, flag, numberFlag, optionalFlag, workerMain } from '../lib/worker-args';

const BATCH = 256;

function makeBatch(items: readonly Uint8Array[], clock: number): PayloadBatch {
  let bytes = 0;
  for (let i = 0; i < BATCH; i++) bytes += items[i % items.length]!.length;
  const data = new Uint8Array(bytes);
  const offsets = new Uint32Array(BATCH + 1);
  let at = 0;
  for (let i = 0; i < BATCH; i++) {
    const item = items[i % items.length]!;
    offsets[i] = at;
    data.set(item, at);
    at += item.length;
  }
  offsets[BATCH] = at;
  return { count: BATCH, data, offsets, now: new Float64Array(BATCH).fill(clock) };
}

/**
 * Decodes whole batches until `seconds` of wall time have passed; returns
 * items decoded, the process's CPU time (user + system) meanwhile, and the
 * verdicts. Rates are per CPU-second, as maas_decode.py's: on a shared
 * machine, time spent preempted is nobody's cost.
 */
function measure(
  verifier: BatchVerifier,
  batch: PayloadBatch,
  seconds: number,
  stage: 'decode' | 'verify',
): { items: number; cpuSeconds: number; verdicts: Record<string, number> } {
  const verdicts: Record<string, number> = {};
  let items = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const budget = BigInt(Math.round(seconds * 1e9));
  let elapsed: bigint;
  do {
    const v = verifier.verify(batch);
    if (stage === 'verify') {
      for (let i = 0; i < v.count; i++) {
        // An authentic token must have left its BSON bytes.
        const k = v.status[i] === 0 && v.plainOffsets[i + 1]! > v.plainOffsets[i]! ? 'ok' : v.status[i] === 0 ? 'bson' : reasonName(v.status[i]!);
        verdicts[k] = (verdicts[k] ?? 0) + 1;
      }
    } else {
      for (let i = 0; i < v.count; i++) {
        const d = decodeItem(v, i);
        const k = d.ok ? 'ok' : d.reason;
        verdicts[k] = (verdicts[k] ?? 0) + 1;
      }
    }
    items += v.count;
    elapsed = process.hrtime.bigint() - t0;
  } while (elapsed < budget);
  const cpu = process.cpuUsage(c0);
  return { items, cpuSeconds: (cpu.user + cpu.system) / 1e6, verdicts };
}

workerMain(async () => {
  const engine = flag('--engine') as EngineName;
  const input = flag('--input') as DecodeInput;
  if (!DECODE_INPUTS.includes(input)) throw new Error(`unknown input ${input}`);
  const inputs = readInputs(flag('--inputs'));
  // v2 inputs are verified as before, v3 ones by a verifier that accepts v3 too.
  if (isV3Input(input)) await sodiumReady();
  const verifier = createVerifier(engine, isV3Input(input) ? withV3(inputs.key) : inputs.key);
  const batch = makeBatch(inputs.sets[input], inputs.clock);
  const stage = (optionalFlag('--stage') ?? 'decode') as 'decode' | 'verify';
  if (stage !== 'decode' && stage !== 'verify') throw new Error(`unknown stage ${String(stage)}`);
  measure(verifier, batch, numberFlag('--warmup'), stage);
  const r = measure(verifier, batch, numberFlag('--seconds'), stage);
  answer({ engine, input, stage, items: r.items, cpuSeconds: r.cpuSeconds, rate: r.items / r.cpuSeconds, verdicts: r.verdicts });
});
