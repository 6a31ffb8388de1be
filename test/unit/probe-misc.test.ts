/** The payload keys beyond MAAS, read defensively; interface selection for the probe commands; the mtu table. */
import t from 'tap';
import { ipLength, readAcks, readMaasUrl, readMtuProbe, readMtuProbeAck, readRole, readVlanProbe } from '../../src/protocol/extensions';
import { resolveInterfaces } from '../../src/probe/session';
import { renderMtu } from '../../src/probe/render';
import type { HostInterface } from '../../src/topology/interfaces';
import { UsageError } from '../../src/errors';

t.test('extension keys: well-formed values are read, anything else reads as absent', async (t) => {
  t.same(readMtuProbe({ mtu_probe: { size: 1500, reply_size: 9000 } }), { size: 1500, reply_size: 9000 });
  t.same(readMtuProbe({ mtu_probe: {} }), {});
  t.same(readMtuProbe({ mtu_probe: { size: -1, reply_size: 100 } }), {}, 'out of range: not asked');
  t.same(readMtuProbe({ mtu_probe: { reply_size: 9217 } }), {});
  t.equal(readMtuProbe({ mtu_probe: [1] }), undefined);
  t.equal(readMtuProbe(null), undefined);
  t.same(readMtuProbeAck({ mtu_probe_ack: { size: 1500, received: 1500, interface_mtu: 9000, reply_size: 1400 } }), {
    size: 1500,
    received: 1500,
    interface_mtu: 9000,
    reply_size: 1400,
  });
  t.same(readMtuProbeAck({ mtu_probe_ack: { size: 'x', received: 1, interface_mtu: 2 } }), { size: null, received: 1, interface_mtu: 2 });
  t.equal(readMtuProbeAck({ mtu_probe_ack: { received: 1 } }), undefined);
  t.same(readVlanProbe({ vlan_probe: { vid: 30, outer_vid: 7 } }), { vid: 30, outer_vid: 7 });
  t.same(readVlanProbe({ vlan_probe: { vid: 30, outer_vid: 9999 } }), { vid: 30 });
  t.equal(readVlanProbe({ vlan_probe: { vid: 5000 } }), undefined);
  t.equal(readRole({ role: 'rack' }), 'rack');
  t.equal(readRole({ role: '' }), undefined);
  t.equal(readRole({ role: 'x'.repeat(65) }), undefined);
  t.equal(readMaasUrl({ maas_url: 'http://x/MAAS' }), 'http://x/MAAS');
  t.equal(readMaasUrl({ maas_url: 7 }), undefined);
  t.equal(readAcks({ acks: 'U' }), 'U');
  t.equal(readAcks({ acks: '' }), undefined);
  t.equal(ipLength(1472, '10.0.0.1'), 1500);
  t.equal(ipLength(1452, 'fe80::1'), 1500);
});

const host = (name: string, over: Partial<HostInterface> = {}): HostInterface => ({
  name,
  ifindex: 1,
  mac: '52:54:00:00:00:01',
  mtu: 1500,
  type: 'physical',
  parents: [],
  up: true,
  loopback: false,
  addresses: [],
  ...over,
});
const read = async () => [host('lo', { loopback: true, mac: null }), host('eth0'), host('eth1'), host('eth2', { up: false }), host('tun0', { mac: null })];

t.test('probe commands choose interfaces by name or glob; a name that matches nothing is an error naming it', async (t) => {
  t.same(
    (await resolveInterfaces([], read)).map((i) => i.name),
    ['eth0', 'eth1'],
  );
  t.same(
    (await resolveInterfaces(['eth1'], read)).map((i) => i.name),
    ['eth1'],
  );
  t.same(
    (await resolveInterfaces(['eth*'], read)).map((i) => i.name),
    ['eth0', 'eth1'],
  );
  await t.rejects(resolveInterfaces(['eth2'], read), {
    message: /no interface matches "eth2" \(looked among interfaces that are up, not loopback, with a MAC: eth0, eth1\)/,
  });
  await t.rejects(
    resolveInterfaces([], async () => [host('lo', { loopback: true })]),
    UsageError,
  );
});

t.test('the mtu table', async (t) => {
  const dir = (path_mtu: number | null, note?: string) => ({ path_mtu, probes: 3, incomplete: false, ...(note ? { note } : {}) });
  const text = renderMtu({
    interfaces: [
      {
        interface: 'r0',
        interface_mtu: 9000,
        peers: [
          {
            mac: '52:54:00:0b:00:01',
            ip: '10.0.0.2',
            name: 'p0',
            interface_mtu: 9000,
            peer_interface_mtu: 1500,
            forward: dir(1500),
            reverse: dir(1500),
            path_mtu: 1500,
            mismatch: true,
          },
          {
            mac: '52:54:00:0c:00:01',
            ip: '10.0.0.3',
            interface_mtu: 9000,
            peer_interface_mtu: null,
            forward: dir(9000),
            reverse: dir(null, 'not a netbeacon agent'),
            path_mtu: 9000,
            mismatch: false,
          },
        ],
      },
      { interface: 'r1', interface_mtu: 1500, note: 'no peer answered', peers: [] },
    ],
  });
  t.match(text, /^r0: interface MTU 9000\n/);
  t.match(text, /52:54:00:0b:00:01 +10\.0\.0\.2 +p0 +1500 +1500 +1500 +1500 +MISMATCH/);
  t.match(text, /52:54:00:0c:00:01 +10\.0\.0\.3 +- +\? +9000 +- \(not a netbeacon agent\) +9000 +ok/);
  t.match(text, /r1: interface MTU 1500 \(no peer answered\)\n$/);
});
