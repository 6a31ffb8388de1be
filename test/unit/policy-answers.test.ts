/**
 * The agent's answers beyond MAAS (src/policy/answers.ts) and their driver
 * (raw-reply.ts), with a fake raw sender: plain solicitations keep MAAS's
 * reply, MTU probes get acks (padded when asked), VLAN probes on a VLAN
 * without an interface get a tagged raw reply, ignored VIDs get nothing,
 * and raw replies are rate-limited.
 */
import t from 'tap';
import type { ReplyAction, AgentAction } from '../../src/topology/core';
import { ProbeAnswerer, sameSubnet, sourceAddress, type AnswerInput, type RawReplyAction } from '../../src/policy/answers';
import { RawReplier } from '../../src/agent/raw-reply';
import type { HostInterface } from '../../src/topology/interfaces';
import type { FrameInfo } from '../../src/protocol/frame-types';
import { parseFrame } from '../../src/protocol/frame';
import { decodeBeacon } from '../../src/engine/decode';
import { keyObjects } from '../../src/protocol/fernet';
import { createVerifier } from '../../src/engine/verifier';
import { readMtuProbeAck } from '../../src/protocol/extensions';
import type { RawSender } from '../../src/capture/raw-send';
import { corpusKey } from '../helpers/corpus';

const NOW = 1_795_000_000_000;
const PROBER_MAC = '52:54:00:0a:00:01';

const iface = (over: Partial<HostInterface> = {}): HostInterface => ({
  name: 'p0',
  ifindex: 3,
  mac: '52:54:00:0b:00:01',
  mtu: 1500,
  type: 'physical',
  parents: [],
  up: true,
  loopback: false,
  addresses: [
    { family: 4, address: '192.168.9.9', prefixlen: 24, scope: 'global' },
    { family: 4, address: '10.0.0.2', prefixlen: 24, scope: 'global' },
  ],
  ...over,
});

const frame = (over: Partial<FrameInfo> = {}): FrameInfo => ({
  sourceMac: PROBER_MAC,
  destinationMac: '01:00:5e:00:00:76',
  sourceIp: '10.0.0.1',
  destinationIp: '224.0.0.118',
  sourcePort: 5240,
  destinationPort: 5240,
  payloadOffset: 42,
  payloadLength: 1472,
  ...over,
});

const reply = (over: Partial<ReplyAction> = {}): ReplyAction => ({
  kind: 'unicast_advertisement',
  interface: 'p0',
  destination_ip: '10.0.0.1',
  destination_port: 5240,
  payload: { remote: { name: 'p0', mac_address: '52:54:00:0b:00:01' }, acks: '01M7Q5CQP8Q1G6HRZ22724C6AZ' },
  ...over,
});

const input = (payload: Record<string, unknown> | null, f: Partial<FrameInfo> = {}, ifaces: HostInterface[] = [iface()]): AnswerInput => ({
  frame: frame(f),
  payload,
  interfaces: new Map(ifaces.map((i) => [i.name, i])),
});

const scheduled: AgentAction = { kind: 'multicast_advertisement' };

t.test("a solicitation that asks for nothing keeps MAAS's reply, untouched; other actions pass through", async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true });
  const r = reply();
  const out = a.plan([r, scheduled], input({ remote: {} }), NOW);
  t.equal(out[0], r, 'the very same action');
  t.equal(out[1], scheduled);
  const tagged = reply({ vid: 30 });
  t.equal(a.plan([tagged], input({}, { vid: 30 }), NOW)[0], tagged, 'tagged, but not a vlan_probe: MAAS behaviour');
});

t.test('ignored VIDs get no reply at all; untagged ones and other VIDs still do', async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true, ignoreVids: [30, 31] });
  t.same(a.plan([reply({ vid: 30 })], input({ vlan_probe: { vid: 30 } }, { vid: 30 }), NOW), []);
  t.equal(a.plan([reply({ vid: 32 })], input({}, { vid: 32 }), NOW).length, 1);
  t.equal(a.plan([reply()], input({}), NOW).length, 1);
  t.equal(a.stats().ignored_vid, 1);
});

