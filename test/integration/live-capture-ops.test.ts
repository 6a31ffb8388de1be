/**
 * Live capture operations, in network namespaces (root only): an interface
 * deleted under each engine's running capture, a consumer too slow for the
 * flood (frames are shed or dropped and counted, nothing may buffer in between),
 * and the live `netbeacon observe IFACE` command.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { loadBinding } from '../../src/engine/binding';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { cliCommand } from '../helpers/cli';
import { corpusKey, vector } from '../helpers/corpus';
import { beaconFrame4 } from '../helpers/frames';
import { liveEngines, Receiver, runSender } from '../helpers/live-harness';
import { canUseNetns, createPair, inNs, macOf } from '../helpers/netns';

const why = canUseNetns();
const native = loadBinding();
if (why) {
  console.log(`# live capture tests skipped: ${why}`);
  t.skip(`live capture tests need root and network namespaces: ${why}`, () => {});
}
const key = corpusKey();
const keyHex = Buffer.concat([key.signing, key.encryption]).toString('hex');

if (!why) {
  // Child processes start slowly on a busy 2-core machine (TypeScript is
  // compiled at start-up): far more than tap's default per-file budget.
  t.setTimeout(600_000);
  t.test('every engine: the interface disappears under the capture', async (t) => {
    const engines = liveEngines(t);
    const pair = createPair('gone');
    t.teardown(pair.destroy);
    const receivers = engines.map((engine) => Receiver.start(pair.nsB, engine, keyHex, [pair.ifB]));
    t.teardown(() => receivers.forEach((rx) => rx.kill()));
    await Promise.all(receivers.map((rx) => rx.ready()));
    inNs(pair.nsB, ['ip', 'link', 'del', pair.ifB]);
    await Promise.all(receivers.map((rx, i) => rx.waitFor(`${engines[i]}: interface-gone`, () => rx.events.some((e) => e.event === 'gone'))));
    for (const [i, rx] of receivers.entries()) {
      const engine = engines[i];
      const gone = rx.events.find((e) => e.event === 'gone')!;
      t.equal(gone.interface, pair.ifB, `${engine}: names the interface`);
      t.equal(gone.code, 'ENODEV', `${engine}: ENODEV`);
      rx.command('stats');
      await rx.waitFor('stats after gone', () => rx.events.some((e) => e.event === 'stats'));
      t.same(rx.events.find((e) => e.event === 'stats')!.stats, {}, `${engine}: the gone interface is no longer captured`);
      await rx.close();
      t.equal(await rx.exited, 0, `${engine}: no crash`);
    }
  });
}

if (!why) {
  t.test('CLI: `netbeacon observe IFACE` prints the observe lines live, plus interface', async (t) => {
    const pair = createPair('cli');
    t.teardown(pair.destroy);
    const engines = native.ok ? ['native', 'js'] : ['js'];
    for (const engine of engines) {
      const child = spawn(
        'ip',
        ['netns', 'exec', pair.nsB, ...cliCommand(), 'observe', pair.ifB, '--engine', engine, '--secret-file', vector('secret'), '--stats'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      t.teardown(() => void (child.exitCode === null && child.kill('SIGKILL')));
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      const until = async (what: string, pred: () => boolean): Promise<void> => {
        for (let i = 0; i < 2400 && !pred(); i++) await new Promise((r) => setTimeout(r, 50));
        if (!pred()) throw new Error(`timed out waiting for ${what}: stdout ${out} stderr ${err}`);
      };
      await until('capturing', () => /capturing on/.test(err));
      const macA = macOf(pair.nsA, pair.ifA);
      const keys = keyObjects(corpusKey());
      const plain = encodeBeacon(keys, 'advertisement', { remote: { name: 'x' } }, { nowMs: Date.now() });
      const tagged = encodeBeacon(keys, 'solicitation', { remote: { name: 'y' } }, { nowMs: Date.now() });
      const actions: unknown[] = [{ kind: 'udp4', to: '224.0.0.118', via: pair.ip4A, hex: plain.bytes.toString('hex') }];
      if (native.ok)
        actions.push({
          kind: 'raw',
          ifname: pair.ifA,
          hex: beaconFrame4({ mac: macA, ip: pair.ip4A }, tagged.bytes, [{ tpid: 0x8100, tci: 42 }]).toString('hex'),
        });
      await runSender(pair.nsA, actions);
      await until('lines', () => out.trim().split('\n').filter(Boolean).length >= actions.length);
      child.kill('SIGTERM');
      t.equal(await exited, 0, `${engine}: exits 0 on SIGTERM`);
      const lines = out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const first = lines.find((l) => (l.payload as { ulid?: string } | null)?.ulid === plain.ulid);
      t.match(
        first,
        {
          source_mac: macA,
          destination_mac: '01:00:5e:00:00:76',
          source_ip: pair.ip4A,
          destination_ip: '224.0.0.118',
          source_port: 5240,
          destination_port: 5240,
          version: 2,
          type: 'advertisement',
          interface: pair.ifB,
        },
        `${engine}: the multicast beacon`,
      );
      t.equal(first?.time, Math.floor(first?.time as number), 'integer time, as MAAS prints it');
      if (native.ok)
        t.match(
          lines.find((l) => (l.payload as { ulid?: string } | null)?.ulid === tagged.ulid),
          { vid: 42, type: 'solicitation', interface: pair.ifB },
          `${engine}: the tagged beacon`,
        );
      t.match(err, /packets=\d+ not_beacon=0 valid=\d+ rejected=0/, `${engine}: --stats`);
    }
  });
}

if (!why && native.ok) {
  t.test('native: a slow consumer: the worker sheds, the kernel drops, every frame counted, nothing buffered in between', async (t) => {
    const pair = createPair('slow');
    t.teardown(pair.destroy);
    const key = corpusKey();
    const keyHex = Buffer.concat([key.signing, key.encryption]).toString('hex');
    // A tiny ring (4 x 64 KiB, ~600 beacons) and one batch slot; JS spends 300 ms per batch.
    const ring = JSON.stringify({ blockSize: 65536, blockCount: 4, poolSize: 1, retireMs: 5 });
    const rx = Receiver.start(pair.nsB, 'native', keyHex, [pair.ifB], { NB_RING: ring, NB_SLOW_MS: '300' });
    t.teardown(() => rx.kill());
    await rx.ready();
    const macA = macOf(pair.nsA, pair.ifA);
    const beacon = encodeBeacon(keyObjects(key), 'solicitation', { remote: { name: 'flood' } }, { nowMs: Date.now() });
    const sent = 20_000;
    await runSender(pair.nsA, [
      { kind: 'flood', ifname: pair.ifA, count: sent, hex: beaconFrame4({ mac: macA, ip: pair.ip4A }, beacon.bytes).toString('hex') },
    ]);
    // The ring's blocks drain one slow batch at a time.
    await new Promise((r) => setTimeout(r, 3000));
    const stats = (await rx.close())[pair.ifB]!;
    const shared = rx.lastRing();
    const batches = rx.events.filter((e) => e.event === 'batch') as unknown as { count: number; rss: number }[];
    const delivered = batches.reduce((a, b) => a + b.count, 0);
    t.ok(shared, 'the shared ring reports its counters');
    t.ok(stats.drops > 0, `the worker shed ${stats.drops} frames while JS held the slot, counted for ${pair.ifB}`);
    t.equal(
      shared!.packets + shared!.drops,
      sent,
      `the kernel accounts for every frame: ${shared!.packets} into the ring + ${shared!.drops} dropped = ${sent}`,
    );
    // JS is still at its 300 ms a slice when the capture closes: what it
    // had not yet taken is in the ring's blocks, neither parsed nor shed.
    const inRing = shared!.packets - stats.packets - stats.drops;
    t.ok(
      inRing >= 0 && inRing <= (4 * 65536) / beaconFrame4({ mac: macA, ip: pair.ip4A }, beacon.bytes).length,
      `every frame that entered the ring is counted for its interface: ${stats.packets} parsed + ${stats.drops} shed + ${inRing} still in the ring's 4 blocks = ${shared!.packets}`,
    );
    t.equal(shared!.unclaimed, 0, 'no frame without its interface');
    t.ok(delivered <= stats.packets, `${delivered} delivered to JS before close, no more than were parsed`);
    t.ok(batches.length > 0 && batches.every((b) => b.count <= 700), 'one batch per 64 KiB block');
    const rss = batches.map((b) => b.rss);
    t.ok(Math.max(...rss) - Math.min(...rss) < 64 * 1024 * 1024, `memory stays flat: rss ${Math.min(...rss) >> 20}..${Math.max(...rss) >> 20} MiB`);
    t.equal(await rx.exited, 0);
  });
}

if (!why && native.ok) {
  t.test('native: an interface that goes down and up again keeps its capture', async (t) => {
    const pair = createPair('down');
    t.teardown(pair.destroy);
    const rx = Receiver.start(pair.nsB, 'native', keyHex, [pair.ifB]);
    t.teardown(() => rx.kill());
    await rx.ready();
    inNs(pair.nsB, ['ip', 'link', 'set', pair.ifB, 'down']);
    await new Promise((r) => setTimeout(r, 600)); // past the worker's 250 ms re-check of down interfaces
    inNs(pair.nsB, ['ip', 'link', 'set', pair.ifB, 'up']);
    const beacon = encodeBeacon(keyObjects(key), 'solicitation', { remote: { name: 'back' } }, { nowMs: Date.now() });
    await runSender(pair.nsA, [
      { kind: 'raw', ifname: pair.ifA, hex: beaconFrame4({ mac: macOf(pair.nsA, pair.ifA), ip: pair.ip4A }, beacon.bytes).toString('hex') },
    ]);
    await rx.waitFor('the beacon after up', () => rx.records.some((r) => r.ok && r.ulid === beacon.ulid));
    t.notOk(
      rx.events.some((e) => e.event === 'gone'),
      'not reported gone',
    );
    const stats = await rx.close();
    t.equal(stats[pair.ifB]?.beacons, 1);
    t.equal(await rx.exited, 0);
  });
}
