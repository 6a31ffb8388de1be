/** Fleet reports: the checks that name a field, building one from an agent's state, and the HMAC. */
import t from 'tap';
import { buildReport, checkReport, parseReport, parseReportBytes, ReportError, REPORT_LIMITS } from '../../src/fleet/model/report';
import { deriveFleetKey, signReport, verifyReport } from '../../src/fleet/model/auth';
import { deriveKey } from '../../src/protocol/key';
import type { HostInterface } from '../../src/topology/interfaces';
import { iface, report } from '../helpers/fleet-reports';

const good = (): Record<string, unknown> =>
  JSON.parse(
    JSON.stringify(
      report(
        'rack1',
        [iface('eth0', '52:54:00:0A:00:01', { vids: [7], vid: 3, addresses: ['10.0.0.1/24'] })],
        [{ hint: 'on_remote_network', ifname: 'eth0', vid: 7, related_ifname: 'ens3', related_vid: 9, related_mac: '52:54:00:0B:00:01' }],
        { peers: [{ interface: 'eth0', vid: 7, mac: '52:54:00:0b:00:01', name: 'ens3', last_seen: 1 }], counters: { sent: 3 } },
      ),
    ),
  ) as Record<string, unknown>;

function fieldOf(doc: unknown): string {
  try {
    checkReport(doc);
  } catch (err) {
    if (err instanceof ReportError) return `${err.field} | ${err.message}`;
    throw err;
  }
  return 'accepted';
}

t.test('a good report is accepted, MACs lower-cased', async (t) => {
  const r = checkReport(good());
  t.equal(r.interfaces[0]!.mac, '52:54:00:0a:00:01');
  t.equal(r.hints[0]!.related_mac, '52:54:00:0b:00:01');
  t.equal(r.interfaces[0]!.vid, 3);
  t.same(r.peers[0], { interface: 'eth0', vid: 7, mac: '52:54:00:0b:00:01', name: 'ens3', last_seen: 1 });
  t.same(r.counters, { sent: 3 });
  const withExtra = { ...good(), from_the_future: true };
  t.equal(fieldOf(withExtra), 'accepted', 'unknown keys are ignored');
  t.notOk('formats' in r.peers[0]! || 'key_id' in r.peers[0]!, "an older agent's peer: no formats, no key id, none made up");
  const v3 = good();
  (v3.peers as Array<Record<string, unknown>>)[0]!.formats = ['v2', 'v3'];
  (v3.peers as Array<Record<string, unknown>>)[0]!.key_id = '3f483d41';
  t.match(checkReport(v3).peers[0], { formats: ['v2', 'v3'], key_id: '3f483d41' }, 'a v3 peer keeps its formats and key id');
  const minimal = { ...good(), agent: undefined, counters: undefined, peers: undefined };
  t.same(checkReport(minimal).agent, { version: '', engine: '' });
});

t.test("with the host's previous report: equal lists are its lists, any other list is checked", async (t) => {
  const prev = checkReport(good());
  const previous = (host: string): ReturnType<typeof checkReport> | undefined => (host === 'rack1' ? prev : undefined);
  const again = checkReport(JSON.parse(JSON.stringify(prev)), previous);
  t.equal(again.interfaces, prev.interfaces, 'the same interfaces: the previous list, not a copy');
  t.equal(again.hints, prev.hints, 'the same hints: the previous list');
  t.not(again.peers, prev.peers, 'peers are always checked (their last_seen moves)');
  t.not(checkReport(JSON.parse(JSON.stringify(prev))).interfaces, prev.interfaces, 'without previous: a list of its own');
  // good() has upper-case MACs: not equal to the checked (lower-cased) list, so checked, and equal once checked.
  const upper = checkReport(good(), previous);
  t.not(upper.interfaces, prev.interfaces, 'a list that differs (upper-case MACs) is checked');
  t.same(upper.interfaces, prev.interfaces, 'and comes out as the previous one did');
  const extra = JSON.parse(JSON.stringify(prev)) as Record<string, unknown>;
  (extra.hints as Array<Record<string, unknown>>)[0]!.from_the_future = 1;
  const checked = checkReport(extra, previous);
  t.not(checked.hints, prev.hints, 'a hint with an unknown key is not equal: checked');
  t.notOk('from_the_future' in checked.hints[0]!, 'and the unknown key is dropped as ever');
  const wrong = JSON.parse(JSON.stringify(prev)) as Record<string, unknown>;
  (wrong.interfaces as Array<Record<string, unknown>>)[0]!.mtu = -1;
  t.throws(() => checkReport(wrong, previous), { field: 'interfaces[0].mtu', message: /must be an integer/ }, 'a wrong field in a changed list is still named');
  const other = { ...JSON.parse(JSON.stringify(prev)), host: 'rack2' } as Record<string, unknown>;
  t.not(checkReport(other, previous).interfaces, prev.interfaces, "another host's lists are never taken");
  const dup = JSON.parse(JSON.stringify(prev)) as Record<string, unknown>;
  dup.interfaces = [...(dup.interfaces as unknown[]), ...(dup.interfaces as unknown[])];
  t.throws(() => checkReport(dup, previous), { field: 'interfaces[1].name', message: /must be unique/ }, 'duplicate interface names are still refused');
  t.equal(parseReport(JSON.stringify(prev), previous).hints, prev.hints, 'parseReport passes previous on');
});

