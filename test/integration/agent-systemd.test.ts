/**
 * The agent as systemd runs it (issue 20, parts 1 and 4), in a namespace of
 * its own: the command line of packaging/netbeacon.service's ExecStart with
 * the packaged config, the secret as a credential ($CREDENTIALS_DIRECTORY,
 * as LoadCredential= hands it over), Type=notify to a notify socket of the
 * test's own, the watchdog on, then SIGTERM. The first metrics scrape after
 * READY=1 must already show netbeacon_info and the current counts. Starts
 * that fail must end promptly, never READY, with an exit status the unit's
 * restart rules expect and a last log line that says why.
 *
 * How long start and stop take is measured by `npm run bench -- --only
 * lifecycle`, not here.
 */
import t, { type Test } from 'tap';
import { type ChildProcess } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { request } from '../../src/agent/control';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { loadBinding } from '../../src/engine/binding';
import { VERSION } from '../../src/version';
import { NotifySocket, says, type Notification } from '../../bench/lib/sd-notify';
import { cliCommand } from '../helpers/cli';
import { vector } from '../helpers/corpus';

const ROOT = resolve(__dirname, '..', '..');
const UNIT = join(ROOT, 'packaging', 'netbeacon.service');
const PACKAGED_CONFIG = join(ROOT, 'packaging', 'netbeacon.yaml');

