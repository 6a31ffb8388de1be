/**
 * bsonToJson against bson and JSON.stringify: whenever it writes a
 * document, the bytes are exactly Buffer.from(JSON.stringify(
 * bson.deserialize(doc))) and payloadType is the document's `type`; and it
 * takes the beacon shapes (declining everything would satisfy the first
 * rule too). Then observedLines, whose fast lines must be the object path's
 * lines byte for byte, VLAN tags and interface names included.
 */
import t from 'tap';
import fc from 'fast-check';
import { Long, deserialize, serialize } from 'bson';
import { bsonToJson, payloadType } from '../../src/engine/bson-json';
import { BSON_OPTIONS } from '../../src/engine/decode';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { newStats, observedLines } from '../../src/engine/pipeline';
import type { CapturedPacket } from '../../src/protocol/packet';
import { encodeBeacon } from '../../src/protocol/beacon';
import { fernetEncrypt, keyObjects } from '../../src/protocol/fernet';
import { writeHeader } from '../../src/protocol/header';
import { gzipSync } from 'node:zlib';
import { corpusKey } from '../helpers/corpus';

const SEED = 0x2026_1125;

/** '' when bsonToJson agrees with JSON.stringify(deserialize()) or declines; what differs otherwise. */
function check(bytes: Uint8Array): { accepted: boolean; problem: string } {
  const out = Buffer.alloc(bytes.length * 4 + 64, 0xee);
  const padded = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([4])]);
  const end = bsonToJson(padded, 3, 3 + bytes.length, out, 5);
  if (end < 0) return { accepted: false, problem: '' };
  let doc: Record<string, unknown>;
  try {
    doc = deserialize(bytes, BSON_OPTIONS);
  } catch {
    return { accepted: true, problem: `accepted what bson rejects: ${Buffer.from(bytes).toString('hex')}` };
  }
  const want = JSON.stringify(doc);
  const got = out.subarray(5, end).toString('utf8');
  if (got !== want) return { accepted: true, problem: `${got} !== ${want}` };
  const type = typeof doc.type === 'number' ? doc.type : Number.NaN;
  if (!Object.is(type, payloadType) && !(Number.isNaN(type) && Number.isNaN(payloadType)))
    return { accepted: true, problem: `payloadType ${payloadType}, doc.type ${String(doc.type)}` };
  return { accepted: true, problem: '' };
}

const asciiKey = fc
  .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_-'.split('')), minLength: 1, maxLength: 10 })
  .filter((k) => k !== '__proto__');
const printable = fc.string({ unit: fc.constantFrom(...' !#$%&()*+,./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~'.split('')), maxLength: 40 });
const leaf = fc.oneof(
  printable,
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.maxSafeInteger().map((n) => Long.fromNumber(n)),
);
const { doc } = fc.letrec<{ doc: Record<string, unknown>; value: unknown }>((tie) => ({
  value: fc.oneof({ maxDepth: 4 }, leaf, fc.array(tie('value'), { maxLength: 5 }), tie('doc')),
  doc: fc.dictionary(asciiKey, tie('value'), { maxKeys: 6 }),
}));
const anyKey = fc.oneof(asciiKey, fc.string({ maxLength: 5 }), fc.constantFrom('type', '0', '7', '12', '__proto__', '$ref', '$id', 'a"b', 'a\\b'));
const anyLeaf = fc.oneof(
  leaf,
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.date({ noInvalidDate: true }),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((n) => Long.fromBigInt(n)),
);
const { anyDoc } = fc.letrec<{ anyDoc: Record<string, unknown>; anyValue: unknown }>((tie) => ({
  anyValue: fc.oneof({ maxDepth: 3 }, anyLeaf, fc.array(tie('anyValue'), { maxLength: 4 }), tie('anyDoc')),
  anyDoc: fc.dictionary(anyKey, tie('anyValue'), { maxKeys: 6 }),
}));

t.test('documents of the beacon shapes are all taken, byte for byte JSON.stringify', (t) => {
  fc.assert(
    fc.property(doc, fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 3 }), fc.double(), printable), (d, type) => {
      const r = check(serialize(type === undefined ? d : { ...d, type }));
      return r.accepted && r.problem === '';
    }),
    { seed: SEED, numRuns: 3000 },
  );
  t.pass('3000 documents');
  t.end();
});