t.test("the hints' text set aside: the same answer as parsing it all, and the previous list when the text is the same", async (t) => {
  const TOKEN = 'netbeacon-hints-test-placeholder';
  const first = JSON.stringify(good());
  const outcome = (f: () => unknown): unknown => {
    try {
      return f();
    } catch (err) {
      if (err instanceof ReportError) return `${err.field} | ${err.message}`;
      throw err;
    }
  };
  let held = parseReport(first, () => undefined, TOKEN);
  const previous = (host: string): ReturnType<typeof checkReport> | undefined => (host === 'rack1' ? held : undefined);
  t.same(held, checkReport(JSON.parse(first)), 'a first report: as checkReport of the whole');
  const again = first.replace('"seq":1', '"seq":2');
  t.not(again, first);
  const next = parseReport(again, previous, TOKEN);
  t.equal(next.hints, held.hints, 'the same hints text: the previous list, not parsed again');
  t.equal(next.seq, 2, 'the rest parsed anew');
  t.same(next, checkReport(JSON.parse(again)));
  // Hints checked before from other text (upper-case MACs) are not taken for this text: parsed and checked.
  const lower = JSON.stringify({ ...good(), hints: held.hints });
  t.not(lower, first);
  const fromLower = parseReport(lower, previous, TOKEN);
  t.same(fromLower.hints, held.hints);
  held = fromLower;
  t.equal(parseReport(lower, previous, TOKEN).hints, fromLower.hints, 'then that text is the one it knows');

  // Texts where a shortcut would be wrong: each answers as parsing the whole text does.
  const doc = good();
  const hintsText = JSON.stringify(doc.hints);
  const cases: Array<[string, string]> = [
    ['changed hints', JSON.stringify({ ...doc, hints: [{ hint: 'routable_to', ifname: 'eth0' }] })],
    ['a wrong hint is named', JSON.stringify({ ...doc, hints: [{ hint: 'nope', ifname: 'eth0' }] })],
    ['a later duplicate hints key wins, as in JSON.parse', first.replace(/}$/, ',"hints":"x"}')],
    ['the first "hints" and "peers" keys nested in agent', first.replace('"agent":{', '"agent":{"x":1,"hints":[],"peers":[],')],
    ['the same hints text nested in agent', first.replace('"agent":{', `"agent":{"x":1,"hints":${hintsText},`)],
    ['hints text that is not JSON on its own', first.replace(/,"hints":\[/, ',"hints":[1,"peers":[],"q":[')],
    ['no peers after the hints', JSON.stringify({ ...doc, peers: undefined })],
    ['peers before hints', JSON.stringify({ peers: doc.peers, ...doc })],
    ['not JSON', first.slice(0, -1)],
  ];
  for (const [what, text] of cases)
    t.same(
      outcome(() => parseReport(text, previous, TOKEN)),
      outcome(() => parseReport(text, previous)),
      what,
    );
  t.match(
    outcome(() => parseReport(first.replace(/}$/, ',"hints":"x"}'), previous, TOKEN)),
    /^hints \| hints: must be a list/,
    'the last hints key is the one checked',
  );
  t.match(
    outcome(() => parseReport(first.slice(0, -1), previous, TOKEN)),
    /^\(body\) \| \(body\): is not JSON/,
  );
});

