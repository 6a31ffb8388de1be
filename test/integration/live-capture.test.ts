/**
 * Live capture end to end, in network namespaces (root only): a sender
 * namespace and a receiver namespace joined by a veth. The receiver runs
 * each live engine; the sender sends real beacons (IPv4 and IPv6
 * multicast, unicast, raw 802.1Q and QinQ frames through the addon's
 * sendFrame, which the receiving veth strips the outer tag from) and forged
 * ones (another secret, a stale token). Every authentic beacon must be seen
 * exactly once, on the right interface with the right VID, and nothing
 * forged accepted. Then the veth is deleted under a running capture.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBinding } from '../../src/engine/binding';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { deriveKey } from '../../src/protocol/key';
import { tcpdumpAvailable } from '../../src/capture/live-open';
import { corpusKey } from '../helpers/corpus';
import { beaconFrame4, beaconFrame6, type Tag } from '../helpers/frames';
import { liveEngines, Receiver, runSender } from '../helpers/live-harness';
import { canUseNetns, createPair, linkLocal, macOf } from '../helpers/netns';

const why = canUseNetns();
const native = loadBinding();

if (why) {
  console.log(`# live capture tests skipped: ${why}`);
  t.skip(`live capture tests need root and network namespaces: ${why}`, () => {});
} else {
  // Child processes start slowly on a busy 2-core machine (TypeScript is
  // compiled at start-up): far more than tap's default per-file budget.
  t.setTimeout(600_000);
  const key = corpusKey();
  const keyHex = Buffer.concat([key.signing, key.encryption]).toString('hex');
  const good = keyObjects(key);
  const forger = keyObjects(deriveKey(randomBytes(32)));

  const engines = liveEngines(t);

  // All engines capture the same interface at once, from one sender run:
  // one namespace pair and one round of process start-ups instead of three.
  t.test('every engine: beacons from a neighbour namespace', async (t) => {
    const pair = createPair('live');
    t.teardown(pair.destroy);
    const receivers = engines.map((engine) => Receiver.start(pair.nsB, engine, keyHex, [pair.ifB]));
    t.teardown(() => receivers.forEach((rx) => rx.kill()));
    await Promise.all(receivers.map((rx) => rx.ready()));

    const macA = macOf(pair.nsA, pair.ifA);
    const ll6A = await linkLocal(pair.nsA, pair.ifA);
    await linkLocal(pair.nsB, pair.ifB);
    const now = Date.now();
    const remote = { name: pair.ifA, mac_address: macA, type: 'physical', parents: [] as string[], subnet: null };
    const mk = (keys = good, nowMs = now) => encodeBeacon(keys, 'solicitation', { remote }, { nowMs });
    const v4m = mk();
    const v6m = mk();
    const uni = mk();
    const tagged = mk();
    const qinq = mk();
    const tagged6 = mk();
    const forged = mk(forger);
    const stale = mk(good, now - 200_000);
    const dot1q = (vid: number, pcp = 0): Tag => ({ tpid: 0x8100, tci: (pcp << 13) | vid });
    const src4 = { mac: macA, ip: pair.ip4A };
    const raw = (frame: Buffer) => ({ kind: 'raw', ifname: pair.ifA, hex: frame.toString('hex') });

    // What each engine should see, by ULID: [vid, outerVid].
    const expectedFor = (engine: string): Map<string, [number | undefined, number | undefined]> => {
      const expected = new Map<string, [number | undefined, number | undefined]>([
        [v4m.ulid, [undefined, undefined]],
        [v6m.ulid, [undefined, undefined]],
        [uni.ulid, [undefined, undefined]],
      ]);
      // Plain sockets never see a tagged frame without a VLAN device.
      if (engine !== 'udp') {
        expected.set(tagged.ulid, [42, undefined]);
        expected.set(tagged6.ulid, [7, undefined]);
      }
      // MAAS's tcpdump filter looks through one tag: QinQ is native only.
      if (engine === 'native') expected.set(qinq.ulid, [42, 100]);
      return expected;
    };

    await runSender(pair.nsA, [
      { kind: 'udp4', to: '224.0.0.118', via: pair.ip4A, hex: v4m.bytes.toString('hex') },
      { kind: 'udp6', to: 'ff02::15a', via: pair.ifA, hex: v6m.bytes.toString('hex') },
      { kind: 'udp4', to: pair.ip4B, hex: uni.bytes.toString('hex') },
      raw(beaconFrame4(src4, tagged.bytes, [dot1q(42, 5)])),
      raw(beaconFrame4(src4, qinq.bytes, [{ tpid: 0x88a8, tci: 100 }, dot1q(42)])),
      raw(beaconFrame6({ mac: macA, ip: ll6A }, tagged6.bytes, [dot1q(7)])),
      { kind: 'udp4', to: '224.0.0.118', via: pair.ip4A, hex: forged.bytes.toString('hex') },
      { kind: 'udp4', to: pair.ip4B, hex: stale.bytes.toString('hex') },
      { kind: 'udp4', to: pair.ip4B, port: 5241, hex: uni.bytes.toString('hex') },
    ]);
    await Promise.all(
      engines.map((engine, i) => {
        const rx = receivers[i]!;
        const want = expectedFor(engine).size;
        return rx.waitFor(`${engine}: ${want} beacons and 2 rejections`, () => {
          const r = rx.records;
          return r.filter((x) => x.ok).length >= want && r.filter((x) => !x.ok).length >= 2;
        });
      }),
    );
    // Anything late (a duplicate) would arrive within a ring retire period.
    await new Promise((r) => setTimeout(r, 300));
    const allStats = await Promise.all(receivers.map((rx) => rx.close()));

    engines.forEach((engine, i) => {
      const rx = receivers[i]!;
      const expected = expectedFor(engine);
      const records = rx.records;
      for (const [ulid, [vid, outerVid]] of expected) {
        const seen = records.filter((r) => r.ok && r.ulid === ulid);
        t.equal(seen.length, 1, `${engine}: ${ulid} seen exactly once`);
        if (seen[0]) {
          t.equal(seen[0].interface, pair.ifB, `${engine}: on the receiving interface`);
          t.equal(seen[0].vid, vid, `${engine}: vid ${vid}`);
          t.equal(seen[0].outerVid, outerVid, `${engine}: outer vid ${outerVid}`);
          t.equal(seen[0].type, 'solicitation');
        }
      }
      t.equal(records.filter((r) => r.ok).length, expected.size, `${engine}: no other beacon accepted`);
      t.notOk(
        records.some((r) => r.ok && (r.ulid === forged.ulid || r.ulid === stale.ulid)),
        `${engine}: nothing forged accepted`,
      );
      const reasons = records
        .filter((r) => !r.ok)
        .map((r) => r.reason)
        .sort();
      t.same(reasons, ['expired', 'mac'], `${engine}: forgeries rejected by reason`);
      const v4 = records.find((r) => r.ulid === v4m.ulid);
      t.equal(v4?.sourceIp, pair.ip4A);
      if (engine !== 'udp') {
        t.equal(v4?.sourceMac, macA, `${engine}: source MAC`);
        t.equal(v4?.destinationIp, '224.0.0.118', `${engine}: destination`);
      }
      t.equal(records.find((r) => r.ulid === v6m.ulid)?.sourceIp, ll6A, `${engine}: IPv6 link-local source`);
      const s = allStats[i]![pair.ifB];
      t.ok(s, `${engine}: stats for the interface`);
      if (s) {
        t.equal(s.beacons, expected.size, `${engine}: stats: beacons`);
        t.equal(s.rejected, 2, `${engine}: stats: rejected`);
        t.equal(s.drops, 0, `${engine}: stats: no ring drops`);
        t.ok(s.packets >= expected.size + 2, `${engine}: stats: ${s.packets} packets`);
      }
    });
    for (const rx of receivers) t.equal(await rx.exited, 0, 'receiver exits cleanly');
  });

  t.test(
    'tcpdump writes a tag the kernel stripped back into the frame',
    { skip: tcpdumpAvailable() && native.ok ? false : 'needs tcpdump and the addon (sendFrame)' },
    async (t) => {
      const pair = createPair('retag');
      t.teardown(pair.destroy);
      const dir = mkdtempSync(join(tmpdir(), 'nbt-retag-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      const file = join(dir, 'cap.pcap');
      // -U -w FILE: each packet is flushed as it is captured; -Z root keeps the file writable here.
      const td = spawn(
        'ip',
        [
          'netns',
          'exec',
          pair.nsB,
          'tcpdump',
          '-i',
          pair.ifB,
          '-U',
          '-w',
          file,
          '-Z',
          'root',
          '-p',
          '--immediate-mode',
          '-c',
          '1',
          'udp dst port 5240 or (vlan and udp dst port 5240)',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      const closed = new Promise((r) => td.on('close', r));
      let err = '';
      td.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      await new Promise<void>((r, reject) => {
        const tick = setInterval(() => /listening on/.test(err) && (clearInterval(tick), r()), 20);
        void closed.then(() => (clearInterval(tick), reject(new Error(`tcpdump exited: ${err}`))));
      });
      const frame = beaconFrame4({ mac: macOf(pair.nsA, pair.ifA), ip: pair.ip4A }, Buffer.from('020100000000', 'hex'), [
        { tpid: 0x8100, tci: (3 << 13) | 42 },
      ]);
      await runSender(pair.nsA, [{ kind: 'raw', ifname: pair.ifA, hex: frame.toString('hex') }]);
      await closed;
      const pcap = readFileSync(file);
      const data = pcap.subarray(24 + 16);
      t.equal(data.length, frame.length, 'same length as sent: the tag is back');
      t.equal(data.readUInt16BE(12), 0x8100, 'in-band 802.1Q TPID');
      t.equal(data.readUInt16BE(14), (3 << 13) | 42, 'TCI with the priority bits');
    },
  );
}
