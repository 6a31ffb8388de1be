/**
 * scripts/ci-totals.js: the line CI ends with. A red step must never read as
 * "0 failed" (it once did: the arguments were passed in a different order
 * from the one the script read them in, and lint, ctest and ASan went
 * uncounted).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'ci-totals.js');
const TAP = '# { total: 10, pass: 8, fail: 1, skip: 1 }';
const CTEST = '100% tests passed, 0 tests failed out of 38';

function run(...args: string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8' });
  return { stdout: r.stdout.trim(), stderr: r.stderr, status: r.status };
}

t.test('counts from tap and ctest add up', async (t) => {
  const r = run('--tap', TAP, '--tap-rc', '1', '--ctest', CTEST, '--ctest-rc', '0', '--step', 'lint=0');
  t.equal(r.stdout, '46 passed, 1 failed, 1 skipped');
  t.equal(r.stderr, '');
  t.equal(r.status, 0);
  const green = run('--tap', '# { total: 3, pass: 3 }', '--tap-rc', '0', '--ctest', '95% tests passed, 2 tests failed out of 40', '--ctest-rc', '8');
  t.equal(green.stdout, '41 passed, 2 failed, 0 skipped', 'ctest failures are counted as ctest printed them');
});

t.test('each red step without counts of its own is one failure, and says so', async (t) => {
  const ok = ['--tap', '# { total: 3, pass: 3 }', '--tap-rc', '0', '--ctest', CTEST, '--ctest-rc', '0'];
  const r = run(...ok, '--step', 'lint=1', '--step', 'fuzz smoke=0', '--step', 'ASan subset=1');
  t.equal(r.stdout, '41 passed, 2 failed, 0 skipped');
  t.match(r.stderr, /lint failed \(exit 1\)/);
  t.match(r.stderr, /ASan subset failed \(exit 1\)/);
  t.notMatch(r.stderr, /fuzz smoke/);

  const cov = run('--tap', '# { total: 3, pass: 3 }', '--tap-rc', '1', '--ctest', CTEST, '--ctest-rc', '0');
  t.equal(cov.stdout, '41 passed, 1 failed, 0 skipped', 'tap red with no failing test: coverage');
  t.match(cov.stderr, /coverage below the thresholds/);

  const noTap = run('--tap', '', '--tap-rc', '1', '--ctest', CTEST, '--ctest-rc', '0');
  t.equal(noTap.stdout, '38 passed, 1 failed, 0 skipped');
  t.match(noTap.stderr, /no tap summary found/);

  const noCtest = run('--tap', '# { total: 3, pass: 3 }', '--tap-rc', '0', '--ctest', '', '--ctest-rc', '2');
  t.equal(noCtest.stdout, '3 passed, 1 failed, 0 skipped');
  t.match(noCtest.stderr, /no ctest summary found \(npm run test:native exited 2\)/);

  const afterCtest = run('--tap', '# { total: 3, pass: 3 }', '--tap-rc', '0', '--ctest', CTEST, '--ctest-rc', '1');
  t.equal(afterCtest.stdout, '41 passed, 1 failed, 0 skipped', 'test:native red after a green ctest');
});

t.test('bad arguments are refused, and still print a failing totals line', async (t) => {
  for (const [args, why] of [
    [['--tap', TAP, '--tap-rc', 'x', '--ctest', CTEST, '--ctest-rc', '0'], /--tap-rc: expected an exit status, got "x"/],
    [['--tap', TAP, '--tap-rc', '0', '--ctest', CTEST], /--tap-rc and --ctest-rc are required/],
    [['--tap', TAP, '--tap-rc', '0', '--ctest', CTEST, '--ctest-rc', '0', '--step', 'lint'], /--step: expected NAME=RC, got "lint"/],
    [['--tapp', TAP], /unknown argument "--tapp"/],
  ] as const) {
    const r = run(...args);
    t.equal(r.status, 2);
    t.match(r.stderr, why);
    t.equal(r.stdout, '0 passed, 1 failed, 0 skipped');
  }
});