t.test(
  "a report's bytes, the interfaces and hints set aside: the same answer as parsing its text, and the previous lists when their bytes are the same",
  async (t) => {
    const TOKEN = 'netbeacon-hints-test-placeholder';
    const outcome = (f: () => unknown): unknown => {
      try {
        return f();
      } catch (err) {
        if (err instanceof ReportError) return `${err.field} | ${err.message}`;
        throw err;
      }
    };
    const first = JSON.stringify(good());
    let held = parseReportBytes(Buffer.from(first), () => undefined, TOKEN);
    const previous = (host: string): ReturnType<typeof checkReport> | undefined => (host === 'rack1' ? held : undefined);
    t.same(held, checkReport(JSON.parse(first)), 'a first report: as checkReport of the whole');
    const again = first.replace('"seq":1', '"seq":2');
    // What is parsed: only the rest, never the lists it knows.
    const parsedTexts: string[] = [];
    const jsonParse = JSON.parse;
    JSON.parse = (text: string, reviver?: (this: unknown, key: string, value: unknown) => unknown): unknown => (
      parsedTexts.push(text),
      jsonParse(text, reviver)
    );
    let next;
    try {
      next = parseReportBytes(Buffer.from(again), previous, TOKEN);
    } finally {
      JSON.parse = jsonParse;
    }
    t.same(
      parsedTexts.map((text) => [text.includes('"eth0","mac"'), text.includes('on_remote_network'), text.includes('"seq":2')]),
      [[false, false, true]],
      'one text parsed: neither the interfaces nor the hints',
    );
    t.equal(next.interfaces, held.interfaces, 'the same interfaces bytes: the previous list');
    t.equal(next.hints, held.hints, 'the same hints bytes: the previous list');
    t.equal(next.seq, 2, 'the rest parsed anew');
    t.same(next, checkReport(JSON.parse(again)));
    held = next;
    const doc = good();
    const interfaces = doc.interfaces as Array<Record<string, unknown>>;
    const moved = JSON.stringify({ ...doc, seq: 3, interfaces: [...interfaces, { ...interfaces[0], name: 'eth1' }] });
    const third = parseReportBytes(Buffer.from(moved), previous, TOKEN);
    t.not(third.interfaces, held.interfaces, 'other interfaces bytes: parsed and checked');
    t.same(third.interfaces, checkReport(JSON.parse(moved)).interfaces);
    t.equal(third.hints, held.hints, 'the hints still the previous list');
    // A list the text path parsed is known here by its bytes too.
    held = parseReport(first, previous, TOKEN);
    t.equal(parseReportBytes(Buffer.from(again), previous, TOKEN).hints, held.hints, 'hints the text path parsed: known by their bytes');

    const ifText = JSON.stringify(doc.interfaces);
    const at = first.indexOf('"agent":{') + 20;
    const cases: Array<[string, Buffer]> = [
      ['changed interfaces', Buffer.from(JSON.stringify({ ...doc, interfaces: [{ name: 'eth9', mac: null, mtu: 1500 }] }))],
      ['a wrong interface is named', Buffer.from(JSON.stringify({ ...doc, interfaces: [{ name: 'eth9', mac: null, mtu: -1 }] }))],
      ['a wrong hint is named', Buffer.from(JSON.stringify({ ...doc, hints: [{ hint: 'nope', ifname: 'eth0' }] }))],
      ['a later duplicate interfaces key wins', Buffer.from(first.replace(/}$/, ',"interfaces":"x"}'))],
      ['a later duplicate hints key wins', Buffer.from(first.replace(/}$/, ',"hints":"x"}'))],
      ['a later peers key', Buffer.from(first.replace(/}$/, ',"peers":[{"interface":"eth0"}]}'))],
      ['the keys nested in agent', Buffer.from(first.replace('"agent":{', '"agent":{"x":1,"interfaces":[],"hints":[],"peers":[],'))],
      ['the same interfaces text nested in agent', Buffer.from(first.replace('"agent":{', `"agent":{"x":1,"interfaces":${ifText},`))],
      ['interfaces text that is not JSON on its own', Buffer.from(first.replace(/,"interfaces":\[/, ',"interfaces":[1,"hints":[],"q":['))],
      ['interfaces after the hints', Buffer.from(JSON.stringify({ ...doc, interfaces: undefined, more: doc.interfaces }).replace('"more"', '"interfaces"'))],
      ['no peers', Buffer.from(JSON.stringify({ ...doc, peers: undefined }))],
      [
        'UTF-8 beyond ASCII',
        Buffer.from(JSON.stringify({ ...doc, agent: { version: 'v\u00e9\u{1f600}', engine: 'js' }, interfaces: [{ ...interfaces[0], type: '\u00fc' }] })),
      ],
      ['bytes that are not UTF-8', Buffer.concat([Buffer.from(first.slice(0, at)), Buffer.from([0xff, 0xc3]), Buffer.from(first.slice(at))])],
      ['not JSON', Buffer.from(first.slice(0, -1))],
    ];
    for (const [what, bytes] of cases)
      t.same(
        outcome(() => parseReportBytes(bytes, previous, TOKEN)),
        outcome(() => parseReport(bytes.toString('utf8'), previous)),
        what,
      );
    t.match(
      outcome(() => parseReportBytes(Buffer.from(first.replace(/}$/, ',"interfaces":"x"}')), previous, TOKEN)),
      /^interfaces \| interfaces: must be a list/,
      'the last interfaces key is the one checked',
    );
  },
);

