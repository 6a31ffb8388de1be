/**
 * The agent's policy glue: the pure policy pieces (src/policy/) put
 * between the capture, the correlator and the sender, with the counters
 * that `status` and the metrics show. The daemon calls it at four points:
 *
 * - filter(records): per received record, before correlation. Drops are
 *   counted by interface and rule item (`filters[0].deny_macs[1]`).
 * - allowReply(frame): per unicast reply to a solicitation (dgram or raw),
 *   through the ReplyLimiter, keyed by the solicitation's source MAC + IP.
 * - observe(correlation): through Alarms; the alarms raised come back for
 *   the daemon to log and emit.
 * - drift(hints): when the hints changed (or every refresh period, since
 *   events resting on absence change as hints age out), the declared
 *   topology against the fabric view; what appeared and what cleared
 *   since the last check come back.
 *
 * Reading files and deriving keys (loadPolicy) is I/O and lives here too,
 * so that the CLI's --check-config and the running agent read the policy
 * the same way. Keys are shown by fingerprint only, never the secret.
 */
import type { LiveRecord } from '../capture/live';
import type { FrameInfo } from '../protocol/frame-types';
import { buildTopology } from '../topology/fabrics';
import type { TopologyHint } from '../topology/hints';
import { formatSegment } from '../topology/segment';
import { Alarms, ALARM_KINDS, zeroAlarms, type AlarmEvent, type AlarmKind, type AlarmSource } from '../policy/alarms';
import type { PolicyConfig } from '../policy/config';
import { detectDrift, DRIFT_KINDS, type DriftEvent, type DriftKind, type DriftReport } from '../policy/drift';
import { parseExpected, type ExpectedTopology } from '../policy/expected';
import { BeaconFilter } from '../policy/filters';
import { Keyring, keyringEntry } from '../protocol/keyring';
import { ReplyLimiter, type HoldReason } from '../policy/ratelimit';
import { deriveKey } from '../protocol/key';
import { parseSecret } from '../secret/secret';
import { describeFsError, UsageError } from '../errors';
import { readFileSync } from 'node:fs';

/** Bound of the table of which key each peer used (peer MACs are chosen by senders). */
export const MAX_KEY_PEERS = 4096;

export interface LoadedPolicy {
  readonly config: PolicyConfig;
  /** Present when policy.keys is configured. */
  readonly keyring?: Keyring;
  readonly expected?: ExpectedTopology;
}

/**
 * Reads what the policy names: the key files (derived, ~100 ms each) and
 * the expected-topology file. Mistakes are usage errors naming the file
 * (and, for a key file, its key in the config).
 */
