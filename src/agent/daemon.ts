/**
 * The agent daemon: the driver around the pure AgentCore. It owns the I/O
 * (interface discovery, the live capture, the sender, the journal, the
 * control socket, the timer) and nothing else: every decision about what a
 * beacon means or what to send is the core's.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import type { ReceivedBeacon } from '../topology/beacons';
import { AgentCore, type AgentCoreOptions } from '../topology/core';
import type { CorrelationEvent } from '../topology/correlate';
import type { TopologyHint } from '../topology/hints';
import { buildTopology } from '../topology/fabrics';
import type { BeaconSealer } from '../engine/types';
import { BeaconSender, type SendFailure, type SentRecord } from './sender';
import { ControlServer } from './control';
import { HintExpiryTimer } from './hint-expiry';
import { ProbeAnswerer, type AnswerAction, type RawReplyAction } from '../policy/answers';
import { RawReplier } from './raw-reply';
import { rawSendUnavailable } from '../capture/raw-send';
import type { LiveCapture, LiveRecord, InterfaceGone, RingStats } from '../capture/live';
import type { SchedulerOptions } from '../topology/schedule';
import type { FernetKeyObjects } from '../protocol/fernet';
import { BEACON_FORMATS, type BeaconFormat } from '../protocol/beacon';
import { V3_VERSION } from '../protocol/v3';
import { observedBeacon } from '../protocol/observe';
import type { RejectReason } from '../protocol/reasons';
import type { DecodedBeacon } from '../protocol/verdict';
import {
  cidrOf,
  describeInterface,
  diffInterfaces,
  interfaceSummary,
  ipv4Addresses,
  selectInterfaces,
  type HostInterface,
  type Selection,
} from '../topology/interfaces';
import { chooseInterfaceSource, createInterfaceSource, type InterfaceSource, type InterfaceSourceChoice } from '../net/interface-source';
import { VERSION } from '../version';
import { alarmFields, type LoadedPolicy, type PolicyDriver } from './policy-driver';
import type { AlarmEvent } from '../policy/alarms';
import type { DriftEvent } from '../policy/drift';

export interface AgentOptions {
  readonly keys: FernetKeyObjects;
  /** Key fingerprint -> v3 key id (v3KeyIds of the capture's keyring): names the key of a v3 beacon a keyring verified. */
  readonly keyIds?: ReadonlyMap<string, string>;
  /** Beacon formats multicast (config beacons.formats); default [v2]. v3 needs `keys` with a v3 key. */
  readonly formats?: readonly BeaconFormat[];
  readonly capture: LiveCapture;
  readonly engine: string;
  readonly engineWhy: string;
  /** Seals the v2 beacons sent (createSealer of chooseSealEngine's choice); JS by default. */
  readonly sealer?: BeaconSealer;
  readonly selection: Selection;
  /** Control socket; none (probe --once) leaves nothing behind. */
  readonly socketPath?: string;
  readonly journalPath?: string;
  readonly core?: AgentCoreOptions;
  readonly pollMs?: number;
  /** Where interfaces come from (net/interface-source.ts); default: its choice. */
  readonly interfaceSource?: InterfaceSourceChoice;
  readonly port?: number;
  readonly clock?: () => number;
  /** Extra keys in every payload (role, maas_url). */
  readonly extraPayload?: Record<string, unknown>;
  /** Solicitations received with these VIDs get no reply (answers.ts). */
  readonly ignoreVids?: readonly number[];
  /** Filters, reply limits, alarms, keys and drift (policy-driver.ts); none: MAAS's behaviour. */
  readonly policy?: PolicyDriver;
  /** How often drift is recomputed when hints changed (and at least every 5 refreshes). Default 2000. */
  readonly driftRefreshMs?: number;
  readonly log?: (level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>) => void;
}

export interface AgentCounters {
  received: Record<string, Record<string, number>>; // interface -> valid | reason -> n
  sent: Record<string, Record<string, number>>; // interface -> type -> n
  sendFailures: number;
  /** Every replay; `replaysByFormat` splits them: a v3 replay is of (key, ULID), both authenticated. */
  replays: number;
  replaysByFormat: Record<BeaconFormat, number>;
}

