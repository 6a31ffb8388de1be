import t from 'tap';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { gunzipLikePython } from '../../src/protocol/gzip';

const hello = gzipSync(Buffer.from('hello'));
const text = (r: ReturnType<typeof gunzipLikePython>) => (typeof r === 'string' ? r : Buffer.from(r).toString());

t.test('agrees with Python gzip.decompress on member boundaries', async (t) => {
  t.equal(text(gunzipLikePython(hello, 1000)), 'hello');
  t.equal(text(gunzipLikePython(Buffer.concat([hello, hello]), 1000)), 'hellohello', 'concatenated members');
  t.equal(text(gunzipLikePython(Buffer.concat([hello, Buffer.alloc(5)]), 1000)), 'hello', 'trailing NULs');
  t.equal(text(gunzipLikePython(Buffer.concat([hello, Buffer.alloc(3), hello]), 1000)), 'hellohello', 'NULs between members (Node would stop at the first)');
  t.equal(text(gunzipLikePython(new Uint8Array(0), 1000)), '', 'empty in, empty out');
  t.equal(gunzipLikePython(Buffer.concat([hello, Buffer.from('xyz')]), 1000), 'gzip', 'junk after a member');
  t.equal(gunzipLikePython(Buffer.concat([hello, Buffer.from([0x1f])]), 1000), 'gzip', 'a lone byte after a member');
  t.equal(gunzipLikePython(hello.subarray(0, hello.length - 1), 1000), 'gzip', 'cut trailer');
  t.equal(gunzipLikePython(hello.subarray(0, 12), 1000), 'gzip', 'cut deflate stream');
  t.equal(gunzipLikePython(hello.subarray(0, 5), 1000), 'gzip', 'cut header');
});

t.test('checks the trailer', async (t) => {
  const badCrc = Buffer.from(hello);
  badCrc[badCrc.length - 8]! ^= 1;
  t.equal(gunzipLikePython(badCrc, 1000), 'gzip', 'CRC32');
  const badSize = Buffer.from(hello);
  badSize[badSize.length - 4]! ^= 1;
  t.equal(gunzipLikePython(badSize, 1000), 'gzip', 'ISIZE');
  const badMethod = Buffer.from(hello);
  badMethod[2] = 7;
  t.equal(gunzipLikePython(badMethod, 1000), 'gzip', 'compression method other than deflate');
});

t.test('optional header fields are skipped as RFC 1952 lays them out', async (t) => {
  const body = hello.subarray(10);
  const head = (flags: number, ...extra: number[]) => Buffer.concat([Buffer.from([0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3]), Buffer.from(extra), body]);
  t.equal(text(gunzipLikePython(head(0x04, 3, 0, 1, 2, 3), 1000)), 'hello', 'FEXTRA');
  t.equal(text(gunzipLikePython(head(0x08, 0x61, 0x62, 0), 1000)), 'hello', 'FNAME');
  t.equal(text(gunzipLikePython(head(0x10, 0x63, 0), 1000)), 'hello', 'FCOMMENT');
  t.equal(text(gunzipLikePython(head(0x02, 0xaa, 0xbb), 1000)), 'hello', 'FHCRC (read, not checked, as Python does)');
  t.equal(text(gunzipLikePython(head(0x1e, 1, 0, 9, 0x61, 0, 0x63, 0, 0xaa, 0xbb), 1000)), 'hello', 'all of them');
  t.equal(gunzipLikePython(Buffer.from([0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, 0x61]), 1000), 'gzip', 'unterminated FNAME');
  t.equal(gunzipLikePython(Buffer.from([0x1f, 0x8b, 8, 0x10, 0, 0, 0, 0, 0, 3, 0x61]), 1000), 'gzip', 'unterminated FCOMMENT');
  t.equal(gunzipLikePython(Buffer.from([0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 3, 9]), 1000), 'gzip', 'FEXTRA length cut');
  t.equal(gunzipLikePython(Buffer.from([0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 3, 9, 0]), 1000), 'gzip', 'FEXTRA longer than the data');
});

t.test('bounds the output', async (t) => {
  const big = gzipSync(Buffer.alloc(5000));
  t.equal(gunzipLikePython(big, 4999), 'size');
  t.equal((gunzipLikePython(big, 5000) as Uint8Array).length, 5000, 'exactly at the bound');
  t.equal(gunzipLikePython(Buffer.concat([big, big]), 9999), 'size', 'the bound covers all members');
});

t.test('matches python3 gzip.decompress on the same inputs', async (t) => {
  let python = true;
  try {
    execFileSync('python3', ['-c', 'import gzip'], { stdio: 'ignore' });
  } catch {
    python = false;
  }
  if (!python) return void t.skip('python3 is not installed: cross-check skipped (the cases above still pin the behaviour)', () => {});
  const inputs = [hello, Buffer.concat([hello, Buffer.alloc(2), hello]), Buffer.concat([hello, Buffer.from('x')]), Buffer.alloc(0), Buffer.alloc(4)];
  const script =
    'import gzip,sys\nfor h in sys.stdin.read().split():\n  b=bytes.fromhex(h[1:])\n  try: print(gzip.decompress(b).hex() or "-")\n  except Exception: print("gzip")';
  const out = execFileSync('python3', ['-c', script], { input: inputs.map((b) => 'x' + b.toString('hex')).join('\n'), encoding: 'utf8' })
    .trim()
    .split('\n');
  const ours = inputs.map((b) => {
    const r = gunzipLikePython(b, 1 << 20);
    return typeof r === 'string' ? r : Buffer.from(r).toString('hex') || '-';
  });
  t.same(ours, out);
});

t.test('size is decided in stream order, as the native engine decides it', async (t) => {
  const big = gzipSync(Buffer.alloc(20_000, 7), { level: 1 });
  const body = big.subarray(10, big.length - 8);
  const head = big.subarray(0, 10);
  const cut = Buffer.concat([head, body.subarray(0, body.length - 2)]);
  t.equal(gunzipLikePython(cut, 100), 'size', 'a cut stream that already outgrew the limit');
  t.equal(gunzipLikePython(cut, 1 << 20), 'gzip', 'the same cut stream within the limit');
  const corrupt = Buffer.from(big);
  corrupt[corrupt.length - 12] = corrupt[corrupt.length - 12]! ^ 0xff;
  corrupt[corrupt.length - 13] = corrupt[corrupt.length - 13]! ^ 0xff;
  const r = gunzipLikePython(corrupt, 100);
  t.equal(r, 'size', 'a stream that breaks after the limit was passed');
  const early = Buffer.concat([head, Buffer.from([0xff, 0xff, 0xff, 0xff])]);
  t.equal(gunzipLikePython(early, 100), 'gzip', 'a stream broken before any output');
  const badTrailer = Buffer.from(big);
  badTrailer[badTrailer.length - 8]! ^= 1;
  t.equal(gunzipLikePython(badTrailer, 100), 'size', 'the bytes come before the trailer that is wrong');
  t.equal(gunzipLikePython(hello, 0), 'size', 'no room at all');
});
