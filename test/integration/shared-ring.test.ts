/**
 * The native capture's one ring for every interface (native/capture.cc),
 * in network namespaces (root only): three veths into one namespace, two
 * of them captured. Each beacon must come out named for the interface it
 * arrived on and be counted there; the third interface's beacons must not
 * reach user space at all (the BPF filter's SKF_AD_IFINDEX test), nor
 * anything else of the namespace (loopback); an interface removed stops
 * being captured while the other goes on; one added later is captured.
 */
import t from 'tap';
import { loadBinding } from '../../src/engine/binding';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { corpusKey } from '../helpers/corpus';
import { beaconFrame4 } from '../helpers/frames';
import { Receiver, runSender } from '../helpers/live-harness';

const why = netnsUnavailable() ?? (loadBinding().ok ? undefined : 'the native addon is not built');
if (why) {
  t.comment(`skipping the shared ring test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.setTimeout(600_000);
  t.test('one ring, three interfaces, two captured: every beacon named for its own', async (t) => {
    const lab = new Lab('ring');
    t.teardown(() => lab.destroy());
    lab.addHost('a');
    lab.addHost('b');
    for (const i of [0, 1, 2])
      lab.link({ host: 'a', name: `a${i}`, addresses: [`10.75.${i}.1/24`] }, { host: 'b', name: `b${i}`, addresses: [`10.75.${i}.2/24`] });
    const key = corpusKey();
    const keyHex = Buffer.concat([key.signing, key.encryption]).toString('hex');
    const keys = keyObjects(key);
    const rx = Receiver.start(lab.ns('b'), 'native', keyHex, ['b0', 'b1']);
    t.teardown(() => rx.kill());
    await rx.ready();
    const macOf = (i: number) => lab.exec('a', ['cat', `/sys/class/net/a${i}/address`]).trim();
    /** `count` beacons sent on a<i>, each naming its interface; returns their ULIDs. */
    const send = async (counts: Record<number, number>): Promise<Map<string, number>> => {
      const actions: unknown[] = [];
      const ulids = new Map<string, number>();
      for (const [i, n] of Object.entries(counts)) {
        for (let k = 0; k < n; k++) {
          const b = encodeBeacon(keys, 'advertisement', { remote: { name: `from-a${i}` } }, { nowMs: Date.now() });
          ulids.set(b.ulid, Number(i));
          actions.push({ kind: 'raw', ifname: `a${i}`, hex: beaconFrame4({ mac: macOf(Number(i)), ip: `10.75.${i}.1` }, b.bytes).toString('hex') });
        }
      }
      await runSender(lab.ns('a'), actions);
      return ulids;
    };
    const first = await send({ 0: 3, 1: 5, 2: 7 });
    await rx.waitFor('8 beacons', () => rx.records.filter((r) => r.ok && r.ulid && first.has(r.ulid)).length >= 8);
    // A little longer: anything from a2 would have come by now.
    await new Promise((r) => setTimeout(r, 500));
    const got = rx.records.filter((r) => r.ok && r.ulid && first.has(r.ulid));
    t.equal(got.length, 8, 'the beacons of the two captured interfaces, and no more');
    t.ok(
      got.every((r) => r.interface === `b${first.get(r.ulid!)}`),
      'each named for the interface it arrived on',
    );
    t.notOk(
      got.some((r) => first.get(r.ulid!) === 2),
      "b2's beacons never reach user space",
    );
    rx.command('stats');
    await rx.waitFor('stats', () => rx.events.some((e) => e.event === 'stats'));
    const stats = rx.events.filter((e) => e.event === 'stats').pop()!.stats as Record<string, { packets: number; beacons: number; drops: number }>;
    t.same(Object.keys(stats).sort(), ['b0', 'b1']);
    t.match(stats, { b0: { packets: 3, beacons: 3, drops: 0 }, b1: { packets: 5, beacons: 5, drops: 0 } }, 'counted per interface');
    const ring = rx.lastRing()!;
    t.equal(ring.packets, 8, "the shared ring's kernel count: the same 8 frames, nothing else of the namespace");
    t.equal(ring.unclaimed, 0);
    t.equal(ring.blockSize * ring.blockCount, 16 * 1024 * 1024, 'one 16 MiB ring for both');

    rx.command('remove b0');
    await rx.waitFor('removed', () => rx.events.some((e) => e.event === 'removed'));
    const second = await send({ 0: 4, 1: 2 });
    await rx.waitFor('2 more on b1', () => rx.records.filter((r) => r.ok && r.ulid && second.has(r.ulid)).length >= 2);
    await new Promise((r) => setTimeout(r, 500));
    const after = rx.records.filter((r) => r.ok && r.ulid && second.has(r.ulid));
    t.same(
      after.map((r) => r.interface),
      ['b1', 'b1'],
      'b0 removed: only b1 goes on',
    );
    rx.command('add b2');
    await rx.waitFor('b2 added', () => rx.events.some((e) => e.event === 'added'));
    const third = await send({ 0: 1, 2: 3 });
    await rx.waitFor('3 on b2', () => rx.records.filter((r) => r.ok && r.ulid && third.has(r.ulid)).length >= 3);
    await new Promise((r) => setTimeout(r, 500));
    t.same(
      rx.records.filter((r) => r.ok && r.ulid && third.has(r.ulid)).map((r) => r.interface),
      ['b2', 'b2', 'b2'],
      'b2 added later: captured, b0 still not',
    );
    const stats2 = await rx.close();
    t.same(Object.keys(stats2).sort(), ['b1', 'b2']);
    t.equal(stats2.b1!.beacons, 7);
    t.equal(stats2.b2!.beacons, 3);
    t.equal(rx.lastRing()!.packets, 13, 'the filter let in only what the captured interfaces got');
    t.equal(await rx.exited, 0);
  });
}
