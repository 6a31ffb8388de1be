import t from 'tap';
import { cidrOf, describeInterface, globToRegExp, interfacesSignature, ipv4Addresses, parseIpAddrJson, selectInterfaces } from '../../src/topology/interfaces';
import { spawnSync } from 'node:child_process';
import { InterfaceWatcher, OffThreadReader } from '../../src/net/discover';

const IP_JSON = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP'],
    mtu: 65536,
    operstate: 'UNKNOWN',
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
  },
  {
    ifindex: 2,
    ifname: 'eth0',
    flags: ['BROADCAST', 'UP'],
    mtu: 9000,
    operstate: 'UP',
    link_type: 'ether',
    address: '52:54:00:0a:00:01',
    addr_info: [
      { family: 'inet', local: '10.0.0.5', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: '2001:db8:0:1::5', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  },
  {
    ifindex: 3,
    ifname: 'eth1',
    flags: ['BROADCAST', 'UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: '52:54:00:0a:00:02',
    master: 'bond0',
    addr_info: [],
  },
  {
    ifindex: 4,
    ifname: 'eth2',
    flags: ['BROADCAST', 'UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: '52:54:00:0a:00:03',
    master: 'bond0',
    addr_info: [],
  },
  {
    ifindex: 5,
    ifname: 'bond0',
    flags: ['UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: '52:54:00:0a:00:02',
    linkinfo: { info_kind: 'bond' },
    addr_info: [],
  },
  {
    ifindex: 6,
    ifname: 'bond0.42',
    link: 'bond0',
    flags: ['UP'],
    mtu: 1500,
    operstate: 'UP',
    link_type: 'ether',
    address: '52:54:00:0a:00:02',
    linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 42 } },
    addr_info: [{ family: 'inet', local: '10.42.0.5', prefixlen: 20, scope: 'global' }],
  },
  { ifindex: 7, ifname: 'tun0', flags: ['UP'], mtu: 1400, operstate: 'UNKNOWN', link_type: 'none', linkinfo: { info_kind: 'tun' }, addr_info: [] },
  { ifindex: 8, ifname: 'eth3', flags: ['BROADCAST'], mtu: 1500, operstate: 'DOWN', link_type: 'ether', address: '52:54:00:0a:00:04', addr_info: [] },
  { ifindex: 9, ifname: 'br0', flags: ['UP'], mtu: 1500, operstate: 'UP', link_type: 'ether', address: '52:54:00:0a:00:05', linkinfo: { info_kind: 'macsec' } },
  { ifname: 'broken' },
]);

t.test('parses ip -j -d addr show', async (t) => {
  const all = parseIpAddrJson(IP_JSON);
  t.same(
    all.map((i) => i.name),
    ['lo', 'eth0', 'eth1', 'eth2', 'bond0', 'bond0.42', 'tun0', 'eth3', 'br0'],
    'an entry without an index is skipped',
  );
  const by = Object.fromEntries(all.map((i) => [i.name, i]));
  t.equal(by.lo!.type, 'loopback');
  t.equal(by.eth0!.type, 'physical');
  t.same(by.bond0!.parents, ['eth1', 'eth2'], "a bond's parents are its members");
  t.equal(by['bond0.42']!.type, 'vlan');
  t.equal(by['bond0.42']!.vid, 42);
  t.same(by['bond0.42']!.parents, ['bond0']);
  t.equal(by.tun0!.type, 'tunnel');
  t.equal(by.tun0!.mac, null, 'no Ethernet address');
  t.equal(by.br0!.type, 'ethernet');
  t.equal(by.eth3!.up, false);
  t.throws(() => parseIpAddrJson('{}'), TypeError);
});

t.test('selection: up, not loopback, Ethernet, include and exclude globs', async (t) => {
  const all = parseIpAddrJson(IP_JSON);
  t.same(
    selectInterfaces(all, { include: [], exclude: [] }).map((i) => i.name),
    ['eth0', 'eth1', 'eth2', 'bond0', 'bond0.42', 'br0'],
  );
  t.same(
    selectInterfaces(all, { include: ['eth*'], exclude: ['eth2'] }).map((i) => i.name),
    ['eth0', 'eth1'],
  );
  t.same(
    selectInterfaces(all, { include: ['bond0.4?'], exclude: [] }).map((i) => i.name),
    ['bond0.42'],
  );
  t.ok(globToRegExp('eth[!0]').test('eth1'));
  t.notOk(globToRegExp('eth.').test('ethX'), 'a dot is a dot');
});

t.test('addresses, subnets and the remote description', async (t) => {
  const by = Object.fromEntries(parseIpAddrJson(IP_JSON).map((i) => [i.name, i]));
  t.same(
    ipv4Addresses(by.eth0!).map((a) => a.address),
    ['10.0.0.5'],
  );
  t.equal(cidrOf(ipv4Addresses(by.eth0!)[0]!), '10.0.0.0/24');
  t.equal(cidrOf(ipv4Addresses(by['bond0.42']!)[0]!), '10.42.0.0/20');
  t.equal(cidrOf({ family: 4, address: '1.2.3.4', prefixlen: 0, scope: 'global' }), '0.0.0.0/0');
  t.equal(cidrOf(by.eth0!.addresses[1]!), '2001:db8:0:1::/64');
  t.equal(cidrOf({ family: 6, address: 'fe80::1', prefixlen: 10, scope: 'link' }), 'fe80::/10');
  t.equal(cidrOf({ family: 6, address: '1:2:3:4:5:6:7:8', prefixlen: 128, scope: 'global' }), '1:2:3:4:5:6:7:8/128');
  t.same(describeInterface(by['bond0.42']!, '10.42.0.0/20'), {
    name: 'bond0.42',
    type: 'vlan',
    mac_address: '52:54:00:0a:00:02',
    parents: ['bond0'],
    subnet: '10.42.0.0/20',
    vid: 42,
  });
  t.same(describeInterface(by.eth1!, null), { name: 'eth1', type: 'physical', mac_address: '52:54:00:0a:00:02', parents: [], subnet: null });
});

t.test('the change signature sees a link coming up', async (t) => {
  const all = parseIpAddrJson(IP_JSON);
  const up = all.map((i) => (i.name === 'eth3' ? { ...i, up: true } : i));
  t.not(interfacesSignature(all), interfacesSignature(up));
  t.equal(interfacesSignature(all), interfacesSignature(parseIpAddrJson(IP_JSON)));
});

t.test('the watcher reports changes once, and errors', async (t) => {
  let list = parseIpAddrJson(IP_JSON);
  let fail = false;
  const w = new InterfaceWatcher(60_000, async () => {
    if (fail) throw new Error('ip failed');
    return list;
  });
  const changes: number[] = [];
  const errors: string[] = [];
  w.on('change', (l: unknown[]) => changes.push(l.length));
  w.on('error', (e: Error) => errors.push(e.message));
  await w.start();
  await w.poll();
  list = list.slice(1);
  await w.poll();
  fail = true;
  await w.poll();
  w.stop();
  w.stop();
  t.same(changes, [9, 8], 'a change is reported once');
  t.same(errors, ['ip failed']);
});

/** A command: node running `script`. */
const nodeCommand = (script: string): [string, string[]] => [process.execPath, ['-e', script]];

t.test('the off-thread reader runs the command in a worker and parses what it prints', async (t) => {
  const reader = new OffThreadReader(nodeCommand(`process.stdout.write(${JSON.stringify(IP_JSON)})`));
  t.teardown(() => reader.close());
  const [a, b] = await Promise.all([reader.read(), reader.read()]);
  const names = parseIpAddrJson(IP_JSON).map((i) => i.name);
  t.same(
    a.map((i) => i.name),
    names,
  );
  t.same(b, a, 'two reads at once each get their answer');
});

t.test('the off-thread reader reports a failing command, and goes on', async (t) => {
  const reader = new OffThreadReader(nodeCommand('process.stderr.write("no netlink"); process.exit(3)'));
  t.teardown(() => reader.close());
  await t.rejects(reader.read(), /Command failed.*\n?.*no netlink/s);
  await t.rejects(reader.read(), /no netlink/, 'the same worker answers the next read');
  const bad = new OffThreadReader(nodeCommand('process.stdout.write("not json")'));
  t.teardown(() => bad.close());
  await t.rejects(bad.read(), SyntaxError, 'output that is not JSON is an error too');
});

t.test('close rejects a read under way; the next read starts a new worker', async (t) => {
  const reader = new OffThreadReader(nodeCommand('setTimeout(() => process.stdout.write("[]"), 200)'));
  t.teardown(() => reader.close());
  const under = reader.read();
  reader.close();
  await t.rejects(under, /interface reader closed/);
  reader.close();
  t.same(await reader.read(), []);
});

const ip = spawnSync('ip', ['-V']);
t.test("the off-thread reader reads this host's interfaces as readInterfaces does", { skip: ip.error ? 'no ip here' : false }, async (t) => {
  const reader = new OffThreadReader();
  t.teardown(() => reader.close());
  const list = await reader.read();
  t.ok(
    list.some((i) => i.loopback),
    'the loopback interface is there',
  );
});
