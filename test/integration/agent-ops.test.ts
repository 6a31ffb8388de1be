/**
 * Operating the agent (issue 6), in a namespace of its own: readiness and
 * watchdog to a stand-in for systemd's notify socket, metrics scraped over
 * HTTP, status and watch over the control socket (and its mode), SIGHUP
 * reloading interfaces, SIGTERM exiting cleanly, and the drop to an
 * unprivileged user keeping only CAP_NET_RAW.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, subscribe } from '../../src/agent/control';
import { Lab, netnsUnavailable } from '../../src/lab/netns';
import { loadBinding } from '../../src/engine/binding';
import { spawnLabAgent, type LabAgent } from '../helpers/lab-agent';

const why = netnsUnavailable() ?? (loadBinding().ok ? undefined : 'the native addon is not built (notify and privilege drop live there)');
if (why) {
  t.comment(`skipping the agent operations test: ${why}`);
  t.pass('skipped: ' + why);
} else {
  t.test('readiness, metrics, status, watch, SIGHUP, SIGTERM', ops);
  t.test('dropping root keeps only CAP_NET_RAW', privileges);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: () => T | undefined | Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    await sleep(200);
  }
  return undefined;
}

function pair(t: Test): { lab: Lab; dir: string } {
  const lab = new Lab('ops');
  const dir = mkdtempSync(join(tmpdir(), 'netbeacon-ops-'));
  t.teardown(() => {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  lab.addHost('a');
  lab.addHost('b');
  lab.link({ host: 'a', name: 'a0', addresses: ['10.60.0.1/24'] }, { host: 'b', name: 'b0', addresses: ['10.60.0.2/24'] });
  lab.link({ host: 'a', name: 'a1', addresses: ['10.61.0.1/24'] }, { host: 'b', name: 'b1', addresses: ['10.61.0.2/24'] });
  return { lab, dir };
}

/** A stand-in for systemd's notify socket: prints each datagram on a line. */
function notifyListener(path: string): { child: ChildProcess; messages: string[] } {
  const script =
    'import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint("bound",flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace("\\n","|"),flush=True)';
  const child = spawn('python3', ['-c', script, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => messages.push(...d.trim().split('\n')));
  return { child, messages };
}

function startAgent(lab: Lab, args: string[], env: Record<string, string> = {}): LabAgent {
  return spawnLabAgent(lab, 'a', args, { env });
}

async function ops(t: Test): Promise<void> {
  const { lab, dir } = pair(t);
  const sock = join(dir, 'agent.sock');
  const cfg = join(dir, 'netbeacon.yaml');
  writeFileSync(cfg, `interfaces: {include: [a0]}\nsocket: ${sock}\nmetrics: 127.0.0.1:9240\nlog_level: info\nperiods: {solicitation: 5}\n`);
  const notify = notifyListener(join(dir, 'notify'));
  t.teardown(() => notify.child.kill());
  await until(() => notify.messages.includes('bound') || undefined, 5000);

  const agent = startAgent(lab, ['--config', cfg], { NOTIFY_SOCKET: join(dir, 'notify'), WATCHDOG_USEC: '400000' });
  const ready = await until(() => notify.messages.find((m) => m.startsWith('READY=1')), 20_000);
  t.ok(ready, 'READY=1 once the capture is up');
  t.equal((statSync(sock).mode & 0o777).toString(8), '660', 'the control socket is mode 0660');
  t.ok(await until(() => notify.messages.includes('WATCHDOG=1') || undefined, 3000), 'the watchdog is pinged (WATCHDOG_USEC=400000 → every 200 ms)');

  const events: Array<{ event: string; interface?: string }> = [];
  const watch = subscribe(sock, 'watch', (e) => events.push(e as { event: string }));
  t.teardown(() => watch.close());

  // Metrics, scraped over HTTP from inside the agent's namespace.
  const scrape = () =>
    lab.exec('a', [
      process.execPath,
      '-e',
      'require("http").get("http://127.0.0.1:9240/metrics",r=>{let b="";r.on("data",d=>b+=d);r.on("end",()=>process.stdout.write(b))})',
    ]);
  const metrics = await until(() => {
    const m = scrape();
    return /netbeacon_beacons_sent_total\{interface="a0",type="solicitation"\} [1-9]/.test(m) ? m : undefined;
  }, 10_000);
  t.ok(metrics, 'beacons sent are counted per interface and type');
  t.match(metrics ?? '', /netbeacon_info\{version="[\d.]+",engine="(native|js)"\} 1/);
  t.match(metrics ?? '', /netbeacon_queue_entries\{queue="tx"\} [1-9]/);
  t.match(metrics ?? '', /netbeacon_hints\{hint="same_local_fabric_as"\} 0/);
  t.match(metrics ?? '', /# TYPE netbeacon_ring_drops_total counter/);
  t.notMatch(metrics ?? '', /[0-9a-f]{2}(:[0-9a-f]{2}){5}/, 'no MAC labels');
  const notFound = lab.exec('a', [process.execPath, '-e', 'require("http").get("http://127.0.0.1:9240/other",r=>process.stdout.write(String(r.statusCode)))']);
  t.equal(notFound, '404');

  const status = (await request(sock, 'status')) as { interfaces: Array<{ name: string }> };
  t.same(
    status.interfaces.map((i) => i.name),
    ['a0'],
  );

  // SIGHUP: the config now names a1 too.
  writeFileSync(cfg, `interfaces: {include: [a0, a1]}\nsocket: ${sock}\nmetrics: 127.0.0.1:9240\nlog_level: debug\nperiods: {solicitation: 5}\n`);
  const txBefore = ((await request(sock, 'status')) as { correlation: { tx: { size: number } } }).correlation.tx.size;
  agent.child.kill('SIGHUP');
  const both = await until(async () => {
    const s = (await request(sock, 'status')) as { interfaces: Array<{ name: string }> };
    return s.interfaces.length === 2 ? s : undefined;
  }, 10_000);
  t.ok(both, 'SIGHUP picks up the new interface');
  t.ok(await until(() => events.find((e) => e.event === 'interface_added' && e.interface === 'a1'), 5000), 'watch streams interface_added');
  const txAfter = ((await request(sock, 'status')) as { correlation: { tx: { size: number } } }).correlation.tx.size;
  t.ok(txAfter >= txBefore, 'the transmit queue survives the reload');
  t.ok(await until(() => /"msg":"config reloaded"/.test(agent.log()) || undefined, 5000), 'the reload is logged');
  t.ok(notify.messages.includes('RELOADING=1'), 'systemd is told about the reload');

  // A broken edit keeps the agent running on the old config.
  writeFileSync(cfg, 'periods: {solicitation: never}\n');
  agent.child.kill('SIGHUP');
  t.ok(await until(() => /config reload failed; keeping the running config/.test(agent.log()) || undefined, 5000), 'a bad reload is logged, not fatal');
  t.ok(await request(sock, 'status'), 'and the agent still answers');

  const exited = new Promise<number | null>((res) => agent.child.on('exit', (c) => res(c)));
  agent.child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM: exit 0');
  t.notOk(existsSync(sock), 'the socket is removed');
  t.ok(await until(() => notify.messages.includes('STOPPING=1') || undefined, 2000), 'STOPPING=1');
  await watch.done;
}

async function privileges(t: Test): Promise<void> {
  const { lab, dir } = pair(t);
  const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  if (nobody.status !== 0) return void t.skip('there is no user "nobody" here', () => {});
  // The agent makes run/ itself and hands it to nobody; nobody must be able to reach it.
  chmodSync(dir, 0o711);
  const sock = join(dir, 'run', 'agent.sock');
  const agent = startAgent(lab, ['-i', 'a0', '--socket', sock, '--user', 'nobody']);
  t.ok(await until(() => /dropped root; keeping only CAP_NET_RAW/.test(agent.log()) || undefined, 20_000), 'the agent says it dropped root');
  const status = readFileSync(`/proc/${agent.child.pid}/status`, 'utf8');
  t.match(
    status,
    new RegExp(`^Uid:\\s+${nobody.stdout.trim()}\\s+${nobody.stdout.trim()}\\s+${nobody.stdout.trim()}`, 'm'),
    'real, effective and saved uid are nobody',
  );
  t.match(status, /^CapEff:\s+0000000000002000$/m, 'the only effective capability is CAP_NET_RAW');
  t.match(status, /^NoNewPrivs:\s+1$/m);
  t.ok(await request(sock, 'status'), 'and it still answers on its socket');
  const exited = new Promise<number | null>((res) => agent.child.on('exit', (c) => res(c)));
  agent.child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.notOk(existsSync(sock), 'the socket, chowned before the drop, is removed by the unprivileged agent');
}
