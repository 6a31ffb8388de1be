/**
 * Hand-built probe frames: Ethernet/802.1Q/802.1ad/IPv4 with DF/UDP, their
 * checksums, and beacons padded to an exact size, decoded back by the frame
 * parser and by every verifier engine (the filler after the token must be
 * ignored by both).
 */
import t from 'tap';
import { buildUdp4Frame, internetChecksum, macBytes, vlanStack, GROUP4, GROUP4_MAC, TPID_8021AD, TPID_8021Q } from '../../src/protocol/frame-build';
import { encodePadded } from '../../src/protocol/padding';
import { buildProbeFrame, probeSourceIp } from '../../src/probe/probe-frame';
import { parseFrame } from '../../src/protocol/frame';
import { decodeBeacon } from '../../src/engine/decode';
import { keyObjects } from '../../src/protocol/fernet';
import { createVerifier } from '../../src/engine/verifier';
import { readMtuProbe } from '../../src/protocol/extensions';
import type { HostInterface } from '../../src/topology/interfaces';
import { corpusKey } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const key = corpusKey();
const keys = keyObjects(key);
const NOW = 1_795_000_000_000;
const SRC = '52:54:00:0a:00:01';

const frameSpec = (payload: Uint8Array, extra: Partial<Parameters<typeof buildUdp4Frame>[0]> = {}) => ({
  destinationMac: GROUP4_MAC,
  sourceMac: SRC,
  sourceIp: '10.0.0.1',
  destinationIp: GROUP4,
  sourcePort: 5240,
  destinationPort: 5240,
  ttl: 1,
  dontFragment: true,
  payload,
  ...extra,
});

/** The IPv4 header offset of an untagged or tagged frame. */
const ipAt = (tags: number) => 14 + 4 * tags;

t.test('an untagged frame: DF set, TTL, lengths and both checksums right', async (t) => {
  const payload = Buffer.from('hello beacon');
  const f = buildUdp4Frame(frameSpec(payload));
  const ip = ipAt(0);
  t.equal(f.length, 14 + 20 + 8 + payload.length);
  t.equal(f.readUInt16BE(12), 0x0800);
  t.equal(f.readUInt16BE(ip + 6), 0x4000, 'DF, no fragment offset');
  t.equal(f[ip + 8], 1, 'TTL 1');
  t.equal(f.readUInt16BE(ip + 2), 20 + 8 + payload.length, 'IP total length');
  t.equal(internetChecksum(f, ip, ip + 20), 0, 'the IPv4 header checksums to zero');
  // UDP: pseudo-header + datagram sums to 0xffff (checksum 0 after complement).
  const udpLength = 8 + payload.length;
  const pseudo = Buffer.concat([f.subarray(ip + 12, ip + 20), Buffer.from([0, 17, udpLength >> 8, udpLength & 0xff]), f.subarray(ip + 20)]);
  t.equal(internetChecksum(pseudo, 0, pseudo.length), 0, 'the UDP checksum verifies over the pseudo-header');
  const info = parseFrame(f)!;
  t.match(info, {
    sourceMac: SRC,
    destinationMac: GROUP4_MAC,
    sourceIp: '10.0.0.1',
    destinationIp: GROUP4,
    sourcePort: 5240,
    destinationPort: 5240,
    payloadLength: payload.length,
  });
  t.notOk('vid' in info, 'untagged: no vid');
  t.same(f.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), payload);
  const noDf = buildUdp4Frame(frameSpec(payload, { dontFragment: false }));
  t.equal(noDf.readUInt16BE(ip + 6), 0, 'DF can be left off');
});

