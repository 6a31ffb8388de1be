/**
 * The flood sender. Runs inside the bench's sender namespace and sends
 * pre-built frames with the addon's raw sendFrames (AF_PACKET, qdisc
 * bypassed, sendmmsg bursts), so that the sender is not the bottleneck.
 * Commands, one JSON object a line on stdin, each answered by one line:
 *   {"cmd":"beacons","count":N,"keyHex":H,"src":{mac,ip},"remote":{…}}  build N beacons stamped now
 *   {"cmd":"distinct","count":N,"keyHex":H,"src":{mac,ip},"remote":{…}} build N advertisements stamped now,
 *       every one with its own ULID, none repeated within N (the end-to-end
 *       flood: see ../lib/distinct-frames.ts); answers also "sealer" and "buildMs"
 *   {"cmd":"background","count":N,"src":{mac,ip},"dst":{mac,ip}}        build N background frames
 *   {"cmd":"spread","count":N,"keyHex":H,"src":{mac,ip},"targets":[{mac}]}
 *       build N multicast advertisements stamped now, round-robin over the
 *       targets: each addressed to its target's MAC (a bridge with static
 *       FDB entries then delivers it to that interface alone), each from a
 *       peer interface of its own ("peerK" for target K)
 *   {"cmd":"send","rate":R,"seconds":S}   send the frames round-robin at R/s (0: as fast as possible)
 *   {"cmd":"probes","count":N,"intervalMs":I,"keyHex":H,"src":{mac,ip}}
 *       send N solicitations one at a time, each naming a new peer interface
 *       (remote.name "probeK"), I ms apart; answers {"probes":[{"name","t"}]}
 *       with t the wall-clock send time in ms (sub-millisecond precision)
 *   {"cmd":"exit"}
 * Usage: flood.js --if IFNAME
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { loadBinding } from '../../src/engine/binding';
import type { BeaconSealer } from '../../src/engine/types';
import { keyObjects } from '../../src/protocol/fernet';
import { backgroundFrames, beaconFrames, pack, probeFrame, spreadFrames, type Endpoint, type FramePool } from '../lib/frames';
import { distinctBeaconFrames, floodSealer } from '../lib/distinct-frames';
import { keyFromHex } from '../lib/inputs';
import { flag, workerMain } from '../lib/worker-args';

type SendFrames = (ifname: string, data: Uint8Array, offsets: Uint32Array) => number;

const say = (o: unknown): void => void process.stdout.write(JSON.stringify(o) + '\n');
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

/**
 * At most this many frames per sendFrames call. Calls must be few and
 * large: each opens an AF_PACKET socket and closing it waits for an RCU
 * grace period (~10 ms here), which at 1,024 frames a call capped the flood
 * near 80,000 frames/s. The addon bursts 256 frames per sendmmsg inside.
 */
const CHUNK = 16384;

/** The pool repeated until it holds at least CHUNK frames, so that one call can carry a whole chunk. */
function widen(pool: FramePool): FramePool {
  const copies = Math.max(1, Math.ceil(CHUNK / pool.count));
  if (copies === 1) return pool;
  const bytes = pool.data.length;
  const data = new Uint8Array(bytes * copies);
  const offsets = new Uint32Array(pool.count * copies + 1);
  for (let c = 0; c < copies; c++) {
    data.set(pool.data, c * bytes);
    for (let i = 0; i < pool.count; i++) offsets[c * pool.count + i] = pool.offsets[i]! + c * bytes;
  }
  offsets[pool.count * copies] = bytes * copies;
  return { data, offsets, count: pool.count * copies };
}

