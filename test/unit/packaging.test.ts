import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN } from '../helpers/cli';
import { COMMAND_NAMES } from '../../src/cli/commands';

const PACKAGING = join(__dirname, '..', '..', 'packaging');
const UNIT = join(PACKAGING, 'netbeacon.service');
const ROOT = join(__dirname, '..', '..');
/** Every unit the .deb installs (scripts/package-deb.sh takes packaging/*.service). */
const UNITS = readdirSync(PACKAGING)
  .filter((f) => f.endsWith('.service'))
  .map((f) => join(PACKAGING, f));

t.test('the systemd unit asks for least privilege and readiness', async (t) => {
  const unit = readFileSync(UNIT, 'utf8');
  for (const line of [
    'Type=notify',
    'AmbientCapabilities=CAP_NET_RAW',
    'CapabilityBoundingSet=CAP_NET_RAW',
    'DynamicUser=yes',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'RuntimeDirectory=netbeacon',
    'LoadCredential=netbeacon-secret:/var/lib/maas/secret',
    'Restart=on-failure',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'ExecStart=/usr/bin/netbeacon agent --config /etc/netbeacon/netbeacon.yaml',
  ]) {
    t.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), line);
  }
});

/** A unit's `Key=value` settings (the last one wins, as in systemd). */
function settings(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\w+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** systemd time spans as the units use them: "5s", "10min", "30", "1h". */
function seconds(span: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|sec|min|m|h)?$/.exec(span.trim());
  if (!m) throw new Error(`not a time span: ${span}`);
  return Number(m[1]) * ({ s: 1, sec: 1, min: 60, m: 60, h: 3600 } as Record<string, number>)[m[2] ?? 's']!;
}

t.test('a crash loop backs off and then stops; a config error is not restarted', async (t) => {
  for (const path of UNITS) {
    const s = settings(readFileSync(path, 'utf8'));
    if (s.get('Restart') !== 'on-failure') continue;
    const delay = seconds(s.get('RestartSec') ?? '0.1');
    const burst = Number(s.get('StartLimitBurst') ?? 5);
    const interval = seconds(s.get('StartLimitIntervalSec') ?? '10');
    t.ok(delay >= 1, `${path}: at least a second between restarts (RestartSec=${delay}s)`);
    // systemd's defaults (5 starts in 10 s) never trip with RestartSec=5s: the loop would go on forever.
    t.ok((burst - 1) * delay < interval, `${path}: ${burst} starts ${delay} s apart fit in ${interval} s, so the start limit does end a crash loop`);
    t.match(s.get('RestartPreventExitStatus') ?? '', /\b2\b/, `${path}: exit 2 (the operator's to fix, src/agent/exit.ts) is not restarted`);
  }
});

/**
 * systemd-analyze verify must accept every unit without a warning: an
 * unknown key (RestartSteps= on systemd 252) is only a warning, with exit 0.
 * ExecStart's /usr/bin/netbeacon exists only once installed (CI verifies the
 * installed units, scripts/check-deb.sh); until then the check runs on a copy
 * whose ExecStart points at this checkout's netbeacon, as `npm install -g`
 * links it, and without looking for the man page (Documentation=man:…), which
 * the .deb installs.
 */
t.test('systemd-analyze verify accepts every unit, with no warning', async (t) => {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return void t.skip('systemd-analyze is not installed here', () => {});
  const dir = mkdtempSync(join(tmpdir(), 'nb-units-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A wrapper as the .deb's /usr/bin/netbeacon is: tsc writes main.js without the executable bit, so a symlink to it is not a command.
  const bin = join(dir, 'netbeacon');
  writeFileSync(bin, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} "$@"\n`, { mode: 0o755 });
  t.ok(UNITS.length >= 1, `${UNITS.length} units`);
  for (const path of UNITS) {
    let text = readFileSync(path, 'utf8');
    if (!existsSync('/usr/bin/netbeacon')) text = text.replace(/^(ExecStart=)\/usr\/bin\/netbeacon /m, `$1${bin} `);
    const copy = join(dir, path.split('/').at(-1)!);
    writeFileSync(copy, text);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', copy], { encoding: 'utf8' });
    t.equal(r.status, 0, `${path}: ${r.stderr}`);
    t.equal((r.stdout + r.stderr).trim(), '', `${path}: no warnings`);
  }
});

/**
 * What `npm pack` puts in the tarball that `npm install -g` installs (the
 * whole install is checked by scripts/check-npm-install.sh in CI): the
 * compiled CLI, what the install-time addon build needs, every unit and the
 * example config, the runtime dependencies bundled (an offline machine has
 * no registry), and nothing of the tests or the bench.
 */
t.test('npm pack ships what a global install needs, and no tests', async (t) => {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const files = new Set((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; dependencies: Record<string, string> };
  for (const f of [
    pkg.bin.netbeacon!,
    'binding.gyp',
    'scripts/build-native.js',
    'scripts/native-sources.js',
    'native/verify.cc',
    'native/registry.h',
    'packaging/netbeacon.yaml',
    'package.json',
  ])
    t.ok(files.has(f), f);
  for (const u of UNITS) t.ok(files.has(`packaging/${u.split('/').at(-1)!}`), `${u.split('/').at(-1)!} (every packaging/*.service)`);
  // The install-time build runs binding.gyp, and binding.gyp runs scripts of its own.
  for (const m of readFileSync(join(ROOT, 'binding.gyp'), 'utf8').matchAll(/node (scripts\/[\w.-]+\.js)/g))
    t.ok(files.has(m[1]!), `${m[1]!} (binding.gyp runs it)`);
  for (const dep of Object.keys(pkg.dependencies)) t.ok(files.has(`node_modules/${dep}/package.json`), `${dep} is bundled`);
  const stray = [...files].filter(
    (f) => /^(test|bench|coverage|dist\/(test|bench))\//.test(f) || /^native\/fuzz_/.test(f) || (f.startsWith('dist/') && f.endsWith('.map')),
  );
  t.same(stray, [], 'no tests, bench, fuzz harnesses or source maps');
});

t.test('the man page covers every command, from the CLI itself', async (t) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'manpage.js'), '2026-01-01'], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^\.TH NETBEACON 1 "2026-01-01" "netbeacon [\d.]+"/);
  for (const c of COMMAND_NAMES) t.match(r.stdout, new RegExp(`^\\.SS netbeacon ${c}\\b`, 'm'), `netbeacon ${c}`);
  t.match(r.stdout, /\\-\\-secret\\-file/, 'options, with their dashes escaped for roff');
});