t.test("an MTU probe gets a raw DF reply to the prober's MAC with what arrived", async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true });
  const [out] = a.plan([reply()], input({ mtu_probe: { size: 1500 } }), NOW) as [RawReplyAction];
  t.equal(out.kind, 'raw_unicast_advertisement');
  t.match(out, { interface: 'p0', tags: [], source_mac: '52:54:00:0b:00:01', destination_mac: PROBER_MAC, destination_ip: '10.0.0.1', destination_port: 5240 });
  t.equal(out.source_ip, '10.0.0.2', "the address on the prober's subnet, not the first one");
  t.same(out.payload.mtu_probe_ack, { size: 1500, received: 1500, interface_mtu: 1500 });
  t.equal(out.pad_to, undefined, 'no reply_size: no padding');
  t.same(out.payload.acks, '01M7Q5CQP8Q1G6HRZ22724C6AZ');
});

t.test('reply_size pads the reply, capped at the sending interface MTU', async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true });
  const [big] = a.plan([reply()], input({ mtu_probe: { size: 400, reply_size: 9000 } }, { payloadLength: 372 }), NOW) as [RawReplyAction];
  t.equal(big.pad_to, 1500, 'capped at 1500');
  t.same(big.payload.mtu_probe_ack, { size: 400, received: 400, interface_mtu: 1500, reply_size: 1500 });
  const [small] = a.plan([reply()], input({ mtu_probe: { reply_size: 1400 } }), NOW) as [RawReplyAction];
  t.equal(small.pad_to, 1400);
  t.equal((small.payload.mtu_probe_ack as { size: unknown }).size, null, 'a probe without size: null');
  const [bad] = a.plan([reply()], input({ mtu_probe: { reply_size: 100 } }), NOW) as [RawReplyAction];
  t.equal(bad.pad_to, undefined, 'a reply_size below 1280 is not honoured');
});

t.test('without raw sending, or over IPv6, the ack goes by dgram', async (t) => {
  const none = new ProbeAnswerer({ rawAvailable: false });
  const [d] = none.plan([reply()], input({ mtu_probe: { size: 1500, reply_size: 1500 } }), NOW) as [ReplyAction];
  t.equal(d.kind, 'unicast_advertisement');
  t.same(
    (d.payload as unknown as Record<string, unknown>).mtu_probe_ack,
    { size: 1500, received: 1500, interface_mtu: 1500 },
    'no reply_size: it was not padded',
  );
  const a = new ProbeAnswerer({ rawAvailable: true });
  const [v6] = a.plan([reply({ destination_ip: 'fe80::1' })], input({ mtu_probe: {} }, { sourceIp: 'fe80::1', payloadLength: 1452 }), NOW) as [ReplyAction];
  t.equal(v6.kind, 'unicast_advertisement');
  t.equal(readMtuProbeAck(v6.payload as unknown as Record<string, unknown>)?.received, 1500, 'IPv6 length counts the 40-byte header');
  const [noMac] = a.plan([reply()], input({ mtu_probe: {} }, {}, [iface({ mac: null })]), NOW);
  t.equal(noMac!.kind, 'unicast_advertisement', 'an interface without a MAC cannot send raw');
  t.equal(none.stats().dgram_fallback + a.stats().dgram_fallback, 3);
});

t.test('a VLAN probe on a VID with no interface: raw, tagged the same way (QinQ too), to the prober', async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true });
  const [one] = a.plan([reply({ vid: 30 })], input({ vlan_probe: { vid: 30 } }, { vid: 30 }), NOW) as [RawReplyAction];
  t.match(one, { kind: 'raw_unicast_advertisement', interface: 'p0', vid: 30, tags: [{ tpid: 0x8100, vid: 30 }], destination_mac: PROBER_MAC });
  t.notOk('mtu_probe_ack' in one.payload);
  const [two] = a.plan([reply({ vid: 30 })], input({ vlan_probe: { vid: 30, outer_vid: 7 } }, { vid: 30, outerVid: 7 }), NOW) as [RawReplyAction];
  t.same(two.tags, [
    { tpid: 0x88a8, vid: 7 },
    { tpid: 0x8100, vid: 30 },
  ]);
  t.equal(a.stats().vlan_raw, 2);
});

