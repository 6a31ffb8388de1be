/**
 * Quick throughput check of the native verifier, one thread, batches of 256:
 * authentic beacons (against the crypto floor: HMAC + AES + inflate alone in
 * a C++ loop), forged ones (bad MAC) and stale ones (rejected before any MAC).
 * Rates are per second of CPU time (see rate()). Not a test; the full
 * harness is bench/run.ts. Run on one core:
 *
 *   npm run build:native && npx tsc -p tsconfig.json && taskset -c 0 node dist/bench/native-verify-quick.js
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadBinding } from '../src/engine/binding';
import { NativeBatchVerifier } from '../src/engine/native-verifier';
import { deriveKey } from '../src/protocol/key';
import type { PayloadBatch } from '../src/engine/types';

const BATCH = 256;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

function vectors(): string {
  for (const up of ['..', join('..', '..')]) {
    const dir = resolve(__dirname, up, '..', 'shared', 'vectors', 'maas');
    try {
      readFileSync(join(dir, 'secret'));
      return dir;
    } catch {
      /* try the next layout (ts source or dist/) */
    }
  }
  throw new Error('shared/vectors/maas not found beside the repository');
}

function batchOf(item: Uint8Array, now: number): PayloadBatch {
  const data = new Uint8Array(item.length * BATCH);
  const offsets = new Uint32Array(BATCH + 1);
  for (let i = 0; i < BATCH; i++) {
    data.set(item, i * item.length);
    offsets[i + 1] = (i + 1) * item.length;
  }
  return { count: BATCH, data, offsets, now: new Float64Array(BATCH).fill(now) };
}

/**
 * Items per second of CPU time (this process's, GC threads included), best
 * of three runs of SECONDS / 3 wall seconds each. CPU time, because on a
 * shared machine wall time mostly measures the neighbours; cryptoFloor
 * reports CPU time as well.
 */
function rate(run: () => void, perCall: number): number {
  let best = 0;
  for (let r = 0; r < 3; r++) {
    let n = 0;
    const until = process.hrtime.bigint() + BigInt(Math.round((SECONDS / 3) * 1e9));
    const cpu0 = process.cpuUsage();
    do {
      for (let k = 0; k < 16; k++) run();
      n += 16;
    } while (process.hrtime.bigint() < until);
    const cpu = process.cpuUsage(cpu0);
    best = Math.max(best, (n * perCall) / ((cpu.user + cpu.system) / 1e6));
  }
  return best;
}

function main(): void {
  const state = loadBinding();
  if (!state.ok) throw new Error(`native addon not available: ${state.detail}`);
  const cryptoFloor = state.binding.cryptoFloor as (t: Uint8Array, o: Uint32Array, s: Uint8Array, e: Uint8Array, n: number) => number;
  const dir = vectors();
  const key = deriveKey(Buffer.from(readFileSync(join(dir, 'secret'), 'utf8').trim(), 'hex'));
  const first = readFileSync(join(dir, 'corpus.cases.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { label: string; time: number; udp_payload_hex?: string; beacon?: unknown })
    .find((c) => c.beacon && c.udp_payload_hex)!;
  const beacon = Buffer.from(first.udp_payload_hex!, 'hex');
  const now = Math.floor(first.time);
  const forged = Buffer.from(beacon);
  forged[forged.length - 1]! ^= 1;

  const v = new NativeBatchVerifier(key);
  const cases = {
    valid: batchOf(beacon, now),
    forged: batchOf(forged, now),
    stale: batchOf(beacon, now + 3600),
    short: batchOf(beacon.subarray(0, 3), now),
  };
  const expect = { valid: 0, forged: 7, stale: 5, short: 1 };
  for (const [name, b] of Object.entries(cases)) {
    const r = v.verify(b);
    if (!r.status.every((s) => s === expect[name as keyof typeof expect])) throw new Error(`${name}: unexpected verdicts ${r.status.slice(0, 4).join(',')}`);
  }

  const token = beacon.subarray(4, 4 + beacon.readUInt16BE(2));
  const tokens = batchOf(token, 0);
  const floorNs = Math.min(...[0, 1, 2].map(() => cryptoFloor(tokens.data, tokens.offsets, key.signing, key.encryption, 2000)));
  const floor = 1e9 / floorNs;

  const res: Record<string, number> = {};
  for (const [name, b] of Object.entries(cases)) res[name] = rate(() => v.verify(b), BATCH);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(12);
  console.log(`node ${process.version}, ${first.label} (${beacon.length} B datagram, ${token.length} B token), batches of ${BATCH}`);
  console.log(`crypto floor  ${fmt(floor)} /s  (${floorNs.toFixed(0)} ns per token: HMAC + AES-CBC + inflate only)`);
  console.log(`valid         ${fmt(res.valid!)} /s  (${((100 * res.valid!) / floor).toFixed(0)}% of the floor)`);
  console.log(`forged (MAC)  ${fmt(res.forged!)} /s`);
  console.log(`stale         ${fmt(res.stale!)} /s`);
  console.log(`short         ${fmt(res.short!)} /s  (fixed per-batch cost: crossing, checks, result allocation)`);
}

main();
