/**
 * test/helpers/timing.ts: a plain run keeps the bounds; the sanitizer run's
 * scale stretches them; a bad value is refused, naming the variable.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const helper = join(__dirname, '..', 'helpers', 'timing.ts');

function scaled(env: Record<string, string | undefined>): { status: number | null; out: string; err: string } {
  const code = `const m = require(${JSON.stringify(helper)}); console.log(JSON.stringify([m.TIMING_SCALE, m.scaledMs(100), m.scaleNote()]));`;
  const childEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
  const r = spawnSync(process.execPath, [...process.execArgv, '-e', code], { env: childEnv, encoding: 'utf8' });
  return { status: r.status, out: r.stdout.trim(), err: r.stderr };
}

t.test('unset, the bounds are the bounds', async (t) => {
  const r = scaled({ NETBEACON_TEST_TIMING_SCALE: undefined });
  t.equal(r.status, 0, r.err);
  t.same(JSON.parse(r.out), [1, 100, '']);
});

t.test('the sanitizer run stretches them, and says so', async (t) => {
  const r = scaled({ NETBEACON_TEST_TIMING_SCALE: '3' });
  t.equal(r.status, 0, r.err);
  t.same(JSON.parse(r.out), [3, 300, ' (x3: NETBEACON_TEST_TIMING_SCALE)']);
});

t.test('a scale below 1 or not a number is refused, naming the variable', async (t) => {
  for (const bad of ['0.5', 'fast']) {
    const r = scaled({ NETBEACON_TEST_TIMING_SCALE: bad });
    t.not(r.status, 0, bad);
    t.match(r.err, new RegExp(`NETBEACON_TEST_TIMING_SCALE=${bad}: not a number >= 1`));
  }
});
