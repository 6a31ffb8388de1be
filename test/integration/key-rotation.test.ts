/**
 * Secret rotation through a running agent, with each engine, in network
 * namespaces (issue 8):
 *
 *   host S: s0 (10.61.0.2/24)  --veth--  host A: a0 (10.61.0.1/24), the agent
 *
 * The agent starts with policy.keys: `cur` current, `prev` previous with
 * an open window, `old` previous with a closed one. S sends solicitations
 * signed with each, and with `stranger` (in no keyring):
 * - those of cur and prev are accepted (status counts them by key
 *   fingerprint and says which key S used) and answered, signed with cur;
 * - those of old and stranger are rejected as `mac` and not answered.
 * Then the config is rewritten (`next` becomes current, cur previous, prev
 * dropped) and the agent gets SIGHUP: without a restart, prev is refused,
 * cur still accepted, and replies are now signed with `next`. A reload
 * naming a key file that is not there changes nothing.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../../src/agent/control';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { deriveKey, keyFingerprint } from '../../src/protocol/key';
import { cliCommand } from '../helpers/cli';
import { jsonLines, nodeInNs } from '../helpers/netns';
import { enginesToTest } from '../helpers/engines';

const SENDER = resolve(__dirname, '..', 'helpers', 'keyed-sender.ts');
const NAMES = ['cur', 'prev', 'old', 'stranger', 'next'] as const;
type Name = (typeof NAMES)[number];

interface Status {
  interfaces: Array<{ name: string; received: Record<string, number> }>;
  policy: {
    reloads: number;
    keys: {
      signing: string;
      matched: Record<string, number>;
      peers: Record<string, string>;
      keys: Array<{ fingerprint: string; role: string; accepting: boolean }>;
    };
  };
}

const why = netnsUnavailable();
if (why) {
  t.comment(`skipping the key rotation test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  for (const engine of enginesToTest())
    t.test(`previous keys are accepted in their window and SIGHUP rotates the keys (${engine} engine)`, (t) => rotation(t, engine));
}

async function rotation(t: Test, engine: string): Promise<void> {
  const lab = new Lab(`krt${engine[0]}`);
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-krt-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  lab.addHost('a');
  lab.addHost('s');
  lab.link({ host: 'a', name: 'a0', addresses: ['10.61.0.1/24'] }, { host: 's', name: 's0', addresses: ['10.61.0.2/24'] });

  const file: Record<Name, string> = {} as Record<Name, string>;
  const fp: Record<Name, string> = {} as Record<Name, string>;
  for (const n of NAMES) {
    const secret = randomBytes(16);
    file[n] = join(dir, `${n}.secret`);
    writeFileSync(file[n], secret.toString('hex'), { mode: 0o600 });
    fp[n] = keyFingerprint(deriveKey(secret));
  }
  const now = Math.floor(Date.now() / 1000);
  const config = join(dir, 'a.yaml');
  const replies = '  replies:\n    per_peer: { rate: 10, burst: 100 }\n';
  writeFileSync(
    config,
    `policy:\n  keys:\n    - { secret_file: ${file.cur}, role: current }\n    - { secret_file: ${file.prev}, role: previous, accept_until: ${now + 3600} }\n    - { secret_file: ${file.old}, role: previous, accept_until: ${now - 60} }\n${replies}`,
  );
  const sock = join(dir, 'a.sock');
  let log = '';
  const agent = lab.spawn('a', [...cliCommand(), 'agent', '--config', config, '--engine', engine, '--socket', sock, '-i', 'a0', '--log-level', 'info']);
  agent.stdout!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
  agent.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-20_000)));
  t.teardown(() => agent.kill('SIGKILL'));
  const status = async (): Promise<Status> => (await request(sock, 'status')) as Status;
  const up = Date.now() + 15_000;
  while (
    Date.now() < up &&
    !(await status().then(
      () => true,
      () => false,
    ))
  )
    await new Promise((res) => setTimeout(res, 100));

  /** Sends one solicitation per name, returns which secret signed each reply. */
  const send = async (names: readonly Name[]): Promise<Name[]> => {
    const child = nodeInNs(lab.ns('s'), SENDER, [
      JSON.stringify({ to: '10.61.0.1', secretFiles: NAMES.map((n) => file[n]), send: names.map((n) => NAMES.indexOf(n)), waitMs: 1500 }),
    ]);
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    let out: { sent: number; replies: number[] } | undefined;
    jsonLines(child, (v) => (out = v as typeof out));
    await new Promise<void>((res) => child.on('exit', () => res()));
    t.equal(out?.sent, names.length, `the sender sent ${names.length} solicitations ${err}`);
    return (out?.replies ?? []).map((i) => (i < 0 ? ('unverifiable' as Name) : NAMES[i]!));
  };
  const mac = async (): Promise<number> => (await status()).interfaces.find((i) => i.name === 'a0')?.received.mac ?? 0;

  t.ok(
    await status().then(
      () => true,
      () => false,
    ),
    'the agent answers on its socket',
  );
  let s = await status();
  t.equal(s.policy.keys.signing, fp.cur, 'status: cur signs');
  t.same(
    s.policy.keys.keys.map((k) => [k.fingerprint, k.role, k.accepting]),
    [
      [fp.cur, 'current', true],
      [fp.prev, 'previous', true],
      [fp.old, 'previous', false],
    ],
    'status: the keys by fingerprint, with their windows',
  );
  t.notMatch(JSON.stringify(s), /limitation/, 'no engine limitation is reported');

  const before = await send(['cur', 'prev', 'old', 'stranger', 'cur', 'prev']);
  t.same(before, ['cur', 'cur', 'cur', 'cur'], 'the four solicitations signed with cur or prev are answered, each reply signed with cur');
  s = await status();
  t.same(s.policy.keys.matched, { [fp.cur]: 2, [fp.prev]: 2 }, 'status: beacons matched per key');
  t.equal(await mac(), 2, 'old (window closed) and stranger are rejected as mac');
  t.same(Object.values(s.policy.keys.peers), [fp.prev], "status: the peer's last beacon used prev");

  // Rotate: next signs, cur becomes previous, prev is dropped.
  writeFileSync(
    config,
    `policy:\n  keys:\n    - { secret_file: ${file.next}, role: current }\n    - { secret_file: ${file.cur}, role: previous, accept_until: ${now + 3600} }\n${replies}`,
  );
  agent.kill('SIGHUP');
  const reloaded = Date.now() + 10_000;
  while (Date.now() < reloaded && (await status()).policy.reloads < 1) await new Promise((res) => setTimeout(res, 100));
  s = await status();
  t.equal(s.policy.reloads, 1, 'the policy was reloaded');
  t.equal(s.policy.keys.signing, fp.next, 'status: next signs now');

  const after = await send(['prev', 'cur', 'next']);
  t.same(after, ['next', 'next'], 'cur and next are answered, with replies signed by next; prev is not answered');
  s = await status();
  t.same(s.policy.keys.matched, { [fp.cur]: 3, [fp.prev]: 2, [fp.next]: 1 }, 'status: matched counts carry on across the reload');
  t.equal(await mac(), 3, 'prev, dropped from the keyring, is now rejected as mac');

  // A bad edit (a key file that is not there) is refused whole: the agent keeps its keys.
  writeFileSync(config, `policy:\n  keys:\n    - { secret_file: ${join(dir, 'missing.secret')}, role: current }\n${replies}`);
  agent.kill('SIGHUP');
  const refused = Date.now() + 10_000;
  while (Date.now() < refused && !log.includes('config reload failed')) await new Promise((res) => setTimeout(res, 100));
  t.match(log, /config reload failed; keeping the running config/, 'the bad reload is logged');
  t.match(log, /missing\.secret/, 'naming the file');
  s = await status();
  t.equal(s.policy.reloads, 1, 'the policy was not replaced');
  t.equal(s.policy.keys.signing, fp.next, 'next still signs');
  t.same(await send(['next']), ['next'], 'and the agent still answers, signed with next');
  if (!t.passing()) t.comment(`agent log:\n${log.slice(-4000)}`);
}
