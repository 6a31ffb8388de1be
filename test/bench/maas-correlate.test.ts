/**
 * The correlate case's baseline, bench/maas_correlate.py, is MAAS's
 * BeaconingSocketProtocol rewritten (the shared vectors hold what MAAS's
 * code produced, not the code). Its claim to do MAAS's work rests on this:
 * on the four MAAS journals it ends with exactly MAAS's hint sets, both as
 * MAAS's lazily aged dict holds them (--lazy) and strictly aged at the last
 * line's time (what the bench compares with netbeacon replay). No speed is
 * asserted.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { vector } from '../helpers/corpus';

const SCRIPT = join(resolve(__dirname, '..', '..'), 'bench', 'maas_correlate.py');
const PYTHON = process.env.NETBEACON_BENCH_PYTHON ?? '/usr/bin/python3';

const CASES: Array<[journal: string, hints: string]> = [
  ['journal.jsonl', 'hints.json'],
  ...[11, 12, 13].map((n): [string, string] => [`ageing/journal-${n}.jsonl.gz`, `ageing/hints-${n}.json`]),
];

for (const [journal, hints] of CASES) {
  t.test(`maas_correlate.py ends ${journal} with ${hints}`, async (t) => {
    const expected = readFileSync(vector(hints), 'utf8');
    for (const mode of [['--lazy'], []]) {
      const r = spawnSync(PYTHON, [SCRIPT, vector(journal), ...mode], { encoding: 'utf8' });
      t.equal(r.status, 0, `${PYTHON} runs it${r.stderr ? `: ${r.stderr.slice(-1000)}` : ''}`);
      const out = JSON.parse(r.stdout) as { hintsJson: string; passes: number; receptions: number };
      t.equal(out.passes, 1, 'one pass without --seconds');
      t.ok(out.receptions > 0, 'counts the receptions');
      t.equal(out.hintsJson, expected, `${mode[0] ?? 'strict'}: MAAS's hints, byte for byte`);
    }
  });
}
