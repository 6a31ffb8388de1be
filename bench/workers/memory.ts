/**
 * Peak RSS of the receive path under a long flood, measured in this fresh
 * process. --kind forged: --count datagrams with a bad HMAC (timestamps in
 * the window, so each costs a MAC) through verification and the BSON step.
 * --kind valid: --count authentic beacons, every one with its own ULID,
 * through verification, the BSON step and the agent's correlator (whose
 * queues are bounded, so memory must level off).
 *
 * Time is simulated at 100,000 beacons/s (tokens and ULIDs are stamped
 * with that clock and judged at it), so the run covers --count / 100,000
 * seconds of traffic however fast the machine is. Beacons are generated
 * on the fly in batches of 256 (reused buffers): their gzip is a single
 * stored block rather than level 9, which the receiver cannot tell apart
 * and which keeps generation cheaper than what is measured.
 *
 * Prints {"checkpoints": [{"at", "rssMiB", "hwmMiB"}...], "startMiB", "seconds", "correlator"}.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { serialize } from 'bson';
import { Correlator } from '../../src/topology/correlate';
import { decodeItem } from '../../src/engine/decode';
import type { EngineName } from '../../src/engine/types';
import { createVerifier } from '../../src/engine/verifier';
import { fernetEncrypt, keyObjects, type FernetKeyObjects } from '../../src/protocol/fernet';
import { firstCorpusBeacon, keyFromHex } from '../lib/inputs';
import { answer, flag, numberFlag, workerMain } from '../lib/worker-args';

const BATCH = 256;
const STEP_MS = 0.01; // 100,000 beacons/s of simulated traffic
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function status(): { rssMiB: number; hwmMiB: number } {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
  return { rssMiB: kb('VmRSS') / 1024, hwmMiB: kb('VmHWM') / 1024 };
}

/** A ULID for `timeMs` whose random part is the counter `n`: unique per beacon. */
function ulid(timeMs: number, n: number, out: Buffer, at: number): void {
  let t = Math.floor(timeMs);
  for (let i = 9; i >= 0; i--) {
    out[at + i] = CROCKFORD.charCodeAt(t % 32);
    t = Math.floor(t / 32);
  }
  let r = n;
  for (let i = 25; i >= 10; i--) {
    out[at + i] = CROCKFORD.charCodeAt(r % 32);
    r = Math.floor(r / 32);
  }
}

/** Builds beacons from one BSON template, patching the ULID in place. */
class BeaconMaker {
  private readonly bson: Buffer;
  private readonly ulidAt: number;
  private readonly gz: Buffer;
  // A per-beacon IV from the counter: random IVs would cost more than the
  // encryption, and nothing here depends on their secrecy.
  private readonly iv = Buffer.alloc(16, 0x5a);

  constructor(private readonly keys: FernetKeyObjects) {
    const remote = (firstCorpusBeacon().payload as { remote: Record<string, unknown> }).remote;
    this.bson = Buffer.from(serialize({ remote, ulid: 'U'.repeat(26), type: 2 }));
    this.ulidAt = this.bson.indexOf('U'.repeat(26));
    // gzip member: 10-byte header, one final stored block (5-byte header), data, CRC32, ISIZE.
    this.gz = Buffer.alloc(10 + 5 + this.bson.length + 8);
    this.gz.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff], 0);
    const n = this.bson.length;
    this.gz.set([1, n & 0xff, n >>> 8, ~n & 0xff, (~n >>> 8) & 0xff], 10);
  }

  /** One datagram (header + raw token) stamped `timeMs`, advertisement, ULID counter `n`. */
  make(timeMs: number, n: number): Buffer {
    ulid(timeMs, n, this.bson, this.ulidAt);
    this.bson.copy(this.gz, 15);
    this.gz.writeUInt32LE(crc32(this.bson), 15 + this.bson.length);
    this.gz.writeUInt32LE(this.bson.length, 19 + this.bson.length);
    this.iv.writeUInt32LE(n >>> 0, 0);
    const token = fernetEncrypt(this.keys, this.gz, Math.floor(timeMs / 1000), this.iv);
    const d = Buffer.allocUnsafe(4 + token.length);
    d.set([2, 2, token.length >>> 8, token.length & 0xff], 0);
    token.copy(d, 4);
    return d;
  }
}

workerMain(() => {
  const kind = flag('--kind');
  const engine = flag('--engine') as EngineName;
  const count = numberFlag('--count');
  const key = keyFromHex(flag('--key'));
  const verifier = createVerifier(engine, key);
  const maker = new BeaconMaker(keyObjects(key));
  // Forged packets never reach correlation: they are rejected before it.
  const correlator = kind === 'valid' ? new Correlator() : undefined;
  const correlatorNote = correlator ? 'src/topology/correlate.ts Correlator, default bounds' : 'not reached (rejected before correlation)';
  const t0ms = Date.now();
  // Forged: 256 distinct datagrams made once, one HMAC bit flipped in each.
  const forged: Buffer[] = [];
  if (kind === 'forged') {
    for (let i = 0; i < BATCH; i++) {
      const d = maker.make(t0ms, i);
      d[d.length - 1]! ^= 0x01;
      forged.push(d);
    }
  }
  const data = new Uint8Array(BATCH * 512);
  const offsets = new Uint32Array(BATCH + 1);
  const now = new Float64Array(BATCH);
  const checkpoints = [0.25, 0.5, 0.75, 1].map((f) => Math.round(f * count));
  const results: Array<{ at: number; rssMiB: number; hwmMiB: number }> = [];
  const start = status();
  const verdicts: Record<string, number> = {};
  let done = 0;
  let ulidCounter = 0;
  const started = process.hrtime.bigint();
  while (done < count) {
    // Batches end exactly on the checkpoints.
    const n = Math.min(BATCH, checkpoints[results.length]! - done);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const simMs = t0ms + (done + i) * STEP_MS;
      const d = kind === 'forged' ? forged[i]! : maker.make(simMs, ulidCounter++);
      offsets[i] = at;
      data.set(d, at);
      at += d.length;
      now[i] = simMs / 1000;
    }
    offsets[n] = at;
    const v = verifier.verify({ count: n, data, offsets, now });
    for (let i = 0; i < n; i++) {
      const item = decodeItem(v, i);
      const k = item.ok ? 'ok' : item.reason;
      verdicts[k] = (verdicts[k] ?? 0) + 1;
      if (item.ok && correlator) {
        correlator.onReceive(
          {
            interface: 'eth0',
            source_ip: '10.0.0.9',
            source_port: 5240,
            destination_ip: '224.0.0.118',
            version: item.version,
            type: item.type,
            payload: item.payload,
          },
          now[i]! * 1000,
        );
      }
    }
    done += n;
    if (done === checkpoints[results.length]) results.push({ at: done, ...status() });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const expected = kind === 'forged' ? 'mac' : 'ok';
  if ((verdicts[expected] ?? 0) !== count) throw new Error(`expected ${count} × ${expected}, got ${JSON.stringify(verdicts)}`);
  answer({
    kind,
    engine,
    count,
    startMiB: start.rssMiB,
    checkpoints: results,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    seconds,
    correlator: correlatorNote,
    correlatorStats: correlator?.stats() ?? null,
  });
});
