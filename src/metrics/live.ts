/**
 * Prometheus metrics computed at scrape time from live state, as
 * node_exporter's collectors are: every family reads what it reports when
 * /metrics is asked, so a scrape shows the state at that scrape (the first
 * one too). Nothing is mirrored into prom-client between scrapes.
 *
 * The pattern, for the agent (src/agent/metrics.ts) and the fleet service
 * alike: describe each family once (name, help, counter or gauge, label
 * names) with a `read` that returns its samples from the owner's own
 * counters; `liveRegistry` turns the list into a prom-client Registry.
 *
 * Why not one collect() hook that fills the others: prom-client serialises
 * the metrics of a registry in registration order, each right after its own
 * collect(), so values set by a later hook reach only the next scrape (issue
 * 20). Here each family's collect() resets it and sets it from `read` just
 * before it is serialised. All collect()s of one scrape run in the same tick
 * (prom-client calls them synchronously, one after the other), so a scrape
 * is one consistent snapshot as long as `read` is synchronous; an async
 * `read` (a database query) is awaited by prom-client and stays correct, but
 * is then a snapshot per family.
 */
import { Counter, Gauge, Registry } from 'prom-client';

/** One sample: its label values (exactly the family's label names) and its value. */
export type Sample = readonly [labels: Readonly<Record<string, string>>, value: number];

export interface LiveFamily {
  /** Counters end in `_total` (Prometheus naming); the registry checks it. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly labelNames?: readonly string[];
  /**
   * The samples now. A family without labels may return a bare number. A
   * series missing from one read is absent from that scrape (an interface
   * that went away), so nothing stale is reported.
   */
  readonly read: () => Iterable<Sample> | number | Promise<Iterable<Sample> | number>;
}

function samples(v: Iterable<Sample> | number): Iterable<Sample> {
  return typeof v === 'number' ? [[{}, v]] : v;
}

/** A prom-client Registry whose families are read from live state at every scrape. */
export function liveRegistry(families: readonly LiveFamily[]): Registry {
  const registry = new Registry();
  for (const f of families) {
    if (f.type === 'counter' && !f.name.endsWith('_total')) throw new Error(`metric ${f.name}: a counter's name ends in _total`);
    const common = { name: f.name, help: f.help, labelNames: [...(f.labelNames ?? [])], registers: [registry] };
    // A counter cannot be set; reset + inc(value) makes it exactly the owner's value.
    const metric: Counter | Gauge = f.type === 'counter' ? new Counter({ ...common, collect }) : new Gauge({ ...common, collect });
    function apply(now: Iterable<Sample> | number): void {
      metric.reset();
      for (const [labels, value] of samples(now)) {
        if (metric instanceof Counter) metric.inc({ ...labels }, value);
        else metric.set({ ...labels }, value);
      }
    }
    // Synchronous when `read` is: every family of a scrape is then read in one tick.
    function collect(): Promise<void> | void {
      const now = f.read();
      if (now instanceof Promise) return now.then(apply);
      apply(now);
    }
  }
  return registry;
}

/** Samples of a nested count table (outer label -> inner label -> n), as the agent keeps them. */
export function* nested(table: Readonly<Record<string, Readonly<Record<string, number>>>>, outer: string, inner: string): Iterable<Sample> {
  for (const [a, byB] of Object.entries(table)) for (const [b, n] of Object.entries(byB)) yield [{ [outer]: a, [inner]: b }, n];
}

/** Samples of a flat count table (label -> n). */
export function* flat(table: Readonly<Record<string, number>> | ReadonlyMap<string, number>, label: string): Iterable<Sample> {
  const entries: Iterable<[string, number]> = table instanceof Map ? (table as ReadonlyMap<string, number>).entries() : Object.entries(table);
  for (const [a, n] of entries) yield [{ [label]: a }, n];
}
