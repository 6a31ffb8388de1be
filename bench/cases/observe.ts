/**
 * Case observe: `netbeacon observe --input-file` over a capture of
 * 100,000 valid beacons (5,000 with --quick), timed as a whole process
 * (start-up, key derivation, reading, parsing, verifying, printing every
 * JSON line), against MAAS's way: its pcap reader and decoder in Python
 * (maas_observe.py) reading the same capture on stdin. The rate is beacons
 * per second of wall-clock time, each process pinned to one core.
 *
 * The capture is written afresh for every run, stamped with the current
 * time: netbeacon judges tokens at their capture time, but the Python
 * baseline (like MAAS's observer) judges them at the time it reads them, so
 * the file must be younger than Fernet's 60 s when Python reads it.
 */
import { spawn } from 'node:child_process';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyObjects } from '../../src/protocol/fernet';
import { beaconFrames } from '../lib/frames';
import { corpusKey, keyHex } from '../lib/inputs';
import { fmtRate, type BenchContext } from '../lib/context';
import { pinned } from '../lib/proc';
import { repoRoot, vectorsDir } from '../lib/paths';
import { PYTHON, pythonScript, pythonUnavailable } from '../lib/python';
import { skippedRow, summarize, type CaseResult, type EngineLabel } from '../lib/result';

const UNIT = 'beacons/s';

/** A classic pcap (µs, little endian, Ethernet) of `count` fresh beacons stamped now. */
export function writeCapture(path: string, count: number): void {
  const nowMs = Date.now();
  const pool = beaconFrames(keyObjects(corpusKey()), { mac: '52:54:00:00:00:01', ip: '10.0.0.1' }, count, nowMs, {
    name: 'eth0',
    mac_address: '52:54:00:00:00:01',
    type: 'physical',
    parents: [],
    subnet: '10.0.0.0/24',
  });
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts: Buffer[] = [head];
  const sec = Math.floor(nowMs / 1000);
  for (let i = 0; i < pool.count; i++) {
    const frame = pool.data.subarray(pool.offsets[i], pool.offsets[i + 1]);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(sec, 0);
    rec.writeUInt32LE(i % 1_000_000, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, Buffer.from(frame));
  }
  writeFileSync(path, Buffer.concat(parts));
}

/** Wall-clock and CPU seconds of one whole process, and what it printed (its line count and tail, or all of it with `keepStdout`). */
export function timed(
  argv: readonly string[],
  stdinFile?: string,
  keepStdout = false,
): Promise<{ seconds: number; cpuSeconds: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    // bash runs the command and then prints its children's user and system time on stderr.
    const child = spawn('bash', ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'bash', ...argv], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdoutTail = '';
    let whole = '';
    let lines = 0;
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      for (let i = d.indexOf('\n'); i >= 0; i = d.indexOf('\n', i + 1)) lines++;
      stdoutTail = (stdoutTail + d).slice(-4000);
      if (keepStdout) whole += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
      const cpuSeconds = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      resolve({ seconds, cpuSeconds, stdout: keepStdout ? whole : `${lines}\n${stdoutTail}`, stderr: m ? stderr.slice(0, m.index) : stderr, code });
    });
    if (stdinFile) {
      createReadStream(stdinFile).pipe(child.stdin);
    } else child.stdin.end();
  });
}

export async function runObserve(ctx: BenchContext): Promise<CaseResult[]> {
  const count = ctx.opts.quick ? 5_000 : 100_000;
  const capture = join(ctx.tmp, 'observe.pcap');
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const secret = join(vectorsDir(), 'secret');
  const python = pythonUnavailable();
  const engines: EngineLabel[] = python ? ['native', 'js'] : ['native', 'js', 'maas-python'];
  const samples = new Map<EngineLabel, number[]>(engines.map((e) => [e, []]));
  const failed = new Map<EngineLabel, string>();
  for (let run = 0; run < ctx.opts.runs; run++) {
    writeCapture(capture, count);
    // Rotate the order so that machine noise lands on every engine alike.
    const order = engines.map((_, i) => engines[(i + run) % engines.length]!);
    for (const engine of order) {
      if (failed.has(engine)) continue;
      const argv =
        engine === 'maas-python'
          ? pinned([PYTHON, pythonScript('maas_observe.py'), '--key', keyHex(corpusKey()), '--interval', '3600000'], ctx.opts.cpu)
          : pinned([process.execPath, main, 'observe', '--input-file', capture, '--secret-file', secret, '--engine', engine, '--stats'], ctx.opts.cpu);
      const r = await timed(argv, engine === 'maas-python' ? capture : undefined);
      const seen = engine === 'maas-python' ? beaconsFromPython(r.stdout) : beaconsFromStats(r.stderr);
      if (r.code !== 0 || seen !== count) {
        failed.set(engine, `failed: exit ${r.code}, ${seen ?? '?'} of ${count} beacons seen: ${r.stderr.trim().split('\n').pop() ?? ''}`);
        continue;
      }
      if (!(r.cpuSeconds > 0)) {
        failed.set(engine, `failed: no CPU time from bash's times (${r.stderr.trim().split('\n').pop() ?? ''})`);
        continue;
      }
      samples.get(engine)!.push(count / r.cpuSeconds);
      ctx.log(
        `observe ${engine} run ${run + 1}/${ctx.opts.runs}: ${fmtRate(count / r.cpuSeconds)} ${UNIT} (${r.cpuSeconds.toFixed(2)} CPU s, ${r.seconds.toFixed(2)} s wall, for ${count})`,
      );
    }
  }
  const rows: CaseResult[] = engines.map((engine) =>
    failed.has(engine)
      ? skippedRow('observe', engine, UNIT, failed.get(engine)!)
      : {
          name: 'observe',
          engine,
          unit: UNIT,
          ...summarize(samples.get(engine)!),
          note: `${count.toLocaleString('en-US')}-beacon capture, whole process, per CPU-second`,
        },
  );
  if (python) rows.push(skippedRow('observe', 'maas-python', UNIT, `skipped: ${python}`));
  const base = rows.find((r) => r.engine === 'maas-python' && r.median);
  for (const r of rows) {
    if (base && r !== base && r.median) {
      r.ratio = r.median / base.median!;
      r.baseline = 'maas-python';
    }
  }
  return rows;
}

function beaconsFromStats(stderr: string): number | undefined {
  const m = /valid=(\d+)/.exec(stderr);
  return m ? Number(m[1]) : undefined;
}

/** maas_observe.py prints a JSON stats line last, with the beacons it decoded. */
function beaconsFromPython(stdout: string): number | undefined {
  const last = stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .pop();
  if (!last) return undefined;
  const v = (JSON.parse(last) as { beacons?: unknown }).beacons;
  return typeof v === 'number' ? v : undefined;
}
