/**
 * The two-bridge lab of issue 4, shared by the fabric and drift tests:
 *
 *   switch namespace: bridges brX and brY
 *   host R: r0 (10.50.0.1/24) and r1 (no address) on X, r2 (10.51.0.1/24) on Y
 *   host P: p0 (10.50.0.2/24) on X, p1 (10.51.0.2/24) on Y
 *
 * Everything (namespaces and the temporary directory) goes in teardown.
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab } from '../../src/lab/netns';

export function twoFabricLab(t: Test, tag: string): { lab: Lab; dir: string } {
  const lab = new Lab(tag);
  const dir = mkdtempSync(join(tmpdir(), `netbeacon-${tag}-`));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const h of ['sw', 'r', 'p']) lab.addHost(h);
  lab.addBridge('sw', 'brX');
  lab.addBridge('sw', 'brY');
  lab.link({ host: 'r', name: 'r0', addresses: ['10.50.0.1/24'] }, { host: 'sw', name: 'sr0', master: 'brX' });
  lab.link({ host: 'r', name: 'r1' }, { host: 'sw', name: 'sr1', master: 'brX' });
  lab.link({ host: 'r', name: 'r2', addresses: ['10.51.0.1/24'] }, { host: 'sw', name: 'sr2', master: 'brY' });
  lab.link({ host: 'p', name: 'p0', addresses: ['10.50.0.2/24'] }, { host: 'sw', name: 'sp0', master: 'brX' });
  lab.link({ host: 'p', name: 'p1', addresses: ['10.51.0.2/24'] }, { host: 'sw', name: 'sp1', master: 'brY' });
  return { lab, dir };
}

export function macIn(lab: Lab, host: string, ifname: string): string {
  return lab.exec(host, ['cat', `/sys/class/net/${ifname}/address`]).trim();
}
