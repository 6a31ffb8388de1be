/**
 * The native and JS engines must give the same status, header fields and
 * plaintext bytes for any input: over MAAS's corpus, and over random
 * mutations of it that reach every rejection, including authentic tokens
 * re-sealed around mutated plaintexts (padding, gzip and size paths), and
 * stamps at the edges of the age window and of 64 bits.
 *
 * Both engines accept beacon format v3 here, and a fifth of the items are
 * v3: sealed around random flags, stamps and bodies (mutated plaintexts,
 * gzip'd or not), then often mutated or given another header, key id or
 * nonce; v2's items are verified exactly as without v3.
 *
 * Deterministic: a fixed seed (printed; NETBEACON_AGREEMENT_SEED overrides,
 * NETBEACON_AGREEMENT_ITEMS sets the count) drives every choice; with
 * NETBEACON_AGREEMENT_DUMP=file, items the engines disagree on are appended
 * there in full, one JSON line each.
 */
import t from 'tap';
import type tap from 'tap';
import { serialize } from 'bson';
import { createCipheriv, createHmac } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { loadBinding } from '../../src/engine/binding';
import { JsBatchVerifier } from '../../src/engine/js-verifier';
import { NativeBatchVerifier } from '../../src/engine/native-verifier';
import type { BatchVerifier, VerifiedBatch } from '../../src/engine/types';
import { fernetVerifyDecrypt, keyObjects } from '../../src/protocol/fernet';
import { MAX_INFLATED, REASONS } from '../../src/protocol/reasons';
import { sodium, sodiumReady } from '../../src/protocol/sodium';
import { V3_CLEAR_LENGTH, withV3 } from '../../src/protocol/v3';
import type { FernetKey } from '../../src/protocol/key';
import { corpusCases, corpusKey } from '../helpers/corpus';
import { prng } from '../helpers/prng';

const SEED = Number(process.env.NETBEACON_AGREEMENT_SEED ?? 0x2026_1124);
const ITEMS = Number(process.env.NETBEACON_AGREEMENT_ITEMS ?? 100_000);
const BATCH = 512;

const key = corpusKey();
const keys = keyObjects(key);

interface Item {
  readonly kind: string;
  readonly bytes: Uint8Array;
  readonly now: number;
}

