/**
 * Beacon format v3 at the edges: observe recognises v3 in a capture by its
 * version byte (both engines, libsodium loaded only then), the cheap
 * version sniffer, and what status and doctor print about formats.
 */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { sodiumReady } from '../../src/protocol/sodium';
import { beaconVersionOf } from '../../src/protocol/sniff';
import { withV3 } from '../../src/protocol/v3';
import { renderStatus } from '../../src/cli/commands/status';
import { formatsReport, renderDoctor, doctor } from '../../src/cli/commands/doctor';
import { beaconFrame4, beaconFrame6, ethernet, ipv4, ipv6, udp } from '../helpers/frames';
import { writePcap } from '../helpers/pcap-writer';
import { corpusKey, vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';
import { runCli } from '../helpers/cli';

const T0 = 1_795_000_000;
const SRC = { mac: '52:54:00:0a:00:01', ip: '10.0.0.1' };

t.before(sodiumReady);

t.test('the version sniffer finds the beacon byte, or says -1', async (t) => {
  const b = Buffer.from([3, 1, 0, 0]);
  t.equal(beaconVersionOf(beaconFrame4(SRC, b)), 3, 'IPv4');
  t.equal(beaconVersionOf(beaconFrame4(SRC, Buffer.from([2, 1, 0, 0]))), 2);
  t.equal(beaconVersionOf(beaconFrame6({ mac: SRC.mac, ip: 'fe80::1' }, b)), 3, 'IPv6');
  t.equal(beaconVersionOf(beaconFrame4(SRC, b, [{ tpid: 0x8100, tci: 5 }])), 3, 'one tag');
  t.equal(
    beaconVersionOf(
      beaconFrame4(SRC, b, [
        { tpid: 0x88a8, tci: 5 },
        { tpid: 0x8100, tci: 7 },
      ]),
    ),
    3,
    'two tags',
  );
  const three = [
    { tpid: 0x8100, tci: 1 },
    { tpid: 0x8100, tci: 2 },
    { tpid: 0x8100, tci: 3 },
  ];
  t.equal(beaconVersionOf(beaconFrame4(SRC, b, three)), -1, 'three tags');
  t.equal(beaconVersionOf(ethernet('ff:ff:ff:ff:ff:ff', SRC.mac, [], 0x0800, ipv4(SRC.ip, '10.0.0.2', udp(5240, 9999, b)))), -1, 'another port');
  const tcp = ipv4(SRC.ip, '10.0.0.2', udp(5240, 5240, b));
  tcp[9] = 6;
  t.equal(beaconVersionOf(ethernet('ff:ff:ff:ff:ff:ff', SRC.mac, [], 0x0800, tcp)), -1, 'not UDP');
  t.equal(
    beaconVersionOf(ethernet('33:33:00:00:01:5a', SRC.mac, [], 0x86dd, ipv6('fe80::1', 'ff02::15a', udp(5240, 5240, b), 0))),
    -1,
    'an IPv6 extension header',
  );
  t.equal(beaconVersionOf(ethernet('ff:ff:ff:ff:ff:ff', SRC.mac, [], 0x0806, Buffer.alloc(28))), -1, 'ARP');
  const frame = beaconFrame4(SRC, b);
  for (const n of [0, 5, 13, 20, 41, 42]) t.equal(beaconVersionOf(frame.subarray(0, n)), -1, `cut at ${n}`);
});

t.test('observe prints v2 and v3 beacons of one capture, on both engines', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nb-v3-observe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const key = withV3(corpusKey());
  const payload = { remote: { name: 'eth0', mac_address: SRC.mac, type: 'physical', parents: [], subnet: '10.0.0.0/24' } };
  const v2 = encodeBeacon(keyObjects(key), 'solicitation', payload, { nowMs: T0 * 1000 });
  const v3 = encodeBeacon(keyObjects(key), 'advertisement', payload, { nowMs: T0 * 1000, format: 'v3' });
  const v2only = join(dir, 'v2.pcap');
  const mixed = join(dir, 'mixed.pcap');
  writeFileSync(v2only, writePcap([{ time: T0 + 0.5, data: beaconFrame4(SRC, v2.bytes) }]));
  writeFileSync(
    mixed,
    writePcap([
      { time: T0 + 0.5, data: beaconFrame4(SRC, v2.bytes) },
      { time: T0 + 0.75, data: beaconFrame4(SRC, v3.bytes) },
    ]),
  );
  for (const engine of enginesToTest()) {
    const r = await runCli(['observe', '--input-file', mixed, '--secret-file', vector('secret'), '--engine', engine, '--stats']);
    t.equal(r.status, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { version: number; type: string; payload: { ulid: string } });
    t.same(
      lines.map((l) => [l.version, l.type, l.payload.ulid]),
      [
        [2, 'solicitation', v2.ulid],
        [3, 'advertisement', v3.ulid],
      ],
      `${engine}: both, in order`,
    );
    t.match(r.stderr, /valid=2 rejected=0/);
    const plain = await runCli(['observe', '--input-file', v2only, '--secret-file', vector('secret'), '--engine', engine]);
    t.equal(plain.stdout.trim().split('\n').length, 1, `${engine}: a v2-only capture, as before`);
  }
});

