/**
 * Live capture throughput, measured (not a test): one receiver process
 * with the native engine on one end of a veth, a sender in another
 * namespace flooding pre-built authentic beacon frames through the addon's
 * sendFrames at a paced rate. Reports beacons/s decoded in JS and the
 * ring's drops and freezes.
 *
 *   sudo node dist/bench/live-capture-quick.js [--rate 100000] [--seconds 5] [--engine native|tcpdump]
 *   sudo node dist/bench/live-capture-quick.js --burst 200000
 *   (--pin: sender on CPU 0, receiver on CPU 1, via taskset)
 *
 * --burst N measures the receiver alone, whatever the sender can do on a
 * busy machine: the receiver's JS holds its first batch (so the worker
 * stops and the kernel ring, made 384 x 256 KiB for this, absorbs the flood)
 * until the sender has sent N frames, then drains; the rate is the drain's.
 *
 * Root only; everything happens in two namespaces made for the run
 * (nbt-bench-PID-a/b) and removed at the end, also on failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadBinding } from '../src/engine/binding';
import { JsBatchVerifier } from '../src/engine/js-verifier';
import type { LiveCapture, LiveRecord } from '../src/capture/live';
import { NativeLiveCapture } from '../src/capture/live-native';
import { TcpdumpLiveCapture } from '../src/capture/live-tcpdump';
import { encodeBeacon } from '../src/protocol/beacon';
import { keyObjects } from '../src/protocol/fernet';
import type { FernetKey } from '../src/protocol/key';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

function keyFromHex(hex: string): FernetKey {
  const b = Buffer.from(hex, 'hex');
  return { signing: new Uint8Array(b.subarray(0, 16)), encryption: new Uint8Array(b.subarray(16, 32)) };
}

/** Ethernet/IPv4/UDP to the beacon group around a beacon datagram. */
function frame(srcMac: Buffer, payload: Buffer, i: number): Buffer {
  const udpLen = 8 + payload.length;
  const f = Buffer.alloc(14 + 20 + udpLen);
  Buffer.from('01005e000076', 'hex').copy(f, 0);
  srcMac.copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(20 + udpLen, 16);
  f.writeUInt16BE(i & 0xffff, 18);
  f[22] = 1;
  f[23] = 17;
  Buffer.from([10, 99, 0, 1]).copy(f, 26);
  Buffer.from([224, 0, 0, 118]).copy(f, 30);
  f.writeUInt16BE(5240, 34);
  f.writeUInt16BE(5240, 36);
  f.writeUInt16BE(udpLen, 38);
  payload.copy(f, 42);
  return f;
}

function sender(ifname: string, keyHex: string, rate: number, seconds: number, count: number): void {
  const state = loadBinding();
  if (!state.ok) throw new Error(state.detail);
  const sendFrames = state.binding.sendFrames as (i: string, d: Uint8Array, o: Uint32Array) => number;
  const keys = keyObjects(keyFromHex(keyHex));
  const distinct = 2048;
  const mac = Buffer.from('525400aa0001', 'hex');
  const frames: Buffer[] = [];
  for (let i = 0; i < distinct; i++) {
    const { bytes } = encodeBeacon(
      keys,
      'advertisement',
      { remote: { name: 'eth0', mac_address: '52:54:00:aa:00:01', type: 'physical', parents: [], subnet: '10.99.0.0/24' } },
      { nowMs: Date.now() },
    );
    frames.push(frame(mac, bytes, i));
  }
  // One tick's worth of frames in one buffer: tick = 5 ms.
  const tickMs = 5;
  const perTick = Math.min(4096, Math.max(1, Math.round((rate * tickMs) / 1000)));
  const data = Buffer.concat(Array.from({ length: perTick }, (_, i) => frames[i % distinct]!));
  const offsets = new Uint32Array(perTick + 1);
  for (let i = 0, at = 0; i < perTick; i++) {
    offsets[i] = at;
    at += frames[i % distinct]!.length;
    offsets[i + 1] = at;
  }
  process.stdout.write(JSON.stringify({ ready: true, frameBytes: frames[0]!.length }) + '\n');
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const start = process.hrtime.bigint();
  let sent = 0;
  for (let tick = 0; sent < count; tick++) {
    const due = start + BigInt(Math.round(tick * tickMs * 1e6));
    if (Number(process.hrtime.bigint() - start) / 1e9 >= seconds) break;
    // Pace by sleeping, not spinning: on a small machine the receiver
    // needs the CPU a spinning sender would take.
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 0) Atomics.wait(sleeper, 0, 0, wait);
    sent += sendFrames(ifname, data, offsets);
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ sent, elapsed, rate: Math.round(sent / elapsed) }) + '\n');
}

