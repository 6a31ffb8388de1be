/**
 * engine/binding.ts finds the addon: build/Release (or Debug), or exactly
 * the file $NETBEACON_ADDON names, and says why when it cannot load one.
 * doctor shows which file was loaded.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { findBinding, loadErrorDetail } from '../../src/engine/binding';
import { runCli } from '../helpers/cli';

const RELEASE = resolve(__dirname, '..', '..', 'build', 'Release', 'netbeacon.node');

t.test('not Linux: no addon is looked for', async (t) => {
  const s = findBinding({ NETBEACON_ADDON: RELEASE }, 'darwin');
  t.same(s, { ok: false, why: 'not-linux', detail: 'platform is darwin; the native engine needs Linux AF_PACKET' });
});

t.test('$NETBEACON_ADDON names a file that does not exist: not built, and no fallback to build/', async (t) => {
  const s = findBinding({ NETBEACON_ADDON: 'no/such/netbeacon.node' });
  t.equal(s.ok, false);
  if (s.ok) return;
  t.equal(s.why, 'not-built');
  t.match(s.detail, /^NETBEACON_ADDON=no\/such\/netbeacon\.node: \/.*\/no\/such\/netbeacon\.node does not exist$/);
});

t.test('$NETBEACON_ADDON names a file that is no addon: the load error names it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-binding-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bogus = join(dir, 'bogus.node');
  writeFileSync(bogus, 'not an ELF file\n');
  const s = findBinding({ NETBEACON_ADDON: bogus });
  t.equal(s.ok, false);
  if (s.ok) return;
  t.equal(s.why, 'load-error');
  t.match(s.detail, `${bogus}: `);
  t.match(s.detail, /invalid ELF header|file too short/);
});

t.test('a sanitizer build loaded without its runtime: the fix is named', async (t) => {
  t.equal(
    loadErrorDetail('/x/netbeacon.node', '/x/netbeacon.node: undefined symbol: __asan_report_load8'),
    '/x/netbeacon.node: /x/netbeacon.node: undefined symbol: __asan_report_load8 (a sanitizer build: it loads only with the sanitizer runtime preloaded, as `npm run test:asan` does)',
  );
  t.equal(loadErrorDetail('/x/netbeacon.node', 'undefined symbol: EVP_MAC_fetch'), '/x/netbeacon.node: undefined symbol: EVP_MAC_fetch');
});

t.test('the Release build, found or named', { skip: existsSync(RELEASE) ? false : 'build/Release/netbeacon.node is not built' }, async (t) => {
  const found = findBinding({});
  t.equal(found.ok, true);
  if (!found.ok) return;
  t.equal(found.path, RELEASE);
  t.equal(found.via, undefined, 'found in build/, not named');
  t.equal(found.binding.abiVersion, 1);
  const named = findBinding({ NETBEACON_ADDON: RELEASE });
  t.equal(named.ok, true);
  if (!named.ok) return;
  t.equal(named.path, RELEASE);
  t.equal(named.via, 'NETBEACON_ADDON');
});

t.test(
  'doctor shows the file it loaded, and that $NETBEACON_ADDON named it',
  { skip: existsSync(RELEASE) ? false : 'build/Release/netbeacon.node is not built' },
  async (t) => {
    const r = await runCli(['doctor'], { env: { ...process.env, NETBEACON_ADDON: RELEASE } });
    t.match(r.stdout, new RegExp(`addon\\s+loaded from ${RELEASE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\(named by \\$NETBEACON_ADDON\\)`));
    const missing = await runCli(['doctor', '--json'], { env: { ...process.env, NETBEACON_ADDON: '/nonexistent/netbeacon.node' } });
    const report = JSON.parse(missing.stdout) as { engine: { addon: string } };
    t.equal(report.engine.addon, 'not-built: NETBEACON_ADDON=/nonexistent/netbeacon.node: /nonexistent/netbeacon.node does not exist');
  },
);

t.test(
  'doctor says where interfaces come from: rtnetlink through the addon, else the poll, and why',
  { skip: existsSync(RELEASE) ? false : 'build/Release/netbeacon.node is not built' },
  async (t) => {
    const env = (extra: Record<string, string>) => ({ env: { ...process.env, NETBEACON_ADDON: RELEASE, NETBEACON_INTERFACES: '', ...extra } });
    const native = await runCli(['doctor'], env({}));
    t.match(native.stdout, /discovery\s+netlink — rtnetlink link and address events through the addon \(no process is started\)/);
    const forced = await runCli(['doctor'], env({ NETBEACON_INTERFACES: 'poll' }));
    t.match(forced.stdout, /discovery\s+poll — `ip -j -d addr show` every 2 s: the poll was requested \(NETBEACON_INTERFACES=poll\)/);
    const missing = { NETBEACON_ADDON: '/nonexistent/netbeacon.node' };
    const fallback = await runCli(['doctor', '--json'], env(missing));
    t.match((JSON.parse(fallback.stdout) as { discovery: unknown }).discovery, {
      source: 'poll',
      why: /every 2 s, falling back: NETBEACON_ADDON=\/nonexistent\/netbeacon.node: .* does not exist/,
    });
    const refused = await runCli(['doctor'], env({ ...missing, NETBEACON_INTERFACES: 'netlink' }));
    t.match(refused.stdout, /discovery\s+cannot run: NETBEACON_INTERFACES=netlink, but the rtnetlink watcher cannot run: NETBEACON_ADDON=/);
    t.equal(refused.status, 1, 'a forced source that cannot run: the agent cannot run');
  },
);
