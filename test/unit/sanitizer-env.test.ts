/**
 * src/lab/sanitizer-env.ts: PostgreSQL and Chromium, started by the test
 * labs, run without the ASan runtime that `npm run test:asan` preloads into
 * node (initdb under it timed out, the chromium wrapper broke on it). The
 * last check starts a real program through the stripped environment.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { withoutSanitizerRuntime } from '../../src/lab/sanitizer-env';

t.test('the sanitizer variables go, everything else stays', async (t) => {
  const env = {
    PATH: '/usr/bin:/bin',
    HOME: '/root',
    LD_PRELOAD: '/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.so',
    ASAN_OPTIONS: 'detect_leaks=0',
    UBSAN_OPTIONS: 'print_stacktrace=1',
    LSAN_OPTIONS: 'suppressions=x',
    NETBEACON_ADDON: '/x/asan/netbeacon.node',
    LD_LIBRARY_PATH: '/opt/lib',
    UNSET: undefined,
  };
  t.same(withoutSanitizerRuntime(env), { PATH: '/usr/bin:/bin', HOME: '/root', NETBEACON_ADDON: '/x/asan/netbeacon.node', LD_LIBRARY_PATH: '/opt/lib' });
  t.not(withoutSanitizerRuntime(env), env, 'a copy: the caller keeps its own');
  t.equal(env.LD_PRELOAD.length > 0, true);
});

t.test('a program started with it sees no LD_PRELOAD', async (t) => {
  const env = { ...process.env, LD_PRELOAD: '', ASAN_OPTIONS: 'halt_on_error=1' };
  const r = spawnSync('sh', ['-c', 'echo "[${LD_PRELOAD-unset}] [${ASAN_OPTIONS-unset}]"'], { encoding: 'utf8', env: withoutSanitizerRuntime(env) });
  t.equal(r.stdout.trim(), '[unset] [unset]');
});