t.test("a VLAN probe on a VID that has a monitored VLAN interface: MAAS's reply; an MTU probe there leaves by that interface", async (t) => {
  const a = new ProbeAnswerer({ rawAvailable: true });
  const vlanIf = iface({ name: 'p0.30', vid: 30, parents: ['p0'], type: 'vlan', mac: '52:54:00:0b:00:30', mtu: 1496, addresses: [] });
  const r = reply({ vid: 30 });
  t.equal(a.plan([r], input({ vlan_probe: { vid: 30 } }, { vid: 30 }, [iface(), vlanIf]), NOW)[0], r);
  const [m] = a.plan([r], input({ mtu_probe: { size: 1496 } }, { vid: 30, payloadLength: 1468 }, [iface(), vlanIf]), NOW) as [RawReplyAction];
  t.match(m, { interface: 'p0.30', tags: [], source_mac: '52:54:00:0b:00:30', source_ip: '0.0.0.0' });
  t.equal((m.payload.mtu_probe_ack as { interface_mtu: number }).interface_mtu, 1496);
});

t.test('raw replies are rate-limited per prober; padded ones more tightly', async (t) => {
  const a = new ProbeAnswerer(
    {
      rawAvailable: true,
      rawLimits: { perPeer: { ratePerSecond: 1, burst: 3 }, total: { ratePerSecond: 100, burst: 100 } },
      paddedLimits: { perPeer: { ratePerSecond: 1, burst: 1 }, total: { ratePerSecond: 100, burst: 100 } },
    },
    NOW,
  );
  const n = (payload: Record<string, unknown>, f: Partial<FrameInfo> = {}) => a.plan([reply()], input(payload, f), NOW).length;
  t.same(
    [1, 2, 3, 4].map(() => n({ mtu_probe: {} })),
    [1, 1, 1, 0],
    'burst of 3 unpadded',
  );
  t.same(
    [1, 2].map(() => n({ mtu_probe: { reply_size: 1400 } })),
    [1, 0],
    'burst of 1 padded',
  );
  t.equal(n({ mtu_probe: {} }, { sourceMac: '52:54:00:0a:00:99' }), 1, 'another prober has its own bucket');
  t.equal(a.plan([reply()], input({ mtu_probe: {} }), NOW + 1000).length, 1, 'refilled a second later');
  t.equal(a.stats().raw_limiter.held['peer-limit'], 1);
  t.equal(a.stats().padded_limiter.held['peer-limit'], 1);
  t.equal(a.stats().padded, 1);
});

t.test('source address and subnet helpers', async (t) => {
  t.ok(sameSubnet('10.0.0.1', '10.0.0.200', 24));
  t.notOk(sameSubnet('10.0.0.1', '10.0.1.1', 24));
  t.ok(sameSubnet('10.0.0.1', '11.0.0.1', 0));
  t.notOk(sameSubnet('fe80::1', '10.0.0.1', 24));
  t.equal(sourceAddress(iface(), '172.16.0.1'), '192.168.9.9', 'no subnet match: the first address');
  t.equal(sourceAddress(iface({ addresses: [] }), '10.0.0.1'), '0.0.0.0');
});

