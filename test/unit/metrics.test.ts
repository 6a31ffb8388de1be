/**
 * Metrics computed at scrape time (issue 20, part 1). The bug this guards:
 * one collect() hook filled the other metrics after prom-client had already
 * serialised them, so every scrape showed the previous scrape's state and
 * the first showed nothing. Here each scrape must show the state at that
 * scrape, over a real correlator and over HTTP on loopback.
 */
import t from 'tap';
import { createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentCore } from '../../src/topology/core';
import { agentMetrics, type AgentMetricsSource } from '../../src/agent/metrics';
import type { AgentCounters } from '../../src/agent/daemon';
import type { RingStats } from '../../src/capture/live';
import { flat, liveRegistry, nested, type Sample } from '../../src/metrics/live';
import { serveMetrics, writeMetrics } from '../../src/metrics/http';
import { NetbeaconError } from '../../src/errors';
import { VERSION } from '../../src/version';
import { T0, rx, ulidAt } from '../helpers/agent';

/** The value of one series in Prometheus text, or undefined when it is absent. */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  return undefined;
}

t.test('every family is read at the scrape itself, the first scrape too', async (t) => {
  const state = { hits: { eth0: 3 } as Record<string, number>, level: 7 };
  const registry = liveRegistry([
    { name: 'x_hits_total', help: 'hits', type: 'counter', labelNames: ['interface'], read: () => flat(state.hits, 'interface') },
    { name: 'x_level', help: 'level', type: 'gauge', read: () => state.level },
  ]);
  const first = await registry.metrics();
  t.equal(value(first, 'x_hits_total{interface="eth0"}'), 3, 'the first scrape has the counter');
  t.equal(value(first, 'x_level'), 7, 'and the gauge');
  t.match(first, /# TYPE x_hits_total counter/);
  state.hits = { eth0: 5, eth1: 1 };
  state.level = 2;
  const second = await registry.metrics();
  t.equal(value(second, 'x_hits_total{interface="eth0"}'), 5, 'a later scrape has the value at that scrape, not the one before');
  t.equal(value(second, 'x_hits_total{interface="eth1"}'), 1, 'new series appear at once');
  t.equal(value(second, 'x_level'), 2);
  state.hits = { eth1: 1 };
  t.equal(value(await registry.metrics(), 'x_hits_total{interface="eth0"}'), undefined, 'a series gone from the state is gone from the scrape');
});

t.test('an async read (a database query) is awaited', async (t) => {
  let n = 1;
  const registry = liveRegistry([
    { name: 'x_rows', help: 'rows', type: 'gauge', labelNames: ['table'], read: async () => [[{ table: 'hints' }, n] as Sample] },
  ]);
  t.equal(value(await registry.metrics(), 'x_rows{table="hints"}'), 1);
  n = 4;
  t.equal(value(await registry.metrics(), 'x_rows{table="hints"}'), 4);
});

t.test('a counter must be named *_total, and table helpers give labelled samples', async (t) => {
  t.throws(() => liveRegistry([{ name: 'x_hits', help: 'h', type: 'counter', read: () => 0 }]), /x_hits: a counter's name ends in _total/);
  t.same(
    [...nested({ eth0: { valid: 2, mac: 1 } }, 'interface', 'result')],
    [
      [{ interface: 'eth0', result: 'valid' }, 2],
      [{ interface: 'eth0', result: 'mac' }, 1],
    ],
  );
  t.same([...flat(new Map([['a', 1]]), 'k')], [[{ k: 'a' }, 1]]);
});

/** An agent's metrics source over a real correlator, with counters the test moves. */
function agentLike(): { source: AgentMetricsSource; core: AgentCore; counters: AgentCounters; ring: Record<string, RingStats> } {
  const core = new AgentCore();
  const counters: AgentCounters = { received: {}, sent: {}, sendFailures: 0, replays: 0, replaysByFormat: { v2: 0, v3: 0 } };
  const ring: Record<string, RingStats> = {};
  const source: AgentMetricsSource & { nowMs?: number } = {
    counters,
    core,
    engineName: 'native',
    policy: undefined,
    ringStats: () => ring,
    // As the Agent does: the hints aged to the scrape's moment first.
    hints: () => {
      if (source.nowMs !== undefined) core.correlator.expire(source.nowMs);
      return core.correlator.hints();
    },
  };
  return { source, core, counters, ring };
}

t.test("the agent's first scrape has netbeacon_info and the counts at that moment", async (t) => {
  const { source, core, counters, ring } = agentLike();
  counters.sent.eth0 = { solicitation: 3 };
  core.onTransmit({ ulid: ulidAt(T0, 1), interface: 'eth0' }, T0);
  const registry = agentMetrics(source);
  const first = await registry.metrics();
  t.equal(value(first, `netbeacon_info{version="${VERSION}",engine="native"}`), 1, 'netbeacon_info{version,engine} 1');
  t.equal(value(first, 'netbeacon_beacons_sent_total{interface="eth0",type="solicitation"}'), 3, 'the beacons sent so far');
  t.equal(value(first, 'netbeacon_queue_entries{queue="tx"}'), 1, 'the transmit queue now');
  t.equal(value(first, 'netbeacon_hints{hint="on_remote_network"}'), 0, 'every hint kind, zero until heard');
  t.equal(value(first, 'netbeacon_up'), 1);
  t.equal(value(first, 'netbeacon_replays_total{format="v3"}'), 0, 'both formats from the first scrape, at 0');

  // A peer's solicitation arrives, one is rejected, a ring drops: the very next scrape shows it.
  core.onReceive(rx({ ulid: ulidAt(T0, 2), iface: 'eth0' }), T0 + 10);
  counters.received.eth0 = { valid: 1, mac: 1 };
  counters.replays = 3;
  counters.replaysByFormat.v2 = 2;
  counters.replaysByFormat.v3 = 1;
  ring.eth0 = { packets: 9, drops: 4, freezes: 0, beacons: 1 } as RingStats;
  const second = await registry.metrics();
  t.equal(value(second, 'netbeacon_hints{hint="on_remote_network"}'), 1, 'the hint derived since the last scrape');
  (source as { nowMs?: number }).nowMs = T0 + 10 + 121_000;
  t.equal(value(await registry.metrics(), 'netbeacon_hints{hint="on_remote_network"}'), 0, 'a scrape 121 s later: the hint has aged out, with no beacon since');
  delete (source as { nowMs?: number }).nowMs;
  t.equal(value(second, 'netbeacon_beacons_received_total{interface="eth0",result="mac"}'), 1);
  t.equal(value(second, 'netbeacon_replays_total{format="v2"}'), 2, 'replays of v2 beacons');
  t.equal(value(second, 'netbeacon_replays_total{format="v3"}'), 1, 'replays of (key id, ULID) in v3');
  t.notMatch(second, /^netbeacon_replays_total /m, 'no unlabelled series beside them: the sum over format is the total');
  t.equal(value(second, 'netbeacon_ring_drops_total{interface="eth0"}'), 4);
  t.equal(value(second, 'netbeacon_queue_entries{queue="rx"}'), 1);
  t.notMatch(second, /netbeacon_replies_total\{/, 'no policy: no policy series');
});

t.test("the policy's counters are read at the scrape too", async (t) => {
  const { source } = agentLike();
  let sent = 1;
  const policy = {
    filterDropReasons: { eth0: { 'mac-denied': 2 } },
    replyStats: () => ({ sent, held: { 'peer-limit': 3, 'total-limit': 0 } }),
    alarmCounts: () => ({ replay: 1, loop: 0, segment_flood: 0 }),
    driftCounts: () => ({ missing: 1 }),
    expected: {},
  } as unknown as AgentMetricsSource['policy'];
  const registry = agentMetrics({ ...source, policy });
  const m = await registry.metrics();
  t.equal(value(m, 'netbeacon_filter_drops_total{interface="eth0",reason="mac-denied"}'), 2);
  t.equal(value(m, 'netbeacon_replies_total{result="sent"}'), 1);
  t.equal(value(m, 'netbeacon_replies_total{result="peer-limit"}'), 3);
  t.equal(value(m, 'netbeacon_alarms_total{kind="replay"}'), 1);
  t.equal(value(m, 'netbeacon_drift_events{kind="missing"}'), 1);
  sent = 6;
  t.equal(value(await registry.metrics(), 'netbeacon_replies_total{result="sent"}'), 6);
});

function fetch(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

t.test('served over HTTP on loopback: /metrics is computed per request, anything else is 404', async (t) => {
  let level = 1;
  const registry = liveRegistry([{ name: 'x_level', help: 'level', type: 'gauge', read: () => level }]);
  const port = await freePort();
  const server = await serveMetrics(registry, `127.0.0.1:${port}`);
  t.teardown(() => server.close());
  const a = await fetch(port, '/metrics');
  t.equal(a.status, 200);
  t.equal(value(a.body, 'x_level'), 1);
  level = 9;
  t.equal(value((await fetch(port, '/metrics')).body, 'x_level'), 9, 'the next request sees the new state');
  t.equal((await fetch(port, '/other')).status, 404);

  const taken = serveMetrics(registry, `127.0.0.1:${port}`);
  await t.rejects(taken, NetbeaconError, 'a port in use is an operator-facing error');
  await taken.catch((err: NetbeaconError) => {
    t.equal(err.code, 'E_METRICS_LISTEN');
    t.match(err.message, new RegExp(`metrics: cannot listen on 127\\.0\\.0\\.1:${port}: .*in use`));
  });
});

t.test('a family that fails to read answers 500 with the reason', async (t) => {
  const registry = liveRegistry([
    {
      name: 'x_broken',
      help: 'b',
      type: 'gauge',
      read: () => Promise.reject(new Error('database is locked')),
    },
  ]);
  const server = createServer((_req, res) => writeMetrics(registry, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => server.close());
  const r = await fetch((server.address() as AddressInfo).port, '/metrics');
  t.equal(r.status, 500);
  t.equal(r.body, 'database is locked\n');
});
