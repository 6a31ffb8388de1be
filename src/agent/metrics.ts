/**
 * The agent's Prometheus metrics: each family is read from the agent's own
 * counters when it is scraped (src/metrics/live.ts), so the hot path keeps
 * plain integers, pays nothing for metrics, and every scrape (the first one
 * too) shows the state at that scrape. Labels are interfaces, types,
 * results, queues and hint kinds: never a MAC or a ULID, which would grow
 * without bound.
 */
import type { Registry } from 'prom-client';
import { HINT_KINDS, type TopologyHint } from '../topology/hints';
import type { CorrelatorStats } from '../topology/correlate';
import type { RingStats } from '../capture/live';
import { flat, liveRegistry, nested, type LiveFamily, type Sample } from '../metrics/live';
import { VERSION } from '../version';
import type { AgentCounters } from './daemon';
import type { PolicyDriver } from './policy-driver';

/** What the metrics read: the Agent, or anything shaped like its counters. */
export interface AgentMetricsSource {
  readonly counters: AgentCounters;
  readonly engineName: string;
  readonly policy: Pick<PolicyDriver, 'filterDropReasons' | 'replyStats' | 'alarmCounts' | 'driftCounts' | 'expected'> | undefined;
  readonly core: { readonly correlator: { stats(): CorrelatorStats } };
  /** The hints held now, aged to this moment (the Agent's hints(), as status reads them). */
  hints(): readonly TopologyHint[];
  ringStats(): Record<string, RingStats>;
}

function hintsByKind(hints: readonly TopologyHint[]): Iterable<Sample> {
  const byKind = new Map<string, number>(HINT_KINDS.map((k) => [k, 0]));
  for (const h of hints) byKind.set(h.hint, (byKind.get(h.hint) ?? 0) + 1);
  return flat(byKind, 'hint');
}

function* replies(policy: AgentMetricsSource['policy']): Iterable<Sample> {
  if (!policy) return;
  const r = policy.replyStats();
  yield [{ result: 'sent' }, r.sent];
  yield* flat(r.held, 'result');
}

export function agentFamilies(agent: AgentMetricsSource): LiveFamily[] {
  const queues = (pick: (s: CorrelatorStats['tx']) => number) => (): Sample[] => {
    const st = agent.core.correlator.stats();
    return [
      [{ queue: 'tx' }, pick(st.tx)],
      [{ queue: 'rx' }, pick(st.rx)],
    ];
  };
  return [
    { name: 'netbeacon_up', help: 'Always 1 while the agent answers', type: 'gauge', read: () => 1 },
    {
      name: 'netbeacon_info',
      help: 'Version and engine of this agent (value 1)',
      type: 'gauge',
      labelNames: ['version', 'engine'],
      read: () => [[{ version: VERSION, engine: agent.engineName }, 1]],
    },
    {
      name: 'netbeacon_beacons_sent_total',
      help: 'Beacons sent, by interface and type',
      type: 'counter',
      labelNames: ['interface', 'type'],
      read: () => nested(agent.counters.sent, 'interface', 'type'),
    },
    {
      name: 'netbeacon_beacons_received_total',
      help: 'Beacon datagrams received, by interface and result (valid or a rejection reason)',
      type: 'counter',
      labelNames: ['interface', 'result'],
      read: () => nested(agent.counters.received, 'interface', 'result'),
    },
    {
      // Split by format rather than a new name: sum without (format) is the
      // unlabelled series it replaces, and both formats are always present
      // (0 until one happens), so queries over the name keep their meaning.
      name: 'netbeacon_replays_total',
      help: 'Beacons received again on the same interface and VID (replays or loops), by beacon format (v2, or v3: the same key id and ULID)',
      type: 'counter',
      labelNames: ['format'],
      read: () => flat(agent.counters.replaysByFormat, 'format'),
    },
    { name: 'netbeacon_send_failures_total', help: 'Beacons that could not be sent', type: 'counter', read: () => agent.counters.sendFailures },
    {
      name: 'netbeacon_ring_drops_total',
      help: 'Frames the kernel dropped because the capture ring was full',
      type: 'counter',
      labelNames: ['interface'],
      read: () => Object.entries(agent.ringStats()).map(([iface, s]): Sample => [{ interface: iface }, s.drops]),
    },
    {
      name: 'netbeacon_queue_entries',
      help: 'Entries in the correlation queues',
      type: 'gauge',
      labelNames: ['queue'],
      read: queues((q) => q.size),
    },
    {
      name: 'netbeacon_queue_evictions_total',
      help: 'Entries dropped because a queue was full (oldest first)',
      type: 'counter',
      labelNames: ['queue'],
      read: queues((q) => q.evicted),
    },
    {
      name: 'netbeacon_hints',
      help: 'Topology hints currently known, by kind',
      type: 'gauge',
      labelNames: ['hint'],
      read: () => hintsByKind(agent.hints()),
    },
    {
      name: 'netbeacon_filter_drops_total',
      help: 'Beacons dropped by policy filters, by interface and reason (mac-denied, mac-not-allowed, vid-denied, vid-not-allowed)',
      type: 'counter',
      labelNames: ['interface', 'reason'],
      read: () => (agent.policy ? nested(agent.policy.filterDropReasons, 'interface', 'reason') : []),
    },
    {
      name: 'netbeacon_replies_total',
      help: 'Unicast replies to solicitations through the policy limiter, by result (sent, peer-limit, total-limit)',
      type: 'counter',
      labelNames: ['result'],
      read: () => replies(agent.policy),
    },
    {
      name: 'netbeacon_alarms_total',
      help: 'Alarms by kind (replay, loop, segment_flood), raised or rate-limited',
      type: 'counter',
      labelNames: ['kind'],
      read: () => (agent.policy ? flat(agent.policy.alarmCounts(), 'kind') : []),
    },
    {
      name: 'netbeacon_drift_events',
      help: 'Current drift findings against the declared topology, by kind',
      type: 'gauge',
      labelNames: ['kind'],
      read: () => (agent.policy?.expected ? flat(agent.policy.driftCounts(), 'kind') : []),
    },
  ];
}

export function agentMetrics(agent: AgentMetricsSource): Registry {
  return liveRegistry(agentFamilies(agent));
}
