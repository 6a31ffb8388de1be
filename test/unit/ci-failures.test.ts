/**
 * scripts/ci-failures.js: CI's log ends with the failing tests by name, since
 * a reader of its tail alone once saw "6645 passed, 1 failed" and no name
 * (ctest, the fuzz smoke, the ASan subset and the install checks all print
 * after tap). The TAP it reads is real: a small test file run under this
 * repo's tap, with a nested failure, a thrown error, a timeout, a diff, a
 * skip and a todo.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'ci-failures.js');

const SOURCE = `const t = require(${JSON.stringify(join(ROOT, 'node_modules', 'tap'))});
t.test('outer', async (t) => {
  t.ok(true, 'fine');
  t.test('inner', async (t) => { t.equal(1, 2, 'one is two'); t.ok(true); });
});
t.test('skipped', { skip: 'not here' }, async () => {});
t.test('todo one', async (t) => { t.fail('later', { todo: true }); });
t.test('throws', async () => { throw new Error('cannot open /x: ENOENT'); });
t.test('slow', { timeout: 50 }, async () => { await new Promise((r) => setTimeout(r, 400)); });
t.test('green', async (t) => { t.pass('yes'); });
`;

/** Runs SOURCE with tap's environment taken out, as a plain node process. */
function tapOf(dir: string): string {
  const file = join(dir, 'sample.js');
  writeFileSync(file, SOURCE);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('TAP') && !k.startsWith('_TAPJS') && k !== 'NODE_OPTIONS' && k !== 'NODE_V8_COVERAGE'),
  );
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env, cwd: dir });
  return r.stdout;
}

t.test('names each failure once, at its deepest point, with where and what', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-ci-failures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const results = join(dir, 'results');
  mkdirSync(join(results, 'test', 'unit'), { recursive: true });
  const tap = tapOf(dir);
  t.match(tap, /# \{ total: 9, pass: 3, fail: 4, todo: 1, skip: 1 \}/, 'the sample run fails (tap counts outer, which failed through inner, as well)');
  writeFileSync(join(results, 'test', 'unit', 'sample.test.ts.tap'), tap);
  writeFileSync(join(results, 'test', 'unit', 'all-green.test.ts.tap'), 'TAP version 14\nok 1 - fine\n1..1\n');
  const r = spawnSync(process.execPath, [SCRIPT, results], { encoding: 'utf8' });
  t.equal(r.status, 0);
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines[0], `failing tests (3, from ${results}):`);
  const named = lines.filter((l) => /^ {2}\S/.test(l));
  t.same(named, [
    '  test/unit/sample.test.ts: outer > inner > one is two',
    '  test/unit/sample.test.ts: throws > cannot open /x: ENOENT',
    '  test/unit/sample.test.ts: slow > timeout!',
  ]);
  const after = (name: string): string[] => {
    const i = lines.findIndex((l) => l.endsWith(name));
    const j = lines.findIndex((l, k) => k > i && /^ {2}\S/.test(l));
    return lines.slice(i + 1, j < 0 ? undefined : j).map((l) => l.trim());
  };
  t.same(after('one is two'), ['at sample.js:4', 'diff -2', 'diff +1'], 'where, and the diff');
  t.same(after('cannot open /x: ENOENT'), ['at sample.js:8']);
  t.same(after('timeout!'), ['expired: slow'], 'which test ran out of time');
  t.notMatch(r.stdout, /later|skipped|green|fine/, 'skips, todos and passes are not failures');
});

t.test('silent when nothing failed or there are no results', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-ci-failures-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.test.ts.tap'), 'TAP version 14\nok 1 - fine\nok 2 - skipped # SKIP no\n1..2\n');
  const green = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
  t.equal(green.stdout, '');
  t.equal(green.status, 0);
  const none = spawnSync(process.execPath, [SCRIPT, join(dir, 'absent')], { encoding: 'utf8' });
  t.equal(none.stdout, '');
  t.equal(none.status, 0);
});
