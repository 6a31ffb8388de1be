/**
 * The addon's two builds compile the same files: node-gyp's (binding.gyp,
 * what `npm install` runs) and cmake-js's (CMakeLists.txt: the ASan addon).
 * Both read scripts/native-sources.js; this checks what each really
 * compiles: the object list node-gyp generated for the install-time build,
 * and the compile commands of a fresh cmake-js configure.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { addonSources } = require(join(ROOT, 'scripts', 'native-sources.js')) as { addonSources: () => string[] };

t.test('the list is every native/*.cc but the fuzz harnesses', async (t) => {
  const cc = readdirSync(join(ROOT, 'native')).filter((f) => f.endsWith('.cc'));
  t.same(
    addonSources(),
    cc.filter((f) => !f.startsWith('fuzz_')).map((f) => `native/${f}`),
  );
  t.ok(addonSources().includes('native/addon.cc'));
  t.notOk(
    addonSources().some((f) => f.includes('/test/')),
    'the C++ tests are no addon source',
  );
  const cli = spawnSync(process.execPath, [join(ROOT, 'scripts', 'native-sources.js'), '--cmake'], { encoding: 'utf8' });
  t.equal(cli.stdout, addonSources().join(';'));
});

const makefile = join(ROOT, 'build', 'netbeacon.target.mk');
t.test('node-gyp compiled exactly the list', { skip: existsSync(makefile) ? false : 'the addon was not built with node-gyp here' }, async (t) => {
  const objs = [...readFileSync(makefile, 'utf8').matchAll(/\$\(obj\)\.target\/\$\(TARGET\)\/(native\/[\w-]+)\.o/g)].map((m) => `${m[1]}.cc`);
  t.same(objs.sort(), addonSources(), 'rebuild with `npm run build:native` if a native file was added since');
});

const hasTools = ['cmake', 'clang++'].every((tool) => spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0);
t.test('cmake-js compiles exactly the list into the ASan addon', { skip: hasTools ? false : 'cmake or clang++ is not installed' }, async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'netbeacon-cmake-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'native-cmake.js'), '--out', out, 'configure'], { encoding: 'utf8', cwd: ROOT });
  t.equal(r.status, 0, r.stderr);
  const commands = JSON.parse(readFileSync(join(out, 'compile_commands.json'), 'utf8')) as { file: string; command: string }[];
  // The addon is its N-API glue plus the core objects the tests and fuzz target share.
  const inAddon = commands.filter((c) => /-o CMakeFiles\/netbeacon_(asan|core)\.dir\//.test(c.command)).map((c) => relative(ROOT, c.file));
  t.same(inAddon.sort(), addonSources());
  t.ok(
    commands.some((c) => c.file.endsWith('native/test/frame_test.cc')),
    'compile_commands.json covers the C++ tests too (for clang-tidy)',
  );
});