t.test('documents of every kind: whatever is taken is exact', (t) => {
  let accepted = 0;
  fc.assert(
    fc.property(anyDoc, (d) => {
      const r = check(serialize(d));
      if (r.accepted) accepted++;
      return r.problem === '';
    }),
    { seed: SEED, numRuns: 3000 },
  );
  t.ok(accepted > 200 && accepted < 3000, `some taken, some declined (${accepted} of 3000)`);
  t.end();
});

t.test('mutated documents: never output bson would not give', (t) => {
  const seeds = fc.sample(doc, { seed: SEED, numRuns: 100 }).map((d) => serialize(d));
  let problems = 0;
  let x = SEED;
  const rand = (n: number): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  for (let n = 0; n < 30_000; n++) {
    const b = new Uint8Array(seeds[n % seeds.length]!);
    const at = rand(b.length);
    b[at] = rand(3) === 0 ? rand(256) : b[at]! ^ (1 << rand(8));
    const r = check(rand(4) === 0 ? b.subarray(0, rand(b.length)) : b);
    if (r.problem && problems++ < 5) t.fail(r.problem);
  }
  t.equal(problems, 0, '30000 mutations, no disagreement');
  t.end();
});

t.test('what a JS object would print differently is declined', (t) => {
  const declined = (bytes: Uint8Array, what: string): void => {
    t.equal(bsonToJson(bytes, 0, bytes.length, Buffer.alloc(4096), 0), -1, what);
  };
  declined(serialize({ b: 1, '1': 2 }), 'an array-index key (objects print those first)');
  const dup = Buffer.from(serialize({ a: 1, b: 2 }));
  dup[dup.indexOf(0x62, 4)] = 0x61; // key "b" -> "a"
  declined(dup, 'a repeated key');
  t.equal(JSON.stringify(deserialize(dup)), '{"a":2}', '(the object keeps one, with the last value)');
  declined(serialize({ s: 'a"b' }), 'a string JSON escapes');
  declined(serialize({ s: 'tab\there' }), 'a control character');
  declined(serialize({ s: 'é' }), 'non-ASCII (left to the object path)');
  declined(serialize({ d: new Date(0) }), 'a date');
  t.ok(bsonToJson(serialize({ n: Number.NaN }), 0, serialize({ n: Number.NaN }).length, Buffer.alloc(64), 0) > 0, 'NaN is taken');
  t.same(check(serialize({ n: Number.NaN, i: -Infinity, z: -0 })), { accepted: true, problem: '' }, 'and printed as JSON.stringify does (null, null, 0)');
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]));
  declined(serialize(many), 'more than 64 keys in one document');
  t.same(check(serialize(Object.fromEntries(Object.entries(many).slice(0, 64)))), { accepted: true, problem: '' }, '64 are taken');
  const small = serialize({ s: 'x'.repeat(50) });
  t.equal(bsonToJson(small, 0, small.length, Buffer.alloc(30), 0), -1, 'output that does not fit is declined, not overrun');
  t.end();
});