/** Events for `watch` and logs. */
export type AgentEvent =
  | { event: 'interface_added' | 'interface_removed'; interface: string; time: number }
  | { event: 'interface_changed'; interface: string; mtu: number; addresses: string[]; time: number }
  | { event: 'interface_gone'; interface: string; code: string; message: string; time: number }
  | { event: 'hint_added' | 'hint_expired'; hint: TopologyHint; time: number }
  | { event: 'peer_seen' | 'peer_gone'; interface: string; vid?: number; mac: string; name: string; time: number }
  | { event: 'replay'; interface: string; vid?: number; ulid: string; format: BeaconFormat; key_id?: string; own: boolean; time: number }
  | { event: 'send_failed'; interface: string; destination: string; error: string; time: number }
  | ({ event: 'alarm'; message: string; time: number } & Record<string, unknown>)
  | { event: 'drift' | 'drift_cleared'; drift: DriftEvent; time: number };

/** Which format was replayed: a v3 replay is the same authenticated (key id, ULID) again. */
/** The v3 key that verified a beacon: its wire key id, or (none known for it) only the key's fingerprint. */
type V3Key = { readonly keyId: string } | { readonly fingerprint: string };

/** The correlator's key id: the wire's, else `fp:FINGERPRINT`, which still keeps two keys' beacons apart. */
function correlationKeyId(k: V3Key): string {
  return 'keyId' in k ? k.keyId : `fp:${k.fingerprint}`;
}

/** The key id the wire carries (docs/beacon-v3.md), if one is known. */
function wireKeyId(k: V3Key | undefined): string | undefined {
  return k !== undefined && 'keyId' in k ? k.keyId : undefined;
}

function replayFormat(keyId: string | undefined): { format: BeaconFormat; key_id?: string } {
  return keyId === undefined ? { format: 'v2' } : { format: 'v3', key_id: keyId };
}

/** A remote interface heard: by segment + MAC + name, with when it was last heard. */
interface PeerEntry {
  interface: string;
  vid?: number;
  mac: string;
  name: string;
  lastMs: number;
  formats: Set<BeaconFormat>;
  keyId?: string;
}

const NO_ACTIONS: readonly AnswerAction[] = [];

/**
 * The correlator's view of a verified beacon: observedBeacon's fields it
 * reads, in the same order, built as one literal (vid only when tagged, as
 * observedBeacon has it; key_id, v3 only, last).
 */
function receivedBeacon(iface: string, frame: LiveRecord['frame'], v: DecodedBeacon, keyId: string | undefined): ReceivedBeacon {
  const { sourceIp: source_ip, sourcePort: source_port, destinationIp: destination_ip, vid } = frame;
  const rx: { -readonly [K in keyof ReceivedBeacon]: ReceivedBeacon[K] } =
    vid === undefined
      ? { interface: iface, source_ip, source_port, destination_ip, version: v.version, type: v.type, payload: v.payload }
      : { interface: iface, vid, source_ip, source_port, destination_ip, version: v.version, type: v.type, payload: v.payload };
  if (keyId !== undefined) rx.key_id = keyId;
  return rx;
}

const MAX_PEERS = 10_000;
export const PEER_TIMEOUT_MS = 120_000;

