/**
 * Interface discovery from rtnetlink, without a network: the pure model
 * (topology/link-table.ts) against `ip`'s JSON for the same host, the
 * watcher driver (net/netlink.ts) over a stand-in for the addon's
 * NetlinkWatcher, the choice between netlink and the poll
 * (net/interface-source.ts), and the diff the daemon applies. The real
 * kernel is in test/integration/netlink.test.ts.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { diffInterfaces, parseIpAddrJson, type HostInterface } from '../../src/topology/interfaces';
import { flagNames, LinkTable, type RtnlBatch, type RtnlLink } from '../../src/topology/link-table';
import { NetlinkInterfaceWatcher, netlinkWatcherCtor } from '../../src/net/netlink';
import { chooseInterfaceSource, createInterfaceSource, parseInterfaceSourceRequest } from '../../src/net/interface-source';
import { InterfaceWatcher } from '../../src/net/discover';
import { loadBinding } from '../../src/engine/binding';
import { netlinkBlocker } from '../../src/engine/select';

const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, RUNNING: 0x40, MULTICAST: 0x1000, LOWER_UP: 0x10000 };
const ETHER = 1;
const up = IFF.UP | IFF.BROADCAST | IFF.MULTICAST | IFF.RUNNING | IFF.LOWER_UP;

function link(ifindex: number, name: string, extra: Partial<RtnlLink> = {}): RtnlLink {
  return {
    op: 'new',
    ifindex,
    name,
    flags: up,
    type: ETHER,
    mtu: 1500,
    address: `52:54:00:0a:00:${ifindex.toString(16).padStart(2, '0')}`,
    operstate: 6,
    ...extra,
  };
}

/** A host as rtnetlink reports it, and the same host as `ip -j -d addr show` prints it. */
const HOST: RtnlBatch = {
  reset: true,
  malformed: 0,
  links: [
    link(1, 'lo', { flags: IFF.LOOPBACK | IFF.UP | IFF.RUNNING, type: 772, mtu: 65536, address: '00:00:00:00:00:00', operstate: 0 }),
    link(2, 'eth0', { mtu: 9000 }),
    link(3, 'eth1', { master: 5 }),
    link(4, 'eth2', { master: 5 }),
    link(5, 'bond0', { kind: 'bond', address: '52:54:00:0a:00:03' }),
    link(6, 'bond0.42', { kind: 'vlan', vlanId: 42, link: 5, address: '52:54:00:0a:00:03' }),
    link(7, 'tun0', { type: 65534, kind: 'tun', address: undefined, operstate: 0 }),
    link(8, 'eth3', { flags: IFF.BROADCAST | IFF.MULTICAST, operstate: 2 }),
    // A veth whose peer is in another namespace: ip names no lower device.
    link(9, 'veth0', { kind: 'veth', link: 3, linkNetnsid: 0 }),
    // Up but without carrier.
    link(10, 'eth4', { flags: IFF.UP | IFF.BROADCAST, operstate: 3 }),
  ],
  addresses: [
    { ifindex: 1, family: 4, local: '127.0.0.1', prefixlen: 8, scope: 254, flags: 0x80 },
    { ifindex: 2, family: 4, local: '10.0.0.5', prefixlen: 24, scope: 0, flags: 0x80 },
    { ifindex: 6, family: 4, local: '10.42.0.5', prefixlen: 20, scope: 0, flags: 0x80 },
    { ifindex: 1, family: 6, local: '::1', prefixlen: 128, scope: 254, flags: 0x80 },
    { ifindex: 2, family: 6, local: '2001:db8:0:1::5', prefixlen: 64, scope: 0, flags: 0x80 },
    { ifindex: 2, family: 6, local: 'fe80::1', prefixlen: 64, scope: 253, flags: 0x80 },
    { ifindex: 99, family: 4, local: '10.9.9.9', prefixlen: 24, scope: 0, flags: 0 },
  ],
};