/** Everything the generators draw from; built once from the corpus. */
function material() {
  const corpus = corpusCases()
    .filter((c) => c.udp_payload_hex !== undefined && !c.not_udp)
    .map((c) => ({ bytes: Buffer.from(c.udp_payload_hex!, 'hex'), now: c.time }));
  // The gzip plaintexts inside the corpus's authentic tokens.
  const plains: Buffer[] = [];
  for (const { bytes } of corpus) {
    if (bytes.length < 4 + 73 || bytes[4] !== 0x80) continue;
    const end = 4 + ((bytes[2]! << 8) | bytes[3]!);
    if (end > bytes.length) continue;
    const p = fernetVerifyDecrypt(keys, bytes, 4, end);
    if (typeof p !== 'string') plains.push(Buffer.from(p));
  }
  const doc = serialize({ type: 2, ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ', remote: { name: 'eth1', vid: 42 } });
  plains.push(
    gzipSync(doc, { level: 9 }),
    gzipSync(Buffer.alloc(0)),
    Buffer.alloc(0),
    Buffer.concat([gzipSync(doc.subarray(0, 9)), Buffer.alloc(3), gzipSync(doc.subarray(9))]),
    gzipSync(Buffer.alloc(MAX_INFLATED, 0x41), { level: 9 }),
    gzipSync(Buffer.alloc(MAX_INFLATED + 1, 0x41), { level: 9 }),
    gzipSync(Buffer.alloc(MAX_INFLATED + 20_000), { level: 1 }),
    gzipSync(Buffer.alloc(2 * 1024 * 1024), { level: 9 }),
    Buffer.concat([gzipSync(Buffer.alloc(MAX_INFLATED - 100)), gzipSync(Buffer.alloc(100)), gzipSync(Buffer.alloc(1))]),
  );
  return { corpus, plains };
}

function generator(seed: number, v3key: FernetKey) {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  const { corpus, plains } = material();
  const T = 1_795_000_000;

  const flip = (b: Uint8Array, max = 3) => {
    const c = Buffer.from(b);
    if (c.length === 0) return c;
    for (let k = 1 + int(max); k > 0; k--) c[int(c.length)]! ^= 1 << int(8);
    return c;
  };
  /** Generic byte-level mutations, used on datagrams and on plaintexts alike. */
  const mutate = (b: Uint8Array): Uint8Array => {
    switch (int(8)) {
      case 0:
      case 1:
        return flip(b);
      case 2:
        return b.subarray(0, int(b.length + 1));
      case 3:
        return Buffer.concat([b, bytes(1 + int(40))]);
      case 4:
        return Buffer.concat([b, Buffer.alloc(1 + int(5))]);
      case 5: {
        const at = int(b.length + 1);
        return Buffer.concat([b.subarray(0, at), bytes(1 + int(4)), b.subarray(at + int(4))]);
      }
      case 6:
        return Buffer.concat([b, pick(plains)]);
      default: {
        const c = Buffer.from(b);
        if (c.length > 0) c[int(Math.min(c.length, 12))] = int(256);
        return c;
      }
    }
  };
  /** A stamp around `now`, mostly at the window's edges, sometimes absurd. */
  const stampNear = (now: number): bigint => {
    const s = Math.floor(now);
    switch (int(10)) {
      case 0:
        return pick([0n, 1n << 32n, 1n << 53n, (1n << 53n) + 1n, 1n << 63n, (1n << 64n) - 1n]);
      case 1:
        return BigInt(s + int(4000) - 2000);
      default:
        return BigInt(s + pick([0, 0, -60, -61, 60, 61, -59, 59, int(121) - 60]));
    }
  };
  /** An authentic token: `padded` true adds PKCS7, false seals raw blocks. */
  const seal = (plain: Uint8Array, stamp: bigint, padded = true): Buffer => {
    const iv = Buffer.from(bytes(16));
    const c = createCipheriv('aes-128-cbc', keys.encryption, iv).setAutoPadding(padded);
    const body = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(8), iv, c.update(plain), c.final()]);
    body.writeBigUInt64BE(stamp, 1);
    return Buffer.concat([body, createHmac('sha256', keys.signing).update(body).digest()]);
  };
  const frame = (token: Uint8Array, version = pick([2, 2, 2, 1]), type = pick([1, 2, 2, 0, 9])) =>
    Buffer.concat([Buffer.from([version, type, (token.length >> 8) & 0xff, token.length & 0xff]), token]);
  const clock = () => T + int(100_000) + pick([0, 0.25, 0.5, 0.999]);
  const resealed = (plain: Uint8Array, padded = true): Item | undefined => {
    const now = clock();
    const token = seal(plain, stampNear(now), padded);
    return token.length > 0xffff ? undefined : { kind: padded ? 'resealed' : 'raw-blocks', bytes: frame(token), now };
  };

  /** A v3 datagram around `plain` (flags | stamp | body), sealed for real. */
  const sealV3 = (plain: Uint8Array, type: number): Buffer => {
    const v3 = v3key.v3!;
    const length = 4 + 24 + plain.length + 16;
    const head = Buffer.concat([Buffer.from([3, type, (length >> 8) & 0xff, length & 0xff]), v3.id, bytes(24)]);
    const sealed = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(plain, head, null, head.subarray(8, V3_CLEAR_LENGTH), v3.key);
    return Buffer.concat([head, sealed]);
  };
  const v3Item = (): Item => {
    const now = clock();
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64BE(stampNear(now) & ((1n << 64n) - 1n));
    const gz = int(3) === 0;
    const inner = int(4) === 0 ? mutate(pick(plains)) : pick(plains);
    // The plains are gzip streams: sent with the flag, or their BSON raw.
    const body = gz ? inner : int(2) === 0 ? Buffer.from(serialize({ type: pick([1, 2]), ulid: '01M7Q5CQP8Q1G6HRZ22724C6AZ', n: int(1000) })) : inner;
    const flags = pick([0, 0, 1, 1, 2, 0x80, 0xff]) & (gz ? 0xff : 0xfe);
    const plain = Buffer.concat([Buffer.from([gz ? flags | 1 : flags]), stamp, body]);
    if (plain.length + 53 > 0xffff) return { kind: 'v3-sealed', bytes: sealV3(Buffer.concat([Buffer.from([0]), stamp]), 1), now };
    const d = sealV3(int(8) === 0 ? plain.subarray(0, int(9)) : plain, pick([1, 2, 2, 0, 9]));
    switch (int(6)) {
      case 0:
        return { kind: 'v3-mutated', bytes: mutate(d), now };
      case 1: {
        const h = Buffer.from(d);
        h[int(32)] = int(256); // header, key id or nonce: all authenticated
        return { kind: 'v3-header', bytes: h, now };
      }
      default:
        return { kind: 'v3-sealed', bytes: d, now };
    }
  };

  return (): Item => {
    for (;;) {
      if (int(5) === 0) return v3Item();
      const r = int(100);
      if (r < 25) {
        const c = pick(corpus);
        return { kind: 'corpus-mutated', bytes: mutate(c.bytes), now: c.now + pick([0, 0, 0, 59, 61, -61, int(400) - 200]) };
      }
      if (r < 38) {
        const c = pick(corpus);
        const h = Buffer.from(c.bytes.length >= 4 ? c.bytes : Buffer.concat([c.bytes, Buffer.alloc(4)]));
        const len = (h[2]! << 8) | h[3]!;
        const newLen = pick([len, len + 1, len - 1, len + int(40) - 20, 0, int(65536), h.length - 4]);
        h[0] = pick([0, 1, 2, 2, 3, 7, 255]);
        h[1] = int(256);
        h[2] = (newLen >> 8) & 0xff;
        h[3] = newLen & 0xff;
        return { kind: 'header-rewrite', bytes: h, now: c.now };
      }
      if (r < 73) {
        const item = resealed(int(5) === 0 ? pick(plains) : mutate(pick(plains)));
        if (item) return item;
        continue;
      }
      if (r < 83) {
        // Raw blocks: the last byte decides the padding verdict.
        const plain = Buffer.from(pick(plains).subarray(0, 16 * (1 + int(8))));
        const blocks = plain.length % 16 === 0 && plain.length > 0 ? plain : Buffer.concat([plain, Buffer.alloc(16 - (plain.length % 16))]);
        const p = pick([1, 2, 15, 16, 0, 17, 255, int(256)]);
        blocks.fill(p, blocks.length - Math.max(1, Math.min(p, 16)));
        if (int(3) === 0) blocks[blocks.length - 1 - int(4)] = int(256);
        const item = resealed(blocks, false);
        if (item) return item;
        continue;
      }
      if (r < 90) {
        const n = int(3) === 0 ? int(6) : int(200);
        const b = Buffer.from(bytes(n));
        if (n >= 5 && int(2) === 0) {
          b[0] = 2;
          b[4] = 0x80;
          b[2] = ((n - 4) >> 8) & 0xff;
          b[3] = (n - 4) & 0xff;
        }
        return { kind: 'random', bytes: b, now: clock() };
      }
      const c = pick(corpus);
      return { kind: 'corpus', bytes: c.bytes, now: c.now };
    }
  };
}

