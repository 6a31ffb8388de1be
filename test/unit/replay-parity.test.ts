/**
 * Parity with MAAS: the reference journal, replayed by `netbeacon replay`,
 * gives exactly the hints MAAS's BeaconingSocketProtocol derived from it,
 * in the same order, printed the same way.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
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