export function loadPolicy(config: PolicyConfig): LoadedPolicy {
  const keyring =
    config.keys &&
    new Keyring(config.keys.map((k, i) => keyringEntry(deriveKey(readKeyFile(k.secretFile, `policy.keys[${i}].secret_file`)), k.role, k.acceptUntil)));
  let expected: ExpectedTopology | undefined;
  if (config.expected !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.expected, 'utf8');
    } catch (err) {
      throw new UsageError(
        'E_EXPECTED_IO',
        `expected file ${config.expected} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    expected = parseExpected(text, config.expected);
  }
  return { config, ...(keyring && { keyring }), ...(expected && { expected }) };
}

/**
 * A key file's secret. Not loadSecret: that one looks for the agent's own
 * secret and would say this file came from --secret-file.
 */
function readKeyFile(file: string, key: string): Uint8Array {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('E_SECRET_UNREADABLE', `secret file ${file} (${key}) ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  return parseSecret(text, `${file} (${key})`);
}

export interface PolicyDriverOptions {
  readonly policy: LoadedPolicy;
  /** Beacons authenticated per key fingerprint, from the capture's verifier (either engine). */
  readonly keyMatches?: () => Readonly<Record<string, number>>;
  readonly nowMs: number;
}

export interface DriftChange {
  readonly report: DriftReport;
  readonly appeared: readonly DriftEvent[];
  readonly cleared: readonly DriftEvent[];
}

/** What identifies a drift finding across checks: its kind and subject, not its evidence. */
function driftKey(e: DriftEvent): string {
  const { evidence: _e, message: _m, hints: _h, paths: _p, ...subject } = e;
  return JSON.stringify(subject);
}

type Counts<K extends string> = Record<K, number>;

function addCounts<K extends string>(a: Readonly<Counts<K>>, b: Readonly<Counts<K>>): Counts<K> {
  const out = { ...a } as Counts<K>;
  for (const k of Object.keys(b) as K[]) out[k] = (out[k] ?? 0) + b[k];
  return out;
}

export class PolicyDriver {
  #policy: LoadedPolicy;
  #filter: BeaconFilter;
  #limiter: ReplyLimiter;
  #alarms: Alarms;
  // What limiters and alarm tables replaced by a reload had counted, so
  // that counters (and the metrics made of them) never go backwards.
  #repliesBefore = { sent: 0, held: { 'peer-limit': 0, 'total-limit': 0 } as Counts<HoldReason> };
  #alarmsBefore = { raised: zeroAlarms(), suppressed: zeroAlarms() };
  #reloads = 0;
  readonly #keyMatches: (() => Readonly<Record<string, number>>) | undefined;
  /** interface -> rule item -> drops. */
  readonly filterDrops: Record<string, Record<string, number>> = {};
  /** interface -> drop reason (mac-denied, ...) -> drops: the metric's labels. */
  readonly filterDropReasons: Record<string, Record<string, number>> = {};
  /** Peer MAC -> fingerprint of the key its last authenticated beacon used. */
  readonly #peerKeys = new Map<string, string>();
  #drift: DriftReport | undefined;
  #driftKeys = new Map<string, DriftEvent>();
  #driftChecks = 0;
  #driftAppeared = 0;
  #driftCleared = 0;

  constructor(opts: PolicyDriverOptions) {
    const c = opts.policy.config;
    this.#policy = opts.policy;
    this.#filter = new BeaconFilter(c.filters, 'policy.filters');
    this.#limiter = new ReplyLimiter(c.replies, opts.nowMs);
    this.#alarms = new Alarms(c.alarms);
    this.#keyMatches = opts.keyMatches;
  }

  /**
   * A reload (SIGHUP) with a newly read policy. Filters, keys and the
   * declaration take effect at once. Reply limits and the alarm interval,
   * when they changed, start afresh (every peer gets a full bucket of the
   * new size, no alarm is held back); their counters carry on. The drift
   * findings are recomputed at the next drift() call, against the new
   * declaration: what no longer applies is reported as cleared then. With
   * no declaration any more, the findings standing are returned, cleared.
   */
  reload(next: LoadedPolicy, nowMs: number): DriftEvent[] {
    const before = this.#policy.config;
    const c = next.config;
    const filter = new BeaconFilter(c.filters, 'policy.filters');
    const limiter = JSON.stringify(c.replies) === JSON.stringify(before.replies) ? undefined : new ReplyLimiter(c.replies, nowMs);
    const alarms = JSON.stringify(c.alarms) === JSON.stringify(before.alarms) ? undefined : new Alarms(c.alarms);
    // Everything above may throw (a limit out of range): nothing has changed yet.
    this.#filter = filter;
    if (limiter) {
      const s = this.#limiter.stats();
      this.#repliesBefore = { sent: this.#repliesBefore.sent + s.sent, held: addCounts(this.#repliesBefore.held, s.held) };
      this.#limiter = limiter;
    }
    if (alarms) {
      const s = this.#alarms.stats();
      this.#alarmsBefore = { raised: addCounts(this.#alarmsBefore.raised, s.raised), suppressed: addCounts(this.#alarmsBefore.suppressed, s.suppressed) };
      this.#alarms = alarms;
    }
    this.#policy = next;
    this.#reloads++;
    if (next.expected) return [];
    const cleared = [...this.#driftKeys.values()];
    this.#drift = undefined;
    this.#driftKeys = new Map();
    return cleared;
  }

  /** The policy in force (the last one loaded). */
  get loaded(): LoadedPolicy {
    return this.#policy;
  }

  get expected(): ExpectedTopology | undefined {
    return this.#policy.expected;
  }

  /** The records the filters accept; the others are counted and dropped. */
  filter(records: readonly LiveRecord[]): LiveRecord[] {
    if (this.#policy.config.filters.length === 0) return records as LiveRecord[];
    const out: LiveRecord[] = [];
    for (const r of records) {
      const vid = r.frame.vid;
      const d = this.#filter.check({ interface: r.interface, sourceMac: r.frame.sourceMac, ...(vid !== undefined && { vid }) });
      if (d.kind === 'accept') {
        out.push(r);
        continue;
      }
      const byRule = (this.filterDrops[r.interface] ??= {});
      byRule[d.rule] = (byRule[d.rule] ?? 0) + 1;
      const byReason = (this.filterDropReasons[r.interface] ??= {});
      byReason[d.reason] = (byReason[d.reason] ?? 0) + 1;
    }
    return out;
  }

  /** Whether a reply to the solicitation in `frame` may go now; held replies are counted by reason. */
  allowReply(frame: Pick<FrameInfo, 'sourceMac' | 'sourceIp'>, nowMs: number): boolean {
    return this.#limiter.decide({ mac: frame.sourceMac, ip: frame.sourceIp }, nowMs).kind === 'send';
  }

  /** Notes which key authenticated a peer's beacon (both engines say, when verifying with a keyring). */
  noteKey(r: LiveRecord): void {
    const fp = r.keyFingerprint;
    if (fp === undefined || r.frame.sourceMac === '') return;
    if (this.#peerKeys.get(r.frame.sourceMac) === fp) return;
    this.#peerKeys.delete(r.frame.sourceMac);
    if (this.#peerKeys.size >= MAX_KEY_PEERS) this.#peerKeys.delete(this.#peerKeys.keys().next().value!);
    this.#peerKeys.set(r.frame.sourceMac, fp);
  }

  observe(c: AlarmSource, nowMs: number): AlarmEvent[] {
    return this.#alarms.observe(c, nowMs);
  }

  /** Drift of the fabric view built from `hints`; undefined when nothing is declared. */
  drift(hints: Iterable<TopologyHint>): DriftChange | undefined {
    const expected = this.#policy.expected;
    if (!expected) return undefined;
    const report = detectDrift(expected, buildTopology(hints));
    const next = new Map(report.drift.map((e) => [driftKey(e), e]));
    const appeared = [...next].filter(([k]) => !this.#driftKeys.has(k)).map(([, e]) => e);
    const cleared = [...this.#driftKeys].filter(([k]) => !next.has(k)).map(([, e]) => e);
    this.#drift = report;
    this.#driftKeys = next;
    this.#driftChecks++;
    this.#driftAppeared += appeared.length;
    this.#driftCleared += cleared.length;
    return { report, appeared, cleared };
  }

  /** Current drift findings by kind (every kind present, 0 when none). */
  driftCounts(): Record<DriftKind, number> {
    const counts = Object.fromEntries(DRIFT_KINDS.map((k) => [k, 0])) as Record<DriftKind, number>;
    for (const e of this.#drift?.drift ?? []) counts[e.kind]++;
    return counts;
  }

  replyStats(): { sent: number; held: Readonly<Record<HoldReason, number>> } {
    const s = this.#limiter.stats();
    return { sent: this.#repliesBefore.sent + s.sent, held: addCounts(this.#repliesBefore.held, s.held) };
  }

  #alarmStats(): { raised: Counts<AlarmKind>; suppressed: Counts<AlarmKind>; tracked: number; evicted: number } {
    const s = this.#alarms.stats();
    return {
      raised: addCounts(this.#alarmsBefore.raised, s.raised),
      suppressed: addCounts(this.#alarmsBefore.suppressed, s.suppressed),
      tracked: s.tracked,
      evicted: s.evicted,
    };
  }

  alarmCounts(): Record<AlarmKind, number> {
    const s = this.#alarmStats();
    return Object.fromEntries(ALARM_KINDS.map((k) => [k, s.raised[k] + s.suppressed[k]])) as Record<AlarmKind, number>;
  }

  status(nowMs: number): Record<string, unknown> {
    const limiter = this.#limiter.stats();
    const replies = this.replyStats();
    const alarms = this.#alarmStats();
    const keyring = this.#policy.keyring;
    return {
      reloads: this.#reloads,
      filters: { rules: this.#policy.config.filters.length, drops: this.filterDrops },
      replies: { sent: replies.sent, held: replies.held, peers: limiter.peers, evicted: limiter.evicted, evicted_active: limiter.evictedActive },
      alarms: { raised: alarms.raised, suppressed: alarms.suppressed, tracked: alarms.tracked, evicted: alarms.evicted },
      drift: this.#policy.expected
        ? {
            declared: this.#policy.config.expected,
            ok: this.#drift?.ok ?? null,
            checks: this.#driftChecks,
            counts: this.driftCounts(),
            appeared: this.#driftAppeared,
            cleared: this.#driftCleared,
            events: (this.#drift?.drift ?? []).map((e) => ({ kind: e.kind, evidence: e.evidence, message: e.message })),
          }
        : null,
      keys: keyring
        ? {
            signing: keyring.signingKey().fingerprint,
            keys: keyring.states(nowMs / 1000),
            ...(this.#keyMatches && { matched: this.#keyMatches() }),
            peers: Object.fromEntries([...this.#peerKeys].sort(([a], [b]) => (a < b ? -1 : 1))),
          }
        : null,
    };
  }
}

/** One line for the log: an alarm and where. */
export function alarmFields(a: AlarmEvent): Record<string, unknown> {
  return {
    kind: a.kind,
    interface: a.segment.ifname,
    ...(a.segment.vid !== undefined && { vid: a.segment.vid }),
    segment: formatSegment(a.segment),
    suppressed: a.suppressed,
    ...a.evidence,
  };
}
