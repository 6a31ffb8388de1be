/**
 * Parity with MAAS: the reference journals, replayed by `netbeacon replay`,
 * give exactly the hints MAAS's BeaconingSocketProtocol derived from them,
 * in the same order, printed the same way. journal.jsonl is the short
 * scripted run; ageing/journal-N.jsonl.gz are long runs with moving cables,
 * where MAAS's 120 s ageing decides what is left at the end.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { runCli } from '../helpers/cli';
import { vector } from '../helpers/corpus';
import { runInProcess } from '../helpers/inprocess';

const JOURNAL = vector('journal.jsonl');
const EXPECTED_TEXT = readFileSync(vector('hints.json'), 'utf8');
const EXPECTED = JSON.parse(EXPECTED_TEXT) as unknown[];

t.test('netbeacon replay JOURNAL prints hints.json exactly', async (t) => {
  const r = await runInProcess(['replay', JOURNAL]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const got = JSON.parse(r.stdout) as unknown[];
  t.same(got, EXPECTED, 'the same hints, deeply');
  t.same(
    got.map((h) => JSON.stringify(h)),
    EXPECTED.map((h) => JSON.stringify(h)),
    'in the same order, with the same keys in each',
  );
  t.equal(r.stdout, EXPECTED_TEXT, 'printed byte for byte as the reference');
});

t.test('the same from stdin, in a real process', async (t) => {
  const r = await runCli(['replay', '-'], { input: readFileSync(JOURNAL) });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout, EXPECTED_TEXT);
});

for (const n of [11, 12, 13]) {
  t.test(`ageing/journal-${n}.jsonl.gz replays to ageing/hints-${n}.json exactly`, async (t) => {
    const expected = readFileSync(vector(`ageing/hints-${n}.json`), 'utf8');
    const r = await runInProcess(['replay', vector(`ageing/journal-${n}.jsonl.gz`)]);
    t.equal(r.code, 0, r.stderr);
    t.equal(r.stderr, '');
    t.equal(r.stdout, expected, 'byte for byte: only the hints some beacon at most 120 s old supports');
    const table = await runInProcess(['replay', '--table', vector(`ageing/journal-${n}.jsonl.gz`)]);
    t.match(table.stdout, /\d+ hints \(\d+ more aged out\);/, 'the summary counts what aged out');
  });
}

t.test('a gzip journal is recognised by its bytes, on stdin too, and decompressed or not alike', async (t) => {
  const gz = readFileSync(vector('ageing/journal-12.jsonl.gz'));
  const expected = readFileSync(vector('ageing/hints-12.json'), 'utf8');
  const fromGzipStdin = await runCli(['replay', '-'], { input: gz });
  t.equal(fromGzipStdin.status, 0, fromGzipStdin.stderr);
  t.equal(fromGzipStdin.stdout, expected);
  const plain = await runCli(['replay', '-'], { input: gunzipSync(gz) });
  t.equal(plain.stdout, expected, 'the same journal uncompressed');
});
