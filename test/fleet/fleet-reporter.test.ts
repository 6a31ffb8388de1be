/**
 * The agent's fleet reporter against a real fleet service in this process
 * (SQLite), with a stand-in for the agent: reports at start, on change and
 * every period; backoff while the service is away, the newest state when it
 * is back; a clock that went back; a wrong key; a service that never answers.
 */
import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FleetReporter, type FleetReportSource } from '../../src/agent/fleet-reporter';
import type { AgentCounters, AgentEvent } from '../../src/agent/daemon';
import type { TopologyHint } from '../../src/topology/hints';
import type { HostInterface } from '../../src/topology/interfaces';
import { FleetService } from '../../src/fleet/service';
import { parseDbUrl } from '../../src/fleet/db';
import { deriveFleetKey } from '../../src/fleet/model/auth';
import { parseReport } from '../../src/fleet/model/report';
import { parseServiceUrl } from '../../src/net/http-client';
import { storedReportText } from '../../src/fleet/store';
import { postReport, report, iface } from '../helpers/fleet-reports';

const KEY = deriveFleetKey(Buffer.from('00112233445566778899aabbccddeeff', 'hex'));

class FakeAgent extends EventEmitter implements FleetReportSource {
  interfaces: HostInterface[] = [
    {
      name: 'eth0',
      ifindex: 2,
      mac: '52:54:00:0a:00:00',
      mtu: 1500,
      type: 'physical',
      parents: [],
      up: true,
      loopback: false,
      addresses: [{ family: 4, address: '10.0.0.1', prefixlen: 24, scope: 'global' }],
    },
  ];
  engineName = 'js';
  counters: AgentCounters = {
    received: { eth0: { valid: 7, mac: 2 } },
    sent: { eth0: { solicitation: 3, advertisement: 4 } },
    sendFailures: 1,
    replays: 0,
    replaysByFormat: { v2: 0, v3: 0 },
  };
  hintList: TopologyHint[] = [];
  hints(): TopologyHint[] {
    return this.hintList;
  }
  peers(): Array<{ interface: string; vid?: number; mac: string; name: string; last_seen: number; formats?: Array<'v2' | 'v3'>; key_id?: string }> {
    return [{ interface: 'eth0', vid: 30, mac: '52:54:00:0b:00:00', name: 'ens3', last_seen: 1_795_000_000 }];
  }
  ringStats(): Record<string, { drops: number }> {
    return { eth0: { drops: 5 } };
  }
  fire(e: AgentEvent): void {
    this.emit('event', e);
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function service(t: Test, dir: string, sock = join(dir, 'fleet.sock')): Promise<FleetService> {
  const s = await FleetService.start({ db: parseDbUrl(`sqlite:${join(dir, 'fleet.db')}`), listen: { kind: 'unix', path: sock }, fleetKey: KEY, refreshMs: 50 });
  t.teardown(() => s.stop());
  return s;
}

function setup(t: Test): { dir: string; agent: FakeAgent; reporter: (opts?: Partial<ConstructorParameters<typeof FleetReporter>[1]>) => FleetReporter } {
  const dir = mkdtempSync(join(tmpdir(), 'nb-reporter-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const agent = new FakeAgent();
  const reporter = (opts: Partial<ConstructorParameters<typeof FleetReporter>[1]> = {}): FleetReporter => {
    const r = new FleetReporter(agent, {
      target: parseServiceUrl(`unix:${join(dir, 'fleet.sock')}`),
      name: 'rack1',
      key: KEY,
      periodMs: 60_000,
      debounceMs: 20,
      maxBackoffMs: 100,
      ...opts,
    });
    t.teardown(() => r.stop());
    return r;
  };
  return { dir, agent, reporter };
}

async function stored(s: FleetService): Promise<ReturnType<typeof parseReport> | undefined> {
  const [row] = await s.store.loadHosts(['rack1']);
  return row && parseReport(storedReportText(row));
}

t.test('reports at start and after each change, with the whole state', async (t) => {
  const { dir, agent, reporter } = setup(t);
  const s = await service(t, dir);
  const r = reporter();
  r.start();
  await until('the first report', async () => (await stored(s)) !== undefined);
  const first = (await stored(s))!;
  t.match(first, {
    host: 'rack1',
    period_seconds: 60,
    agent: { engine: 'js' },
    interfaces: [{ name: 'eth0', mac: '52:54:00:0a:00:00', addresses: ['10.0.0.1/24'], vids: [30] }],
    hints: [],
    peers: [{ interface: 'eth0', vid: 30, name: 'ens3' }],
    counters: { received_valid: 7, received_rejected: 2, sent: 7, replays: 0, send_failures: 1, ring_drops: 5 },
  });
  t.ok(first.seq >= Date.now() - 60_000, 'seq starts at the time in ms');
  // Stored comes before the answer reaches the reporter.
  await until('the answer', () => r.status().reports_sent === 1);
  t.equal(r.status().backlog, 0);

  agent.hintList = [{ hint: 'on_remote_network', ifname: 'eth0', related_ifname: 'ens3', related_mac: '52:54:00:0b:00:00' }];
  agent.fire({ event: 'hint_added', hint: agent.hintList[0]!, time: 0 });
  await until('a report with the hint', async () => (await stored(s))!.hints.length === 1);
  const second = (await stored(s))!;
  t.ok(second.seq > first.seq, 'a new seq');
  // An ageing agent's hint_expired counts as a change too.
  agent.hintList = [];
  agent.emit('event', { event: 'hint_expired', hint: second.hints[0], time: 0 });
  await until('a report without it', async () => (await stored(s))!.hints.length === 0);
  await until('its answer', () => r.status().reports_sent === 3);
  // Events that change nothing a report says do not make one.
  const sent = r.status().reports_sent;
  agent.fire({ event: 'replay', interface: 'eth0', ulid: 'x', format: 'v2', own: false, time: 0 });
  await new Promise((res) => setTimeout(res, 200));
  t.equal(r.status().reports_sent, sent, 'a replay is not a change');
  // A peer no report could carry (another implementation's odd name) is left out, and counted.
  agent.peers = () => [{ interface: 'eth0', mac: 'not-a-mac', name: 'x', last_seen: 1 }];
  agent.fire({ event: 'peer_seen', interface: 'eth0', mac: 'not-a-mac', name: 'x', time: 0 });
  await until('a report without the odd peer', async () => (await stored(s))!.peers.length === 0);
  t.equal((await stored(s))!.counters.not_reported, 1);
  t.equal(r.status().failures_total, 0);
});

t.test('v3: replays by format and the key id of peers heard in v3 are stored, and the counters served', async (t) => {
  const { dir, agent, reporter } = setup(t);
  const sock = join(dir, 'fleet.sock');
  const s = await service(t, dir, sock);
  agent.counters.replays = 3;
  agent.counters.replaysByFormat = { v2: 1, v3: 2 };
  agent.peers = () => [
    { interface: 'eth0', mac: '52:54:00:0b:00:00', name: 'ens3', last_seen: 1_795_000_000, formats: ['v3'], key_id: '3f483d41' },
    { interface: 'eth0', mac: '52:54:00:0c:00:00', name: 'ens4', last_seen: 1_795_000_000, formats: ['v2'] },
  ];
  reporter().start();
  await until('the first report', async () => (await stored(s)) !== undefined);
  const r = (await stored(s))!;
  t.match(r.counters, { replays: 3, replays_v2: 1, replays_v3: 2 });
  t.same(
    r.peers.map((p) => [p.name, p.formats, p.key_id]),
    [
      ['ens3', ['v3'], '3f483d41'],
      ['ens4', ['v2'], undefined],
    ],
    'stored: which peer was heard in authenticated v3, and under which key id',
  );
  // Served: /api/v1/hosts gives the counters as reported, so the fleet tells v3 replays from v2's.
  await until('the model has the host', async () => (await getJson(sock, '/api/v1/hosts')).hosts.length === 1);
  const hosts = await getJson(sock, '/api/v1/hosts');
  t.match(hosts.hosts[0]!.counters, { replays: 3, replays_v2: 1, replays_v3: 2 });
});

function getJson(sock: string, path: string): Promise<{ hosts: Array<{ counters: Record<string, number> }> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as { hosts: Array<{ counters: Record<string, number> }> }));
    });
    req.on('error', reject).end();
  });
}

