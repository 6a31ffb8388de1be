/**
 * Cases fleet-ingest, fleet-topology, fleet-memory: a real `netbeacon fleet
 * serve` process (the built CLI, pinned to one core) on loopback, over
 * SQLite and over PostgreSQL (a throw-away cluster, root only), fed 1,000
 * hosts x 48 interfaces of generated reports (bench/lib/fleet-gen.ts) that
 * this process makes, signs and POSTs over HTTP with 16 connections.
 *
 * - fleet-ingest: reports acknowledged per CPU-second of the server (what
 *   one core takes), per round of one report from every host (the first
 *   round, which creates the hosts, is a warm-up). The wall-clock rate is
 *   beside it: on a 2-core machine the database and this client share the
 *   cores with the server, so it says more about the machine.
 * - fleet-topology: ms to answer GET /api/v1/topology for that fleet once
 *   the model is computed (as the server's loop keeps it). Beside it, what an
 *   operator sees under a stream of reports, where nearly every read finds
 *   a new fingerprint and computes: the first answer right after a round
 *   (every host reported again, nothing changed, as agents do every 30 s),
 *   and the first answer after one rack's report changed (a cable pulled:
 *   its hints changed: only the fabrics it affects are computed again), each with the
 *   server's CPU time for it. The goal judges all three.
 * - fleet-memory: the server's peak RSS (VmHWM) at the end.
 */
import { Agent, request } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { deriveFleetKey, signReport, SIGNATURE_HEADER } from '../../src/fleet/model/auth';
import { postgresUnavailable, startPostgres, type PgCluster } from '../../src/lab/postgres';
import { fleetReport, FLEET_ACCESS_PORTS, FLEET_INTERFACES } from '../lib/fleet-gen';
import { fmtRate, type BenchContext } from '../lib/context';
import { cpuSeconds, onCleanup, pinned, spawnTracked, killGroup } from '../lib/proc';
import { repoRoot } from '../lib/paths';
import { median, skippedRow, summarize, type CaseResult } from '../lib/result';

const SECRET = '5ecc1e7a11ab0000111122223333444455556666777788889999aaaabbbbcccc';
const CONCURRENCY = 16;

interface Post {
  readonly body: Buffer;
  readonly signature: string;
}

function post(agent: Agent, port: number, p: Post): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/reports',
        agent,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip', 'content-length': p.body.length, [SIGNATURE_HEADER]: p.signature },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(p.body);
  });
}

