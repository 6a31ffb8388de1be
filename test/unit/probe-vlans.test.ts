/** VID lists, the VLAN scan report, the expect file (errors name file and key) and the comparison. */
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatVidList, parseVidList, vidItemProblem } from '../../src/probe/vids';
import { VlanCollector, compareVlans, type VlanExpect } from '../../src/probe/vlan-report';
import { parseVlanExpect, readVlanExpectFile } from '../../src/probe/vlan-expect';
import { renderVlans } from '../../src/probe/render';
import type { FrameInfo } from '../../src/protocol/frame-types';
import { UsageError } from '../../src/errors';
import { ulidAt, T0 } from '../helpers/agent';

t.test('VID lists: items, ranges, order, duplicates, and errors naming the item', async (t) => {
  t.same(parseVidList('30, 10,20-22,21'), [10, 20, 21, 22, 30]);
  t.same(parseVidList('4094'), [4094]);
  t.equal(parseVidList('1-4094').length, 4094);
  t.throws(() => parseVidList(''), { message: /empty/ });
  t.throws(() => parseVidList('10,x'), { message: /"x" is not a VID/ });
  t.throws(() => parseVidList('0'), { message: /"0" is outside 1-4094/ });
  t.throws(() => parseVidList('4090-4095'), { message: /outside/ });
  t.throws(() => parseVidList('40-30'), { message: /"40-30" is a range whose start is above its end/ });
  t.equal(vidItemProblem(' 7 - 9 '), undefined);
  t.equal(formatVidList([10, 11, 12, 20, 22, 21, 30]), '10-12,20-22,30');
  t.equal(formatVidList([]), '');
});

const frame = (over: Partial<FrameInfo> = {}): FrameInfo => ({
  sourceMac: '52:54:00:0b:00:01',
  destinationMac: '52:54:00:0a:00:01',
  sourceIp: '10.0.0.2',
  destinationIp: '10.0.0.1',
  sourcePort: 5240,
  destinationPort: 5240,
  payloadOffset: 46,
  payloadLength: 300,
  ...over,
});
const ack = (ulid: string, mac: string, name: string, f: Partial<FrameInfo>) => ({
  interface: 'r0',
  frame: frame({ sourceMac: mac, ...f }),
  verdict: {
    ok: true as const,
    version: 2,
    type: 'advertisement' as const,
    payload: { remote: { name, mac_address: mac }, acks: ulid, ulid: ulidAt(T0, 999), type: 2 },
  },
});

function scan() {
  const c = new VlanCollector('r0');
  const u = (vid: number) => ulidAt(T0, vid);
  for (const vid of [10, 20, 30, 40]) c.noteSent(u(vid), vid);
  const P = '52:54:00:0b:00:01';
  const Q = '52:54:00:0c:00:01';
  c.add(ack(u(10), P, 'p0', { vid: 10 }));
  c.add(ack(u(20), P, 'p0', { vid: 20 }));
  c.add(ack(u(20), P, 'p0', { vid: 20 })); // the same answer twice
  c.add(ack(u(10), Q, 'q0', {})); // a MAAS rack: untagged dgram reply
  c.add(ack(ulidAt(T0, 77), P, 'p0', { vid: 77 })); // not ours
  c.add({ ...ack(u(30), P, 'p0', { vid: 30 }), interface: 'r1' }); // other interface
  c.add({ interface: 'r0', frame: frame(), verdict: { ok: false, reason: 'mac' } });
  return c.report();
}

t.test('the report: who answered on which VID, which VIDs were silent, replies whose tag differs', async (t) => {
  t.same(scan(), {
    interface: 'r0',
    vids_probed: [10, 20, 30, 40],
    answered: [
      { vid: 10, peers: ['52:54:00:0b:00:01', '52:54:00:0c:00:01'] },
      { vid: 20, peers: ['52:54:00:0b:00:01'] },
    ],
    silent: [30, 40],
    peers: [
      { mac: '52:54:00:0b:00:01', names: ['p0'], addresses: ['10.0.0.2'], vids: [10, 20] },
      { mac: '52:54:00:0c:00:01', names: ['q0'], addresses: ['10.0.0.2'], vids: [10], reply_tag_differs: [{ vid: 10, reply_vid: null }] },
    ],
  });
  const outer = new VlanCollector('r0', 100).report();
  t.equal(outer.outer_vid, 100);
  t.same(outer.peers, []);
});