/** Items packed as a PayloadBatch. */
function batchOf(items: Item[]) {
  const data = Buffer.concat(items.map((i) => i.bytes));
  const offsets = new Uint32Array(items.length + 1);
  items.forEach((it, i) => (offsets[i + 1] = offsets[i]! + it.bytes.length));
  return { count: items.length, data, offsets, now: Float64Array.from(items, (i) => i.now) };
}

/** Indexes at which two verdicts differ in status, header fields or plaintext. */
function differences(a: VerifiedBatch, b: VerifiedBatch): number[] {
  const out: number[] = [];
  for (let i = 0; i < a.count; i++) {
    const pa = a.plain.subarray(a.plainOffsets[i], a.plainOffsets[i + 1]);
    const pb = b.plain.subarray(b.plainOffsets[i], b.plainOffsets[i + 1]);
    if (a.status[i] !== b.status[i] || a.version[i] !== b.version[i] || a.headerType[i] !== b.headerType[i] || Buffer.compare(pa, pb) !== 0) {
      out.push(i);
    }
  }
  return out;
}

/**
 * A known divergence, left for src/protocol/gzip.ts to close (see the
 * report in the commit): native stops at exactly MAX_INFLATED bytes of
 * output and says 'size', whatever follows, which is the order the bytes
 * come in; Node's inflateRawSync checks maxOutputLength only between 16 KiB
 * output chunks (and gzip.ts checks the total after the member's trailer),
 * so a stream that turns corrupt or ends early shortly after the limit
 * reports its gzip error first. Only authentic tokens (the sender holds the
 * secret) reach it, and both verdicts are MAAS's "Failed to decompress".
 */
