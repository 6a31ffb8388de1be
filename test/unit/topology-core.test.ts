import t from 'tap';
import { AgentCore, type ReplyAction } from '../../src/topology/core';
import { T0, rx, ulidAt } from '../helpers/agent';

const ETH0 = { name: 'eth0', mac_address: '52:54:00:00:00:a0', type: 'physical', parents: [], subnet: '10.0.0.0/24' };
const ETH1 = { name: 'eth1', mac_address: '52:54:00:00:00:a1', type: 'physical', parents: [], subnet: null };

t.test('a foreign solicitation gets a unicast advertisement back to its source', async (t) => {
  const core = new AgentCore();
  core.setInterfaces([ETH1, ETH0], T0);
  const u = ulidAt(T0, 1);
  const r = core.onReceive(rx({ ulid: u, iface: 'eth0', src: '10.0.0.9', sport: 40001 }), T0 + 1000);
  const reply = r.actions[0] as ReplyAction;
  t.same(reply, {
    kind: 'unicast_advertisement',
    interface: 'eth0',
    destination_ip: '10.0.0.9',
    destination_port: 40001,
    payload: { remote: ETH0, acks: u },
  });
  t.same(r.actions.slice(1), [{ kind: 'multicast_advertisement' }], 'then advertisements on all interfaces');
  t.equal(r.verdict, 'new');
  t.equal(r.hints.length, 1, 'and the correlation as usual');
  // Whatever else the scheduler has due rides along: here the solicitation retry.
  const later = core.onReceive(rx({ ulid: ulidAt(T0, 9), type: 'advertisement' }), T0 + 3000);
  t.same(later.actions, [{ kind: 'multicast_solicitation', reason: 'retry' }]);
});

t.test('the reply names the receiving interface with the VID the solicitation came on', async (t) => {
  const core = new AgentCore();
  core.setInterfaces([ETH0], T0);
  const u = ulidAt(T0, 2).toLowerCase();
  const r = core.onReceive(rx({ ulid: u, iface: 'eth0', vid: 42, src: 'fe80::9' }), T0);
  t.same(
    r.actions[0],
    {
      kind: 'unicast_advertisement',
      interface: 'eth0',
      vid: 42,
      destination_ip: 'fe80::9',
      destination_port: 5240,
      payload: { remote: { ...ETH0, vid: 42 }, acks: u },
    },
    'acks echoes the ULID exactly as sent',
  );
});

t.test('an interface nobody described is named by itself', async (t) => {
  const r = new AgentCore().onReceive(rx({ iface: 'eth7' }), T0);
  t.same((r.actions[0] as ReplyAction).payload.remote, { name: 'eth7' });
});

t.test('no reply to our own, replayed, dropped or advertisement beacons', async (t) => {
  const core = new AgentCore();
  const mine = ulidAt(T0, 3);
  core.onTransmit({ ulid: mine, interface: 'eth0' }, T0);
  t.same(core.onReceive(rx({ ulid: mine, iface: 'eth1' }), T0).actions, [], 'own solicitation');
  t.same(core.onReceive(rx({ ulid: ulidAt(T0, 4), type: 'advertisement' }), T0).actions, [], 'advertisement');
  t.same(core.onReceive(rx({ ulid: ulidAt(T0, 5), version: 1 }), T0).actions, [], 'version 1');
  const u = ulidAt(T0, 6);
  t.equal(core.onReceive(rx({ ulid: u, iface: 'eth0' }), T0).actions[0]?.kind, 'unicast_advertisement');
  t.same(core.onReceive(rx({ ulid: u, iface: 'eth0' }), T0).actions, [], 'replay');
  const dup = core.onReceive(rx({ ulid: u, iface: 'eth1' }), T0);
  t.same(
    dup.actions.map((a) => a.kind),
    ['unicast_advertisement'],
    'a duplicate on another segment is answered from there; the advertisement waits its 5 s',
  );
  t.equal((dup.actions[0] as ReplyAction).interface, 'eth1');
});

t.test('answering many solicitations: one multicast advertisement per 5 s', async (t) => {
  const core = new AgentCore();
  const kinds: string[] = [];
  for (let i = 0; i < 12; i++) {
    const now = T0 + i * 1000;
    kinds.push(...core.onReceive(rx({ ulid: ulidAt(now, i) }), now).actions.map((a) => a.kind));
  }
  t.equal(kinds.filter((k) => k === 'unicast_advertisement').length, 12, 'every solicitation answered');
  t.equal(kinds.filter((k) => k === 'multicast_advertisement').length, 3, 'at 0, 5 and 10 s');
  t.same(core.tick(T0 + 15_000), [{ kind: 'multicast_advertisement' }], 'the requests since 10 s go at 15 s');
  t.equal(core.nextDueMs(), undefined);
});

t.test('interface changes trigger solicitations; the same list again does not', async (t) => {
  const core = new AgentCore();
  t.same(core.setInterfaces([ETH0, ETH1], T0), [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }]);
  t.equal(core.nextDueMs(), T0 + 3000);
  t.same(core.setInterfaces([{ ...ETH1 }, { ...ETH0 }], T0 + 1000), [], 'same interfaces, other order');
  t.same(
    core.setInterfaces([{ subnet: null, name: 'eth1', parents: [], type: 'physical', mac_address: '52:54:00:00:00:a1' }, ETH0], T0 + 1000),
    [],
    'other key order',
  );
  t.same(core.tick(T0 + 3000), [{ kind: 'multicast_solicitation', reason: 'retry' }]);
  t.same(core.setInterfaces([ETH0], T0 + 4000), [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }], 'eth1 went away');
  t.same(
    core.setInterfaces([{ ...ETH0, subnet: '10.9.0.0/24' }], T0 + 5000),
    [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }],
    'an address changed',
  );
});

t.test('two descriptions with one name: the last wins', async (t) => {
  const core = new AgentCore();
  core.setInterfaces([ETH0, { ...ETH0, subnet: null }], T0);
  t.same((core.onReceive(rx(), T0).actions[0] as ReplyAction).payload.remote, { ...ETH0, subnet: null });
});

t.test('an empty list at start-up is a change too', async (t) => {
  t.same(new AgentCore().setInterfaces([], 0), [{ kind: 'multicast_solicitation', reason: 'interfaces_changed' }]);
});