t.test('status prints the formats, replays per format and each peer', async (t) => {
  const text = renderStatus({
    version: '0.1.0',
    engine: { name: 'native', capture: 'native', why: 'x' },
    uptime_seconds: 3,
    interfaces: [],
    counters: { send_failures: 0, replays: 3, replays_by_format: { v2: 1, v3: 2 } },
    formats: { sending: ['v2', 'v3'], accepting: ['v2', 'v3'] },
    peers: [
      { interface: 'eth0', mac: '52:54:00:0a:00:02', name: 'ens4', formats: ['v2', 'v3'], key_id: '3f483d41' },
      { interface: 'eth1', vid: 42, mac: '52:54:00:0a:00:03', name: 'ens5' },
    ],
    correlation: { hints: 0, tx: { size: 0 }, rx: { size: 0 } },
    ring_drops: 0,
  });
  t.match(text, /formats: sending v2, v3; accepting v2, v3; replays v2 1, v3 2/);
  t.match(text, /ens4 {2}52:54:00:0a:00:02 {2}heard on eth0 {2}formats v2, v3 {2}v3 key id 3f483d41\n/, 'a peer heard in v3: its key id');
  t.match(text, /ens5 {2}52:54:00:0a:00:03 {2}heard on eth1 \(vid 42\)\n/, 'an older agent: no formats');
  const old = renderStatus({
    version: '0.1.0',
    engine: { name: 'js', capture: 'udp', why: 'x' },
    uptime_seconds: 3,
    interfaces: [],
    counters: { send_failures: 0, replays: 0 },
    correlation: { hints: 0, tx: { size: 0 }, rx: { size: 0 } },
    ring_drops: 0,
  });
  t.notMatch(old, /formats|peers/, 'nothing about formats from an agent that does not report them');
});

t.test('doctor: v3 support, the key id, and no agent to ask', async (t) => {
  const f = await formatsReport(vector('secret'), join(tmpdir(), `nb-no-agent-${process.pid}.sock`));
  t.same(f.available, ['v2', 'v3']);
  t.equal(f.v3.key_id, withV3(corpusKey()).v3!.idHex, "the secret's v3 key id");
  t.match(f.v3.js, /^libsodium \d+\.\d+\.\d+ via libsodium-wrappers$/);
  t.ok(f.agent && 'error' in f.agent, 'no agent answers there');
  const text = renderDoctor({ ...doctor({ secretFile: vector('secret') }), formats: f });
  t.match(text, /formats +v2 \(MAAS\) and v3 \(libsodium [\d.]+ via libsodium-wrappers; native (yes|no[^)]*)\), v3 key id [0-9a-f]{8}\n +no agent on /);
  const withAgent = renderDoctor({
    ...doctor({ secretFile: vector('secret') }),
    formats: {
      ...f,
      agent: { socket: '/s', sending: ['v3'], accepting: ['v2', 'v3'], peers: [{ name: 'p0', mac: '52:54:00:0a:00:09', interface: 'r0', formats: ['v3'] }] },
    },
  });
  t.match(withAgent, /agent on \/s: sending v3, accepting v2, v3\n +p0 +52:54:00:0a:00:09 +on r0 +v3\n/);
  const noSecret = await formatsReport(join(tmpdir(), 'no-such-secret'), '/nonexistent.sock');
  t.notOk(noSecret.v3.key_id, 'no key id without a secret');
});