const why = netnsUnavailable() ?? (loadBinding().ok ? undefined : 'the native addon is not built (sd_notify lives there)');
if (why) {
  t.comment(`skipping the systemd lifecycle test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('Type=notify, watchdog, first scrape, SIGTERM: as the unit runs it', asTheUnitRunsIt);
  t.test('a start that fails ends at once, never READY, and its last log line says why', failedStart);
}

/** ExecStart's arguments after the binary, with the packaged config in place of /etc's. */
function execStartArgs(): string[] {
  const line = /^ExecStart=(.*)$/m.exec(readFileSync(UNIT, 'utf8'))![1]!;
  const [bin, ...args] = line.trim().split(/\s+/);
  if (bin !== '/usr/bin/netbeacon') throw new Error(`ExecStart runs ${bin}, not /usr/bin/netbeacon`);
  return args.map((a) => (a === '/etc/netbeacon/netbeacon.yaml' ? PACKAGED_CONFIG : a));
}

interface Run {
  lab: Lab;
  dir: string;
  sock: string;
  notify: NotifySocket;
}

async function setUp(t: Test): Promise<Run> {
  const lab = new Lab('sysd');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-sysd-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  const notify = await NotifySocket.open(join(dir, 'notify'));
  t.teardown(() => notify.close());
  lab.addHost('a');
  lab.addHost('b');
  lab.link({ host: 'a', name: 'a0', addresses: ['10.62.0.1/24'] }, { host: 'b', name: 'b0', addresses: ['10.62.0.2/24'] });
  // LoadCredential= copies the secret into a directory only the service can read.
  const creds = join(dir, 'credentials');
  mkdirSync(creds, { mode: 0o700 });
  copyFileSync(vector('secret'), join(creds, 'netbeacon-secret'));
  chmodSync(join(creds, 'netbeacon-secret'), 0o400);
  return { lab, dir, sock: join(dir, 'netbeacon.sock'), notify };
}

interface Agent {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  lastLine: () => Record<string, unknown>;
}

function startAgent(r: Run, extraArgs: string[] = []): Agent {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NOTIFY_SOCKET: r.notify.path,
    // The unit's WatchdogSec=30s means a ping every 15 s; 1 s here, so the test sees several.
    WATCHDOG_USEC: '1000000',
    CREDENTIALS_DIRECTORY: join(r.dir, 'credentials'),
  };
  delete env.NETBEACON_SECRET_FILE;
  const child = r.lab.spawn('a', [...cliCommand(), ...execStartArgs(), '--socket', r.sock, ...extraArgs], { env });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return {
    child,
    exit,
    stdout: () => out + err,
    lastLine: () => JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>,
  };
}

/** One scrape, from inside the agent's namespace (the packaged config serves 127.0.0.1:9240). */
function scrape(lab: Lab): string {
  return lab.exec('a', [
    process.execPath,
    '-e',
    'require("http").get("http://127.0.0.1:9240/metrics",r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>process.stdout.write(b))})',
  ]);
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

interface Status {
  engine: { name: string };
  interfaces: Array<{ name: string; sent: Record<string, number> }>;
  correlation: { tx: { size: number } };
}

async function asTheUnitRunsIt(t: Test): Promise<void> {
  const r = await setUp(t);
  const agent = startAgent(r);
  const ready = await r.notify.waitFor(says('READY=1'), 30_000);
  t.match(ready.msg, /STATUS=capturing/, 'READY=1 with a status line, once capturing');

  // The first scrape: nothing may be one scrape behind.
  const before = (await request(r.sock, 'status')) as Status;
  const first = scrape(r.lab);
  const after = (await request(r.sock, 'status')) as Status;
  t.equal(sample(first, `netbeacon_info{version="${VERSION}",engine="${before.engine.name}"}`), 1, 'netbeacon_info{version,engine} 1 in the first scrape');
  t.same(
    before.interfaces.map((i) => i.name),
    ['a0'],
    'the packaged config selects every interface that is up',
  );
  const sent = sample(first, 'netbeacon_beacons_sent_total{interface="a0",type="solicitation"}');
  const was = before.interfaces[0]!.sent.solicitation ?? 0;
  const is = after.interfaces[0]!.sent.solicitation ?? 0;
  t.ok(was >= 1, `solicitations went out before READY (${was})`);
  t.ok(sent !== undefined && sent >= was && sent <= is, `the first scrape counts the solicitations sent by then (${sent}; status said ${was}, then ${is})`);
  const tx = sample(first, 'netbeacon_queue_entries{queue="tx"}');
  t.ok(tx !== undefined && tx >= before.correlation.tx.size && tx <= after.correlation.tx.size, `and the transmit queue as it was (${tx})`);

  const seen = r.notify.messages.length;
  const pings = (all: readonly Notification[]) => all.slice(seen).filter(says('WATCHDOG=1')).length;
  await r.notify.waitUntil((all) => pings(all) >= 2, 6000);
  t.pass('the watchdog is pinged again and again (WATCHDOG_USEC=1000000: every 0.5 s)');

  agent.child.kill('SIGTERM');
  const end = await agent.exit;
  t.same(end, { code: 0, signal: null }, 'SIGTERM: exit 0, which Restart=on-failure leaves alone');
  t.ok(r.notify.messages.some(says('STOPPING=1')), 'systemd is told STOPPING=1');
  t.notOk(existsSync(r.sock), 'the control socket is removed');
  t.match(agent.lastLine(), { level: 'info', msg: 'netbeacon agent stopped (SIGTERM)', signal: 'SIGTERM' }, 'the last log line says why it stopped');
}

async function failedStart(t: Test): Promise<void> {
  const r = await setUp(t);
  // Something else holds the metrics port the packaged config asks for.
  const squatter = r.lab.spawn('a', [process.execPath, '-e', 'require("net").createServer().listen(9240,"127.0.0.1",()=>console.log("listening"))']);
  await new Promise<void>((res) => squatter.stdout!.once('data', () => res()));
  const agent = startAgent(r);
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), 30_000);
  const end = await agent.exit;
  clearTimeout(timer);
  t.same(end, { code: 1, signal: null }, 'exit 1: a failure a restart may cure (a port held by an agent still stopping), so Restart=on-failure restarts it');
  t.notOk(r.notify.messages.some(says('READY=1')), 'never READY=1');
  t.match(
    agent.lastLine(),
    { level: 'fatal', code: 'E_METRICS_LISTEN', exit_code: 1, msg: 'netbeacon agent failed: metrics: cannot listen on 127.0.0.1:9240: address already in use' },
    'the last log line says why',
  );
  t.notOk(existsSync(r.sock), 'the half-started agent removed its control socket');
  squatter.kill();

  // A config the operator must fix: exit 2, which the unit does not restart.
  const bad = startAgent(r, ['--secret-file', join(r.dir, 'no-such-secret')]);
  const badEnd = await bad.exit;
  t.same(badEnd, { code: 2, signal: null }, 'exit 2 for a missing secret (RestartPreventExitStatus=2)');
  t.match(bad.lastLine(), { level: 'fatal', exit_code: 2, msg: new RegExp(`netbeacon agent failed: .*${join(r.dir, 'no-such-secret')}`) }, 'naming the file');
}
