/**
 * `netbeacon mtu` over two lab links from R to an agent on P:
 *
 *   brA (narrow): r0 (MTU 9000) ── sr0 (9000) ─ brA ─ sp0 (1500) ── p0 (MTU 9000)
 *   brB (clean):  r1 (MTU 9000) ── sr1 (9000) ─ brB ─ sp1 (9000) ── p1 (MTU 9000)
 *
 * A bridge forwards a frame only if it fits the egress port's MTU, and a
 * veth delivers only what fits the receiving end's, so on brA nothing over
 * 1500 bytes crosses in either direction although both hosts are at 9000:
 * the forward search (padded DF probes from R) and the reverse one (padded
 * replies P sends on request) must both stop at 1500 (±28 for headers) and
 * flag the mismatch. (The reverse may read up to 1504: a veth admits 4
 * bytes over its MTU, room for a VLAN tag, while a bridge running
 * br_netfilter holds forwarded IPv4 to the MTU exactly.) On brB both
 * directions carry 9000 and nothing is flagged. Needs the native addon:
 * probes and padded replies are raw frames.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { loadBinding } from '../../src/engine/binding';
import type { MtuReport } from '../../src/probe/mtu-report';
import { vector } from '../helpers/corpus';
import { agentUp, macOf, runInNs, startAgent } from '../helpers/probe-lab';

const why = netnsUnavailable() ?? (loadBinding().ok ? undefined : 'the native addon is not built (MTU probes are raw frames)');
if (why) {
  t.comment(`skipping the mtu test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('mtu finds a 1500-byte path behind 9000-byte interfaces, and a clean 9000-byte one', mtu);
}

async function mtu(t: Test): Promise<void> {
  t.setTimeout(240_000);
  const lab = new Lab('mtu');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-mtu-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p']) lab.addHost(h);
  lab.addBridge('sw', 'brA');
  lab.addBridge('sw', 'brB');
  lab.link({ host: 'r', name: 'r0', mtu: 9000, addresses: ['10.74.0.1/24'] }, { host: 'sw', name: 'sr0', mtu: 9000, master: 'brA' });
  lab.link({ host: 'p', name: 'p0', mtu: 9000, addresses: ['10.74.0.2/24'] }, { host: 'sw', name: 'sp0', mtu: 1500, master: 'brA' });
  lab.link({ host: 'r', name: 'r1', mtu: 9000, addresses: ['10.75.0.1/24'] }, { host: 'sw', name: 'sr1', mtu: 9000, master: 'brB' });
  lab.link({ host: 'p', name: 'p1', mtu: 9000, addresses: ['10.75.0.2/24'] }, { host: 'sw', name: 'sp1', mtu: 9000, master: 'brB' });
  const p0 = macOf(lab, 'p', 'p0');
  const p1 = macOf(lab, 'p', 'p1');
  const p = startAgent(lab, 'p', dir, ['--secret-file', vector('secret'), '-i', 'p0', '-i', 'p1']);
  await agentUp(p, ['p0', 'p1']);

  const r = await runInNs(lab, 'r', ['mtu', '-i', 'r0', '-i', 'r1', '--json', '--secret-file', vector('secret')], { timeoutMs: 150_000 });
  t.equal(r.status, 1, `exit 1: a mismatch was found (${r.stderr.trim()})`);
  const report = JSON.parse(r.stdout) as MtuReport;
  const byIf = new Map(report.interfaces.map((i) => [i.interface, i]));

  const narrow = byIf.get('r0')!;
  t.equal(narrow.interface_mtu, 9000);
  t.equal(narrow.peers.length, 1, 'one peer on brA');
  const a = narrow.peers[0]!;
  t.match(a, { mac: p0, ip: '10.74.0.2', name: 'p0', interface_mtu: 9000, peer_interface_mtu: 9000, mismatch: true });
  const near1500 = (n: number | null) => n !== null && Math.abs(n - 1500) <= 28;
  t.ok(near1500(a.forward.path_mtu), `forward path MTU ${a.forward.path_mtu} is 1500 ±28`);
  t.ok(near1500(a.reverse.path_mtu), `reverse path MTU ${a.reverse.path_mtu} is 1500 ±28 (padded replies from P)`);
  t.ok(near1500(a.path_mtu));
  t.equal(a.forward.path_mtu, 1500, 'exactly 1500, in fact: probes are sized to the byte');
  t.ok(a.forward.probes <= 40 && !a.forward.incomplete, `bounded: ${a.forward.probes} probes`);

  const clean = byIf.get('r1')!;
  t.equal(clean.peers.length, 1, 'one peer on brB');
  t.match(clean.peers[0], {
    mac: p1,
    interface_mtu: 9000,
    peer_interface_mtu: 9000,
    path_mtu: 9000,
    mismatch: false,
    forward: { path_mtu: 9000, probes: 1 },
    reverse: { path_mtu: 9000, probes: 1 },
  });

  const one = await runInNs(lab, 'r', ['mtu', '-i', 'r1', '--peer', p1, '--secret-file', vector('secret')]);
  t.equal(one.status, 0, 'the clean path alone: exit 0');
  t.match(one.stdout, new RegExp(`^r1: interface MTU 9000\\n.*\\n +${p1} +10\\.75\\.0\\.2 +p1 +9000 +9000 +9000 +9000 +ok`));
  const none = await runInNs(lab, 'r', ['mtu', '-i', 'r1', '--peer', '52:54:00:99:99:99', '--secret-file', vector('secret')]);
  t.equal(none.status, 1);
  t.match(none.stderr, /peer 52:54:00:99:99:99 did not answer on r1/);
  if (t.passing() === false) t.comment(`P's log:\n${p.log().slice(-4000)}\nmtu stderr:\n${r.stderr}\n${r.stdout}`);
}