t.test('every period without a change', async (t) => {
  const { dir, reporter } = setup(t);
  const s = await service(t, dir);
  const r = reporter({ periodMs: 1000 });
  r.start();
  await until('three reports', () => r.status().reports_sent >= 3, 5000);
  t.equal((await stored(s))!.period_seconds, 1);
  t.ok(r.status().next_report_in_seconds! <= 1);
});

t.test('the service is away: backoff, the agent keeps its newest state, and delivers it when the service is back', async (t) => {
  const { dir, agent, reporter } = setup(t);
  const r = reporter({ random: () => 0.5 });
  r.start();
  await until('three failures', () => r.status().failures >= 3);
  t.match(r.status().last_error, /cannot reach unix:.*fleet\.sock/);
  t.equal(r.status().reports_sent, 0);
  agent.hintList = [{ hint: 'same_local_fabric_as', ifname: 'eth0', related_ifname: 'eth1' }];
  agent.fire({ event: 'hint_added', hint: agent.hintList[0]!, time: 0 });
  agent.fire({ event: 'interface_added', interface: 'eth1', time: 0 });
  t.equal(r.status().backlog, 2, 'two changes wait');
  const s = await service(t, dir);
  await until('delivery', () => r.status().reports_sent === 1, 5000);
  t.equal(r.status().failures, 0);
  t.ok(r.status().failures_total >= 3);
  t.equal(r.status().backlog, 0);
  t.equal(r.status().last_error, null);
  t.same((await stored(s))!.hints, agent.hintList, 'the newest state went');
});