const isKnown = (js: string, native: string) => js === 'gzip' && native === 'size';
// (gzip.ts now decides 'size' in stream order too; the count must stay 0.)

interface Tally {
  unknown: number;
  known: number;
  readonly seen: Map<string, number>;
}

function compare(t: Pick<typeof tap, 'fail'>, js: BatchVerifier, native: BatchVerifier, items: Item[], tally: Tally): void {
  const batch = batchOf(items);
  const a = js.verify(batch);
  const b = native.verify(batch);
  for (let i = 0; i < a.count; i++) {
    const name = `${items[i]!.kind}:${REASONS[b.status[i]!]}`;
    tally.seen.set(name, (tally.seen.get(name) ?? 0) + 1);
  }
  for (const i of differences(a, b)) {
    const it = items[i]!;
    const [ra, rb] = [REASONS[a.status[i]!]!, REASONS[b.status[i]!]!];
    if (process.env.NETBEACON_AGREEMENT_DUMP) {
      appendFileSync(
        process.env.NETBEACON_AGREEMENT_DUMP,
        JSON.stringify({ kind: it.kind, now: it.now, js: ra, native: rb, hex: Buffer.from(it.bytes).toString('hex') }) + '\n',
      );
    }
    if (isKnown(ra, rb)) {
      tally.known++;
    } else if (++tally.unknown <= 5) {
      t.fail(`engines disagree on a ${it.kind} item: js ${ra}, native ${rb}`, {
        seed: SEED,
        now: it.now,
        bytes: Buffer.from(it.bytes).toString('hex').slice(0, 400),
      });
    }
  }
}

const state = loadBinding();
if (!state.ok) {
  t.plan(0, `the native addon is not built here (${state.why}): ${state.detail}`);
} else {
  let js: BatchVerifier;
  let native: BatchVerifier;
  let v3key: FernetKey;
  t.before(async () => {
    await sodiumReady();
    v3key = withV3(key);
    js = new JsBatchVerifier(v3key);
    native = new NativeBatchVerifier(v3key);
  });

  t.test('the corpus, as one batch', async (t) => {
    const { corpus } = material();
    const tally: Tally = { unknown: 0, known: 0, seen: new Map() };
    compare(
      t,
      js,
      native,
      corpus.map((c) => ({ kind: 'corpus', ...c })),
      tally,
    );
    t.same([tally.unknown, tally.known], [0, 0], `${corpus.length} cases agree`);
  });

  t.test(`${ITEMS} random mutations agree (seed ${SEED})`, async (t) => {
    t.comment(`seed ${SEED} (set NETBEACON_AGREEMENT_SEED to replay another)`);
    const next = generator(SEED, v3key);
    const tally: Tally = { unknown: 0, known: 0, seen: new Map() };
    for (let done = 0; done < ITEMS && tally.unknown < 20; done += BATCH) {
      compare(t, js, native, Array.from({ length: Math.min(BATCH, ITEMS - done) }, next), tally);
    }
    t.equal(tally.unknown, 0, 'every item agrees');
    t.equal(tally.known, 0, 'gzip bombs that break just past MAX_INFLATED: both engines say size');
    // The mutations must reach every verdict the engines give (the JS-only
    // BSON step's 'bson' and 'type' aside; kBson here is an empty plaintext).
    const reached = new Set([...tally.seen.keys()].map((k) => k.split(':')[1]));
    for (const r of [...REASONS.slice(0, 12), 'key']) t.ok(reached.has(r), `some item gave "${r}"`);
    const v3Reached = new Set([...tally.seen.keys()].filter((k) => k.startsWith('v3-')).map((k) => k.split(':')[1]));
    for (const r of ['ok', 'token', 'key', 'mac', 'expired', 'future', 'gzip', 'size', 'bson']) t.ok(v3Reached.has(r), `some v3 item gave "${r}"`);
    t.comment(
      [...tally.seen.entries()]
        .sort()
        .map(([k, n]) => `${k}=${n}`)
        .join(' '),
    );
  });
}