t.test('802.1Q and 802.1ad-in-front tags, as parseFrame reads them (in band and stripped)', async (t) => {
  t.same(vlanStack(undefined), []);
  t.same(vlanStack(42), [{ tpid: TPID_8021Q, vid: 42 }]);
  t.same(vlanStack(42, 100), [
    { tpid: TPID_8021AD, vid: 100 },
    { tpid: TPID_8021Q, vid: 42 },
  ]);
  t.throws(() => vlanStack(undefined, 100), RangeError, 'an outer VID needs an inner one');
  const payload = Buffer.from('x');
  const one = buildUdp4Frame(frameSpec(payload, { tags: vlanStack(42) }));
  t.equal(one.readUInt16BE(12), 0x8100);
  t.equal(one.readUInt16BE(14), 42);
  t.equal(one.readUInt16BE(16), 0x0800);
  t.match(parseFrame(one), { vid: 42 });
  const two = buildUdp4Frame(frameSpec(payload, { tags: vlanStack(42, 100) }));
  t.equal(two.readUInt16BE(12), 0x88a8);
  t.match(parseFrame(two), { vid: 42, outerVid: 100 });
  // What the receiving kernel hands over: the outer tag stripped into tp_vlan_tci.
  const stripped = Buffer.concat([two.subarray(0, 12), two.subarray(16)]);
  t.match(parseFrame(stripped, 100), { vid: 42, outerVid: 100 });
  const pcp = buildUdp4Frame(frameSpec(payload, { tags: [{ tpid: TPID_8021Q, vid: 7, pcp: 5 }] }));
  t.equal(pcp.readUInt16BE(14), (5 << 13) | 7, 'priority bits above the VID');
  t.match(parseFrame(pcp), { vid: 7 }, 'the VID is read without the priority');
});

t.test('bad inputs are errors that name the field', async (t) => {
  const p = Buffer.from('x');
  t.throws(() => buildUdp4Frame(frameSpec(p, { sourceMac: '52:54:00' })), { message: /source MAC "52:54:00" is not a MAC/ });
  t.throws(() => buildUdp4Frame(frameSpec(p, { destinationIp: 'fe80::1' })), { message: /destination IP "fe80::1" is not an IPv4/ });
  t.throws(() => buildUdp4Frame(frameSpec(p, { tags: [{ tpid: 0x8100, vid: 4096 }] })), { message: /VID 4096/ });
  t.throws(() => buildUdp4Frame(frameSpec(p, { tags: [{ tpid: 0x8100, vid: 1, pcp: 8 }] })), { message: /priority 8/ });
  t.throws(() => buildUdp4Frame(frameSpec(p, { sourcePort: 70000 })), { message: /source port 70000/ });
  t.throws(() => buildUdp4Frame(frameSpec(p, { ttl: 0 })), { message: /TTL 0/ });
  t.throws(() => buildUdp4Frame(frameSpec(Buffer.alloc(65520))), { message: /does not fit one IPv4 datagram/ });
  t.same(macBytes('AA:bb:cc:dd:ee:ff'), Buffer.from('aabbccddeeff', 'hex'), 'either case');
});

t.test('the UDP checksum that computes to 0 is sent as 0xffff', async (t) => {
  // Search a payload whose checksum comes out 0; two bytes of freedom suffice.
  // The checksum is linear in the payload words: with the checksum c of
  // payload 0000, the payload ~c makes the sum come out 0.
  const c = buildUdp4Frame(frameSpec(Buffer.alloc(2))).readUInt16BE(14 + 20 + 6);
  const f = buildUdp4Frame(frameSpec(Buffer.from([(c >> 8) & 0xff, c & 0xff])));
  t.equal(f.readUInt16BE(14 + 20 + 6), 0xffff, 'sent as all ones, never 0 ("no checksum")');
});

for (const engine of enginesToTest()) {
  t.test(`padded beacons are exactly as long as asked and decode (${engine} verifier)`, async (t) => {
    const verifier = createVerifier(engine, key);
    for (const size of [240, 333, 1252, 1472, 1473, 4000, 8972, 9188]) {
      const p = encodePadded(keys, 'solicitation', { remote: { name: 'eth0', mac_address: SRC }, mtu_probe: { size: size + 28 } }, size, { nowMs: NOW });
      t.equal(p.bytes.length, size, `${size} bytes`);
      t.ok(p.filler < 48, `filler ${p.filler} is small: the bulk of the padding is authenticated`);
      const v = decodeBeacon(verifier, p.bytes, NOW / 1000);
      t.ok(v.ok, `${size}: decodes (filler after the token ignored)`);
      if (v.ok) {
        t.equal(v.payload!.ulid, p.ulid);
        t.equal((v.payload!.pad as string | undefined)?.length ?? 0, p.padLength);
        t.same(readMtuProbe(v.payload), { size: size + 28 });
      }
    }
  });
}

