/** The batch record layout is written twice (native/capture.h, src/capture/record.ts): they must agree. */
import t from 'tap';
import { loadBinding } from '../../src/engine/binding';
import { cachedIpv4, cachedMac, decodeRecords, RecordBatch, RECORD } from '../../src/capture/record';
import { formatIpv4, formatMac } from '../../src/protocol/frame';
import { prng } from '../helpers/prng';
import { REASON_CODE } from '../../src/protocol/reasons';
import { serialize } from 'bson';

const state = loadBinding();

t.test('captureRecordLayout() matches RECORD', { skip: state.ok ? false : `native addon not available` }, async (t) => {
  if (!state.ok) return;
  const layout = (state.binding.captureRecordLayout as () => Record<string, number>)();
  t.same(layout, { ...RECORD });
});

t.test('decodeRecords reads a hand-written batch', async (t) => {
  const records = new Uint8Array(RECORD.size * 2);
  const v = new DataView(records.buffer);
  const bson = serialize({ ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ', type: 2 });
  const plain = new Uint8Array(1000);
  plain.set(bson, 0);
  // 0: authentic IPv6 advertisement, QinQ; 1: rejected IPv4 ('mac').
  v.setUint32(0 + RECORD.ifindex, 7, true);
  v.setUint32(0 + RECORD.sec, 1795000000, true);
  v.setUint32(0 + RECORD.nsec, 500_000_000, true);
  records[RECORD.version] = 2;
  records[RECORD.headerType] = 1;
  records[RECORD.flags] = RECORD.flagVid | RECORD.flagOuterVid | RECORD.flagIpv6 | RECORD.flagStripped;
  v.setUint16(RECORD.vid, 42, true);
  v.setUint16(RECORD.outerVid, 100, true);
  v.setUint16(RECORD.srcPort, 5240, true);
  v.setUint16(RECORD.dstPort, 5240, true);
  records.set([0x52, 0x54, 0, 0x0a, 0, 1], RECORD.srcMac);
  records.set([0x33, 0x33, 0, 0, 1, 0x5a], RECORD.dstMac);
  records.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], RECORD.srcIp);
  records.set([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x5a], RECORD.dstIp);
  v.setUint32(RECORD.plainLength, bson.length, true);
  v.setUint16(RECORD.payloadLength, 300, true);
  v.setUint16(RECORD.payloadOffset, 14 + 4 + 40 + 8, true);
  const r1 = RECORD.size;
  v.setUint32(r1 + RECORD.ifindex, 7, true);
  records[r1 + RECORD.status] = REASON_CODE.mac;
  records[r1 + RECORD.version] = 2;
  records.set([10, 0, 0, 1], r1 + RECORD.srcIp);
  records.set([224, 0, 0, 118], r1 + RECORD.dstIp);
  v.setUint32(r1 + RECORD.plainOffset, bson.length, true);
  const out = decodeRecords(records, 2, plain, bson.length);
  t.equal(out.length, 2);
  t.equal(out[0]!.time, 1795000000.5);
  t.same(out[0]!.frame, {
    sourceMac: '52:54:00:0a:00:01',
    destinationMac: '33:33:00:00:01:5a',
    sourceIp: 'fe80::1',
    destinationIp: 'ff02::15a',
    sourcePort: 5240,
    destinationPort: 5240,
    payloadOffset: 66,
    payloadLength: 300,
    vid: 42,
    outerVid: 100,
  });
  t.match(out[0]!.verdict, { ok: true, version: 2, type: 'advertisement', payload: { ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ' } });
  t.same(out[1]!.verdict, { ok: false, reason: 'mac' });
  t.equal(out[1]!.frame.sourceIp, '10.0.0.1');
  t.notOk('vid' in out[1]!.frame, 'untagged: no vid key');
  plain.fill(0); // the addon reuses its memory: decoded values must not alias it
  t.equal((out[0]!.verdict as unknown as { payload: { ulid: string } }).payload.ulid, '01M7Q5CQP8Q1G6HRZ22724C6AZ');
  t.throws(() => decodeRecords(records, 3, plain, 0), RangeError);
});

/** `n` records on interfaces 10, 11, ..., each an authentic solicitation whose BSON names its index. */
function batchOf(n: number): { records: Uint8Array; plain: Uint8Array; plainLength: number } {
  const records = new Uint8Array(RECORD.size * (n + 2)); // room to spare, as in the pool
  const v = new DataView(records.buffer);
  const plain = new Uint8Array(64 * 1024);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const at = i * RECORD.size;
    const bson = serialize({ ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ', type: 1, i });
    plain.set(bson, off);
    v.setUint32(at + RECORD.ifindex, 10 + i, true);
    records[at + RECORD.version] = 2;
    records[at + RECORD.headerType] = 1;
    v.setUint32(at + RECORD.plainOffset, off, true);
    v.setUint32(at + RECORD.plainLength, bson.length, true);
    off += bson.length;
  }
  return { records, plain, plainLength: off };
}

t.test('RecordBatch decodes any record on its own, from copies, long after the pool was reused', async (t) => {
  const { records, plain, plainLength } = batchOf(5);
  const all = decodeRecords(records, 5, plain, plainLength);
  const batch = new RecordBatch(records, 5, plain, plainLength);
  records.fill(0xff);
  plain.fill(0);
  t.equal(batch.count, 5);
  t.same(
    [3, 4, 0, 1, 2].map((i) => batch.ifindex(i)),
    [13, 14, 10, 11, 12],
  );
  t.same(
    [3, 4, 0, 1, 2].map((i) => batch.decode(i)),
    [3, 4, 0, 1, 2].map((i) => all[i]),
    'the same records as decodeRecords, in any order',
  );
  t.match(batch.decode(4).verdict, { ok: true, type: 'solicitation', payload: { i: 4 } });
  for (const i of [-1, 5, 1.5]) {
    t.throws(() => batch.decode(i), { name: 'RangeError', message: /not in a batch of 5/ }, `decode(${i})`);
    t.throws(() => batch.ifindex(i), RangeError, `ifindex(${i})`);
  }
});

t.test('RecordBatch checks the batch once, when it is made', async (t) => {
  const { records, plain, plainLength } = batchOf(3);
  t.throws(() => new RecordBatch(records, 6, plain, plainLength), { name: 'RangeError', message: /larger than its buffers/ });
  t.throws(() => new RecordBatch(records, -1, plain, plainLength), RangeError);
  t.throws(() => new RecordBatch(records, 3, plain, plain.length + 1), RangeError);
  new DataView(records.buffer).setUint32(2 * RECORD.size + RECORD.plainOffset, 1, true);
  t.throws(() => new RecordBatch(records, 3, plain, plainLength), { name: 'RangeError', message: /record 2: plaintext out of order/ });
  t.equal(new RecordBatch(records, 2, plain, plainLength).count, 2, 'the records before it are fine');
  t.equal(new RecordBatch(records, 0, plain, 0).count, 0);
});

t.test('the MAC and IPv4 text caches give formatMac and formatIpv4 for any bytes, hits and collisions alike', async (t) => {
  const rnd = prng(0x5240);
  const byte = (): number => Math.floor(rnd() * 256);
  // A few senders that come back (hits), many that pass once, and keys that share a slot (same last two bytes).
  const pool = Array.from({ length: 40 }, () => Uint8Array.from({ length: 6 }, byte));
  const buf = new Uint8Array(16);
  let wrong = 0;
  for (let i = 0; i < 20_000; i++) {
    const kind = rnd();
    if (kind < 0.5) buf.set(pool[Math.floor(rnd() * pool.length)]!, 3);
    else if (kind < 0.8) for (let k = 0; k < 6; k++) buf[3 + k] = byte();
    else for (let k = 0; k < 4; k++) buf[3 + k] = byte(); // the last two bytes kept: the same slot, another key
    if (cachedMac(buf, 3) !== formatMac(buf, 3)) wrong++;
    if (cachedIpv4(buf, 5) !== formatIpv4(buf, 5)) wrong++;
  }
  t.equal(wrong, 0, '40,000 lookups, each the text the formatter gives');
  buf.fill(0);
  t.equal(cachedMac(buf, 0), '00:00:00:00:00:00', 'the all-zero key is not mistaken for an empty slot');
  t.equal(cachedIpv4(buf, 0), '0.0.0.0');
});