t.test('comparison with the expect file: missing, unexpected, not probed, unexpected peers', async (t) => {
  const report = scan();
  const expect: VlanExpect = {
    file: 'vlans.yaml',
    peers: new Map([
      ['52:54:00:0b:00:01', [10, 20, 30, 50]],
      ['52:54:00:0d:00:01', [40]],
    ]),
  };
  const cmp = compareVlans(report, expect);
  t.notOk(cmp.ok);
  t.same(cmp.peers, [
    { peer: '52:54:00:0b:00:01', expected: [10, 20, 30, 50], seen: [10, 20], missing: [30], unexpected: [], not_probed: [50] },
    { peer: '52:54:00:0d:00:01', expected: [40], seen: [], missing: [40], unexpected: [], not_probed: [] },
  ]);
  t.same(cmp.unexpected_peers, [{ peer: '52:54:00:0c:00:01', vids: [10] }]);
  const good = compareVlans(report, {
    file: 'f',
    peers: new Map([
      ['52:54:00:0b:00:01', [10, 20, 99]],
      ['52:54:00:0c:00:01', [10]],
    ]),
  });
  t.ok(good.ok, 'VIDs not probed do not fail the comparison');
  const text = renderVlans(report, cmp);
  t.match(text, /^r0: probed 4 VIDs \(10-40\)|^r0: probed 4 VIDs \(10,20,30,40\)/);
  t.match(text, /52:54:00:0b:00:01 +p0 +10,20 +30,40/);
  t.match(text, /no answer at all on: 30,40/);
  t.match(text, /differs from the expect file/);
  t.match(text, /52:54:00:0b:00:01: expected but silent on 30/);
  t.match(text, /52:54:00:0b:00:01: expected VIDs not probed this run: 50/);
  t.match(text, /52:54:00:0c:00:01: not in the expect file, answered on 10/);
  t.match(renderVlans(report, good), /matches the expect file/);
  t.match(renderVlans(new VlanCollector('r0', 7).report()), /inside outer VID 7.*\nno peer answered on any VID/);
  const extra = compareVlans(report, {
    file: 'f',
    peers: new Map([
      ['52:54:00:0b:00:01', [10]],
      ['52:54:00:0c:00:01', [10]],
    ]),
  });
  t.same(extra.peers[0]!.unexpected, [20]);
  t.match(renderVlans(report, extra), /answered on unexpected 20/);
});

t.test('the expect file: YAML or JSON, lists or strings, MACs in any case', async (t) => {
  const e = parseVlanExpect(
    ['version: 1', 'interface: r0', 'peers:', '  52:54:00:0B:00:01: [10, 20, "30-32"]', '  "52:54:00:0c:00:01": "5,7-8"', '  "52:54:00:0d:00:01": []', ''].join(
      '\n',
    ),
    'vlans.yaml',
  );
  t.equal(e.interface, 'r0');
  t.same(
    [...e.peers],
    [
      ['52:54:00:0b:00:01', [10, 20, 30, 31, 32]],
      ['52:54:00:0c:00:01', [5, 7, 8]],
      ['52:54:00:0d:00:01', []],
    ],
  );
  const j = parseVlanExpect('{"peers": {"52:54:00:0b:00:01": [1]}}', 'v.json');
  t.same([...j.peers], [['52:54:00:0b:00:01', [1]]]);
  t.notOk('interface' in j);
  t.same([...parseVlanExpect('peers:\n  "52:54:00:0b:00:01": ""\n', 'v').peers], [['52:54:00:0b:00:01', []]]);
});

t.test('expect-file mistakes are usage errors naming the file and the key', async (t) => {
  const bad: Array<[string, RegExp]> = [
    ['', /^v\.yaml: is empty; it needs a "peers" mapping$/],
    ['peers: [1]\n', /^v\.yaml: peers: must be a mapping of peer MAC to VIDs, got a list$/],
    ['peer: {}\n', /^v\.yaml: peer: unknown key/],
    ['version: 2\npeers: {}\n', /^v\.yaml: version: must be 1, got 2$/],
    ['interface: "a b"\npeers: {}\n', /^v\.yaml: interface: must be an interface name/],
    ['peers:\n  p0: [1]\n', /^v\.yaml: peers\.p0: "p0" is not a MAC address/],
    ['peers:\n  "52:54:00:0b:00:01": [10, 20, "40-30"]\n', /^v\.yaml: peers\["52:54:00:0b:00:01"\]\[2\]: "40-30" is a range whose start is above its end$/],
    ['peers:\n  "52:54:00:0b:00:01": [5000]\n', /^v\.yaml: peers\["52:54:00:0b:00:01"\]\[0\]: "5000" is outside 1-4094$/],
    ['peers:\n  "52:54:00:0b:00:01": [1.5]\n', /^v\.yaml: peers\["52:54:00:0b:00:01"\]\[0\]: must be a VID \(1-4094\) or a range "A-B", got 1\.5$/],
    ['peers:\n  "52:54:00:0b:00:01": "1,x"\n', /^v\.yaml: peers\["52:54:00:0b:00:01"\]: "x" is not a VID/],
    ['peers:\n  "52:54:00:0b:00:01": {vids: [1]}\n', /^v\.yaml: peers\["52:54:00:0b:00:01"\]: must be a list of VIDs/],
    ['peers:\n  "52:54:00:0b:00:01": [1]\n  "52:54:00:0B:00:01": [2]\n', /listed twice/],
    ['peers: {\n', /^v\.yaml:\d+:\d+: not valid YAML/],
  ];
  for (const [text, message] of bad) {
    let err: unknown;
    try {
      parseVlanExpect(text, 'v.yaml');
    } catch (e) {
      err = e;
    }
    t.ok(
      err instanceof UsageError && err.code === 'E_VLAN_EXPECT' && err.exitCode === 2 && message.test(err.message),
      `${JSON.stringify(text)} → ${String(err)}`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'nb-vlans-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.throws(() => readVlanExpectFile(join(dir, 'nope.yaml')), { message: /^expect file .*nope\.yaml does not exist$/ });
  writeFileSync(join(dir, 'ok.yaml'), 'peers:\n  "52:54:00:0b:00:01": [3]\n');
  t.same([...readVlanExpectFile(join(dir, 'ok.yaml')).peers], [['52:54:00:0b:00:01', [3]]]);
});
