/**
 * observe's line encoders, native and JS, over the same packets: the same
 * bytes and the same counters, always. Packets: MAAS's corpus frames, and
 * beacons of random payloads (every BSON shape the fast paths take or
 * decline) in frames of every kind (IPv4 and IPv6, untagged, tagged, QinQ),
 * with headers with no payload, inner types other than 1 or 2, stale and
 * forged tokens, and random mutations of all of them. Also: the native
 * encoder really writes the beacon shapes itself (declining everything
 * would agree too).
 */
import t from 'tap';
import fc from 'fast-check';
import { Long, serialize } from 'bson';
import { gzipSync, constants } from 'node:zlib';
import { JsLineEncoder, NativeLineEncoder } from '../../src/engine/line-encoder';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { NativeBatchVerifier } from '../../src/engine/native-verifier';
import { newStats } from '../../src/engine/pipeline';
import type { CapturedPacket } from '../../src/protocol/packet';
import { fernetEncrypt, keyObjects } from '../../src/protocol/fernet';
import { writeHeader } from '../../src/protocol/header';
import { corpusCases, corpusKey } from '../helpers/corpus';
import { beaconFrame4, beaconFrame6, type Tag } from '../helpers/frames';
import { enginesToTest } from '../helpers/engines';
import { prng } from '../helpers/prng';

const NOW = 1_795_000_000;
const key = corpusKey();
const keys = keyObjects(key);

const random = prng(0x2026_1125);
const int = (n: number): number => Math.floor(random() * n);

/** A v2 beacon datagram around any BSON bytes (or none), sealed at `at`. */
function datagram(bson: Uint8Array | undefined, headerType: number, at: number): Buffer {
  if (bson === undefined) return Buffer.from([2, headerType, 0, 0]);
  const token = fernetEncrypt(keys, gzipSync(bson, { level: 9, strategy: int(2) ? constants.Z_FIXED : constants.Z_DEFAULT_STRATEGY }), at);
  const d = Buffer.alloc(4 + token.length);
  writeHeader(d, 2, headerType, token.length);
  token.copy(d, 4);
  return d;
}

const TAGS: ReadonlyArray<readonly Tag[]> = [
  [],
  [{ tpid: 0x8100, tci: 10 }],
  [
    { tpid: 0x88a8, tci: 100 },
    { tpid: 0x8100, tci: 0x2014 },
  ],
];

function frameAround(payload: Uint8Array): Buffer {
  const tags = TAGS[int(TAGS.length)]!;
  const mac = `52:54:00:${int(256).toString(16).padStart(2, '0')}:00:0${int(9)}`;
  return int(5) === 0
    ? beaconFrame6({ mac, ip: 'fe80::5054:ff:fe00:1' }, payload, tags)
    : beaconFrame4({ mac, ip: `10.0.${int(256)}.${int(256)}` }, payload, tags);
}

const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 5 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.maxSafeInteger().map((n) => Long.fromNumber(n)),
  fc.date({ noInvalidDate: true }),
);
const { doc } = fc.letrec<{ doc: Record<string, unknown>; value: unknown }>((tie) => ({
  value: fc.oneof({ maxDepth: 3 }, leaf, fc.array(tie('value'), { maxLength: 4 }), tie('doc')),
  doc: fc.dictionary(
    fc.oneof(fc.string({ unit: fc.constantFrom(...'abcdemnxyz_'.split('')), minLength: 1, maxLength: 8 }), fc.constantFrom('0', '12', 'a"b', '$x', 'type')),
    tie('value'),
    { maxKeys: 6 },
  ),
}));

function packets(): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  for (const c of corpusCases()) out.push({ time: c.time, data: Buffer.from(c.frame_hex, 'hex'), wireLength: c.frame_hex.length / 2 });
  const docs = fc.sample(doc, { seed: 0x2026_1125, numRuns: 600 });
  for (const d of docs) {
    const which = int(10);
    const type = which === 0 ? int(4) : 1 + int(2);
    const body = {
      remote: { name: 'eth0', mac_address: '52:54:00:00:00:01', type: 'physical', parents: [], subnet: '10.0.0.0/24' },
      ...d,
      ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ',
      type,
    };
    const bson = which === 1 ? undefined : serialize(which === 2 ? d : body);
    const at = which === 3 ? NOW - 3600 : NOW;
    const dg = datagram(bson, 1 + int(2), at);
    if (which === 4) dg[dg.length - 1] = dg[dg.length - 1]! ^ 1; // forged
    out.push({ time: NOW + random(), data: frameAround(dg), wireLength: 0 });
  }
  // Documents a JS object would print in another order or with fewer keys
  // (serialize() of an object cannot make them: keys are renamed in the bytes).
  const renamed = (doc: Record<string, unknown>, from: string, to: string): Buffer => {
    const b = Buffer.from(serialize(doc));
    b.write(to, b.indexOf(`${from}\0`, 4), 'latin1');
    return b;
  };
  for (const bson of [
    renamed({ remote: 'x', z: 1, ulid: 'u', type: 1 }, 'z', '1'), // an index key after others
    renamed({ remote: 'x', q: 1, ulid: 'u', type: 1 }, 'q', '0'),
    renamed({ remote: 'x', zz: 2, ulid: 'u', type: 1 }, 'zz', 'ty'), // harmless rename
    renamed({ remote: 'x', ulid: 'u', typf: 2, type: 1 }, 'typf', 'type'), // type twice: the last wins, in the first place
    renamed({ remote: { a: 1, b: 2 }, ulid: 'u', type: 1 }, 'b', 'a'), // a nested repeat
  ]) {
    out.push({ time: NOW, data: frameAround(datagram(bson, 1, NOW)), wireLength: 0 });
  }
  // Mutations of everything so far.
  const n = out.length;
  for (let k = 0; k < 3000; k++) {
    const src = out[int(n)]!;
    const b = Buffer.from(src.data);
    for (let m = 1 + int(3); m > 0; m--) {
      const at = int(b.length);
      b[at] = b[at]! ^ (1 << int(8));
    }
    out.push({ time: src.time, data: int(6) === 0 ? b.subarray(0, int(b.length)) : b, wireLength: 0 });
  }
  return out;
}

