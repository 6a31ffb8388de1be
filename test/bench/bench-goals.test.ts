import t from 'tap';
import { judgeGoals } from '../../bench/lib/report';
import type { CaseResult } from '../../bench/lib/result';

// judgeGoals on the end-to-end row of live-capture (issue 15: >= 300,000 valid
// beacons/s with zero drops): met, missed, and untested when the sender itself
// could not offer the rate and the agent kept up with all it got.
const E2E = 'agent end to end (capture, verify, correlate, hints), 0 drops, one core';

function e2e(median: number, zeroDropMax: number, sentAtGoal: number | null): CaseResult {
  return {
    name: 'live-capture',
    engine: 'native',
    unit: 'beacons/s',
    median,
    min: median,
    max: median,
    runs: 3,
    mode: 'end-to-end',
    zeroDropMax,
    sentAtGoal,
  };
}

function goal(rows: CaseResult[]) {
  const g = judgeGoals(rows).find((x) => x.goal === E2E);
  if (!g) throw new Error(`no goal named ${E2E}`);
  return g;
}

t.test('not measured without the end-to-end row, even beside the capture row', async (t) => {
  const capture = { name: 'live-capture', engine: 'native', unit: 'beacons/s', median: 99_000, min: 99_000, max: 99_000, runs: 3 } as CaseResult;
  const g = goal([capture]);
  t.equal(g.met, null);
  t.match(g.why, /end-to-end not measured/);
});

t.test('met at or above 300,000/s', async (t) => {
  const g = goal([e2e(310_000, 300_000, 301_000)]);
  t.equal(g.met, true);
  t.match(g.value, /310,000\/s/);
});

t.test('missed when the agent dropped at a rate the sender reached', async (t) => {
  const g = goal([e2e(49_999, 50_000, 148_398)]);
  t.equal(g.met, false);
  t.match(g.value, /0 drops up to 50,000\/s offered/);
});

t.test('untested when the sender fell short and the agent kept up with it', async (t) => {
  const g = goal([e2e(200_000, 200_000, 205_000)]);
  t.equal(g.met, null);
  t.match(g.why, /sender reached only 205,000\/s/);
});
