/**
 * `netbeacon vlans` from R's trunk port to two agents:
 *
 *   switch namespace: plain bridge br0 (no VLAN filtering)
 *   R: r0 (10.76.0.1/24)                 sends one tagged probe per VID
 *   P: p0 (10.76.0.2/24), agent          answers every VID
 *   Q: q0 (10.76.0.3/24), agent --ignore-vids 30,40   leaves a gap
 *
 * How this stands in for real VLANs, which this kernel cannot make (no
 * 802.1Q devices, no VLAN-filtering bridges): R's probes are raw frames
 * carrying an 802.1Q tag (and an 802.1ad outer tag for QinQ), sent through
 * a veth into a plain bridge, which forwards them tagged to every port as a
 * trunk carrying all VLANs would. The receiving veth strips the outer tag
 * into tp_vlan_tci, exactly as a NIC with VLAN offload does, so the agents
 * see each probe with its `vid` on an interface that has no VLAN device:
 * the case where they must answer raw and tagged. A switch port that does
 * not carry a VLAN is played by --ignore-vids on Q: the probe reaches Q but
 * Q stays silent, which is what R would see if the switch dropped it.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from '../../src/agent/control';
import type { TopologyHint } from '../../src/topology/hints';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { loadBinding } from '../../src/engine/binding';
import type { VlanComparison, VlanReport } from '../../src/probe/vlan-report';
import { vector } from '../helpers/corpus';
import { agentUp, macOf, runInNs, startAgent } from '../helpers/probe-lab';

const why = netnsUnavailable() ?? (loadBinding().ok ? undefined : 'the native addon is not built (VLAN probes are raw tagged frames)');
if (why) {
  t.comment(`skipping the vlans test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('vlans: a full report from a peer that answers every VID, the gap from one that ignores some', vlans);
}

async function vlans(t: Test): Promise<void> {
  t.setTimeout(240_000);
  const lab = new Lab('vlan');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-vlans-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p', 'q']) lab.addHost(h);
  lab.addBridge('sw', 'br0');
  lab.link({ host: 'r', name: 'r0', addresses: ['10.76.0.1/24'] }, { host: 'sw', name: 'sr0', master: 'br0' });
  lab.link({ host: 'p', name: 'p0', addresses: ['10.76.0.2/24'] }, { host: 'sw', name: 'sp0', master: 'br0' });
  lab.link({ host: 'q', name: 'q0', addresses: ['10.76.0.3/24'] }, { host: 'sw', name: 'sq0', master: 'br0' });
  const pMac = macOf(lab, 'p', 'p0');
  const qMac = macOf(lab, 'q', 'q0');
  const p = startAgent(lab, 'p', dir, ['--secret-file', vector('secret'), '-i', 'p0']);
  const q = startAgent(lab, 'q', dir, ['--secret-file', vector('secret'), '-i', 'q0', '--ignore-vids', '30,40']);
  await agentUp(p, ['p0']);
  await agentUp(q, ['q0']);
  const run = (args: string[]) => runInNs(lab, 'r', ['vlans', '-i', 'r0', '--timeout', '1.5', '--secret-file', vector('secret'), ...args]);

  const r = await run(['--vids', '10,20,30,40', '--json']);
  t.equal(r.status, 0, `some peer answered: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as VlanReport;
  t.same(report.vids_probed, [10, 20, 30, 40]);
  t.same(
    report.peers.map((x) => [x.mac, x.vids]),
    [
      [pMac, [10, 20, 30, 40]],
      [qMac, [10, 20]],
    ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1)),
    'P answers every VID, Q leaves 30 and 40 out',
  );
  t.notOk(
    report.peers.some((x) => x.reply_tag_differs),
    "every answer came back tagged with the probe's VID",
  );
  t.same(report.silent, [], 'every VID reached someone');
  t.same(report.answered.find((a) => a.vid === 30)?.peers, [pMac]);

  // The agent correlates what arrived tagged: P's hints carry the VIDs,
  // on its side (stripped from the frame by the kernel) and on R's (remote.vid).
  const rMac = macOf(lab, 'r', 'r0');
  const hints = (await request(p.socket, 'hints')) as TopologyHint[];
  for (const vid of [10, 20, 30, 40]) {
    t.ok(
      hints.some(
        (h) =>
          h.hint === 'on_remote_network' && h.ifname === 'p0' && h.vid === vid && h.related_ifname === 'r0' && h.related_vid === vid && h.related_mac === rMac,
      ),
      `P reports on_remote_network p0.${vid} → r0.${vid} (${rMac})`,
    );
  }
  t.notOk(
    hints.some((h) => h.vid !== undefined && ![10, 20, 30, 40].includes(h.vid)),
    'no hint on a VID that was not probed',
  );

  // A wider scan is paced: 300 VIDs at the default 200 frames/s take at least 1.4 s, and all are answered.
  const started = Date.now();
  const wide = await run(['--vids', '100-399', '--json']);
  const took = Date.now() - started;
  t.equal(wide.status, 0);
  const wr = JSON.parse(wide.stdout) as VlanReport;
  t.equal(wr.peers.find((x) => x.mac === pMac)?.vids.length, 300, 'P answered all 300 VIDs');
  t.ok(took >= 1400 + 1500, `paced: ${took} ms for 300 frames and the 1.5 s wait`);

  // QinQ: the probe inside an 802.1ad tag; answers come back double-tagged.
  const qinq = await run(['--vids', '7', '--outer-vid', '100', '--json']);
  t.equal(qinq.status, 0);
  const qr = JSON.parse(qinq.stdout) as VlanReport;
  t.equal(qr.outer_vid, 100);
  t.same(
    qr.peers.map((x) => x.vids),
    [[7], [7]],
  );
  t.notOk(qr.peers.some((x) => x.reply_tag_differs));

  // The operator's expectations: Q should carry 30 too, P exactly what it has.
  const expect = join(dir, 'vlans.yaml');
  writeFileSync(expect, `interface: r0\npeers:\n  "${pMac}": "10-40"\n  "${qMac}": [10, 20, 30]\n`);
  const diff = await run(['--vids', '10,20,30,40', '--expect', expect, '--json']);
  t.equal(diff.status, 1, 'differences from the expect file: exit 1');
  const cmp = (JSON.parse(diff.stdout) as { expect: VlanComparison }).expect;
  t.notOk(cmp.ok);
  const byPeer = new Map(cmp.peers.map((x) => [x.peer, x]));
  t.same(byPeer.get(qMac)?.missing, [30], 'Q is silent on 30, which it should carry');
  t.same(byPeer.get(qMac)?.unexpected, []);
  t.same(byPeer.get(pMac)?.missing, [], 'P is fine on what was probed');
  t.equal(byPeer.get(pMac)?.not_probed.length, 27, '11-19, 21-29, 31-39 were not probed this run');

  writeFileSync(expect, `peers:\n  "${pMac}": [10, 20]\n  "${qMac}": [10, 20]\n`);
  const same = await run(['--vids', '10,20', '--expect', expect]);
  t.equal(same.status, 0, 'matches: exit 0');
  t.match(same.stdout, /matches the expect file/);
  t.match(same.stdout, new RegExp(`${qMac} +q0 +10,20 +-`));

  writeFileSync(expect, `interface: eth7\npeers: {}\n`);
  const wrongIf = await run(['--vids', '10', '--expect', expect]);
  t.equal(wrongIf.status, 2);
  t.match(wrongIf.stderr, /vlans\.yaml: interface: the file is for eth7, but --interface is r0/);
  const badVids = await run(['--vids', '10,5000']);
  t.equal(badVids.status, 2);
  t.match(badVids.stderr, /--vids: "5000" is outside 1-4094/);
  if (t.passing() === false) t.comment(`P's log:\n${p.log().slice(-3000)}\nQ's log:\n${q.log().slice(-3000)}\nvlans stderr:\n${r.stderr}`);
}