async function receiver(ifname: string, keyHex: string, engine: string, holdFlag?: string): Promise<void> {
  const key = keyFromHex(keyHex);
  // 96 MiB: room for a 200k-frame burst. 256 KiB blocks: 1 MiB ones can
  // take the kernel a second or more to find (order-8 pages, compaction).
  const ring = holdFlag ? { blockSize: 256 << 10, blockCount: 384 } : {};
  const cap: LiveCapture = engine === 'tcpdump' ? new TcpdumpLiveCapture(new JsBatchVerifier(key)) : new NativeLiveCapture(key, ring);
  let beacons = 0;
  let rejected = 0;
  let batches = 0;
  let first = 0;
  let last = 0;
  cap.on('beacons', (records: LiveRecord[]) => {
    batches++;
    if (holdFlag && batches === 1) {
      while (!existsSync(holdFlag)) {
        /* hold: the ring fills while the sender floods */
      }
      first = performance.now();
    }
    const t = performance.now();
    if (!first) first = t;
    last = t;
    for (const r of records) {
      if (r.verdict.ok) beacons++;
      else rejected++;
    }
  });
  await cap.add(ifname);
  process.stdout.write(JSON.stringify({ ready: true }) + '\n');
  await new Promise<void>((r) => process.stdin.once('data', () => r()));
  // Until the ring is drained: no batch for 300 ms.
  while (performance.now() - last < 300 || !first) await new Promise((r) => setTimeout(r, 50));
  const stats = cap.stats()[ifname];
  const cpu = process.cpuUsage();
  await cap.close();
  const secs = (last - first) / 1000;
  process.stdout.write(
    JSON.stringify({ beacons, rejected, batches, seconds: secs, rate: Math.round(beacons / secs), stats, cpuSeconds: (cpu.user + cpu.system) / 1e6 }) + '\n',
  );
  process.stdin.destroy(); // nothing more to read: let the process end
}

function child(ns: string, args: string[], cpu?: number): { lines: Promise<Record<string, unknown>>[]; proc: ReturnType<typeof spawn> } {
  const pin = cpu === undefined ? [] : ['taskset', '-c', String(cpu)];
  const proc = spawn('ip', ['netns', 'exec', ns, ...pin, process.execPath, ...process.execArgv, __filename, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const resolvers: ((v: Record<string, unknown>) => void)[] = [];
  const lines = Array.from({ length: 2 }, () => new Promise<Record<string, unknown>>((r) => resolvers.push(r)));
  let buf = '';
  let n = 0;
  proc.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      resolvers[n++]?.(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  return { lines, proc };
}

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === 'tx') return sender(process.argv[3]!, process.argv[4]!, Number(process.argv[5]), Number(process.argv[6]), Number(process.argv[7] ?? Infinity));
  if (role === 'rx') return receiver(process.argv[3]!, process.argv[4]!, process.argv[5]!, process.argv[6]);
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark makes network namespaces');
  const rate = Number(arg('rate', '100000'));
  const seconds = Number(arg('seconds', '5'));
  const engine = arg('engine', 'native');
  const burst = Number(arg('burst', '0'));
  const flag = `/tmp/nbt-bench-${process.pid}.go`;
  const base = `nbt-bench-${process.pid}`;
  const [nsA, nsB] = [`${base}-a`, `${base}-b`];
  const keyHex = randomBytes(32).toString('hex');
  const t0 = Date.now();
  const phases: Record<string, number> = {};
  const mark = (name: string): void => void (phases[name] = Date.now() - t0);
  try {
    sh(['ip', 'netns', 'add', nsA]);
    sh(['ip', 'netns', 'add', nsB]);
    sh(['ip', 'link', 'add', 'name', 'bencha', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'benchb', 'netns', nsB]);
    sh(['ip', 'netns', 'exec', nsA, 'ip', 'link', 'set', 'bencha', 'up']);
    sh(['ip', 'netns', 'exec', nsB, 'ip', 'link', 'set', 'benchb', 'up']);
    // --pin: receiver on CPU 1, sender (whose softirq also runs the veth's
    // receive path, BPF and ring copy included) on CPU 0.
    const pin = process.argv.includes('--pin');
    const rx = child(nsB, ['rx', 'benchb', keyHex, engine, ...(burst ? [flag] : [])], pin ? 1 : undefined);
    await rx.lines[0];
    mark('receiver ready');
    // A burst is sent as fast as the sender can: its rate does not matter.
    const tx = child(
      nsA,
      ['tx', 'bencha', keyHex, String(burst ? 10_000_000 : rate), String(burst ? 60 : seconds), ...(burst ? [String(burst)] : [])],
      pin ? 0 : undefined,
    );
    await tx.lines[0];
    mark('sender ready');
    const sent = await tx.lines[1];
    mark('sent');
    if (burst) writeFileSync(flag, '');
    await new Promise((r) => setTimeout(r, 500)); // the last blocks retire
    rx.proc.stdin!.write('done\n');
    const got = await rx.lines[1];
    mark('received');
    rx.proc.stdin!.end();
    tx.proc.stdin!.end();
    console.log(
      JSON.stringify({ engine, target: burst ? undefined : rate, burst: burst || undefined, sender: sent, receiver: got, phasesMs: phases }, null, 2),
    );
  } finally {
    rmSync(flag, { force: true });
    spawnSync('ip', ['netns', 'del', nsA]);
    spawnSync('ip', ['netns', 'del', nsB]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
