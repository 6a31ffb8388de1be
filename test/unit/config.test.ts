import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyFile, applyFlags, defaults, loadConfigFile, parseConfig, parseListen } from '../../src/config/config';
import { runInProcess } from '../helpers/inprocess';

const PACKAGED = join(__dirname, '..', '..', 'packaging', 'netbeacon.yaml');

t.test('the packaged example is valid and says what it sets', async (t) => {
  const c = loadConfigFile(PACKAGED);
  t.equal(c.source, PACKAGED);
  t.same(c.interfaces.exclude, ['usb*', 'ib*', 'tun*', 'bmc*']);
  t.equal(c.metrics, '127.0.0.1:9240');
  t.same(c.periods, { solicitationMs: 30_000, retryMs: 3_000, advertisementMs: 5_000, interfacePollMs: 2_000 });
});

t.test('errors name the file, the key path and what is wrong (exit 2)', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['interfaces:\n  include: eth0\n', /interfaces\.include: must be a list, got "eth0"/],
    ['interfaces:\n  include: [eth0, 7]\n', /interfaces\.include\[1\]: must be a non-empty string, got 7/],
    ['periods:\n  solicitation: fast\n', /periods\.solicitation: must be a number from 1 to 3600, got "fast"/],
    ['periods:\n  solicitation: 0\n', /periods\.solicitation: must be a number from 1 to 3600, got 0/],
    ['queues:\n  tx: 10.5\n', /queues\.tx: must be an integer/],
    ['queues:\n  ttl: 0\n', /queues\.ttl: must be a number from 1 to 3600, got 0/],
    ['log_level: chatty\n', /log_level: must be one of fatal, error, warn, info, debug, trace, silent, got "chatty"/],
    ['engine: turbo\n', /engine: must be one of auto, native, js/],
    ['socks: /run/x\n', /socks: unknown key \(known here: interfaces, secret_file, socket/],
    ['periods:\n  solicitaton: 5\n', /periods\.solicitaton: unknown key \(known here: solicitation, retry/],
    ['metrics: everywhere\n', /metrics: must be PORT or HOST:PORT/],
    ['ring:\n  block_size: 5000\n', /ring\.block_size: must be a multiple of 4096/],
    ['advertise:\n  maas_url: ftp://x\n', /advertise\.maas_url: must be an http\(s\) URL/],
    ['notify: yes please\n', /notify: must be true or false/],
    ['- just\n- a list\n', /\(top level\): must be a mapping, got a list/],
    ['interfaces: {include: [a]\n', /not valid YAML \(line \d+, column \d+\)/],
    ['socket: /a\nsocket: /b\n', /not valid YAML/],
    ['user: "Root Admin"\n', /user: must be a user name or a numeric uid/],
  ];
  const dir = t.testdir(Object.fromEntries(cases.map(([text], i) => [`c${i}.yaml`, text])));
  for (const [i, [text, re]] of cases.entries()) {
    const file = join(dir, `c${i}.yaml`);
    t.throws(() => loadConfigFile(file), { code: 'E_CONFIG', exitCode: 2, message: re }, JSON.stringify(text));
    t.throws(() => loadConfigFile(file), { message: new RegExp(`^config ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `) }, 'the file is named');
  }
});

t.test('a named file must exist; the default may be absent', async (t) => {
  t.throws(() => loadConfigFile('/nonexistent/netbeacon.yaml'), { message: /config \/nonexistent\/netbeacon\.yaml: does not exist/ });
  const dir = t.testdir({ sub: {} });
  t.throws(() => loadConfigFile(join(dir, 'sub')), { message: /is a directory/ });
  t.same(parseConfig('', 'empty'), {}, 'an empty file is all defaults');
  t.same(parseConfig('# only comments\n', 'c'), {});
});

