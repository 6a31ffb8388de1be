/**
 * An interface with IPv6 disabled (net.ipv6.conf.IF.disable_ipv6=1, common
 * on a rack's VLANs) has no IPv6 address, so no IPv6 source: the agent
 * sends it IPv4 beacons only, and no warning four times a minute. A fresh
 * interface beside it, whose link-local address is still in duplicate
 * address detection, gets its IPv6 beacon once the address is usable, and
 * the failure before that (if the first round was early) is said at info
 * level, as the wait it is. In network namespaces (root only).
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { cliCommand } from '../helpers/cli';
import { vector } from '../helpers/corpus';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the IPv6-disabled interface test: ${why}`);
  t.pass('skipped: ' + why);
} else t.test('an interface with IPv6 disabled gets IPv4 beacons only, without warnings', { timeout: 120_000 }, run);

interface Line {
  direction?: string;
  interface?: string;
  destination_ip?: string;
}

async function run(t: Test): Promise<void> {
  const lab = new Lab('v6off');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-v6off-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  lab.addHost('a');
  lab.addHost('b');
  lab.link({ host: 'a', name: 'a0', addresses: ['10.71.0.1/24'] }, { host: 'b', name: 'b0', addresses: ['10.71.0.2/24'] });
  lab.link({ host: 'a', name: 'a1', addresses: ['10.72.0.1/24'] }, { host: 'b', name: 'b1', addresses: ['10.72.0.2/24'] });
  lab.exec('a', ['sysctl', '-qw', 'net.ipv6.conf.a0.disable_ipv6=1']);
  t.notMatch(lab.exec('a', ['ip', '-6', 'addr', 'show', 'dev', 'a0']), /inet6/, 'a0 has no IPv6 address');

  const journal = join(dir, 'journal.jsonl');
  const agent = lab.spawn('a', [
    ...cliCommand(),
    'agent',
    '--secret-file',
    vector('secret'),
    '--socket',
    join(dir, 'a.sock'),
    '-i',
    'a0',
    '-i',
    'a1',
    '--journal',
    journal,
    '--log-level',
    'info',
  ]);
  // The log is JSON lines on stdout; stderr has the CLI's own warnings.
  let stderr = '';
  let stdout = '';
  agent.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  agent.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  t.teardown(() => {
    agent.kill('SIGKILL');
  });
  const tx = (): Line[] => {
    let text: string;
    try {
      text = readFileSync(journal, 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line)
      .filter((l) => l.direction === 'tx');
  };
  // The retry of the first round is 3 s after it, and each round after 30 s:
  // wait for a1's IPv6 beacon, then for a0's IPv4 beacons of a second burst.
  const end = Date.now() + 60_000;
  while (Date.now() < end) {
    const lines = tx();
    if (lines.some((l) => l.interface === 'a1' && l.destination_ip === 'ff02::15a') && lines.filter((l) => l.interface === 'a0').length >= 2) break;
    if (agent.exitCode !== null) break;
    await sleep(200);
  }
  const lines = tx();
  t.equal(agent.exitCode, null, `the agent runs (stderr: ${stderr.slice(-300)})`);
  const a0 = lines.filter((l) => l.interface === 'a0');
  t.ok(a0.length >= 2, `a0 got IPv4 beacons (${a0.length})`);
  t.same([...new Set(a0.map((l) => l.destination_ip))], ['224.0.0.118'], 'and only IPv4 ones');
  t.ok(
    lines.some((l) => l.interface === 'a1' && l.destination_ip === 'ff02::15a'),
    'a1, with IPv6, got its IPv6 beacon',
  );
  const logs = stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string; interface?: string });
  t.same(
    logs.filter((l) => l.level === 'warn' && /cannot send/.test(l.msg)),
    [],
    'no send warning',
  );
  t.same(
    logs.filter((l) => /cannot send/.test(l.msg) && !/still tentative/.test(l.msg)),
    [],
    'a failed IPv6 send (if the first round came before the link-local address was usable) says why, at info',
  );
  t.notOk(
    logs.some((l) => l.interface === 'a0' && /cannot send/.test(l.msg)),
    'nothing failed on a0',
  );
  t.ok(
    logs.some((l) => l.level === 'info'),
    'the log was read (the agent logs at info)',
  );
}