export class Agent extends EventEmitter {
  readonly core: AgentCore;
  readonly #o: AgentOptions;
  readonly #sender: BeaconSender;
  readonly #watcher: InterfaceSource;
  readonly #discovery: InterfaceSourceChoice;
  readonly #control: ControlServer | undefined;
  readonly #answers: ProbeAnswerer;
  readonly #raw: RawReplier;
  #journal: WriteStream | undefined;
  #selected = new Map<string, HostInterface>();
  #applying: Promise<void> = Promise.resolve();
  #selection: Selection;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #formats: readonly BeaconFormat[];
  /** Whether the keys in use have a v3 key: v3 is then accepted (and may be sent). */
  #acceptsV3: boolean;
  #keyIds: ReadonlyMap<string, string>;
  /** The v3 key id of `keys` (the signing key): a v3 beacon's key when the verifier names none. */
  #v3KeyId: string | undefined;
  readonly #startedAt: number;
  /** Remote interfaces heard, by segment + MAC + name, with when they were last heard. */
  readonly #peers = new Map<string, PeerEntry>();
  /** The peer #notePeer found or added last (while it is in #peers). */
  #lastPeer: { readonly key: string; readonly peer: PeerEntry } | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #driftTimer: NodeJS.Timeout | undefined;
  /** Hints changed since drift was last computed. */
  #hintsDirty = true;
  #driftIdle = 0;
  /** Ages the hints when one can expire (the core says when). */
  readonly #expiry: HintExpiryTimer;
  readonly counters: AgentCounters = { received: {}, sent: {}, sendFailures: 0, replays: 0, replaysByFormat: { v2: 0, v3: 0 } };
  /** Sections other parts of the agent add to status() (the fleet link). */
  readonly #statusSections = new Map<string, () => unknown>();
  /** Replies to v3 solicitations go out in v3, every other one in v2 (what MAAS reads). */
  readonly #replyFormat = new WeakMap<AnswerAction, BeaconFormat>();

