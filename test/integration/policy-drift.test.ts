/**
 * Drift from a running agent (issue 8), in network namespaces. The lab is
 * agent-fabrics.test.ts's:
 *
 *   switch namespace: bridges brX and brY
 *   host R: r0 (10.50.0.1/24) and r1 (no address) on X, r2 (10.51.0.1/24) on Y
 *   host P: p0 (10.50.0.2/24) on X, p1 (10.51.0.2/24) on Y
 *
 * R's declaration puts r2 on fabric X with r0 and r1, which the wiring
 * contradicts. R runs with `policy.expected` set: its `status` must report
 * the drift, `watch` must stream it as a 'drift' event, and
 * `netbeacon check --expected F --socket S` must exit 1 with the finding
 * (resting on absence: nothing joins r2 to X). A second declaration that
 * the beacons contradict outright (r1 apart from r0) must come back with
 * the hints that prove it.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../../src/agent/control';
import { netnsUnavailable } from '../../src/lab/netns';
import { twoFabricLab } from '../helpers/fabric-lab';
import { cliCommand, runCli } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import { spawnLabAgent, type LabAgent } from '../helpers/lab-agent';
import { scaledMs } from '../helpers/timing';
import { enginesToTest } from '../helpers/engines';

const EXPECTED = `# r2 is declared with r0 and r1; the lab wires it to another bridge.
fabrics:
  X:
    interfaces: [r0, r1, r2]
`;

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the policy drift test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest()) t.test(`drift from a running agent (${engine} engine)`, (t) => drift(t, engine));
}

interface DriftJson {
  ok: boolean;
  drift: Array<{ kind: string; evidence: string; message: string; hints: Array<{ hint: string; ifname: string }>; paths: unknown[][]; parts?: string[][] }>;
}

async function drift(t: Test, engine: string): Promise<void> {
  const { lab, dir } = twoFabricLab(t, 'pdr');

  const expected = join(dir, 'expected.yaml');
  writeFileSync(expected, EXPECTED);
  const config = join(dir, 'r.yaml');
  writeFileSync(config, `policy:\n  expected: ${expected}\n`);
  const check = await runCli(['agent', '--config', config, '--check-config', '--secret-file', vector('secret')]);
  t.equal(check.status, 0, `--check-config accepts the policy section: ${check.stderr}`);
  t.match(check.stdout, /expected topology: .*expected\.yaml \(1 fabrics\)/);

  const agents: Partial<Record<'r' | 'p', LabAgent>> = {};
  const start = (host: 'r' | 'p', ifaces: string[], extra: string[] = []) => {
    const args = [...extra, '--engine', engine, '--socket', join(dir, `${host}.sock`), '--log-level', 'debug'];
    for (const i of ifaces) args.push('-i', i);
    const agent = spawnLabAgent(lab, host, args);
    agents[host] = agent;
    return agent.child;
  };
  const r = start('r', ['r0', 'r1', 'r2'], ['--config', config]);
  t.teardown(() => r.kill('SIGTERM'));
  const sock = join(dir, 'r.sock');

  // Watch before P starts: r2 is in no hint until P's beacons arrive, so
  // the split appears only after the watcher is subscribed.
  const events: Array<{ event: string; drift?: { kind: string } }> = [];
  const up = Date.now() + 10_000;
  while (
    Date.now() < up &&
    !(await request(sock, 'status').then(
      () => true,
      () => false,
    ))
  )
    await new Promise((res) => setTimeout(res, 50));
  const [node, main] = cliCommand();
  const watch = spawn(node!, [main!, 'watch', '--socket', sock], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => watch.kill('SIGTERM'));
  let buf = '';
  watch.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      events.push(JSON.parse(line) as { event: string });
    }
  });
  await new Promise((res) => setTimeout(res, 1000));
  const p = start('p', ['p0', 'p1']);
  t.teardown(() => p.kill('SIGTERM'));
  const joined = (): boolean => lastStatus?.policy?.drift?.events?.some((e) => e.kind === 'fabric_split') === true;
  let lastStatus: { policy?: { drift?: { ok: boolean | null; counts: Record<string, number>; events?: Array<{ kind: string }> } } } | undefined;
  const deadline = Date.now() + scaledMs(20_000);
  while (Date.now() < deadline) {
    await new Promise((res) => setTimeout(res, 500));
    // Both parts seen: r0~r1 joined, and r2 heard p1.
    lastStatus = (await request(sock, 'status').catch(() => undefined)) as typeof lastStatus;
    const hints = (await request(sock, 'hints').catch(() => [])) as Array<{ hint: string; ifname: string; related_ifname?: string }>;
    const partsSeen =
      hints.some((h) => h.hint === 'same_local_fabric_as' && h.ifname === 'r0' && h.related_ifname === 'r1') && hints.some((h) => h.ifname === 'r2');
    if (partsSeen && joined()) break;
  }
  t.ok(joined(), 'status reports fabric_split for X');
  t.equal(lastStatus?.policy?.drift?.ok, false, 'status: drift ok is false');
  t.ok((lastStatus?.policy?.drift?.counts.fabric_split ?? 0) >= 1, 'status counts the fabric_split');

  const out = await runCli(['check', '--expected', expected, '--socket', sock, '--json']);
  t.equal(out.status, 1, `check --socket exits 1 on drift: ${out.stderr}`);
  const report = JSON.parse(out.stdout) as DriftJson;
  t.equal(report.ok, false);
  const split = report.drift.find((d) => d.kind === 'fabric_split');
  t.ok(split, 'the report has the fabric_split');
  const parts = (split?.parts ?? []).map((p) => [...p].sort().join(',')).sort();
  t.same(parts, ['r0,r1', 'r2'], 'X is seen in two parts: {r0, r1} and {r2}');
  // Nothing joins r2 to X: a split rests on absence, and says so.
  t.equal(split?.evidence, 'absence', 'the split is marked as resting on absence');

  // A declaration that beacons contradict outright (r1 declared apart from
  // r0, which its beacons reach): the finding carries the hints that prove it.
  const swapped = join(dir, 'swapped.yaml');
  writeFileSync(swapped, 'fabrics:\n  X:\n    interfaces: [r0, r2]\n  Y:\n    interfaces: [r1]\n');
  const out2 = await runCli(['check', '--expected', swapped, '--socket', sock, '--json']);
  t.equal(out2.status, 1, out2.stderr);
  const proven = (JSON.parse(out2.stdout) as DriftJson).drift.filter((d) => d.evidence === 'hints');
  t.ok(proven.length > 0, `some finding rests on hints: ${out2.stdout.slice(0, 2000)}`);
  const evidenceHints = proven.flatMap((d) => d.hints.map((h) => `${h.hint}:${h.ifname}`));
  t.ok(
    evidenceHints.some((h) => /^(same_local_fabric_as|rx_own_beacon_on_other_interface):r[01]$/.test(h)),
    `the evidence names the hint joining r0 and r1: ${evidenceHints.join(' ')}`,
  );

  const text = await runCli(['check', '--expected', expected, '--socket', sock]);
  t.equal(text.status, 1);
  t.match(text.stdout, /fabric_split/);

  await new Promise((res) => setTimeout(res, 300));
  t.ok(
    events.some((e) => e.event === 'drift' && e.drift?.kind === 'fabric_split'),
    'watch streamed the drift event',
  );
  t.match(agents.r?.log(), /drift: /, 'the agent logged the drift');

  const exited = new Promise<number | null>((res) => r.on('exit', (code) => res(code)));
  r.kill('SIGTERM');
  t.equal(await exited, 0, 'R exits 0 on SIGTERM');
  if (t.passing() === false) t.comment(`R's log:\n${agents.r?.log().slice(-4000)}`);
}