t.test("observedLines: the fast lines are the object path's lines", (t) => {
  const key = corpusKey();
  const keys = keyObjects(key);
  const verifier = new JsBatchVerifier(key);
  const nowMs = 1_795_000_000_000;
  const frame = (payload: Buffer, vlan?: number[]): Uint8Array => {
    // Ethernet (+ tags) / IPv4 / UDP 5240, checksums left zero (parseFrame does not check them).
    const tags = (vlan ?? []).flatMap((vid, i) => [
      i === 0 && vlan!.length === 2 ? 0x88 : 0x81,
      i === 0 && vlan!.length === 2 ? 0xa8 : 0x00,
      vid >> 8,
      vid & 0xff,
    ]);
    const eth = Buffer.from([1, 0, 0x5e, 0, 0, 0x76, 0x52, 0x54, 0, 0, 0, 1, ...tags, 0x08, 0x00]);
    const ip = Buffer.from([0x45, 0, 0, 0, 0, 0, 0x40, 0, 1, 17, 0, 0, 10, 0, 0, 1, 224, 0, 0, 118]);
    ip.writeUInt16BE(20 + 8 + payload.length, 2);
    const udp = Buffer.from([0x14, 0x78, 0x14, 0x78, 0, 0, 0, 0]);
    udp.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([eth, ip, udp, payload]);
  };
  const payloads: Array<Record<string, unknown>> = [
    { remote: { name: 'eth0', mac_address: '52:54:00:00:00:01', type: 'physical', parents: [], subnet: '10.0.0.0/24' } },
    { remote: { name: 'tab\there' } }, // escaped: the object path
    { remote: { name: 'é' }, n: 1.5, big: Long.fromBigInt(2n ** 60n) }, // non-ASCII, a double, a Long: the object path
    { '1': 'index key first', a: 2 },
  ];
  const packets: CapturedPacket[] = [];
  const variants: Array<{ vlan?: number[]; iface?: string; type: 'solicitation' | 'advertisement' }> = [
    { type: 'solicitation' },
    { type: 'advertisement', vlan: [10] },
    { type: 'solicitation', vlan: [100, 20], iface: 'eth"0' },
    { type: 'advertisement', iface: 'br-ü' },
  ];
  for (const p of payloads) {
    for (const v of variants) {
      const { bytes } = encodeBeacon(keys, v.type, p, { nowMs });
      packets.push({ time: nowMs / 1000 + 0.5, data: frame(bytes, v.vlan), wireLength: 0, ...(v.iface !== undefined && { interface: v.iface }) });
    }
  }
  // And one whose inner type is not 1 or 2, and one that is not a beacon.
  const token = fernetEncrypt(keys, gzipSync(serialize({ ulid: 'x', type: 7 })), nowMs / 1000);
  const bad = Buffer.alloc(4 + token.length);
  writeHeader(bad, 2, 1, token.length);
  token.copy(bad, 4);
  packets.push({ time: nowMs / 1000, data: frame(bad), wireLength: 0 });
  packets.push({ time: nowMs / 1000, data: Buffer.alloc(60), wireLength: 60 });

  const stats = newStats();
  const lines = observedLines(packets, verifier, stats).toString('utf8').split('\n');
  t.equal(lines.pop(), '', 'ends with a newline');
  t.equal(lines.length, payloads.length * variants.length, 'one line per valid beacon');
  t.same({ valid: stats.valid, notBeacon: stats.notBeacon, type: stats.rejected.type }, { valid: 16, notBeacon: 1, type: 1 }, 'counters');
  // The reference: the object path, line by line.
  const slowStats = newStats();
  const reference: string[] = [];
  for (const p of packets) {
    const one = observedLines([p], verifier, slowStats).toString('utf8');
    reference.push(...one.split('\n').filter(Boolean));
  }
  t.same(lines, reference, 'batching does not change a line');
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(
    Object.keys(parsed[0]!),
    ['source_mac', 'destination_mac', 'source_ip', 'destination_ip', 'source_port', 'destination_port', 'time', 'version', 'type', 'payload'],
    "MAAS's keys, in order",
  );
  t.same(Object.keys(parsed[2]!).slice(-3), ['vid', 'outer_vid', 'interface'], 'vid, outer_vid and interface after payload');
  t.same([parsed[2]!.vid, parsed[2]!.outer_vid, parsed[2]!.interface], [20, 100, 'eth"0'], 'their values');
  t.equal(parsed[3]!.interface, 'br-ü', 'a non-ASCII interface name survives');
  t.same(
    parsed[4]!.payload,
    { remote: { name: 'tab\there' }, ulid: (parsed[4]!.payload as { ulid: string }).ulid, type: 1 },
    'escaped strings through the object path',
  );
  t.same(
    (parsed[8]!.payload as { big: unknown }).big,
    JSON.parse(JSON.stringify(Long.fromBigInt(2n ** 60n))),
    'a Long through the object path, as JSON.stringify prints it',
  );
  t.same(Object.keys(parsed[12]!.payload as object).slice(0, 2), ['1', 'a'], 'index keys ordered as an object orders them');
  t.end();
});
