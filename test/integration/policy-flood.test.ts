/**
 * Reply limits under a flood (issue 8), in network namespaces:
 *
 *   host F: f0 (10.60.0.2/24)  --veth--  host A: a0 (10.60.0.1/24), the agent
 *
 * F sends 10,000 valid solicitations a second for 10 s (a few thousand
 * distinct ULIDs, round-robin, so most repeats are replays) by unicast to
 * the agent. With a per-peer cap of burst 5 + 1/s, the agent's unicast
 * replies must stay within the cap (counted where they land, at F, and in
 * the agent's status); `status` over the control socket must answer
 * within 100 ms throughout; and the agent's RSS must level off (5 s vs
 * 10 s into the flood, modest growth allowed).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../../src/agent/control';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { vector } from '../helpers/corpus';
import { spawnLabAgent } from '../helpers/lab-agent';
import { scaledMs, scaleNote } from '../helpers/timing';
import { jsonLines, nodeInNs } from '../helpers/netns';
import { enginesToTest } from '../helpers/engines';

const FLOODER = resolve(__dirname, '..', 'helpers', 'policy-flooder.ts');
const RATE = 10_000;
const SECONDS = 10;
const PER_PEER = { rate: 1, burst: 5 };

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the policy flood test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  // The last engine is the one a flooded host should run: native (verification off the main thread) when it loads.
  const engine = enginesToTest().at(-1)!;
  t.test(`replies stay within the caps, status answers and memory levels off under a flood (${engine} engine)`, (t) => flood(t, engine));
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : Number.NaN;
}

interface Status {
  policy: { replies: { sent: number; held: Record<string, number> }; alarms: { raised: Record<string, number>; suppressed: Record<string, number> } };
  interfaces: Array<{ name: string; received: Record<string, number>; ring: { drops: number } | null }>;
}

async function flood(t: Test, engine: string): Promise<void> {
  const lab = new Lab('pfl');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-pfl-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  lab.addHost('a');
  lab.addHost('f');
  lab.link({ host: 'a', name: 'a0', addresses: ['10.60.0.1/24'] }, { host: 'f', name: 'f0', addresses: ['10.60.0.2/24'] });

  const config = join(dir, 'a.yaml');
  // Total cap well above the per-peer one: the single flooding peer must hit its own cap.
  writeFileSync(
    config,
    `policy:\n  replies:\n    per_peer: { rate: ${PER_PEER.rate}, burst: ${PER_PEER.burst} }\n    total: { rate: 50, burst: 100 }\n  alarms:\n    interval: 60\n`,
  );
  const sock = join(dir, 'a.sock');
  const started = spawnLabAgent(lab, 'a', ['--config', config, '--engine', engine, '--socket', sock, '-i', 'a0', '--log-level', 'info'], { keep: 20_000 });
  const agent = started.child;
  t.teardown(() => agent.kill('SIGKILL'));
  const up = Date.now() + 15_000;
  while (
    Date.now() < up &&
    !(await request(sock, 'status').then(
      () => true,
      () => false,
    ))
  )
    await new Promise((res) => setTimeout(res, 100));
  // The pid in the namespace is the `ip netns exec` child's: node replaces it (exec), so it is the agent's.
  const pid = agent.pid!;

  const flooder = nodeInNs(lab.ns('f'), FLOODER, [
    JSON.stringify({ to: '10.60.0.1', secretFile: vector('secret'), rate: RATE, seconds: SECONDS, distinct: 3000 }),
  ]);
  // Host F stands in for another machine: on a real rack its CPU is not the
  // agent's. Here both share two cores, so F runs at a lower priority; the
  // kernel's receive work for the flood still lands on the agent's side.
  if (flooder.pid !== undefined) setPriority(flooder.pid, 10);
  t.teardown(() => flooder.kill('SIGKILL'));
  let ferr = '';
  flooder.stderr!.setEncoding('utf8').on('data', (d: string) => (ferr += d));
  const lines: Array<{ t?: number; sent: number; replies: number; done?: boolean }> = [];
  jsonLines(flooder, (v) => lines.push(v as (typeof lines)[number]));
  const done = new Promise<void>((res) => flooder.on('exit', () => res()));

  // Wait for the flood to begin (pre-encoding takes a moment), then probe
  // from its first moment: the agent is slowest while nothing is compiled.
  const begin = Date.now() + scaledMs(30_000);
  while (lines.length === 0 && Date.now() < begin) await new Promise((res) => setTimeout(res, 10));
  t.ok(lines.length > 0, `the flood started: ${ferr}`);
  const floodStart = Date.now();
  const latencies: number[] = [];
  const rss: Record<string, number> = {};
  let exited = false;
  void done.then(() => (exited = true));
  while (!exited) {
    const t0 = process.hrtime.bigint();
    await request(sock, 'status');
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    const at = (Date.now() - floodStart) / 1000;
    if (rss.five === undefined && at >= 5) rss.five = rssKiB(pid);
    if (at >= SECONDS - 0.5 && !exited) rss.ten = rssKiB(pid);
    await new Promise((res) => setTimeout(res, 250));
  }
  const last = lines[lines.length - 1]!;
  t.ok(last.done, `the flooder finished: ${ferr}`);
  t.comment(
    `flood: sent ${last.sent}, replies received ${last.replies}; status latencies (ms): ${latencies.map((l) => l.toFixed(1)).join(' ')}; RSS 5 s ${rss.five} KiB, 10 s ${rss.ten} KiB`,
  );
  t.ok(last.sent >= RATE * SECONDS * 0.9, `about ${RATE}/s for ${SECONDS} s were sent (${last.sent})`);

  // One peer: at most its burst plus its rate over the flood (and a second of slack).
  const cap = PER_PEER.burst + PER_PEER.rate * (SECONDS + 2);
  t.ok(last.replies <= cap, `replies received (${last.replies}) within the per-peer cap (${cap})`);
  t.ok(last.replies >= PER_PEER.burst, `the first burst was answered (${last.replies})`);
  const status = (await request(sock, 'status')) as Status;
  t.comment(`ring drops (the kernel's, when the agent falls behind): ${status.interfaces.find((i) => i.name === 'a0')?.ring?.drops}`);
  t.ok(status.policy.replies.sent <= cap, `status: replies sent ${status.policy.replies.sent} <= ${cap}`);
  t.ok((status.policy.replies.held['peer-limit'] ?? 0) > 0, `status: replies held by the peer limit (${JSON.stringify(status.policy.replies.held)})`);
  t.ok((status.policy.alarms.raised.replay ?? 0) >= 1, 'the replayed ULIDs raised a replay alarm');
  t.ok((status.policy.alarms.suppressed.replay ?? 0) > 0, 'and the repeats were rate-limited, not logged one by one');

  t.ok(latencies.length >= 10, `status was asked ${latencies.length} times during the flood`);
  const sorted = [...latencies].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  const max = sorted[sorted.length - 1]!;
  const bound = scaledMs(100);
  t.ok(median < bound, `status answered within ${bound} ms typically${scaleNote()} (median ${median.toFixed(1)} ms)`);
  // Issue 8 asks for every answer within 100 ms. The spikes once seen here
  // (200-600 ms, at the start of the flood) were the whole ring backlog
  // processed in one turn of the event loop; the capture now works a
  // backlog off in slices (src/capture/batch-queue.ts).
  t.ok(max < bound, `status answered within ${bound} ms every time${scaleNote()} (max ${max.toFixed(1)} ms)`);
  t.ok(rss.five! > 0 && rss.ten! > 0, 'RSS measured at 5 s and 10 s');
  t.ok(rss.ten! <= rss.five! * 1.25 + 8 * 1024, `RSS levels off: ${rss.five} KiB at 5 s, ${rss.ten} KiB at 10 s`);
  if (!t.passing()) t.comment(`agent log:\n${started.log().slice(-4000)}`);
}