const engines = enginesToTest();
if (!engines.includes('native')) {
  t.pass('native engine not built here: nothing to compare the JS encoder with (printed above)');
} else {
  const all = packets();

  t.test('native and JS encoders: same lines, same counters, batch by batch', (t) => {
    const native = new NativeLineEncoder(key, 4096); // small, so that batches fill it and it grows
    const js = new JsLineEncoder(new JsBatchVerifier(key));
    const nStats = newStats();
    const jStats = newStats();
    let lines = 0;
    let differ = 0;
    for (let at = 0; at < all.length;) {
      const size = 1 + int(300);
      const batch = all.slice(at, at + size);
      at += size;
      const a = native.encode(batch, nStats).toString('utf8'); // read before the next encode reuses it
      const b = js.encode(batch, jStats).toString('utf8');
      lines += b.split('\n').length - 1;
      if (a !== b && differ++ < 3) {
        const la = a.split('\n');
        const lb = b.split('\n');
        const i = la.findIndex((l, k) => l !== lb[k]);
        t.fail(`batch at ${at - size}: line ${i} differs:\nnative ${la[i]}\njs     ${lb[i]}`);
      }
    }
    t.equal(differ, 0, `${all.length} packets in random batches, ${lines} lines, byte for byte`);
    t.same(nStats, jStats, 'the same counters');
    const rejected = Object.entries(jStats.rejected)
      .filter(([, v]) => v > 0)
      .map(([k]) => k);
    t.ok(
      jStats.valid > 300 && jStats.notBeacon > 0 && ['mac', 'expired', 'type', 'bson', 'length'].every((r) => rejected.includes(r)),
      `every kind of outcome was reached: ${JSON.stringify(jStats)}`,
    );
    t.end();
  });

  t.test('the native encoder writes the beacon shapes itself', (t) => {
    const v = new NativeBatchVerifier(key);
    // Beacons as MAAS and netbeacon make them, IPv4, tagged or not.
    const beacons: CapturedPacket[] = Array.from({ length: 200 }, (_, i) => ({
      time: NOW,
      data: beaconFrame4(
        { mac: '52:54:00:00:00:01', ip: '10.0.0.1' },
        datagram(
          serialize({
            remote: { name: `eth${i}`, mac_address: '52:54:00:00:00:01', type: 'physical', parents: [], subnet: '10.0.0.0/24', mtu: 1500 + i },
            ulid: `01M7Q5CQP8Q1G6HRZ22724C6${i % 10}Z`,
            type: 1 + (i % 2),
          }),
          1,
          NOW,
        ),
        TAGS[i % 3],
      ),
      wireLength: 0,
    }));
    let bytes = 0;
    for (const p of beacons) bytes += p.data.length;
    const data = new Uint8Array(bytes);
    const offsets = new Uint32Array(beacons.length + 1);
    let o = 0;
    beacons.forEach((p, i) => {
      offsets[i] = o;
      data.set(p.data, o);
      o += p.data.length;
    });
    offsets[beacons.length] = o;
    const out = Buffer.alloc(1 << 20);
    const r = v.observeLines({ count: beacons.length, data, offsets, now: Float64Array.from(beacons, (p) => p.time) }, out);
    const kinds = [0, 0, 0, 0];
    for (const k of r.kind) kinds[k]!++;
    t.same(kinds, [200, 0, 0, 0], 'every one written natively');
    const js = new JsLineEncoder(new JsBatchVerifier(key)).encode(beacons, newStats());
    t.equal(r.processed, beacons.length, 'all processed');
    t.equal(out.subarray(0, r.lineEnds[beacons.length]).toString('utf8'), js.toString('utf8'), 'as the JS path writes them');
    const small = v.observeLines({ count: beacons.length, data, offsets, now: Float64Array.from(beacons, (p) => p.time) }, Buffer.alloc(3000));
    t.ok(small.processed > 0 && small.processed < beacons.length, `a small out stops early, at a whole line (${small.processed} frames)`);
    t.ok(small.lineEnds[small.processed]! <= 3000, 'and never writes past it');
    t.equal(
      v.observeLines({ count: beacons.length, data, offsets, now: Float64Array.from(beacons, (p) => p.time) }, Buffer.alloc(100)).processed,
      0,
      'nothing fits: nothing processed',
    );
    t.throws(() => v.observeLines({ count: 2, data, offsets: Uint32Array.of(0, 10, 5), now: Float64Array.of(0, 0) }, out), /offsets/, 'a bad batch is refused');
    t.end();
  });
}