const ether = (mac: string) => ({ link_type: 'ether', address: mac });
const IP_JSON = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    operstate: 'UNKNOWN',
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ],
  },
  {
    ifindex: 2,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 9000,
    operstate: 'UP',
    ...ether('52:54:00:0a:00:02'),
    addr_info: [
      { family: 'inet', local: '10.0.0.5', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: '2001:db8:0:1::5', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
    ],
  },
  { ifindex: 3, ifname: 'eth1', flags: ['UP'], mtu: 1500, operstate: 'UP', master: 'bond0', ...ether('52:54:00:0a:00:03'), addr_info: [] },
  { ifindex: 4, ifname: 'eth2', flags: ['UP'], mtu: 1500, operstate: 'UP', master: 'bond0', ...ether('52:54:00:0a:00:04'), addr_info: [] },
  { ifindex: 5, ifname: 'bond0', flags: ['UP'], mtu: 1500, operstate: 'UP', ...ether('52:54:00:0a:00:03'), linkinfo: { info_kind: 'bond' }, addr_info: [] },
  {
    ifindex: 6,
    ifname: 'bond0.42',
    link: 'bond0',
    flags: ['UP'],
    mtu: 1500,
    operstate: 'UP',
    ...ether('52:54:00:0a:00:03'),
    linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 42 } },
    addr_info: [{ family: 'inet', local: '10.42.0.5', prefixlen: 20, scope: 'global' }],
  },
  { ifindex: 7, ifname: 'tun0', flags: ['UP'], mtu: 1500, operstate: 'UNKNOWN', link_type: 'none', linkinfo: { info_kind: 'tun' }, addr_info: [] },
  { ifindex: 8, ifname: 'eth3', flags: ['BROADCAST'], mtu: 1500, operstate: 'DOWN', ...ether('52:54:00:0a:00:08'), addr_info: [] },
  {
    ifindex: 9,
    ifname: 'veth0',
    link_index: 3,
    link_netnsid: 0,
    flags: ['UP'],
    mtu: 1500,
    operstate: 'UP',
    ...ether('52:54:00:0a:00:09'),
    linkinfo: { info_kind: 'veth' },
    addr_info: [],
  },
  {
    ifindex: 10,
    ifname: 'eth4',
    flags: ['NO-CARRIER', 'BROADCAST', 'UP'],
    mtu: 1500,
    operstate: 'LOWERLAYERDOWN',
    ...ether('52:54:00:0a:00:0a'),
    addr_info: [],
  },
]);

t.test('the model from rtnetlink equals the model from `ip -j -d addr show` of the same host', async (t) => {
  const table = new LinkTable();
  table.apply(HOST);
  const fromNetlink = table.interfaces();
  t.same(fromNetlink, parseIpAddrJson(IP_JSON));
  const by = Object.fromEntries(fromNetlink.map((i) => [i.name, i]));
  t.same(by.bond0!.parents, ['eth1', 'eth2'], 'members from IFLA_MASTER');
  t.same(by['bond0.42']!.parents, ['bond0'], 'the parent from IFLA_LINK');
  t.equal(by['bond0.42']!.vid, 42, 'the VID from IFLA_INFO_DATA');
  t.same(by.veth0!.parents, [], 'a lower device in another namespace is not named');
  t.equal(by.eth4!.up, false, 'up without carrier is not up');
  t.equal(by.tun0!.mac, null, 'no MAC without an Ethernet link type');
  t.notOk(
    fromNetlink.some((i) => i.ifindex === 99),
    'addresses of an unknown link are not an interface',
  );
});

