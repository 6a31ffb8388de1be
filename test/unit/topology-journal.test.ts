import t from 'tap';
import { readFileSync } from 'node:fs';
import { JournalError, parseJournalLine, type JournalRecord } from '../../src/topology/journal';
import { JournalReplay, MAX_REPORTED_EVENTS } from '../../src/topology/replay';
import { renderReplaySummary } from '../../src/topology/render';
import { NetbeaconError } from '../../src/errors';
import { T0, ulidAt } from '../helpers/agent';
import { vector } from '../helpers/corpus';

const where = { source: 'j.jsonl', line: 7 };
const REFERENCE_LINES = readFileSync(vector('journal.jsonl'), 'utf8').trimEnd().split('\n');

const TX = {
  direction: 'tx',
  interface: 'eth0',
  time: 1795000000.01,
  destination_ip: '224.0.0.118',
  destination_port: 5240,
  version: 2,
  type: 'solicitation',
  payload: { ulid: ulidAt(T0), type: 1 },
};
const RX = {
  direction: 'rx',
  interface: 'eth1',
  time: 1795000000,
  source_mac: 'x',
  source_ip: '10.0.0.9',
  source_port: 5240,
  destination_ip: '224.0.0.118',
  destination_port: 5240,
  version: 2,
  type: 'solicitation',
  payload: { ulid: ulidAt(T0), type: 1 },
};
const line = (o: object): string => JSON.stringify(o);

t.test('the reference journal parses, line by line', async (t) => {
  const records = REFERENCE_LINES.map((l, i) => parseJournalLine(l, { source: 'journal.jsonl', line: i + 1 })!);
  t.same(
    records.map((r) => r.direction),
    ['tx', 'rx', 'rx', 'rx', 'rx', 'rx', 'rx', 'rx'],
  );
  const tx = records[0]!;
  t.equal(tx.direction, 'tx');
  if (tx.direction === 'tx') {
    t.equal(tx.ulid, '01M7Q5CQGAEKPM9DNJ7H5JZP4F', 'the ULID lifted out of the payload');
    t.equal(tx.interface, 'eth0');
    t.equal(tx.destination_port, 5240);
  }
  const tagged = records[6]! as Extract<JournalRecord, { direction: 'rx' }>;
  t.equal(tagged.vid, 42);
  t.equal(tagged.source_ip, '10.0.0.9');
  t.notOk('vid' in records[1]!, 'untagged: no vid key');
  t.equal(records[7]!.version, 1, 'a version-1 beacon is a valid line; correlation drops it');
});

t.test('blank lines are skipped; vid null is untagged; extra keys are ignored', async (t) => {
  t.equal(parseJournalLine('', where), undefined);
  t.equal(parseJournalLine('  \r', where), undefined);
  const r = parseJournalLine(line({ ...RX, vid: null, extra: [1] }), where)!;
  t.notOk('vid' in r);
  t.notOk('extra' in r);
  t.equal(parseJournalLine(line({ ...RX, payload: null }), where)!.direction, 'rx', 'no payload is a valid observation');
  t.equal(parseJournalLine(line({ ...RX, vid: 0 }), where)!.vid, 0);
});

