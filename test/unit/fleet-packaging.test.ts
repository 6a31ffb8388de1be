/** The fleet service's unit file and example config, and the agent's fleet keys. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseFleetConfig } from '../../src/fleet/config';
import { DEFAULT_MAX_QUEUED } from '../../src/fleet/store';
import { applyFile, applyFlags, defaults, parseConfig } from '../../src/config/config';

const UNIT = join(__dirname, '..', '..', 'packaging', 'netbeacon-fleet.service');
const YAML = join(__dirname, '..', '..', 'packaging', 'fleet.yaml');

t.test('the fleet unit: its own dynamic user, state in StateDirectory=, no capabilities, readiness', async (t) => {
  const unit = readFileSync(UNIT, 'utf8');
  for (const line of [
    'Type=notify',
    'DynamicUser=yes',
    'StateDirectory=netbeacon',
    'CapabilityBoundingSet=',
    'NoNewPrivileges=yes',
    'ProtectSystem=strict',
    'LoadCredential=netbeacon-secret:/var/lib/maas/secret',
    'Restart=on-failure',
    'RestartPreventExitStatus=2',
    'StartLimitBurst=5',
    'ExecStart=/usr/bin/netbeacon fleet serve --config /etc/netbeacon/fleet.yaml',
  ])
    t.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), line);
});

// systemd-analyze verify of every packaging/*.service, the fleet's included,
// with /usr/bin/netbeacon as the .deb installs it: test/unit/packaging.test.ts.

t.test('the example fleet.yaml is valid and says the defaults', async (t) => {
  const f = parseFleetConfig(readFileSync(YAML, 'utf8'), YAML);
  t.same(f, {
    db: 'sqlite:/var/lib/netbeacon/fleet.db',
    listen: '127.0.0.1:9241',
    log_level: 'info',
    max_report_bytes: 8388608,
    max_queued_reports: 1024,
    refresh_interval: 1,
  });
  t.equal(f.max_queued_reports, DEFAULT_MAX_QUEUED, 'the example says the default');
});

t.test("the agent's fleet keys: file and flags", async (t) => {
  const file = parseConfig('fleet:\n  url: unix:/run/f.sock\n  name: rack7\n  period: 10\n  secret_file: /s\n', 'a.yaml');
  const c = applyFile(defaults(), file, 'a.yaml');
  t.same(c.fleet, { url: 'unix:/run/f.sock', name: 'rack7', periodMs: 10_000, secretFile: '/s' });
  t.same(applyFlags(c, { fleet: 'http://f:9241', name: 'rack8' }).fleet, { url: 'http://f:9241', name: 'rack8', periodMs: 10_000, secretFile: '/s' });
  t.same(defaults().fleet, { url: null, name: null, periodMs: 30_000 });
  t.throws(() => parseConfig('fleet:\n  url: ftp://x\n', 'b.yaml'), {
    message: /config b\.yaml: fleet\.url: must be an http\(s\):\/\/ URL or unix:\/path, got "ftp:\/\/x"/,
  });
  t.throws(() => parseConfig('fleet:\n  name: "a b"\n', 'b.yaml'), { message: /fleet\.name: must be a host name/ });
  t.throws(() => parseConfig('fleet:\n  period: 0\n', 'b.yaml'), { message: /fleet\.period: must be a number from 1 to 3600/ });
});