  constructor(opts: AgentOptions) {
    super();
    this.#o = opts;
    this.#selection = opts.selection;
    this.#formats = opts.formats ?? ['v2'];
    this.#acceptsV3 = opts.keys.v3 !== undefined;
    this.#keyIds = opts.keyIds ?? new Map();
    this.#v3KeyId = opts.keys.v3?.idHex;
    this.core = new AgentCore(opts.core);
    this.#sender = new BeaconSender(opts.keys, {
      port: opts.port,
      clock: opts.clock,
      extraPayload: opts.extraPayload,
      formats: opts.formats,
      ...(opts.sealer && { sealer: opts.sealer }),
    });
    this.#discovery = opts.interfaceSource ?? chooseInterfaceSource(undefined, undefined, opts.pollMs);
    this.#watcher = createInterfaceSource(this.#discovery, opts.pollMs);
    this.#control = opts.socketPath === undefined ? undefined : new ControlServer(opts.socketPath);
    this.#answers = new ProbeAnswerer({ rawAvailable: rawSendUnavailable() === undefined, ignoreVids: opts.ignoreVids }, (opts.clock ?? Date.now)());
    this.#raw = new RawReplier(opts.keys, { clock: opts.clock, extraPayload: opts.extraPayload });
    this.#startedAt = this.#now();
    this.#expiry = new HintExpiryTimer(
      this.core,
      () => this.#now(),
      (hints, now) => this.#onExpired(hints, now),
    );
  }

  #now(): number {
    return (this.#o.clock ?? Date.now)();
  }

  #log(level: 'info' | 'warn' | 'error' | 'debug', msg: string, fields?: Record<string, unknown>): void {
    this.#o.log?.(level, msg, fields);
  }

  async start(): Promise<void> {
    if (this.#o.journalPath) this.#journal = createWriteStream(this.#o.journalPath, { flags: 'a' });
    this.#o.capture.on('beacons', (records: LiveRecord[]) => this.#onBeacons(records));
    this.#o.capture.on('interface-gone', (g: InterfaceGone) => this.#onGone(g));
    this.#o.capture.on('error', (err: Error) => this.#log('error', `capture: ${err.message}`));
    await this.#sender.open();
    this.#watcher.on('change', (list: HostInterface[]) => void this.#applyInterfaces(list));
    this.#watcher.on('error', (err: Error) => {
      if (!this.#stopped) this.#log('error', `interface discovery failed: ${err.message}`);
    });
    if (this.#control) {
      await this.#control.listen();
      this.#registerControl(this.#control);
    }
    await this.#watcher.start();
    // Started means capturing: the first list is applied before start() resolves (and READY=1 goes out).
    await this.#applying;
    this.#schedule();
    this.#sweep = setInterval(() => this.#sweepPeers(), 5_000);
    this.#sweep.unref();
    this.#syncDriftChecks();
  }

  /** Drift is checked on a timer while a topology is declared (and at once when one is). */
  #syncDriftChecks(): void {
    if (this.#o.policy?.expected && !this.#driftTimer) {
      this.#hintsDirty = true;
      this.#checkDrift();
      this.#driftTimer = setInterval(() => this.#checkDrift(), this.#o.driftRefreshMs ?? 2_000);
      this.#driftTimer.unref();
    } else if (!this.#o.policy?.expected && this.#driftTimer) {
      clearInterval(this.#driftTimer);
      this.#driftTimer = undefined;
    }
  }

  get policy(): PolicyDriver | undefined {
    return this.#o.policy;
  }

  /**
   * Recomputes drift when hints changed, or every fifth refresh anyway:
   * findings that rest on absence change as hints age out, with no hint added.
   */
  #checkDrift(): void {
    const policy = this.#o.policy;
    if (!policy || this.#stopped) return;
    if (!this.#hintsDirty && ++this.#driftIdle < 5) return;
    this.#hintsDirty = false;
    this.#driftIdle = 0;
    const change = policy.drift(this.hints());
    if (!change) return;
    const time = this.#now() / 1000;
    for (const d of change.appeared) {
      this.#emit({ event: 'drift', drift: d, time });
      this.#log('warn', `drift: ${d.message}`, { kind: d.kind, evidence: d.evidence });
    }
    for (const d of change.cleared) {
      this.#emit({ event: 'drift_cleared', drift: d, time });
      this.#log('info', `drift cleared: ${d.message}`, { kind: d.kind });
    }
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#expiry.stop();
    if (this.#sweep) clearInterval(this.#sweep);
    if (this.#driftTimer) clearInterval(this.#driftTimer);
    this.#watcher.stop();
    await this.#o.capture.close();
    this.#sender.close();
    await this.#control?.close();
    const j = this.#journal;
    this.#journal = undefined;
    if (j) await new Promise<void>((res) => j.end(() => res()));
  }

  get interfaces(): HostInterface[] {
    return [...this.#selected.values()];
  }

  get engineName(): string {
    return this.#o.engine;
  }

  ringStats(): Record<string, RingStats> {
    return this.#o.capture.stats();
  }

  /**
   * A reload (SIGHUP): new interface selection, periods, signing keys and
   * policy. The queues, hints and counters are kept; interfaces are
   * re-selected at once, and drift is checked against the new declaration.
   * The capture's own keys are the caller's to change (it made the capture).
   */
  async reload(next: {
    selection?: Selection;
    periods?: SchedulerOptions;
    keys?: FernetKeyObjects;
    keyIds?: ReadonlyMap<string, string>;
    formats?: readonly BeaconFormat[];
    policy?: LoadedPolicy;
  }): Promise<void> {
    if (next.policy) {
      if (!this.#o.policy) throw new Error('this agent was started without a policy driver');
      const cleared = this.#o.policy.reload(next.policy, this.#now());
      for (const d of cleared) {
        this.#emit({ event: 'drift_cleared', drift: d, time: this.#now() / 1000 });
        this.#log('info', `drift cleared (no topology declared any more): ${d.message}`, { kind: d.kind });
      }
      if (this.#driftTimer) {
        // A new declaration is checked now, not at the next change of hints.
        this.#hintsDirty = true;
        this.#checkDrift();
      }
      this.#syncDriftChecks();
    }
    if (next.keys) {
      this.#sender.setKeys(next.keys);
      this.#raw.setKeys(next.keys);
      this.#acceptsV3 = next.keys.v3 !== undefined;
      this.#v3KeyId = next.keys.v3?.idHex;
    }
    if (next.keyIds) this.#keyIds = next.keyIds;
    if (next.formats) {
      this.#formats = next.formats;
      this.#sender.setFormats(next.formats);
    }
    if (next.selection) this.#selection = next.selection;
    if (next.periods) this.core.scheduler.setPeriods(next.periods, this.#now());
    await this.#applyInterfaces(this.#watcher.current);
    this.#schedule();
  }

  /** One list at a time: a second change waits for the first to be applied (captures added, solicitations sent). */
  #applyInterfaces(all: HostInterface[]): Promise<void> {
    this.#applying = this.#applying
      .then(() => this.#onInterfaces(all))
      .catch((err: unknown) => this.#log('error', `applying the interface list failed: ${err instanceof Error ? err.message : String(err)}`));
    return this.#applying;
  }

  async #onInterfaces(all: HostInterface[]): Promise<void> {
    if (this.#stopped) return;
    const next = new Map(selectInterfaces(all, this.#selection).map((i) => [i.name, i]));
    const diff = diffInterfaces(this.#selected, next);
    const time = this.#now() / 1000;
    for (const name of diff.removed) {
      this.#o.capture.remove(name);
      this.#emit({ event: 'interface_removed', interface: name, time });
    }
    for (const i of diff.changed) this.#emit({ event: 'interface_changed', interface: i.name, mtu: i.mtu, addresses: interfaceSummary(i).addresses, time });
    for (const { name } of diff.added) {
      try {
        await this.#o.capture.add(name);
        this.#emit({ event: 'interface_added', interface: name, time: this.#now() / 1000 });
      } catch (err) {
        this.#log('error', `cannot capture on ${name}: ${(err as Error).message}`, { interface: name });
        next.delete(name);
      }
    }
    this.#selected = next;
    const descs = [...next.values()].map((i) => {
      const v4 = ipv4Addresses(i)[0];
      return describeInterface(i, v4 ? cidrOf(v4) : null) as { name: string };
    });
    await this.#perform(this.core.setInterfaces(descs, this.#now()));
    this.#schedule();
  }

  #onGone(g: InterfaceGone): void {
    this.#selected.delete(g.interface);
    this.#emit({ event: 'interface_gone', interface: g.interface, code: g.code, message: g.message, time: this.#now() / 1000 });
    this.#log('warn', `capture on ${g.interface} ended: ${g.message}`, { interface: g.interface, code: g.code });
    void this.#watcher.poll();
  }

  #count(iface: string, result: 'valid' | RejectReason): void {
    const c = (this.counters.received[iface] ??= {});
    c[result] = (c[result] ?? 0) + 1;
  }

  /**
   * Per beacon, on a busy rack: so no object is built that is not needed
   * (the observed line only for a journal, the answer input only when the
   * core asked for a reply), and the valid count is kept per run of
   * records from one interface, then added once.
   */
  #onBeacons(records: LiveRecord[]): void {
    if (this.#stopped) return;
    const actions: AnswerAction[] = [];
    const policy = this.#o.policy;
    const clock = this.#o.clock ?? Date.now;
    // Valid records of the current run of one interface, not yet counted.
    let validIface: string | undefined;
    let valid = 0;
    try {
      for (const r of policy ? policy.filter(records) : records) {
        const verdict = r.verdict;
        if (!verdict.ok) {
          // Counted in arrival order: the valid ones before it first (the counters' keys keep that order).
          if (valid > 0) {
            this.#countValid(validIface!, valid);
            valid = 0;
          }
          this.#count(r.interface, verdict.reason);
          this.#log('debug', 'rejected beacon', { interface: r.interface, reason: verdict.reason, source_ip: r.frame.sourceIp });
          continue;
        }
        if (r.interface !== validIface) {
          if (valid > 0) this.#countValid(validIface!, valid);
          validIface = r.interface;
          valid = 0;
        }
        valid++;
        policy?.noteKey(r);
        const frame = r.frame;
        const isV3 = verdict.version === V3_VERSION;
        const v3Key = isV3 ? this.#keyOf(r.keyFingerprint) : undefined;
        const keyId = v3Key && correlationKeyId(v3Key);
        // The journal's key_id is the wire's; a fingerprint no key id is known for stays out of it.
        const wire = wireKeyId(v3Key);
        // The line is built only when there is a journal: on a busy rack this loop runs per beacon.
        if (this.#journal) {
          const o = observedBeacon(frame, r.time, verdict, r.interface);
          this.#journalLine({ ...o, interface: r.interface, direction: 'rx', ...(wire !== undefined ? { key_id: wire } : {}) });
        }
        // observedBeacon's fields, in its order (vid: the frame's).
        const rx: ReceivedBeacon = receivedBeacon(r.interface, frame, verdict, keyId);
        const now = clock();
        const c = this.core.onReceive(rx, now);
        if (c.expired.length > 0) for (const h of c.expired) this.#emit({ event: 'hint_expired', hint: h, time: now / 1000 });
        if (c.verdict === 'replay') this.counters.replaysByFormat[isV3 ? 'v3' : 'v2']++;
        if (c.added.length > 0) for (const h of c.added) this.#emit({ event: 'hint_added', hint: h, time: now / 1000 });
        if (c.events.length > 0) for (const e of c.events) this.#onCorrelationEvent(e, now, keyId);
        if (c.added.length > 0 || c.expired.length > 0) this.#hintsDirty = true;
        this.#notePeer(rx, wire, now);
        // plan() of no action is no action (and counts nothing).
        const planned =
          c.actions.length === 0 ? NO_ACTIONS : this.#answers.plan(c.actions, { frame, payload: verdict.payload, interfaces: this.#selected }, now);
        if (isV3) for (const a of planned) this.#replyFormat.set(a, 'v3');
        if (!policy) {
          if (planned.length > 0) actions.push(...planned);
          continue;
        }
        // A replay alarm is raised by this beacon: it says its format (and v3 key id) as the replay event would.
        for (const a of policy.observe(c, now)) this.#onAlarm(a, a.kind === 'replay' ? replayFormat(keyId) : undefined);
        // Replies go to an address the sender chose: limited per peer and in total.
        for (const a of planned) if (!isReply(a) || policy.allowReply(r.frame, now)) actions.push(a);
      }
    } finally {
      // Also when a handler threw: what was received stays counted.
      if (valid > 0) this.#countValid(validIface!, valid);
    }
    this.#expiry.arm();
    if (actions.length) void this.#perform(actions).then(() => this.#schedule());
  }

  #countValid(iface: string, n: number): void {
    const c = (this.counters.received[iface] ??= {});
    c.valid = (c.valid ?? 0) + n;
  }

  /** Hints whose last supporting beacon grew older than the TTL (the ageing timer, or a beacon's arrival). */
  #onExpired(hints: readonly TopologyHint[], now: number): void {
    for (const h of hints) this.#emit({ event: 'hint_expired', hint: h, time: now / 1000 });
    this.#hintsDirty = true;
  }

  #onAlarm(a: AlarmEvent, extra?: Record<string, unknown>): void {
    const fields = { ...alarmFields(a), ...extra };
    this.#emit({ event: 'alarm', ...fields, message: a.message, time: a.timeMs / 1000 });
    this.#log('warn', `alarm: ${a.message}`, fields);
  }

  /**
   * The v3 key that verified a beacon: the keyring's match by fingerprint,
   * else the one key there is; a fingerprint with no known key id (keyIds
   * not given) is kept as that.
   */
  #keyOf(fingerprint: string | undefined): V3Key | undefined {
    if (fingerprint === undefined) return this.#v3KeyId === undefined ? undefined : { keyId: this.#v3KeyId };
    const keyId = this.#keyIds.get(fingerprint);
    return keyId !== undefined ? { keyId } : { fingerprint };
  }

  #notePeer(rx: ReceivedBeacon, keyId: string | undefined, now: number): void {
    const remote = rx.payload?.remote as { name?: unknown; mac_address?: unknown } | undefined;
    if (!remote || typeof remote.name !== 'string' || typeof remote.mac_address !== 'string') return;
    const format: BeaconFormat = rx.version === V3_VERSION ? 'v3' : 'v2';
    // A flood is mostly of one peer: the last one heard is found without building its key.
    const last = this.#lastPeer;
    let known: PeerEntry | undefined;
    let key = '';
    if (last && last.peer.interface === rx.interface && last.peer.vid === rx.vid && last.peer.mac === remote.mac_address && last.peer.name === remote.name)
      known = last.peer;
    else {
      key = `${rx.interface}|${rx.vid ?? ''}|${remote.mac_address}|${remote.name}`;
      known = this.#peers.get(key);
      if (known) this.#lastPeer = { key, peer: known };
    }
    if (known) {
      known.lastMs = now;
      known.formats.add(format);
      if (keyId !== undefined) known.keyId = keyId;
      return;
    }
    if (this.#peers.size >= MAX_PEERS) return; // bounded: a flood of authentic names cannot grow it
    const peer = {
      interface: rx.interface,
      ...(rx.vid !== undefined ? { vid: rx.vid } : {}),
      mac: remote.mac_address,
      name: remote.name,
      lastMs: now,
      formats: new Set([format]),
      ...(keyId !== undefined && { keyId }),
    };
    this.#peers.set(key, peer);
    this.#lastPeer = { key, peer };
    const { lastMs: _l, formats: _f, keyId: _k, ...shown } = peer;
    this.#emit({ event: 'peer_seen', ...shown, time: now / 1000 });
  }

  /** Peers not heard for PEER_TIMEOUT_MS are gone: four missed 30 s solicitation rounds. */
  #sweepPeers(): void {
    const now = this.#now();
    for (const [key, p] of this.#peers) {
      if (now - p.lastMs < PEER_TIMEOUT_MS) continue;
      this.#peers.delete(key);
      if (this.#lastPeer?.key === key) this.#lastPeer = undefined;
      const { lastMs: _l, formats: _f, keyId: _k, ...shown } = p;
      this.#emit({ event: 'peer_gone', ...shown, time: now / 1000 });
    }
  }

  /** Peers heard, each with the beacon formats it was heard in (v2, v3 or both) and, heard in v3, the key id last heard. */
  peers(): Array<{ interface: string; vid?: number; mac: string; name: string; last_seen: number; formats: BeaconFormat[]; key_id?: string }> {
    return [...this.#peers.values()].map(({ lastMs, formats, keyId, ...p }) => ({
      ...p,
      last_seen: lastMs / 1000,
      formats: BEACON_FORMATS.filter((f) => formats.has(f)),
      ...(keyId !== undefined && { key_id: keyId }),
    }));
  }

  /** `keyId`: the v3 key id of the beacon the event is about; undefined for v2. */
  #onCorrelationEvent(e: CorrelationEvent, now: number, keyId: string | undefined): void {
    if (e.kind === 'replay') {
      this.counters.replays++;
      // With a policy, replays reach people as rate-limited alarms: a replay
      // flood must not become a log line (and a watch event) per packet.
      if (this.#o.policy) return;
      this.#emit({
        event: 'replay',
        interface: e.segment.ifname,
        ...(e.segment.vid !== undefined ? { vid: e.segment.vid } : {}),
        ulid: e.ulid,
        ...replayFormat(keyId),
        own: e.own,
        time: now / 1000,
      });
      // Per packet: debug only. A replay flood must not become a log flood;
      // the counters (status, metrics) and policy alarms carry it.
      this.#log('debug', 'beacon replayed or looped', { interface: e.segment.ifname, vid: e.segment.vid, own: e.own });
    }
  }

  async #perform(actions: readonly AnswerAction[]): Promise<void> {
    // Raw replies first, together: one raw send per interface (see RawReplier.sendAll).
    const raw = actions.filter((a): a is RawReplyAction => a.kind === 'raw_unicast_advertisement');
    if (raw.length > 0 && !this.#stopped) this.#sent(this.#raw.sendAll(raw));
    for (const a of actions) {
      if (this.#stopped) return;
      if (a.kind === 'raw_unicast_advertisement') continue; // sent above
      if (a.kind === 'unicast_advertisement') {
        const iface = this.#selected.get(a.interface);
        if (!iface || !isIP(a.destination_ip)) continue;
        const format = this.#replyFormat.get(a) ?? 'v2';
        this.#sent(await this.#sender.unicast(iface, 'advertisement', { ...a.payload }, a.destination_ip, a.destination_port, format));
      } else {
        const type = a.kind === 'multicast_solicitation' ? 'solicitation' : 'advertisement';
        this.#sent(await this.#sender.multicastAll(this.#selected.values(), type));
      }
    }
  }

  #sent(r: { sent: SentRecord[]; failed: SendFailure[] }): void {
    const now = this.#now();
    for (const s of r.sent) {
      this.core.onTransmit(s, now);
      const c = (this.counters.sent[s.interface] ??= {});
      c[s.type] = (c[s.type] ?? 0) + 1;
      const { ulid: _ulid, ...rest } = s;
      this.#journalLine({ direction: 'tx', ...rest });
    }
    for (const f of r.failed) {
      this.counters.sendFailures++;
      this.#emit({ event: 'send_failed', interface: f.interface, destination: f.destination, error: f.error, time: now / 1000 });
      // An IPv6 link-local address in duplicate address detection (the first
      // second or two of a new interface) is no source address yet: say so,
      // without a warning, since the solicitation's retry 3 s later goes out.
      if (f.code === 'EADDRNOTAVAIL' && f.destination.startsWith('ff02:'))
        this.#log(
          'info',
          `cannot send a beacon on ${f.interface} to ${f.destination} yet: no usable IPv6 source address (its link-local address is still tentative); the next round retries`,
          {
            interface: f.interface,
          },
        );
      else this.#log('warn', `cannot send a beacon on ${f.interface} to ${f.destination}: ${f.error}`, { interface: f.interface });
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    const due = this.core.nextDueMs();
    if (due === undefined) return;
    const delay = Math.max(0, Math.min(due - this.#now(), 60_000));
    this.#timer = setTimeout(() => {
      void this.#perform(this.core.tick(this.#now())).then(() => this.#schedule());
    }, delay);
  }

  #journalLine(obj: Record<string, unknown>): void {
    this.#journal?.write(JSON.stringify(obj) + '\n');
  }

  #emit(e: AgentEvent): void {
    this.emit('event', e);
  }

  /** The hints held now, sorted: aged to this moment first, so an answer never lags the ageing timer. */
  hints(): TopologyHint[] {
    this.#expiry.now();
    return this.core.correlator.hints();
  }

  /** Adds `name` to status(), computed at each call. */
  addStatusSection(name: string, section: () => unknown): void {
    this.#statusSections.set(name, section);
  }

  status(): Record<string, unknown> {
    this.#expiry.now();
    const ring = this.#o.capture.stats();
    const shared = this.#o.capture.sharedRing?.();
    return {
      version: VERSION,
      engine: { name: this.#o.engine, capture: this.#o.capture.engine, seal: this.#sender.sealEngine, why: this.#o.engineWhy },
      discovery: { source: this.#discovery.source, why: this.#discovery.why },
      uptime_seconds: Math.round((this.#now() - this.#startedAt) / 1000),
      interfaces: this.interfaces.map((i) => ({
        ...interfaceSummary(i),
        ring: ring[i.name] ?? null,
        received: this.counters.received[i.name] ?? {},
        sent: this.counters.sent[i.name] ?? {},
      })),
      peers: this.peers(),
      formats: { sending: this.#formats, accepting: this.#acceptsV3 ? ['v2', 'v3'] : ['v2'] },
      counters: { send_failures: this.counters.sendFailures, replays: this.counters.replays, replays_by_format: { ...this.counters.replaysByFormat } },
      probe_answers: this.#answers.stats(),
      correlation: this.core.correlator.stats(),
      // Per interface (exact: what the worker shed) plus what the kernel dropped, which names no interface.
      ring_drops: Object.values(ring).reduce((n, s) => n + s.drops, 0) + (shared?.drops ?? 0),
      ...(shared && { capture_ring: shared }),
      ...(this.#o.policy && { policy: this.#o.policy.status(this.#now()) }),
      ...Object.fromEntries([...this.#statusSections].map(([name, section]) => [name, section()])),
    };
  }

  #registerControl(control: ControlServer): void {
    control
      .handle('status', () => this.status())
      .handle('hints', () => this.hints())
      .handle('topology', () => buildTopology(this.hints()))
      .stream('watch', (_req, send) => {
        const on = (e: AgentEvent) => send(e);
        this.on('event', on);
        return () => this.off('event', on);
      });
  }
}

/**
 * The replies the policy's limiter (tuned for MAAS: 1/s per peer) governs.
 * Raw replies answer MTU and VLAN probes, which a prober sends by the dozen
 * or at 200/s; answers.ts limits those with buckets sized for probes, and a
 * second, MAAS-sized limit would make every MTU search and VLAN scan read
 * as loss.
 */
function isReply(a: AnswerAction): boolean {
  return a.kind === 'unicast_advertisement';
}