function txDropped(ifname: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${ifname}/statistics/tx_dropped`, 'utf8').trim());
  } catch {
    return NaN;
  }
}

function send(sendFrames: SendFrames, ifname: string, pool: FramePool, rate: number, seconds: number): Record<string, unknown> {
  const dropped0 = txDropped(ifname);
  const total = rate > 0 ? Math.round(rate * seconds) : Infinity;
  let sent = 0;
  let errors = 0;
  let lastError = '';
  let at = 0;
  const t0 = process.hrtime.bigint();
  const elapsed = (): number => Number(process.hrtime.bigint() - t0) / 1e9;
  for (;;) {
    const t = elapsed();
    if (t >= seconds || sent >= total) break;
    let due = rate > 0 ? Math.min(total, Math.floor(rate * t) + 1) - sent : CHUNK;
    if (due <= 0) {
      // Ahead of schedule: sleep until the next frame is due (spin under a millisecond).
      const wait = ((sent + 1) / rate - t) * 1000;
      if (wait >= 1) sleepMs(Math.min(wait, 50) - 0.5);
      continue;
    }
    due = Math.min(due, CHUNK, pool.count - at);
    try {
      sent += sendFrames(ifname, pool.data, pool.offsets.subarray(at, at + due + 1));
    } catch (err) {
      // A full device queue for too long, or the like: count it and go on.
      const partial = (err as { sent?: number }).sent;
      sent += typeof partial === 'number' ? partial : 0;
      errors++;
      lastError = err instanceof Error ? err.message : String(err);
    }
    at = (at + due) % pool.count;
  }
  const seconds_ = elapsed();
  return { sent, seconds: seconds_, rate: sent / seconds_, errors, lastError, txDropped: txDropped(ifname) - dropped0 };
}

/** Solicitations sent one by one, each stamped just before it goes. */
function probes(sendFrames: SendFrames, ifname: string, c: Record<string, unknown>): Array<{ name: string; t: number }> {
  const keys = keyObjects(keyFromHex(c.keyHex as string));
  const count = c.count as number;
  const nowMs = Date.now();
  // Built first, so that encoding is not inside the measured path.
  const frames = Array.from({ length: count }, (_, i) => probeFrame(keys, c.src as Endpoint, `probe${i}`, i, nowMs));
  const out: Array<{ name: string; t: number }> = [];
  for (let i = 0; i < count; i++) {
    const one = pack([frames[i]!]);
    const t = performance.timeOrigin + performance.now();
    sendFrames(ifname, one.data, one.offsets);
    out.push({ name: `probe${i}`, t });
    sleepMs(c.intervalMs as number);
  }
  return out;
}

workerMain(async () => {
  const ifname = flag('--if');
  const state = loadBinding();
  if (!state.ok) throw new Error(`the addon is not available: ${state.detail}`);
  const sendFrames = state.binding.sendFrames as SendFrames | undefined;
  if (typeof sendFrames !== 'function') throw new Error('the addon has no sendFrames export');
  let pool: FramePool | undefined;
  let sealer: BeaconSealer | undefined;
  say({ ok: true, ready: true });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const c = JSON.parse(line) as { cmd: string; [k: string]: unknown };
    try {
      if (c.cmd === 'beacons') {
        const keys = keyObjects(keyFromHex(c.keyHex as string));
        pool = widen(beaconFrames(keys, c.src as Endpoint, c.count as number, Date.now(), c.remote as Record<string, unknown>));
        say({ ok: true, frames: pool.count, bytes: pool.data.length });
      } else if (c.cmd === 'distinct') {
        pool = undefined; // the last pool's memory back first: these pools are large
        const keys = keyObjects(keyFromHex(c.keyHex as string));
        const t0 = performance.now();
        const built = distinctBeaconFrames(
          keys,
          c.src as Endpoint,
          c.count as number,
          Date.now(),
          c.remote as Record<string, unknown>,
          (sealer ??= floodSealer()),
        );
        pool = widen(built);
        say({ ok: true, frames: pool.count, distinct: built.count, bytes: pool.data.length, sealer: built.sealer, buildMs: performance.now() - t0 });
      } else if (c.cmd === 'background') {
        pool = widen(backgroundFrames(c.src as Endpoint, c.dst as Endpoint, c.count as number));
        say({ ok: true, frames: pool.count, bytes: pool.data.length });
      } else if (c.cmd === 'spread') {
        const keys = keyObjects(keyFromHex(c.keyHex as string));
        pool = widen(spreadFrames(keys, c.src as Endpoint, c.targets as Array<{ mac: string }>, c.count as number, Date.now()));
        say({ ok: true, frames: pool.count, bytes: pool.data.length });
      } else if (c.cmd === 'send') {
        if (!pool) throw new Error('no frames built yet');
        say({ ok: true, ...send(sendFrames, ifname, pool, c.rate as number, c.seconds as number) });
      } else if (c.cmd === 'probes') {
        say({ ok: true, probes: probes(sendFrames, ifname, c) });
      } else if (c.cmd === 'exit') {
        say({ ok: true });
        break;
      } else throw new Error(`unknown command ${c.cmd}`);
    } catch (err) {
      say({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  }
  lines.close();
});
