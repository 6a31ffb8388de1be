/** `netbeacon observe --input-file`: parity with MAAS's observe-beacons, and what happens when things go wrong. */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import { enginesToTest } from '../helpers/engines';

const PCAP = vector('corpus.pcap');
const SECRET = vector('secret');
const expected = readFileSync(vector('corpus.observe.jsonl'), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as Record<string, unknown>);
const lines = (s: string) =>
  s
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

for (const engine of enginesToTest()) {
  t.test(`${engine}: observe over corpus.pcap prints exactly corpus.observe.jsonl`, async (t) => {
    const r = await runCli(['observe', '--input-file', PCAP, '--secret-file', SECRET, '--engine', engine, '--stats']);
    t.equal(r.status, 0, r.stderr);
    const got = lines(r.stdout);
    t.equal(got.length, expected.length, 'one line per valid beacon');
    for (let i = 0; i < expected.length; i++) t.strictSame(got[i], expected[i], `line ${i + 1}`);
    t.match(r.stderr, /packets=24 not_beacon=1 valid=14 rejected=9 \(/, '--stats counts');
    t.match(r.stderr, /expired=1/);
    t.notMatch(r.stderr, /00112233/, 'never the secret');
  });
}

t.test('reads stdin with -, as in tcpdump -w - | netbeacon observe --input-file -', async (t) => {
  const r = await runCli(['observe', '--input-file', '-', '--secret-file', SECRET], { input: readFileSync(PCAP) });
  t.equal(r.status, 0, r.stderr);
  t.strictSame(lines(r.stdout), expected);
});

t.test('a capture cut mid-packet: every whole packet first, then exit 3', async (t) => {
  const dir = t.testdir();
  const whole = readFileSync(PCAP);
  const cut = join(dir, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, whole.length - 100));
  const r = await runCli(['observe', '--input-file', cut, '--secret-file', SECRET, '--stats']);
  t.equal(r.status, 3);
  const got = lines(r.stdout);
  t.ok(got.length >= expected.length - 2 && got.length < expected.length + 1, `${got.length} beacons before the cut`);
  t.strictSame(got, expected.slice(0, got.length), 'what was printed is what MAAS printed, in order');
  t.match(r.stderr, /cut\.pcap: .*truncated: 22 whole packet\(s\) read; record 23 .* is cut off/, 'the error names the file, the record and the cut');
  t.match(r.stderr, /packets=22 /, 'stats still printed');
});

t.test('not Ethernet: a clear error, exit 3', async (t) => {
  const dir = t.testdir();
  const b = Buffer.from(readFileSync(PCAP));
  b.writeUInt32LE(113, 20); // Linux cooked capture
  const f = join(dir, 'sll.pcap');
  writeFileSync(f, b);
  const r = await runCli(['observe', '--input-file', f, '--secret-file', SECRET]);
  t.equal(r.status, 3);
  t.match(r.stderr, /113/);
});

t.test('usage and secret errors exit 2', async (t) => {
  const missing = await runCli(['observe', '--input-file', PCAP, '--secret-file', '/nonexistent/secret']);
  t.equal(missing.status, 2);
  t.match(missing.stderr, /\/nonexistent\/secret.*does not exist/);
  const noInput = await runCli(['observe', '--secret-file', SECRET]);
  t.equal(noInput.status, 2);
  t.match(noInput.stderr, /--input-file/);
  const both = await runCli(['observe', 'eth0', '--input-file', PCAP, '--secret-file', SECRET]);
  t.equal(both.status, 2);
  const badEngine = await runCli(['observe', '--input-file', PCAP, '--engine', 'fast']);
  t.equal(badEngine.status, 2);
  t.match(badEngine.stderr, /fast/);
  const envEngine = await runCli(['observe', '--input-file', PCAP, '--secret-file', SECRET], { env: { NETBEACON_ENGINE: 'turbo' } });
  t.equal(envEngine.status, 2);
  t.match(envEngine.stderr, /NETBEACON_ENGINE.*turbo/);
  const unreadable = await runCli(['observe', '--input-file', '/nonexistent.pcap', '--secret-file', SECRET]);
  t.equal(unreadable.status, 3);
  t.match(unreadable.stderr, /\/nonexistent\.pcap/);
});

t.test('the secret can come from NETBEACON_SECRET_FILE', async (t) => {
  const r = await runCli(['observe', '--input-file', PCAP], { env: { NETBEACON_SECRET_FILE: SECRET } });
  t.equal(r.status, 0, r.stderr);
  t.equal(lines(r.stdout).length, expected.length);
});