t.test('RawReplier: encodes, pads to the exact IPv4 length, sets DF and tags, sends on the interface', async (t) => {
  const key = corpusKey();
  const sent: Array<{ ifname: string; frame: Uint8Array }> = [];
  const fake: RawSender = {
    send: () => t.fail('sendAll sends batches'),
    sendBatch: (ifname, frames) => (frames.forEach((f) => sent.push({ ifname, frame: f })), frames.length),
  };
  const r = new RawReplier(keyObjects(key), { sender: fake, clock: () => NOW, extraPayload: { role: 'rack' } });
  const base: RawReplyAction = {
    kind: 'raw_unicast_advertisement',
    interface: 'p0',
    vid: 30,
    tags: [{ tpid: 0x8100, vid: 30 }],
    source_mac: '52:54:00:0b:00:01',
    destination_mac: PROBER_MAC,
    source_ip: '10.0.0.2',
    destination_ip: '10.0.0.1',
    destination_port: 5240,
    payload: { remote: { name: 'p0', vid: 30 }, acks: '01M7Q5CQP8Q1G6HRZ22724C6AZ' },
    pad_to: 1400,
  };
  const res = r.send(base);
  t.equal(res.failed.length, 0);
  t.equal(sent.length, 1);
  t.equal(sent[0]!.ifname, 'p0');
  const f = Buffer.from(sent[0]!.frame);
  t.equal(f.length, 1400 + 18, 'IP length 1400 plus a tagged Ethernet header');
  t.equal(f.readUInt16BE(18 + 6) & 0x4000, 0x4000, 'DF');
  const info = parseFrame(f)!;
  t.match(info, { vid: 30, sourceIp: '10.0.0.2', destinationIp: '10.0.0.1', destinationMac: PROBER_MAC });
  const v = decodeBeacon(createVerifier('js', key), f.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), NOW / 1000);
  t.ok(v.ok && v.type === 'advertisement');
  if (v.ok) t.match(v.payload, { role: 'rack', acks: '01M7Q5CQP8Q1G6HRZ22724C6AZ', remote: { vid: 30 } });
  const rec = res.sent[0]!;
  t.match(rec, { interface: 'p0', vid: 30, type: 'advertisement', destination_ip: '10.0.0.1' });
  t.notOk('pad' in rec.payload, 'the journal record leaves the pad out');

  const unpadded = r.send({ ...base, pad_to: undefined, tags: [] });
  t.ok(sent[1]!.frame.length < 1400, 'no pad_to: as short as it goes');
  t.equal(unpadded.sent.length, 1);

  // Several replies: unpadded ones share one raw send per interface; a padded one goes alone.
  const batches: Array<[string, number]> = [];
  const batcher = new RawReplier(keyObjects(key), {
    sender: { send: () => t.fail('batched, not one by one'), sendBatch: (i, frames) => (batches.push([i, frames.length]), frames.length) },
    clock: () => NOW,
  });
  const plain = { ...base, pad_to: undefined };
  const all = batcher.sendAll([plain, base, plain, { ...plain, interface: 'p1' }]);
  t.same(batches, [
    ['p0', 2],
    ['p0', 1],
    ['p1', 1],
  ]);
  t.equal(all.sent.length, 4);
  const partial = new RawReplier(keyObjects(key), {
    sender: {
      send: () => undefined,
      sendBatch: () => {
        throw Object.assign(new Error('cannot send on p0: p0 is down'), { sent: 1 });
      },
    },
    clock: () => NOW,
  });
  const half = partial.sendAll([plain, plain, { ...plain, destination_mac: 'nonsense' }]);
  t.equal(half.sent.length, 1, 'the frame before the failure went');
  t.equal(half.failed.length, 2);
  t.match(half.failed[0], { error: /destination MAC "nonsense"/ }, 'a reply that cannot be built fails alone');
  t.match(half.failed[1], { error: /p0 is down/ });

  const failing = new RawReplier(keyObjects(key), {
    sender: {
      send: () => undefined,
      sendBatch: () => {
        throw new Error('cannot send on p0: p0 is down');
      },
    },
    clock: () => NOW,
  });
  const bad = failing.send(base);
  t.same(bad.sent, []);
  t.match(bad.failed[0], { interface: 'p0', destination: `10.0.0.1 via ${PROBER_MAC}`, error: /p0 is down/ });
});