t.test('a bad line is a JournalError naming the file and line', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['{"direction": "tx",', /^j\.jsonl:7: not JSON \(/],
    ['[1, 2]', /^j\.jsonl:7: not a JSON object$/],
    ['null', /not a JSON object/],
    [line({ ...RX, direction: 'up' }), /"direction" must be "tx" or "rx", not "up"/],
    [line({ ...RX, direction: undefined }), /"direction" must be "tx" or "rx", not nothing/],
    [line({ ...RX, interface: '' }), /"interface" must be a non-empty string, not ""/],
    [line({ ...RX, interface: undefined }), /"interface" must be a non-empty string, not nothing/],
    [line({ ...RX, time: '1795000000' }), /"time" must be a number, not "1795000000"/],
    [line({ ...RX, version: 2.5 }), /"version" must be an integer from 0 to 255, not 2\.5/],
    [line({ ...RX, type: 3 }), /"type" must be "solicitation" or "advertisement", not 3/],
    [line({ ...RX, vid: 4096 }), /"vid" must be an integer from 0 to 4095, not 4096/],
    [line({ ...RX, source_port: 70000 }), /"source_port" must be an integer from 0 to 65535/],
    [line({ ...RX, source_ip: undefined }), /"source_ip" must be a non-empty string/],
    [line({ ...RX, payload: 'abc' }), /"payload" must be an object or null/],
    [line({ ...RX, payload: undefined }), /"payload" must be an object or null/],
    [line({ ...TX, payload: null }), /"payload" of a sent beacon must be an object/],
    [line({ ...TX, payload: { ulid: 'x'.repeat(100) } }), /"payload\.ulid" of a sent beacon must be a ULID, not "x{56}\.\.\.$/],
    [line({ ...TX, payload: {} }), /"payload\.ulid" of a sent beacon must be a ULID, not nothing/],
    [line({ ...TX, destination_port: -1 }), /"destination_port" must be an integer/],
    [line({ ...TX, destination_ip: 5 }), /"destination_ip" must be a non-empty string, not 5/],
    [line({ ...RX, version: 3, key_id: '3F483D41' }), /"key_id" must be 8 lower-case hex digits, not "3F483D41"/],
    [line({ ...RX, version: 3, key_id: 1061690689 }), /"key_id" must be 8 lower-case hex digits, not 1061690689/],
    [line({ ...RX, version: 3, key_id: '3f483d4' }), /"key_id" must be 8 lower-case hex digits/],
    [line({ ...RX, key_id: '3f483d41' }), /"key_id" is only for version 3 beacons, not version 2/],
  ];
  for (const [text, message] of cases) {
    const err = t.throws(() => parseJournalLine(text, where), message.source) as JournalError;
    t.type(err, JournalError);
    t.type(err, NetbeaconError);
    t.equal(err.code, 'E_JOURNAL_FORMAT');
    t.equal(err.exitCode, 3);
    t.match(err.message, message);
    t.match(err.message, /^j\.jsonl:7: /);
  }
});

t.test('a v3 reception carries its key id; journals without one still parse', async (t) => {
  const v3 = parseJournalLine(line({ ...RX, version: 3, key_id: '3f483d41' }), where)!;
  t.equal(v3.direction === 'rx' && v3.key_id, '3f483d41');
  const old = parseJournalLine(line({ ...RX, version: 3 }), where)!;
  t.notOk('key_id' in old, 'an older agent wrote no key id: none is made up');
  t.notOk('key_id' in parseJournalLine(line(RX), where)!, 'v2: no key id');
});

t.test('replay keys v3 receptions by (key id, ULID), as the agent does', async (t) => {
  const u = ulidAt(T0, 3);
  const v3 = (keyId: string | undefined, n: number) => ({
    ...RX,
    version: 3,
    time: T0 / 1000,
    payload: { ulid: u, type: 1, remote: { name: 'p0', mac_address: '52:54:00:00:00:0' + n } },
    ...(keyId !== undefined && { key_id: keyId }),
  });
  const replay = new JournalReplay();
  replay.feed(parseJournalLine(line(v3('3f483d41', 1)), where)!, 1);
  replay.feed(parseJournalLine(line(v3('0a0b0c0d', 2)), where)!, 2);
  replay.feed(parseJournalLine(line(v3('3f483d41', 3)), where)!, 3);
  const s = replay.summary();
  t.equal(s.correlation.replays, 1, 'the same key id and ULID on the same segment: a replay');
  t.same(
    s.events.map((e) => e.line),
    [3],
  );
  // Without key ids (an older agent's journal) the same lines are keyed by ULID alone, as before.
  const old = new JournalReplay();
  for (const n of [1, 2, 3]) old.feed(parseJournalLine(line(v3(undefined, n)), where)!, n);
  t.equal(old.summary().correlation.replays, 2);
});