t.test('every wrong field is named', async (t) => {
  const cases: Array<[string, (d: Record<string, unknown>) => void, RegExp]> = [
    ['version', (d) => (d.version = 2), /^version \| version: must be 1/],
    ['host', (d) => (d.host = 'bad host'), /^host \| .*must be a host name/],
    ['host empty', (d) => (d.host = ''), /^host \| .*non-empty string/],
    ['seq', (d) => (d.seq = -1), /^seq \| .*integer from 0/],
    ['time', (d) => (d.time = 'now'), /^time \| .*must be a number/],
    ['period', (d) => (d.period_seconds = 0.5), /^period_seconds \|/],
    ['instance', (d) => (d.instance = 'x'.repeat(65)), /^instance \| .*at most 64 characters/],
    ['interfaces', (d) => (d.interfaces = {}), /^interfaces \| .*must be a list, got a mapping/],
    ['interface', (d) => (d.interfaces = [3]), /^interfaces\[0\] \| .*must be an object, got 3/],
    ['ifname long', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.name = 'x'.repeat(16)), /^interfaces\[0\]\.name \| .*at most 15 bytes/],
    ['ifname bytes', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.name = 'é'.repeat(8)), /^interfaces\[0\]\.name \| .*at most 15 bytes/],
    ['ifname slash', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.name = 'a/b'), /^interfaces\[0\]\.name \| .*slash/],
    ['ifname nul', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.name = 'a\u0000'), /^interfaces\[0\]\.name \| .*NUL/],
    ['mac', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.mac = '52:54:00:0a:00:0g'), /^interfaces\[0\]\.mac \| .*MAC address/],
    ['mac sep', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.mac = '52-54-00-0a-00-01'), /^interfaces\[0\]\.mac \|/],
    ['address', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.addresses = [1]), /^interfaces\[0\]\.addresses\[0\] \|/],
    ['vids', (d) => ((d.interfaces as Array<Record<string, unknown>>)[0]!.vids = [1, 4096]), /^interfaces\[0\]\.vids\[1\] \| .*0 to 4095/],
    ['dup', (d) => (d.interfaces = [iface('eth0', null), iface('eth0', null)]), /^interfaces\[1\]\.name \| .*unique/],
    ['hint kind', (d) => ((d.hints as Array<Record<string, unknown>>)[0]!.hint = 'guess'), /^hints\[0\]\.hint \| .*one of on_remote_network/],
    ['hint vid', (d) => ((d.hints as Array<Record<string, unknown>>)[0]!.related_vid = 1.5), /^hints\[0\]\.related_vid \|/],
    ['hint mac', (d) => ((d.hints as Array<Record<string, unknown>>)[0]!.related_mac = 7), /^hints\[0\]\.related_mac \|/],
    ['peer', (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.last_seen = -1), /^peers\[0\]\.last_seen \|/],
    [
      'peer formats',
      (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.formats = ['v3', 'v4']),
      /^peers\[0\]\.formats\[1\] \| .*"v2" or "v3", once each, got "v4"/,
    ],
    ['peer formats twice', (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.formats = ['v3', 'v3']), /^peers\[0\]\.formats\[1\] \| .*once each/],
    ['peer formats list', (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.formats = 'v3'), /^peers\[0\]\.formats \| .*must be a list/],
    [
      'peer key id',
      (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.key_id = '3F483D41'),
      /^peers\[0\]\.key_id \| .*v3 key id \(8 lower-case hex digits\)/,
    ],
    ['peer key id type', (d) => ((d.peers as Array<Record<string, unknown>>)[0]!.key_id = 7), /^peers\[0\]\.key_id \| .*got 7/],
    ['counter', (d) => (d.counters = { sent: 'many' }), /^counters\.sent \|/],
    ['counters', (d) => (d.counters = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 1]))), /^counters \| .*at most 64 keys/],
    ['agent', (d) => (d.agent = 'x'), /^agent \| .*must be an object/],
    ['hints many', (d) => (d.hints = { length: 1 }), /^hints \|/],
  ];
  for (const [what, change, want] of cases) {
    const d = good();
    change(d);
    t.match(fieldOf(d), want, what);
  }
  const many = good();
  many.peers = Array.from({ length: REPORT_LIMITS.peers + 1 }, () => ({}));
  t.match(fieldOf(many), /^peers \| .*at most 10000 entries, has 10001/);
  t.match(fieldOf(null), /^\(top level\) \| .*must be an object/);
  t.throws(() => parseReport('{'), { field: '(body)', message: /is not JSON/ });
});

