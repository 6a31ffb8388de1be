/**
 * The agent's pure core: correlation plus the decisions about what to send.
 * A driver (the daemon, or a journal replay) feeds it what it sent, what it
 * received and the time, and performs the actions it returns. It owns no
 * socket, timer or clock.
 */
import type { InterfaceDescription, ReceivedBeacon, SentBeacon } from './beacons';
import { Correlator, type Correlation, type CorrelatorOptions } from './correlate';
import type { TopologyHint } from './hints';
import { Scheduler, type ScheduledAction, type SchedulerOptions } from './schedule';

/**
 * Answer a solicitation: a unicast advertisement to its source address and
 * port. `payload` is what to encode (the encoder adds `ulid` and `type`);
 * `interface`/`vid` say which segment the solicitation arrived on, for a
 * driver that wants to send from there.
 */
export interface ReplyAction {
  readonly kind: 'unicast_advertisement';
  readonly interface: string;
  readonly vid?: number;
  readonly destination_ip: string;
  readonly destination_port: number;
  readonly payload: { readonly remote: InterfaceDescription; readonly acks: string };
}

export type AgentAction = ReplyAction | ScheduledAction;

export interface ReceiveResult extends Correlation {
  /** The reply to send, then whatever the scheduler has due now. */
  readonly actions: readonly AgentAction[];
}

export interface AgentCoreOptions extends CorrelatorOptions, SchedulerOptions {}

export class AgentCore {
  readonly correlator: Correlator;
  readonly scheduler: Scheduler;
  #interfaces = new Map<string, InterfaceDescription>();
  #interfacesKey = '';

  constructor(opts: AgentCoreOptions = {}) {
    this.correlator = new Correlator(opts);
    this.scheduler = new Scheduler(opts);
  }

  /**
   * The monitored interfaces, as `remote` blocks. A change (by value, in any
   * order) triggers a solicitation burst; the same list again does not.
   */
  setInterfaces(interfaces: readonly InterfaceDescription[], nowMs: number): AgentAction[] {
    const sorted = [...interfaces].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const key = canonicalJson(sorted);
    if (key !== this.#interfacesKey) {
      this.#interfacesKey = key;
      this.#interfaces = new Map(sorted.map((d) => [d.name, d]));
      this.scheduler.interfacesChanged(nowMs);
    }
    return this.scheduler.tick(nowMs);
  }

  onTransmit(sent: SentBeacon, nowMs: number): void {
    this.correlator.onTransmit(sent, nowMs);
  }

  onReceive(rx: ReceivedBeacon, nowMs: number): ReceiveResult {
    const c = this.correlator.onReceive(rx, nowMs);
    let reply: ReplyAction | undefined;
    // Own, replayed and dropped solicitations get no answer; a duplicate
    // does, because each answer names a different receiving segment and so
    // tells the solicitor something new.
    if (rx.type === 'solicitation' && (c.verdict === 'new' || c.verdict === 'duplicate')) {
      reply = this.#reply(rx, c);
      this.scheduler.requestAdvertisement(nowMs);
    }
    const due = this.scheduler.tick(nowMs);
    const actions: AgentAction[] = reply ? [reply, ...due] : due;
    // Field by field, not a spread: this runs for every received beacon.
    const { verdict, segment, ulid, hints, added, expired, events } = c;
    return ulid === undefined
      ? { verdict, segment, hints, added, expired, events, actions }
      : { verdict, segment, ulid, hints, added, expired, events, actions };
  }

  tick(nowMs: number): AgentAction[] {
    return this.scheduler.tick(nowMs);
  }

  /** Ages the hints to `nowMs` (the driver's ageing timer); returns the hints that went. */
  expire(nowMs: number): TopologyHint[] {
    return this.correlator.expire(nowMs);
  }

  /** When a hint can next age out (ms), for the driver's ageing timer; undefined while none is held. */
  nextExpiryMs(): number | undefined {
    return this.correlator.nextExpiryMs();
  }

  nextDueMs(): number | undefined {
    return this.scheduler.nextDueMs();
  }

  #reply(rx: ReceivedBeacon, c: Correlation): ReplyAction {
    const seg = c.segment;
    // An interface the driver never described (a replay has none) is
    // described by its name alone rather than not answered.
    const known = this.#interfaces.get(seg.ifname) ?? { name: seg.ifname };
    // The VID it arrived with wins: that is the VLAN the solicitor is on.
    if (seg.vid === undefined)
      return {
        kind: 'unicast_advertisement',
        interface: seg.ifname,
        destination_ip: rx.source_ip,
        destination_port: rx.source_port,
        payload: { remote: known, acks: c.ulid! },
      };
    // Built whole, not spread: every answered solicitation comes through here.
    return {
      kind: 'unicast_advertisement',
      interface: seg.ifname,
      destination_ip: rx.source_ip,
      destination_port: rx.source_port,
      payload: { remote: { ...known, vid: seg.vid }, acks: c.ulid! },
      vid: seg.vid,
    };
  }
}

/** JSON with object keys sorted, so that equal values give equal strings. */
function canonicalJson(value: unknown): string {
  // The keys of one object are distinct, so the comparator never sees a tie.
  const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : 1);
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(byKey)) : v,
  );
}
