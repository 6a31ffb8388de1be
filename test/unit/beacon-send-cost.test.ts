import t from 'tap';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { decodeTime } from 'ulid';
import { deflateWindowBits } from '../../src/protocol/beacon';
import { randomBytesPooled } from '../../src/protocol/random';
import { ulidFactory } from '../../src/protocol/ulid';
import { prng } from '../helpers/prng';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A ULID's 128 bits as a BigInt, decoded independently of src/protocol/ulid.ts. */
function value(u: string): bigint {
  let v = 0n;
  for (const c of u) v = v * 32n + BigInt(ALPHABET.indexOf(c));
  return v;
}

const fixed = (bytes: number[]) => () => Uint8Array.from(bytes);

t.test('a ULID is 48 bits of time and the 80 random bits given, in Crockford base32', async (t) => {
  const bytes = [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc];
  for (const ms of [0, 1, 1_795_000_000_010, 2 ** 48 - 1]) {
    const u = ulidFactory(fixed(bytes))(ms);
    t.match(u, CROCKFORD, `${ms}: 26 Crockford characters`);
    t.equal(decodeTime(u), ms, `${ms}: the ulid package reads the time back`);
    t.equal(value(u) & ((1n << 80n) - 1n), BigInt('0x' + Buffer.from(bytes).toString('hex')), `${ms}: the random part is the bytes`);
    t.equal(value(u) >> 80n, BigInt(ms), `${ms}: the time part`);
  }
  t.equal(ulidFactory(fixed([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))(0), '0'.repeat(26));
  t.equal(ulidFactory(fixed(Array<number>(10).fill(255)))(2 ** 48 - 1), '7' + 'Z'.repeat(25), 'the largest ULID');
});

t.test('monotonic as the ulid package: within a millisecond, or with the clock going back, the random part goes up by one', async (t) => {
  const next = ulidFactory(fixed([0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe]));
  const a = next(1000);
  const b = next(1000);
  const c = next(999);
  const d = next(1000);
  t.equal(value(b), value(a) + 1n, 'same ms: +1');
  t.equal(value(c), value(a) + 2n, 'clock went back: +1 on the last time');
  t.equal(decodeTime(c), 1000, 'and keeps the last time');
  t.equal(value(d), value(a) + 3n, 'carries from the low 40 bits into the high ones');
  t.equal(d.slice(10, 18), '00000001', 'the carry reached the high half');
  const e = next(1001);
  t.equal(decodeTime(e), 1001, 'a later ms starts afresh');
  t.equal(value(e) & ((1n << 80n) - 1n), BigInt('0xfffffffffe'), 'with new random bytes');

  const rand = prng(7);
  const seq = ulidFactory((n) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256)));
  const made: string[] = [];
  for (let i = 0; i < 2000; i++) made.push(seq(5_000 + Math.floor(i / 7) - (i % 5 === 0 ? 3 : 0)));
  t.same([...made].sort(), made, 'ULIDs of one factory sort in the order they were made');
  t.equal(new Set(made).size, made.length, 'and are distinct');
});

t.test('ULID errors', async (t) => {
  const top = ulidFactory(fixed(Array<number>(10).fill(255)));
  top(5);
  t.throws(() => top(5), /overflowed within one millisecond/, 'the random part cannot pass 2^80-1');
  for (const bad of [-1, 2 ** 48, NaN]) t.throws(() => ulidFactory()(bad), /ULID's time is 0 to 2\^48-1 ms/, `time ${bad}`);
  t.match(ulidFactory()(Date.now()), CROCKFORD, 'the default source is the pool');
});

t.test('pooled random bytes: fresh, never handed out twice, never changed after', async (t) => {
  const first = Array.from({ length: 300 }, () => randomBytesPooled(16));
  const copies = first.map((b) => Buffer.from(b));
  const seen = new Set(copies.map((b) => b.toString('hex')));
  for (let i = 0; i < 5000; i++) seen.add(randomBytesPooled(16).toString('hex')); // many refills
  t.equal(seen.size, 5300, 'no two 16-byte draws alike');
  t.ok(
    first.every((b, i) => b.equals(copies[i]!)),
    'bytes handed out before a refill are unchanged after it',
  );
  t.equal(randomBytesPooled(0).length, 0);
  const big = randomBytesPooled(5000);
  t.equal(big.length, 5000, 'larger than the pool: its own buffer');
  t.not(big.toString('hex'), Buffer.alloc(5000).toString('hex'));
  for (const bad of [-1, 1.5, NaN]) t.throws(() => randomBytesPooled(bad), /non-negative integer/, `${bad}`);
});

t.test('gzip with the fitted window is the same stream as with the default 32 KiB one', async (t) => {
  t.equal(deflateWindowBits(0), 9);
  t.equal(deflateWindowBits(250), 9);
  t.equal(deflateWindowBits(251), 10);
  t.equal(deflateWindowBits(40_000), 15);
  const rand = prng(11);
  const words = ['remote', 'mac_address', 'addresses', '10.0.0.1/24', 'fe80::1/64', 'vid', 'name', 'eth0'];
  let checked = 0;
  for (let len = 0; len < 4200; len += 1 + Math.floor(rand() * 60)) {
    // Beacon-like text (repeats, for matches at every distance) mixed with noise.
    const parts: Buffer[] = [];
    let size = 0;
    while (size < len) {
      const p = rand() < 0.6 ? Buffer.from(words[Math.floor(rand() * words.length)]!) : Buffer.from([Math.floor(rand() * 256)]);
      parts.push(p);
      size += p.length;
    }
    const input = Buffer.concat(parts).subarray(0, len);
    const opts = { level: 9, strategy: constants.Z_FIXED };
    const fitted = gzipSync(input, { ...opts, windowBits: deflateWindowBits(len) });
    const wide = gzipSync(input, opts);
    if (!fitted.equals(wide)) t.fail(`length ${len}: the streams differ`);
    if (!gunzipSync(fitted).equals(input)) t.fail(`length ${len}: does not round-trip`);
    checked++;
  }
  t.ok(checked > 100, `${checked} inputs from 0 to 4,200 bytes: the same bytes`);
});
