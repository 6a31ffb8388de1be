import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const UNIT = join(__dirname, '..', '..', 'packaging', 'netbeacon.service');

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
  ]) {
    t.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), line);
  }
});

t.test('systemd-analyze verify accepts the unit', async (t) => {
  const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return void t.skip('systemd-analyze is not installed here', () => {});
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stderr.trim(), '', 'no warnings');
});
