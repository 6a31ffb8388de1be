import t from 'tap';
import { decodeTime, ulid } from 'ulid';
import { isMulticastAddress, isVid, parseUlid, readRemote } from '../../src/topology/beacons';
import { compareSegments, formatSegment, sameSegment, segment, segmentKey } from '../../src/topology/segment';
import { T0, ulidAt } from '../helpers/agent';
import { prng } from '../helpers/prng';

t.test('parseUlid reads the 48-bit timestamp as the ulid package does', async (t) => {
  for (const ms of [0, 1, T0, 2 ** 48 - 1]) {
    const u = ulid(ms);
    t.equal(parseUlid(u)?.timeMs, decodeTime(u), `time ${ms}`);
  }
  t.equal(parseUlid('01M7Q5CQGAEKPM9DNJ7H5JZP4F')?.timeMs, 1795000000010, "the reference journal's own solicitation");
  t.equal(parseUlid(ulidAt(T0 + 5, 7))?.timeMs, T0 + 5, 'the test helper agrees');
});

t.test('parseUlid keys case-insensitively and keeps the text as sent', async (t) => {
  const upper = ulidAt(T0, 99);
  const lower = upper.toLowerCase();
  t.same(parseUlid(lower), { key: upper, text: lower, timeMs: T0 });
});

t.test('parseUlid rejects what is not a ULID', async (t) => {
  for (const bad of [
    undefined,
    null,
    42,
    '',
    'short',
    '01M7Q5CQGAEKPM9DNJ7H5JZP4',
    '01M7Q5CQGAEKPM9DNJ7H5JZP4FF',
    '01M7Q5CQGAEKPM9DNJ7H5JZP4U',
    '81M7Q5CQGAEKPM9DNJ7H5JZP4F',
  ]) {
    t.equal(parseUlid(bad), undefined, JSON.stringify(bad) ?? 'undefined');
  }
});

t.test('multicast is judged by the destination address', async (t) => {
  const multicast = ['224.0.0.118', '239.255.255.250', '224.0.0.1', 'ff02::15a', 'FF02::15A', 'ff05::1:3', '::ffff:224.0.0.118'];
  const unicast = ['10.0.0.5', '223.255.255.255', '240.0.0.1', '255.255.255.255', 'fe80::1', 'ff::1', 'fff::1', '::1', '::ffff:10.0.0.1', 'not an address', ''];
  for (const ip of multicast) t.ok(isMulticastAddress(ip), `${ip} is multicast`);
  for (const ip of unicast) t.notOk(isMulticastAddress(ip), `${ip} is not`);
});

t.test('readRemote takes name, MAC and VID, and only when name and MAC are strings', async (t) => {
  t.same(readRemote({ remote: { name: 'ens3', mac_address: 'aa', vid: 42, subnet: null } }), { name: 'ens3', mac: 'aa', vid: 42 });
  t.same(readRemote({ remote: { name: 'ens3', mac_address: 'aa', vid: null } }), { name: 'ens3', mac: 'aa' }, 'null VID is untagged');
  t.same(readRemote({ remote: { name: 'ens3', mac_address: 'aa', vid: 5000 } }), { name: 'ens3', mac: 'aa' }, 'an impossible VID reads as absent');
  for (const payload of [
    null,
    {},
    { remote: null },
    { remote: 'eth0' },
    { remote: { name: 'ens3' } },
    { remote: { mac_address: 'aa' } },
    { remote: { name: '', mac_address: 'aa' } },
    { remote: { name: 'x', mac_address: '' } },
    { remote: { name: 1, mac_address: 'aa' } },
  ]) {
    t.equal(readRemote(payload), undefined, JSON.stringify(payload));
  }
});

t.test('isVid', async (t) => {
  for (const v of [0, 1, 42, 4095]) t.ok(isVid(v));
  for (const v of [-1, 4096, 1.5, '42', null, undefined, Number.NaN]) t.notOk(isVid(v), String(v));
});

t.test('segments', async (t) => {
  t.same(segment('eth0'), { ifname: 'eth0' }, 'untagged has no vid key at all');
  t.same(segment('eth0', 0), { ifname: 'eth0', vid: 0 });
  t.not(segmentKey(segment('eth0')), segmentKey(segment('eth0', 0)));
  t.not(segmentKey(segment('eth0', 1)), segmentKey(segment('eth01')));
  t.ok(sameSegment(segment('eth0', 4), segment('eth0', 4)));
  t.notOk(sameSegment(segment('eth0', 4), segment('eth0')));
  const sorted = [segment('eth1'), segment('eth0', 42), segment('eth0', 7), segment('eth0')].sort(compareSegments);
  t.same(sorted.map(formatSegment), ['eth0', 'eth0 vid 7', 'eth0 vid 42', 'eth1']);
});

t.test('parseUlid accepts exactly what the ULID grammar does (random strings against the pattern)', async (t) => {
  const PATTERN = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;
  const rand = prng(26);
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-é\u0130';
  let wrong = 0;
  for (let i = 0; i < 20_000; i++) {
    const len = rand() < 0.9 ? 26 : Math.floor(rand() * 30);
    let s = '';
    // Mostly valid characters, so that many candidates pass and the rest fail late.
    for (let k = 0; k < len; k++)
      s += rand() < 0.97 ? '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Math.floor(rand() * 32)]! : alphabet[Math.floor(rand() * alphabet.length)]!;
    if (rand() < 0.3) s = s.toLowerCase();
    const u = parseUlid(s);
    if ((u !== undefined) !== PATTERN.test(s)) wrong++;
    if (u && (u.key !== s.toUpperCase() || u.text !== s)) wrong++;
  }
  t.equal(wrong, 0);
});

t.test('isMulticastAddress remembers its answers, boundedly, without changing them', async (t) => {
  let wrong = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 1500; i++) {
      const first = 200 + (i % 50);
      if (isMulticastAddress(`${first}.0.${i >> 8}.${i & 255}`) !== (first >= 224 && first <= 239)) wrong++;
    }
  }
  t.equal(wrong, 0, '3,000 answers, past the 1,024 remembered');
  t.equal(isMulticastAddress('224.0.0.118'), true);
  t.equal(isMulticastAddress('ff02::15a'), true);
});