t.test('file over defaults, flags over file', async (t) => {
  const file = parseConfig(
    'interfaces: {include: [eth*], exclude: [eth9]}\nsecret_file: /s\nsocket: /run/x.sock\nmetrics: 9240\nlog_level: debug\njournal: /j\nengine: js\nuser: nobody\nperiods: {solicitation: 10, retry: 1, advertisement: 2, interface_poll: 0.5}\nqueues: {tx: 100, rx: 200, hints: 300, support: 400, ttl: 20}\nring: {block_size: 65536, block_count: 8, retire_ms: 5}\nadvertise: {role: rack, maas_url: "http://10.0.0.2:5240/MAAS"}\nnotify: false\nbeacons: {formats: [v2, v3]}\n',
    'f',
  );
  const c = applyFile(defaults(), file, 'f');
  t.same(c, {
    interfaces: { include: ['eth*'], exclude: ['eth9'] },
    secretFile: '/s',
    socket: '/run/x.sock',
    metrics: '9240',
    logLevel: 'debug',
    journal: '/j',
    engine: 'js',
    user: 'nobody',
    periods: { solicitationMs: 10_000, retryMs: 1_000, advertisementMs: 2_000, interfacePollMs: 500 },
    queues: { tx: 100, rx: 200, hints: 300, support: 400, ttlMs: 20_000 },
    ring: { blockSize: 65536, blockCount: 8, retireMs: 5 },
    advertise: { role: 'rack', maas_url: 'http://10.0.0.2:5240/MAAS' },
    notify: false,
    policy: { filters: [], replies: {}, alarms: {} },
    fleet: { url: null, name: null, periodMs: 30_000 },
    beacons: { formats: ['v2', 'v3'] },
    source: 'f',
  });
  const f = applyFlags(c, {
    interface: ['p0'],
    exclude: ['p9'],
    secretFile: '/t',
    socket: '/y.sock',
    metrics: '[::1]:9999',
    logLevel: 'warn',
    journal: '/k',
    engine: 'native',
    user: '1000',
    role: 'region',
    maasUrl: 'http://m',
    pollMs: 300,
  });
  t.same(f.interfaces, { include: ['p0'], exclude: ['p9'] });
  t.equal(f.metrics, '[::1]:9999');
  t.equal(f.logLevel, 'warn');
  t.same(f.advertise, { role: 'region', maas_url: 'http://m' });
  t.equal(f.periods.interfacePollMs, 300);
  t.same(applyFlags(c, {}), c, 'no flags, no change');
  t.throws(() => applyFlags(c, { metrics: 'nowhere' }), { message: /must be PORT or HOST:PORT, got "nowhere"/ });
  t.equal(c.queues.tx, 100, 'applyFlags does not change its input');
});

t.test('listen addresses', async (t) => {
  t.same(parseListen('9240'), { host: '127.0.0.1', port: 9240 }, 'a bare port stays on the host');
  t.same(parseListen('0.0.0.0:9240'), { host: '0.0.0.0', port: 9240 });
  t.same(parseListen('[::1]:80'), { host: '::1', port: 80 });
  t.same(parseListen('metrics.local:9100'), { host: 'metrics.local', port: 9100 });
  for (const bad of ['host9240', ':0', '70000', 'a:b']) t.throws(() => parseListen(bad), { code: 'E_CONFIG' }, bad);
});

t.test('agent --check-config', async (t) => {
  const good = await runInProcess(['agent', '--config', PACKAGED, '--check-config', '--secret-file', '/x/secret']);
  t.equal(good.code, 0, good.stderr);
  t.match(good.stdout, /is valid/);
  t.match(good.stdout, /secret: \/x\/secret \(from --secret-file\)/);
  const dir = t.testdir({ 'bad.yaml': 'periods: {retry: -1}\n' });
  const bad = await runInProcess(['agent', '--config', join(dir, 'bad.yaml'), '--check-config']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /bad\.yaml: periods\.retry: must be a number from 0\.1 to 600, got -1/);
  const flag = await runInProcess(['agent', '--config', PACKAGED, '--metrics', 'x:y', '--check-config']);
  t.equal(flag.code, 2, 'flags are checked too');
  writeFileSync(join(dir, 'ok.yaml'), readFileSync(PACKAGED));
  const noSecret = await runInProcess(['agent', '--config', join(dir, 'ok.yaml'), '--check-config']);
  t.equal(noSecret.code, 0);
  t.match(noSecret.stdout, /warning: no MAAS secret found|secret: /);
});

t.test('beacons.formats: v2 by default, v3 on request, nothing else', async (t) => {
  t.same(defaults().beacons.formats, ['v2'], 'MAAS only unless asked');
  t.same(applyFile(defaults(), parseConfig('beacons: {formats: [v3]}\n', 'f'), 'f').beacons.formats, ['v3']);
  t.throws(() => parseConfig('beacons: {formats: [v4]}\n', 'f'), /beacons\.formats\[0\]: must be one of v2, v3, got "v4"/);
  t.throws(() => parseConfig('beacons: {formats: []}\n', 'f'), /beacons\.formats: must name at least one format/);
  t.throws(() => parseConfig('beacons: {formats: [v3, v3]}\n', 'f'), /beacons\.formats: names a format twice/);
  t.throws(() => parseConfig('beacons: {format: [v3]}\n', 'f'), /beacons\.format/);
  t.same(applyFlags(defaults(), { formats: 'v2, v3' }).beacons.formats, ['v2', 'v3'], '--formats overrides the file');
  t.throws(() => applyFlags(defaults(), { formats: 'v3,v9' }), { code: 'E_CONFIG', message: /--formats\[1\]: must be one of v2, v3/ });
});