/** A GET on a connection of its own (the reports' pool may sit idle past the server's keep-alive while a model computes). */
/** A GET, timed to its last byte (ms) and to its headers (headersMs: the server's part, before the body streams). */
function get(_agent: Agent, port: number, path: string): Promise<{ status: number; bytes: number; ms: number; headersMs: number }> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      const headersMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let bytes = 0;
      res.on('data', (d: Buffer) => (bytes += d.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes, ms: Number(process.hrtime.bigint() - t0) / 1e6, headersMs }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** How long the server's last model took to compute (its own gauge, ms): DB reads and the model, not the answer. */
function lastBuildMs(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        const m = /^netbeacon_fleet_model_build_seconds(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text);
        resolve(m ? Number(m[1]) * 1000 : NaN);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function freePort(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

async function waitHealthy(agent: Agent, port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await get(agent, port, '/healthz').catch(() => undefined);
    if (ok?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('fleet serve did not become healthy in 60 s');
}

async function runOne(ctx: BenchContext, kind: 'sqlite' | 'postgres', hosts: number, rounds: number): Promise<CaseResult[]> {
  let cluster: PgCluster | undefined;
  let db = `sqlite:${join(ctx.tmp, `fleet-${Date.now()}.db`)}`;
  if (kind === 'postgres') {
    cluster = startPostgres('bench');
    const c = cluster;
    onCleanup(() => c.destroy());
    db = c.url;
  }
  const secretFile = join(ctx.tmp, 'fleet-secret');
  writeFileSync(secretFile, SECRET, { mode: 0o600 });
  const key = deriveFleetKey(Buffer.from(SECRET, 'hex'));
  const port = freePort();
  const main = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  const argv = pinned(
    [process.execPath, main, 'fleet', 'serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--secret-file', secretFile, '--log-level', 'warn'],
    ctx.opts.cpu,
  );
  const server = spawnTracked(argv);
  let stderr = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
  server.stdout!.resume();
  // A fresh connection pool per phase: the server closes connections idle
  // for 10 s, and making a round's reports can take longer than that.
  let agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    await waitHealthy(agent, port);
    const pid = server.pid!;
    const rates: number[] = [];
    const walls: number[] = [];
    const builds: number[] = [];
    const warm: number[] = [];
    const cold: number[] = [];
    const changedMs: number[] = [];
    const changedBuilds: number[] = [];
    const changedBuildMs: number[] = [];
    /** Host -> its access port whose cable is pulled: a round repeats it, so only the change step changes anything. */
    const pulled = new Map<number, number>();
    const signed = (h: number, seq: number, now: number): Post => {
      const body = gzipSync(JSON.stringify(fleetReport(h, hosts, seq, now, pulled.get(h))));
      return { body, signature: signReport(key, body) };
    };
    /** The first GET of the topology and the server's CPU-s until it is answered. */
    const timedTopology = async (): Promise<{ ms: number; cpu: number; headersMs: number }> => {
      const cpu1 = cpuSeconds(pid) ?? 0;
      const r = await get(agent, port, '/api/v1/topology');
      if (r.status !== 200) throw new Error(`GET /api/v1/topology answered ${r.status}`);
      return { ms: r.ms, cpu: (cpuSeconds(pid) ?? 0) - cpu1, headersMs: r.headersMs };
    };
    let bytes = 0;
    for (let round = 0; round <= rounds; round++) {
      const now = Date.now();
      const posts: Post[] = Array.from({ length: hosts }, (_, h) => signed(h, now + 2 * round, now));
      agent.destroy();
      agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
      const cpu0 = cpuSeconds(pid) ?? 0;
      const t0 = process.hrtime.bigint();
      let next = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < posts.length) {
            const status = await post(agent, port, posts[next++]!);
            if (status !== 200) failed++;
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const cpu = (cpuSeconds(pid) ?? 0) - cpu0;
      if (failed > 0) throw new Error(`${failed} of ${hosts} reports were not acknowledged (${stderr.trim().split('\n').pop() ?? ''})`);
      const first = await timedTopology();
      const build = first.cpu;
      // Let the server's loop catch up (rebuild and write the history), then ask again.
      await new Promise((r) => setTimeout(r, 1500));
      let again = await get(agent, port, '/api/v1/topology');
      for (let i = 0; i < 3; i++) {
        const t = await get(agent, port, '/api/v1/topology');
        if (t.ms < again.ms) again = t;
      }
      bytes = again.bytes;
      // One rack's cable is pulled (or the next one): its report changes the joins.
      const moved = (round * 97) % hosts;
      pulled.set(moved, ((pulled.get(moved) ?? -1) + 1) % FLEET_ACCESS_PORTS);
      const status = await post(agent, port, signed(moved, now + 2 * round + 1, now));
      if (status !== 200) throw new Error(`the changed report of host ${moved} was answered ${status}`);
      const changed = await timedTopology();
      // Of that answer, the model (the server's own measure; the rest is serializing the changed parts and sending).
      const changedBuild = await lastBuildMs(port);
      await new Promise((r) => setTimeout(r, 1500));
      const label = round === 0 ? 'warm-up' : `round ${round}/${rounds}`;
      ctx.log(
        `fleet ${kind} ${label}: ${hosts} reports in ${seconds.toFixed(2)} s (${fmtRate(hosts / seconds)}/s; server ${cpu.toFixed(2)} CPU-s, ${fmtRate(hosts / cpu)} per CPU-s); topology ${first.ms.toFixed(0)} ms right after (headers at ${first.headersMs.toFixed(0)} ms; model ${build.toFixed(2)} CPU-s), ${again.ms.toFixed(0)} ms caught up (${(again.bytes / 1e6).toFixed(1)} MB), ${changed.ms.toFixed(0)} ms after one rack changed (headers at ${changed.headersMs.toFixed(0)} ms; ${changed.cpu.toFixed(2)} CPU-s; model computed in ${changedBuild.toFixed(0)} ms)`,
      );
      if (round === 0) continue;
      changedMs.push(changed.ms);
      changedBuildMs.push(changedBuild);
      changedBuilds.push(changed.cpu);
      rates.push(hosts / cpu);
      walls.push(hosts / seconds);
      builds.push(build);
      cold.push(first.ms);
      warm.push(again.ms);
    }
    const hwm = peakRssMiB(pid);
    const fleet = `${hosts} hosts x ${FLEET_INTERFACES} interfaces`;
    return [
      {
        name: 'fleet-ingest',
        engine: kind,
        unit: 'reports/s',
        ...summarize(rates),
        wall: median(walls),
        note: `per CPU-second of the server (one core); wall clock ${fmtRate(median(walls))}/s with the database and the client on the same 2 cores; ${fleet}, ${CONCURRENCY} connections`,
      },
      {
        name: 'fleet-topology',
        engine: kind,
        unit: 'ms',
        ...summarize(warm),
        coldMs: median(cold),
        buildCpuSeconds: median(builds),
        changedMs: median(changedMs),
        changedCpuSeconds: median(changedBuilds),
        changedBuildMs: median(changedBuildMs),
        note: `GET /api/v1/topology once the model is computed, ${(bytes / 1e6).toFixed(1)} MB; first answer right after a round of unchanged reports: ${median(cold).toFixed(0)} ms, ${median(builds).toFixed(2)} CPU-s; right after one rack's hints changed (only what it affects computed again): ${median(changedMs).toFixed(0)} ms, ${median(changedBuilds).toFixed(2)} CPU-s, of which the model ${median(changedBuildMs).toFixed(0)} ms`,
      },
      { name: 'fleet-memory', engine: kind, unit: 'MiB', median: hwm, min: hwm, max: hwm, runs: 1, note: `server peak RSS after ${rounds + 1} rounds` },
    ];
  } finally {
    agent.destroy();
    killGroup(server, 'SIGTERM');
    await new Promise((r) => (server.exitCode !== null ? r(undefined) : server.once('exit', r)));
    cluster?.destroy();
  }
}

export async function runFleet(ctx: BenchContext): Promise<CaseResult[]> {
  const hosts = ctx.opts.quick ? 20 : 1000;
  const rows: CaseResult[] = [];
  for (const kind of ['sqlite', 'postgres'] as const) {
    // A throw-away cluster takes seconds to make: the smoke test of the harness does without it.
    const why = kind === 'postgres' ? (ctx.opts.quick ? '--quick measures SQLite only (PostgreSQL in a full run)' : postgresUnavailable()) : undefined;
    if (why) {
      for (const [name, unit] of [
        ['fleet-ingest', 'reports/s'],
        ['fleet-topology', 'ms'],
        ['fleet-memory', 'MiB'],
      ] as const)
        rows.push(skippedRow(name, kind, unit, `skipped: ${why}`));
      continue;
    }
    try {
      rows.push(...(await runOne(ctx, kind, hosts, ctx.opts.runs)));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      ctx.log(`fleet ${kind} FAILED: ${msg}`);
      for (const [name, unit] of [
        ['fleet-ingest', 'reports/s'],
        ['fleet-topology', 'ms'],
        ['fleet-memory', 'MiB'],
      ] as const)
        rows.push(skippedRow(name, kind, unit, `failed: ${msg}`));
    }
  }
  return rows;
}