t.test('padding: a deterministic pad text gives the same bytes length; too short a target is refused', async (t) => {
  const payload = { remote: { name: 'eth0' } };
  const text = 'A'.repeat(100) + 'Zz9_-'.repeat(1000);
  const a = encodePadded(keys, 'advertisement', payload, 1000, { nowMs: NOW, padText: text, ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ' });
  t.equal(a.bytes.length, 1000);
  t.equal(a.ulid, '01M7Q5CQP8Q1G6HRZ22724C6AZ');
  t.throws(() => encodePadded(keys, 'advertisement', payload, 50, { nowMs: NOW }), { message: /too short for this payload/ });
  t.throws(() => encodePadded(keys, 'advertisement', payload, 70000, { nowMs: NOW }), RangeError);
  const exact = encodePadded(keys, 'advertisement', payload, 400, { nowMs: NOW });
  t.equal(exact.bytes.length, 400);
});

const iface = (over: Partial<HostInterface> = {}): HostInterface => ({
  name: 'r0',
  ifindex: 2,
  mac: SRC,
  mtu: 9000,
  type: 'physical',
  parents: [],
  up: true,
  loopback: false,
  addresses: [{ family: 4, address: '10.0.0.1', prefixlen: 24, scope: 'global' }],
  ...over,
});

t.test('probe frames: exact IPv4 length with mtu_probe.size saying so, tags and remote.vid for VLAN probes', async (t) => {
  const verifier = createVerifier('js', key);
  for (const ipLength of [1280, 1500, 9000]) {
    const p = buildProbeFrame(keys, {
      iface: iface(),
      extra: { mtu_probe: {} },
      ipLength,
      nowMs: NOW,
      destinationMac: '52:54:00:0a:00:02',
      destinationIp: '10.0.0.2',
    });
    t.equal(p.ipLength, ipLength);
    t.equal(p.frame.length, ipLength + 14, 'frame = IP length + Ethernet header');
    const info = parseFrame(p.frame)!;
    t.equal(info.destinationIp, '10.0.0.2');
    t.equal(info.payloadLength + 28, ipLength);
    const v = decodeBeacon(verifier, p.frame.subarray(info.payloadOffset, info.payloadOffset + info.payloadLength), NOW / 1000);
    t.ok(v.ok && v.type === 'solicitation');
    if (v.ok) t.same(readMtuProbe(v.payload), { size: ipLength }, 'the probe says its own size');
  }
  const short = buildProbeFrame(keys, { iface: iface(), extra: { mtu_probe: { reply_size: 4000 } }, nowMs: NOW });
  t.ok(short.ipLength < 1280, `an unpadded probe is short (${short.ipLength})`);
  const sInfo = parseFrame(short.frame)!;
  const sv = decodeBeacon(verifier, short.frame.subarray(sInfo.payloadOffset, sInfo.payloadOffset + sInfo.payloadLength), NOW / 1000);
  if (sv.ok) t.same(readMtuProbe(sv.payload), { size: short.ipLength, reply_size: 4000 });
  t.equal(sInfo.destinationMac, GROUP4_MAC, 'to the group by default');

  const vlan = buildProbeFrame(keys, { iface: iface(), tags: vlanStack(30, 7), vid: 30, extra: { vlan_probe: { vid: 30, outer_vid: 7 } }, nowMs: NOW });
  const vInfo = parseFrame(vlan.frame)!;
  t.match(vInfo, { vid: 30, outerVid: 7 });
  const vv = decodeBeacon(verifier, vlan.frame.subarray(vInfo.payloadOffset, vInfo.payloadOffset + vInfo.payloadLength), NOW / 1000);
  t.ok(vv.ok);
  if (vv.ok) t.match(vv.payload, { remote: { name: 'r0', vid: 30, subnet: '10.0.0.0/24' }, vlan_probe: { vid: 30, outer_vid: 7 } });

  t.equal(probeSourceIp(iface({ addresses: [] })), '0.0.0.0', 'no address: 0.0.0.0');
  t.throws(() => buildProbeFrame(keys, { iface: iface({ mac: null }), extra: {}, nowMs: NOW }), { message: /r0 has no MAC/ });
});