t.test('buildReport: the VIDs heard per interface, and what a service would refuse left out', async (t) => {
  const eth0: HostInterface = {
    name: 'eth0',
    ifindex: 2,
    mac: '52:54:00:0a:00:01',
    mtu: 9000,
    type: 'physical',
    parents: [],
    up: true,
    loopback: false,
    addresses: [{ family: 6, address: 'fe80::1', prefixlen: 64, scope: 'link' }],
  };
  const vlan: HostInterface = { ...eth0, name: 'eth0.5', type: 'vlan', vid: 5, parents: ['eth0'] };
  const r = buildReport({
    host: 'rack1',
    seq: 9,
    instance: 'i',
    timeMs: 1_795_000_000_500,
    periodSeconds: 30,
    agent: { version: '0.1.0', engine: 'native' },
    interfaces: [eth0, vlan],
    hints: [
      { hint: 'on_remote_network', ifname: 'eth0', vid: 20, related_ifname: 'p', related_mac: '52:54:00:0b:00:01' },
      { hint: 'same_local_fabric_as', ifname: 'eth0', vid: 10, related_ifname: 'eth0.5', related_vid: 30 },
      { hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'p', related_mac: 'weird' },
    ],
    peers: [{ interface: 'eth0', vid: 40, mac: '52:54:00:0b:00:01', name: 'p', last_seen: 1 }],
    counters: { sent: 1 },
  });
  t.same(r.interfaces[0], { name: 'eth0', mac: '52:54:00:0a:00:01', mtu: 9000, type: 'physical', addresses: ['fe80::1/64'], vids: [10, 20, 40] });
  t.same(r.interfaces[1]!.vids, [30]);
  t.equal(r.interfaces[1]!.vid, 5);
  t.equal(r.hints.length, 2, 'the hint with an odd MAC is left out');
  t.same(r.counters, { sent: 1, not_reported: 1 });
  t.equal(r.time, 1_795_000_000.5);
  t.equal(checkReport(JSON.parse(JSON.stringify(r))).host, 'rack1', 'what it builds, a service accepts');
});

t.test('the fleet key: derived from the secret, apart from the beacon key; signatures verify only with it', async (t) => {
  const secret = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const key = deriveFleetKey(secret);
  t.equal(key.length, 32);
  const beacon = deriveKey(secret);
  t.notSame(Buffer.from(key.subarray(0, 16)), Buffer.from(beacon.signing), 'not the beacon signing key');
  t.same(deriveFleetKey(secret), key, 'the same secret, the same key');
  const body = '{"version":1}';
  const sig = signReport(key, body);
  t.match(sig, /^hmac-sha256=[0-9a-f]{64}$/);
  t.ok(verifyReport(key, Buffer.from(body), sig));
  t.notOk(verifyReport(key, body + ' ', sig), 'another body');
  t.notOk(verifyReport(deriveFleetKey(Buffer.from('01', 'hex')), body, sig), 'another key');
  t.notOk(verifyReport(key, body, undefined));
  t.notOk(verifyReport(key, body, sig.replace('hmac-sha256=', 'hmac-sha1=')));
  t.notOk(verifyReport(key, body, `hmac-sha256=${'zz'.repeat(32)}`), 'not hex');
  t.throws(() => deriveFleetKey(new Uint8Array(0)), RangeError);
});