t.test('JournalReplay runs records through the core with their own time', async (t) => {
  const replay = new JournalReplay();
  REFERENCE_LINES.forEach((l, i) => replay.feed(parseJournalLine(l, { source: 'j', line: i + 1 })!, i + 1));
  t.same(replay.hints(), JSON.parse(readFileSync(vector('hints.json'), 'utf8')));
  const s = replay.summary();
  t.equal(s.transmitted, 1);
  t.equal(s.received, 7);
  t.equal(s.replies, 3, 'ens3 on eth0 and eth2, ens5.42 on eth0 VID 42');
  t.same(s.events, [{ line: 8, event: { kind: 'dropped', reason: 'old_version', segment: { ifname: 'eth1' }, ulid: '01M7Q5CQK4TDSZ6D8WWC3VB7SS' } }]);
  t.equal(s.eventsOmitted, 0);
  t.equal(s.correlation.own, 2);
  t.equal(s.correlation.duplicates, 1);
});

t.test('the replay keeps the first events and counts the rest', async (t) => {
  const replay = new JournalReplay();
  for (let i = 0; i < MAX_REPORTED_EVENTS + 5; i++) replay.feed(parseJournalLine(line({ ...RX, version: 1 }), where)!, i + 1);
  const s = replay.summary();
  t.equal(s.events.length, MAX_REPORTED_EVENTS);
  t.equal(s.eventsOmitted, 5);
  t.equal(s.events[0]!.line, 1);
});

t.test('the summary says what happened, with line numbers', async (t) => {
  const replay = new JournalReplay({ rxCapacity: 1, maxHints: 1 });
  const u = ulidAt(T0, 1);
  const rec = (o: object, n: number): void => replay.feed(parseJournalLine(line(o), where)!, n);
  rec({ ...TX, payload: { ulid: u, type: 1 }, time: T0 / 1000 }, 1);
  rec({ ...RX, payload: { ulid: u, type: 1 }, time: T0 / 1000 }, 2);
  rec({ ...RX, payload: { ulid: u, type: 1 }, time: T0 / 1000 }, 3);
  rec({ ...RX, vid: 9, payload: { ulid: ulidAt(T0 - 200_000), type: 1 }, time: T0 / 1000 }, 4);
  rec({ ...RX, payload: { type: 1 }, time: T0 / 1000 }, 5);
  rec({ ...RX, payload: { ulid: ulidAt(T0 + 1, 2), type: 1, remote: { name: 'p', mac_address: 'm' } }, time: T0 / 1000 }, 6);
  const text = renderReplaySummary('j.jsonl', replay.summary());
  t.equal(
    text,
    [
      'j.jsonl: 1 sent, 5 received (1 own, 0 duplicate, 1 new, 1 replayed, 2 dropped); 1 hint; 1 reply would have been sent',
      'dropped: 1 no_ulid, 1 expired',
      'queues full: 0 sent and 1 received beacons forgotten early',
      'hint set full: 1 hint not kept',
      `j.jsonl:3: replay of own beacon ${u} on eth1: already received there, ignored`,
      `j.jsonl:4: dropped ${ulidAt(T0 - 200_000)} on eth1 vid 9: ULID older than the TTL (120 s) the queues and hints remember`,
      'j.jsonl:5: dropped on eth1: no ULID in the payload',
      '',
    ].join('\n'),
  );
  const many = new JournalReplay({ maxSegmentsPerBeacon: 1 });
  many.feed(parseJournalLine(line({ ...RX, interface: 'a' }), where)!, 1);
  many.feed(parseJournalLine(line({ ...RX, interface: 'b' }), where)!, 2);
  for (let i = 0; i < MAX_REPORTED_EVENTS; i++) many.feed(parseJournalLine(line({ ...RX, interface: 'a' }), where)!, 3);
  const manyText = renderReplaySummary('m', many.summary());
  t.match(manyText, /^m:2: dropped \S+ on b: received on too many segments$/m);
  t.match(manyText, /^\.\.\. and 1 more event$/m);
  t.match(manyText, /; 0 hints; 1 reply would have been sent$/m);
});
