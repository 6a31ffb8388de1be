/**
 * The sender's rounds: every beacon of a multicast round sealed in one
 * BeaconSealer call, in the order they are sent, and each send's result
 * kept (a send that fails does not take the others' records with it). The
 * sends themselves go to loopback only; multicast on real interfaces is
 * test/integration/agent-ops.test.ts's, in namespaces.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { BeaconSender, sendFailure } from '../../src/agent/sender';
import { createSealer } from '../../src/engine/sealer';
import { createVerifier } from '../../src/engine/verifier';
import type { BeaconSealer } from '../../src/engine/types';
import { decodeBeacon } from '../../src/engine/decode';
import type { SealItem } from '../../src/protocol/beacon';
import { keyObjects, type FernetKeyObjects } from '../../src/protocol/fernet';
import { sodiumReady } from '../../src/protocol/sodium';
import { withV3 } from '../../src/protocol/v3';
import type { HostInterface, InterfaceAddress } from '../../src/topology/interfaces';
import { corpusKey } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const key = corpusKey();
const T0 = 1_795_000_000;

function iface(name: string, addresses: InterfaceAddress[]): HostInterface {
  return { name, ifindex: 1, mac: '52:54:00:0a:00:01', mtu: 1500, type: 'physical', parents: [], up: true, loopback: false, addresses };
}
const v4 = (address: string): InterfaceAddress => ({ family: 4, address, prefixlen: 24, scope: 'global' });
const v6 = (address: string, scope = 'link'): InterfaceAddress => ({ family: 6, address, prefixlen: 64, scope });

/** A sealer that records its calls and hands them to a real one. */
class Spy implements BeaconSealer {
  readonly calls: SealItem[][] = [];
  constructor(private readonly inner: BeaconSealer) {}
  get engine() {
    return this.inner.engine;
  }
  sealV2(keys: FernetKeyObjects, items: readonly SealItem[]): Buffer[] {
    this.calls.push([...items]);
    return this.inner.sealV2(keys, items);
  }
}

const ROUND = [
  iface('eth0', [v4('10.0.0.5'), v4('10.0.1.5'), v6('fe80::1'), v6('2001:db8::5', 'global')]),
  iface('eth1', [v4('10.0.2.5')]),
  iface('eth2', [v6('fe80::2')]),
  iface('eth3', []),
];

for (const engine of enginesToTest())
  t.test(`${engine} sealer`, async (t) => {
    await sodiumReady();

    t.test('one seal call a round, in send order; every failed send reported', async (t) => {
      const spy = new Spy(createSealer(engine));
      const sender = new BeaconSender(keyObjects(key), { sealer: spy, clock: () => T0 * 1000 + 250 });
      t.equal(sender.sealEngine, engine);
      // Sockets not opened: every send fails, and each failure is its own record.
      const r = await sender.multicastAll(ROUND, 'solicitation');
      t.equal(spy.calls.length, 1, 'one batch');
      t.equal(spy.calls[0]!.length, 5, 'eth0: 2 IPv4 + IPv6; eth1: IPv4; eth2: IPv6; eth3: none');
      t.ok(
        spy.calls[0]!.every((i) => i.timeSeconds === T0 + 0.25 && i.type === 1),
        'one clock reading for the round',
      );
      t.same(
        r.failed.map((f) => [f.interface, f.destination]),
        [
          ['eth0', '224.0.0.118'],
          ['eth0', '224.0.0.118'],
          ['eth0', 'ff02::15a%eth0'],
          ['eth1', '224.0.0.118'],
          ['eth2', 'ff02::15a%eth2'],
        ],
      );
      t.ok(
        r.failed.every((f) => f.error === 'no socket for this address family'),
        'why',
      );
      t.same(r.sent, []);
      t.equal(sender.failed, 5);
      t.equal(sender.sent, 0);
    });

    t.test('v3 beacons are sealed one at a time; the batch holds the v2 ones', async (t) => {
      const spy = new Spy(createSealer(engine));
      const sender = new BeaconSender(keyObjects(withV3(key)), { sealer: spy, formats: ['v2', 'v3'] });
      const r = await sender.multicastAll(ROUND.slice(0, 2), 'advertisement');
      t.equal(spy.calls.length, 1);
      t.equal(spy.calls[0]!.length, 4, 'v2: 3 + 1');
      t.equal(r.failed.length, 8, 'v2 and v3: 4 + 4 sends');
    });

    t.test('a unicast reply is a batch of one, and reaches its peer', async (t) => {
      const spy = new Spy(createSealer(engine));
      const sender = new BeaconSender(keyObjects(key), { sealer: spy, port: 0, clock: () => T0 * 1000, extraPayload: { role: 'rack' } });
      await sender.open();
      t.teardown(() => sender.close());
      const peer = dgram.createSocket('udp4');
      await new Promise<void>((res) => peer.bind(0, '127.0.0.1', res));
      t.teardown(() => peer.close());
      const got = new Promise<Buffer>((res) => peer.once('message', res));
      const r = await sender.unicast(ROUND[1]!, 'advertisement', { hello: 1 }, '127.0.0.1', peer.address().port);
      t.equal(spy.calls.length, 1);
      t.equal(spy.calls[0]!.length, 1);
      t.same(r.failed, []);
      t.equal(r.sent.length, 1);
      const rec = r.sent[0]!;
      t.match(rec, { interface: 'eth1', time: T0, destination_ip: '127.0.0.1', version: 2, type: 'advertisement' });
      t.same(rec.payload, { role: 'rack', hello: 1, ulid: rec.ulid, type: 2 });
      const datagram = await got;
      for (const e of enginesToTest())
        t.same(
          decodeBeacon(createVerifier(e, key), datagram, T0),
          { ok: true, version: 2, type: 'advertisement', payload: rec.payload },
          `${e} verifier opens it`,
        );
      t.equal(sender.sent, 1);
    });
  });

t.test('a failed send keeps the system error code, for the agent to tell a tentative IPv6 address from a fault', async (t) => {
  const err = Object.assign(new Error('send EADDRNOTAVAIL ff02::15a%eth0:5240'), { code: 'EADDRNOTAVAIL' });
  t.same(sendFailure('eth0', 'ff02::15a%eth0', err), {
    interface: 'eth0',
    destination: 'ff02::15a%eth0',
    error: 'send EADDRNOTAVAIL ff02::15a%eth0:5240',
    code: 'EADDRNOTAVAIL',
  });
  t.same(sendFailure('eth1', '224.0.0.118', 'refused'), { interface: 'eth1', destination: '224.0.0.118', error: 'refused' }, 'no code, none invented');
  t.notOk('code' in sendFailure('eth1', '224.0.0.118', new Error('no socket for this address family')));
});
