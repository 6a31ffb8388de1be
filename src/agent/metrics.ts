/**
 * Prometheus metrics (prom-client), read from the agent's own counters at
 * scrape time, so the hot path keeps plain integers and pays nothing for
 * metrics. Labels are interfaces, types, results, queues and hint kinds:
 * never a MAC or a ULID, which would grow without bound.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { HINT_KINDS } from '../topology/hints';
import type { Agent } from './daemon';
import { parseListen } from '../config/config';
import { VERSION } from '../version';

/** A counter that mirrors a monotonically growing value owned elsewhere. */
class Mirror {
  readonly #last = new Map<string, number>();
  constructor(private readonly counter: Counter<string>) {}
  set(labels: Record<string, string>, value: number): void {
    const key = JSON.stringify(labels);
    const last = this.#last.get(key) ?? 0;
    if (value > last) this.counter.inc(labels, value - last);
    this.#last.set(key, Math.max(last, value));
  }
}

export function agentMetrics(agent: Agent): Registry {
  const registry = new Registry();
  const sent = new Counter({
    name: 'netbeacon_beacons_sent_total',
    help: 'Beacons sent, by interface and type',
    labelNames: ['interface', 'type'],
    registers: [registry],
  });
  const received = new Counter({
    name: 'netbeacon_beacons_received_total',
    help: 'Beacon datagrams received, by interface and result (valid or a rejection reason)',
    labelNames: ['interface', 'result'],
    registers: [registry],
  });
  const replays = new Counter({
    name: 'netbeacon_replays_total',
    help: 'Beacons received again on the same interface and VID (replays or loops)',
    registers: [registry],
  });
  const sendFailures = new Counter({ name: 'netbeacon_send_failures_total', help: 'Beacons that could not be sent', registers: [registry] });
  const ringDrops = new Counter({
    name: 'netbeacon_ring_drops_total',
    help: 'Frames the kernel dropped because the capture ring was full',
    labelNames: ['interface'],
    registers: [registry],
  });
  const queue = new Gauge({ name: 'netbeacon_queue_entries', help: 'Entries in the correlation queues', labelNames: ['queue'], registers: [registry] });
  const evicted = new Counter({
    name: 'netbeacon_queue_evictions_total',
    help: 'Entries dropped because a queue was full (oldest first)',
    labelNames: ['queue'],
    registers: [registry],
  });
  const hints = new Gauge({ name: 'netbeacon_hints', help: 'Topology hints currently known, by kind', labelNames: ['hint'], registers: [registry] });
  const info = new Gauge({
    name: 'netbeacon_info',
    help: 'Version and engine of this agent (value 1)',
    labelNames: ['version', 'engine'],
    registers: [registry],
  });
  const filterDrops = new Counter({
    name: 'netbeacon_filter_drops_total',
    help: 'Beacons dropped by policy filters, by interface and reason (mac-denied, mac-not-allowed, vid-denied, vid-not-allowed)',
    labelNames: ['interface', 'reason'],
    registers: [registry],
  });
  const replies = new Counter({
    name: 'netbeacon_replies_total',
    help: 'Unicast replies to solicitations through the policy limiter, by result (sent, peer-limit, total-limit)',
    labelNames: ['result'],
    registers: [registry],
  });
  const alarms = new Counter({
    name: 'netbeacon_alarms_total',
    help: 'Alarms by kind (replay, loop, segment_flood), raised or rate-limited',
    labelNames: ['kind'],
    registers: [registry],
  });
  const drift = new Gauge({
    name: 'netbeacon_drift_events',
    help: 'Current drift findings against the declared topology, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const policyMirrors = { filterDrops: new Mirror(filterDrops), replies: new Mirror(replies), alarms: new Mirror(alarms) };
  const mirrors = {
    sent: new Mirror(sent),
    received: new Mirror(received),
    replays: new Mirror(replays),
    sendFailures: new Mirror(sendFailures),
    ringDrops: new Mirror(ringDrops),
    evicted: new Mirror(evicted),
  };

  // One collect hook refreshes everything from the agent just before a scrape.
  new Gauge({
    name: 'netbeacon_up',
    help: 'Always 1 while the agent answers',
    registers: [registry],
    collect() {
      this.set(1);
      const c = agent.counters;
      for (const [iface, byType] of Object.entries(c.sent)) for (const [type, n] of Object.entries(byType)) mirrors.sent.set({ interface: iface, type }, n);
      for (const [iface, byResult] of Object.entries(c.received))
        for (const [result, n] of Object.entries(byResult)) mirrors.received.set({ interface: iface, result }, n);
      mirrors.replays.set({}, c.replays);
      mirrors.sendFailures.set({}, c.sendFailures);
      for (const [iface, s] of Object.entries(agent.ringStats())) mirrors.ringDrops.set({ interface: iface }, s.drops);
      const st = agent.core.correlator.stats();
      queue.set({ queue: 'tx' }, st.tx.size);
      queue.set({ queue: 'rx' }, st.rx.size);
      mirrors.evicted.set({ queue: 'tx' }, st.tx.evicted);
      mirrors.evicted.set({ queue: 'rx' }, st.rx.evicted);
      const byKind = new Map<string, number>(HINT_KINDS.map((k) => [k, 0]));
      for (const h of agent.core.correlator.hints()) byKind.set(h.hint, (byKind.get(h.hint) ?? 0) + 1);
      for (const [hint, n] of byKind) hints.set({ hint }, n);
      info.set({ version: VERSION, engine: agent.engineName }, 1);
      const policy = agent.policy;
      if (policy) {
        for (const [iface, byReason] of Object.entries(policy.filterDropReasons))
          for (const [reason, n] of Object.entries(byReason)) policyMirrors.filterDrops.set({ interface: iface, reason }, n);
        const r = policy.replyStats();
        policyMirrors.replies.set({ result: 'sent' }, r.sent);
        for (const [result, n] of Object.entries(r.held)) policyMirrors.replies.set({ result }, n);
        for (const [kind, n] of Object.entries(policy.alarmCounts())) policyMirrors.alarms.set({ kind }, n);
        if (policy.expected) for (const [kind, n] of Object.entries(policy.driftCounts())) drift.set({ kind }, n);
      }
    },
  });
  return registry;
}

/** Serve /metrics on HOST:PORT (127.0.0.1 when only a port is given). */
export async function serveMetrics(registry: Registry, spec: string): Promise<Server> {
  const { host, port } = parseListen(spec);
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url !== '/metrics' && req.url !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('netbeacon serves /metrics only\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