t.test('flags, operstate, link type and scope are named as ip names them', async (t) => {
  t.same(flagNames(up), ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP']);
  t.same(flagNames(IFF.UP | IFF.LOOPBACK), ['NO-CARRIER', 'LOOPBACK', 'UP']);
  const table = new LinkTable();
  table.apply({
    reset: true,
    malformed: 0,
    links: [link(3, 'x', { type: 32, operstate: 9, master: 77, link: 0 })],
    addresses: [
      { ifindex: 3, family: 6, local: 'fec0::1', prefixlen: 10, scope: 200, flags: 0 },
      { ifindex: 3, family: 4, local: '10.1.1.1', prefixlen: 8, scope: 17, flags: 0 },
    ],
  });
  const [l] = table.ipLinks();
  t.equal(l!.link_type, '[32]', 'an unknown link type');
  t.equal(l!.operstate, 'UNKNOWN', 'an unknown operstate');
  t.equal(l!.master, 'if77', 'an ifindex not known here, as ip prints it');
  t.equal(l!.link, undefined, 'IFLA_LINK 0 names no lower device');
  t.same(
    l!.addr_info!.map((a) => a.scope),
    ['site', '17'],
  );
  const bare = new LinkTable();
  bare.apply({ reset: true, malformed: 0, links: [{ op: 'new', ifindex: 4, name: 'y', flags: 0, type: ETHER }] });
  const [b] = bare.ipLinks();
  t.equal(b!.operstate, undefined, 'no IFLA_OPERSTATE, no operstate');
  t.equal(bare.interfaces()[0]!.mtu, 1500, 'no IFLA_MTU: the default, as with ip');
});

t.test('batches: a reset starts afresh, links apply in order, an address table replaces the last', async (t) => {
  const table = new LinkTable();
  table.apply(HOST);
  table.apply({ reset: false, malformed: 0, links: [{ op: 'del', ifindex: 8, name: 'eth3' }, link(11, 'eth5'), link(11, 'eth5', { mtu: 4000 })] });
  let names = table.interfaces().map((i) => i.name);
  t.notOk(names.includes('eth3'), 'RTM_DELLINK removes the link');
  t.equal(table.interfaces().find((i) => i.name === 'eth5')?.mtu, 4000, 'the last RTM_NEWLINK wins');
  t.equal(table.interfaces().find((i) => i.name === 'eth0')?.addresses.length, 3, 'addresses kept when a batch has no table');
  table.apply({ reset: false, malformed: 2, links: [], addresses: [{ ifindex: 11, family: 4, local: '10.5.5.5', prefixlen: 24, scope: 0, flags: 0 }] });
  t.same(table.interfaces().find((i) => i.name === 'eth5')?.addresses, [{ family: 4, address: '10.5.5.5', prefixlen: 24, scope: 'global' }]);
  t.same(table.interfaces().find((i) => i.name === 'eth0')?.addresses, [], 'the table replaced the last one');
  t.equal(table.malformed, 2, 'malformed messages are counted');
  table.apply({ reset: true, malformed: 0, links: [link(1, 'lo')] });
  names = table.interfaces().map((i) => i.name);
  t.same(names, ['lo'], 'a reset forgets every link');
  t.same(table.interfaces()[0]!.addresses, [], 'and, without a table, every address');
});

/** A stand-in for the addon's NetlinkWatcher: the test hands it batches. */
class FakeWatcher {
  static last: FakeWatcher | undefined;
  static made = 0;
  resyncs = 0;
  closed = false;
  constructor(readonly onEvent: (kind: string, arg: unknown) => void) {
    FakeWatcher.last = this;
    FakeWatcher.made++;
  }
  resync(): void {
    this.resyncs++;
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

t.test('the netlink watcher: the first dump starts it; a change is reported once; errors restart it', async (t) => {
  const w = new NetlinkInterfaceWatcher(FakeWatcher);
  const changes: string[][] = [];
  const errors: string[] = [];
  w.on('change', (l: HostInterface[]) => changes.push(l.map((i) => i.name)));
  w.on('error', (e: Error) => errors.push(e.message));
  const started = w.start();
  const fake = FakeWatcher.last!;
  // Events before the first dump are not the host's interfaces yet.
  fake.onEvent('batch', { reset: false, malformed: 0, links: [link(2, 'early')] });
  t.same(changes, [], 'nothing before a dump');
  fake.onEvent('batch', { ...HOST, links: HOST.links.slice(0, 3) });
  const first = await started;
  t.same(
    first.map((i) => i.name),
    ['lo', 'eth0', 'eth1'],
    'start() resolves with the dump',
  );
  fake.onEvent('batch', { reset: false, malformed: 0, links: [link(2, 'eth0', { mtu: 9000 })] });
  t.equal(changes.length, 1, 'an unchanged list is not a change');
  fake.onEvent('batch', { reset: false, malformed: 1, links: [link(20, 'new0')] });
  t.same(changes.at(-1), ['lo', 'eth0', 'eth1', 'new0']);
  t.match(errors, [/1 malformed message/]);
  t.same(
    w.current.map((i) => i.name),
    changes.at(-1),
  );
  await w.poll();
  t.equal(fake.resyncs, 1, 'poll() asks for a dump');
  const made = FakeWatcher.made;
  fake.onEvent('error', 'interface watcher stopped: recv: EPERM');
  t.match(errors.at(-1), /EPERM/);
  t.ok(fake.closed, 'the dead watcher is closed');
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(FakeWatcher.made, made + 1, 'and a new one started');
  FakeWatcher.last!.onEvent('batch', HOST);
  t.equal(changes.at(-1)?.length, HOST.links.length, 'the new watcher starts from a dump');
  w.stop();
  t.ok(FakeWatcher.last!.closed);
  FakeWatcher.last!.onEvent('batch', { reset: true, malformed: 0, links: [] });
  t.equal(changes.at(-1)?.length, HOST.links.length, 'nothing after stop()');
});

t.test('the netlink watcher: stop() before a restart cancels it', async (t) => {
  const w = new NetlinkInterfaceWatcher(FakeWatcher);
  void w.start().catch(() => undefined);
  w.on('error', () => undefined);
  FakeWatcher.last!.onEvent('error', 'boom');
  const made = FakeWatcher.made;
  w.stop();
  await new Promise((r) => setTimeout(r, 1200));
  t.equal(FakeWatcher.made, made, 'no new watcher after stop()');
});

t.test('where interfaces come from: netlink when the addon serves, else the poll; forced by NETBEACON_INTERFACES', async (t) => {
  t.equal(parseInterfaceSourceRequest(undefined), 'auto');
  t.equal(parseInterfaceSourceRequest(''), 'auto');
  t.equal(parseInterfaceSourceRequest('poll'), 'poll');
  t.throws(() => parseInterfaceSourceRequest('ip'), { code: 'E_INTERFACES_SOURCE', message: /must be one of auto, netlink, poll, got "ip"/ });
  t.match(chooseInterfaceSource('auto', undefined), { source: 'netlink', why: /rtnetlink .*\(no process is started\)/ });
  t.match(chooseInterfaceSource('auto', 'the addon is not built'), { source: 'poll', why: /every 2 s, falling back: the addon is not built/ });
  t.match(chooseInterfaceSource('poll', undefined, 500), { source: 'poll', why: /every 0.5 s: the poll was requested/ });
  t.throws(() => chooseInterfaceSource('netlink', 'not Linux'), { code: 'E_INTERFACES_NETLINK', message: /cannot run: not Linux/ });
  // The blocker, decided in engine/select.ts like every native-or-JS question.
  t.equal(
    netlinkBlocker({ ok: false, why: 'not-built', detail: 'build/Release/netbeacon.node does not exist' }),
    'build/Release/netbeacon.node does not exist',
  );
  t.match(netlinkBlocker({ ok: true, binding: { abiVersion: 1 }, path: '/old.node' }), /no NetlinkWatcher \(rebuild it/);
  t.equal(netlinkBlocker({ ok: true, binding: { abiVersion: 1, NetlinkWatcher: class {} }, path: '/new.node' }), undefined);
  t.match(chooseInterfaceSource(undefined, netlinkBlocker({ ok: false, why: 'not-linux', detail: 'not Linux' })), {
    source: 'poll',
    why: /falling back: not Linux/,
  });
  const poll = createInterfaceSource({ source: 'poll', requested: 'poll', why: '' }, 60_000);
  t.ok(poll instanceof InterfaceWatcher);
  t.equal(poll.source, 'poll');
  poll.stop();
  const native = loadBinding().ok;
  t.equal(typeof netlinkWatcherCtor() === 'function', native, 'the addon has the watcher when it loads');
  if (!native) t.throws(() => new NetlinkInterfaceWatcher(), /not available/);
});

t.test('the diff the daemon applies', async (t) => {
  const [a, b, c] = parseIpAddrJson(IP_JSON).slice(1, 4);
  const before = new Map([a!, b!, c!].map((i) => [i.name, i]));
  const after = new Map<string, HostInterface>([
    [a!.name, { ...a!, mtu: 1400 }],
    [b!.name, { ...b!, ifindex: 77 }],
    ['new0', { ...c!, name: 'new0', ifindex: 78 }],
  ]);
  const d = diffInterfaces(before, after);
  t.same(d.removed, [c!.name, b!.name], 'gone, and made again under the same name');
  t.same(
    d.added.map((i) => i.name),
    [b!.name, 'new0'],
  );
  t.same(
    d.changed.map((i) => [i.name, i.mtu]),
    [[a!.name, 1400]],
  );
  t.same(diffInterfaces(before, before), { removed: [], added: [], changed: [] });
});

t.test('the netlink watcher is an EventEmitter like the poll', async (t) => {
  t.ok(new NetlinkInterfaceWatcher(FakeWatcher) instanceof EventEmitter);
});