t.test('a service that holds a newer seq for the name (the clock went back): the reporter goes on above it', async (t) => {
  const { dir, reporter } = setup(t);
  const s = await service(t, dir);
  const future = Date.now() + 3_600_000;
  t.equal((await postReport(parseServiceUrl(`unix:${join(dir, 'fleet.sock')}`), KEY, report('rack1', [iface('old0', null)], [], { seq: future }))).status, 200);
  const r = reporter();
  r.start();
  await until('a report above it', async () => (await stored(s))!.seq > future);
  t.same(
    (await stored(s))!.interfaces.map((i) => i.name),
    ['eth0'],
  );
  t.equal(r.status().failures, 0);
});

t.test('a wrong key: the service refuses, the reporter says why and backs off', async (t) => {
  const { dir, reporter } = setup(t);
  const s = await service(t, dir);
  const r = reporter({ key: deriveFleetKey(Buffer.from('01', 'hex')) });
  r.start();
  await until('two failures', () => r.status().failures >= 2);
  t.match(r.status().last_error, /answered 401: missing or wrong x-netbeacon-signature/);
  t.equal(await stored(s), undefined);
});

t.test('a service that never answers: the request times out, and stop() does not wait for it', async (t) => {
  const { dir, reporter } = setup(t);
  const sock = join(dir, 'fleet.sock');
  const held: Array<() => void> = [];
  const server: Server = createServer((req) => held.push(() => req.socket.destroy()));
  await new Promise<void>((res) => server.listen(sock, res));
  t.teardown(() => {
    held.forEach((f) => f());
    server.close();
  });
  const r = reporter({ timeoutMs: 150 });
  r.start();
  await until('a timeout', () => r.status().failures >= 1, 5000);
  t.match(r.status().last_error, /no answer within 150 ms/);
  const r2 = reporter({ timeoutMs: 60_000 });
  r2.start();
  await until('a request in flight', () => r2.status().last_attempt !== null);
  const t0 = Date.now();
  await r2.stop();
  t.ok(Date.now() - t0 < 1000, 'stop() abandons the request');
});
