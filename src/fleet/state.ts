/**
 * The service's view of the fleet: the model, computed from what the
 * database holds, and the history written from it.
 *
 * How several servers over one PostgreSQL stay consistent: no server keeps
 * anything only it knows. The model is a pure function of the stored
 * reports, the stored fabric names and the time; each server computes it
 * from the database and caches it under the database's fingerprint (the
 * count and sum of the hosts' sequence numbers, which move with every
 * stored report whichever server stored it, and the version of the derived
 * state). A server whose cached fingerprint no longer matches recomputes,
 * reading again only the hosts whose seq changed. The history is written
 * as the difference between the stored derived state and the new model's,
 * in one transaction that holds a lock and checks the derived state's
 * version: a server that lost the race reloads and recomputes, so no change
 * is written twice and none is lost.
 */
import type { FleetModel, HostRecord, DerivedState } from './model/types';
import { FleetModelBuilder, shareUnchanged, topologyBytes, topologyOverview, type BuildKind, type DocumentBytes } from './model/cache';
import { diffDerived } from './model/history';
import { hostsDocument } from './model/hosts';
import { randomBytes } from 'node:crypto';
import { parseReport, type FleetReport } from './model/report';
import { storedReportText, type FleetStore } from './store';
import { whenPartsSent } from './web';

/** How long the history loop waits at most for the topology answers being written to finish. */
const YIELD_TO_ANSWERS_MS = 2_000;

export interface BuiltModel {
  readonly fingerprint: string;
  readonly model: FleetModel;
  readonly records: readonly HostRecord[];
  readonly builtAtMs: number;
  /** How long computing it took (ms). */
  readonly buildMs: number;
  /** Computed in full, or with the joins of the model before (no host's interfaces or hints changed). */
  readonly kind: BuildKind;
  topology?: DocumentBytes;
  overview?: DocumentBytes;
  hostsJson?: Buffer;
}

export interface FleetStateOptions {
  readonly clock?: () => number;
  readonly log?: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class FleetState {
  readonly #store: FleetStore;
  readonly #clock: () => number;
  readonly #log: NonNullable<FleetStateOptions['log']>;
  readonly #hosts = new Map<string, { seq: number; record: HostRecord }>();
  /** Reports this server stored, already parsed and checked, until a computation takes them. */
  readonly #stored = new Map<string, { seq: number; record: HostRecord }>();
  readonly #builder = new FleetModelBuilder();
  #derived: { version: number; derived: DerivedState } | undefined;
  #current: BuiltModel | undefined;
  #building: Promise<BuiltModel> | undefined;
  /** Changes written to the history by this server. */
  changesWritten = 0;

  constructor(store: FleetStore, opts: FleetStateOptions = {}) {
    this.#store = store;
    this.#clock = opts.clock ?? Date.now;
    this.#log = opts.log ?? (() => undefined);
  }

  /** The last model computed, without asking the database (metrics). */
  get cached(): BuiltModel | undefined {
    return this.#current;
  }

  /**
   * A report this server has just stored (status 'stored'), as the report
   * route parsed and checked it: the next computation takes it from here
   * instead of reading, inflating and parsing it again, provided the
   * database still holds that seq for the host (another server may have
   * stored a newer one since). Only for a host already known, whose
   * first_seen (never rewritten by an update) the state has.
   */
  noteStored(report: FleetReport, receivedAtMs: number, address: string | null): void {
    const known = this.#hosts.get(report.host) ?? this.#stored.get(report.host);
    if (!known || known.seq >= report.seq) return;
    const record: HostRecord = {
      report: shareUnchanged(known.record.report, report),
      receivedAtMs,
      firstSeenMs: known.record.firstSeenMs,
      ...(address !== null ? { address } : {}),
    };
    this.#stored.set(report.host, { seq: report.seq, record });
  }

  /**
   * The host's last report this server holds, for the report route's
   * parseReport: the lists a new report has in common with it are taken
   * from it (see checkReport), neither checked nor kept twice. Duplicate
   * lists would be garbage before the store's round trip, while several
   * reports wait on theirs.
   */
  readonly previous = (host: string): FleetReport | undefined => (this.#stored.get(host) ?? this.#hosts.get(host))?.record.report;

  /** A random string no report holds, never sent: parseReport's placeholder for the hints it sets aside. */
  readonly hintsPlaceholder = `netbeacon-hints-${randomBytes(16).toString('hex')}`;

  /** The model for what the database holds now. */
  async model(): Promise<BuiltModel> {
    const fingerprint = await this.#store.fingerprint();
    const cur = this.#current;
    if (cur && cur.fingerprint === fingerprint && this.#clock() < cur.model.validUntilMs) return cur;
    // One computation at a time; callers during it share its result.
    this.#building ??= this.#build(fingerprint).finally(() => (this.#building = undefined));
    return this.#building;
  }

  async #build(fingerprint: string): Promise<BuiltModel> {
    const started = this.#clock();
    const seqs = await this.#store.hostSeqs();
    for (const name of this.#hosts.keys()) if (!seqs.has(name)) this.#hosts.delete(name);
    const changed: string[] = [];
    for (const [name, seq] of seqs) {
      if (this.#hosts.get(name)?.seq === seq) continue;
      const mine = this.#stored.get(name);
      if (mine?.seq === seq) this.#hosts.set(name, mine);
      else changed.push(name);
    }
    // Whatever is left is taken, or was overtaken by a newer report from elsewhere.
    for (const [name, mine] of this.#stored) if (mine.seq <= (seqs.get(name) ?? Infinity)) this.#stored.delete(name);
    for (const row of await this.#store.loadHosts(changed)) {
      try {
        const report = parseReport(storedReportText(row), (h) => this.#hosts.get(h)?.record.report, this.hintsPlaceholder);
        const before = this.#hosts.get(row.name)?.record.report;
        const record: HostRecord = {
          report: before ? shareUnchanged(before, report) : report,
          receivedAtMs: Number(row.received_at),
          firstSeenMs: Number(row.first_seen),
          ...(row.address !== null ? { address: row.address } : {}),
        };
        this.#hosts.set(row.name, { seq: Number(row.seq), record });
      } catch (err) {
        // Stored by this service, so this is a bug or a hand edit: say so, keep serving the rest.
        this.#log('error', `stored report of ${row.name} cannot be read: ${(err as Error).message}`, { host: row.name });
      }
    }
    const version = Number(fingerprint.split(':')[2]);
    if (this.#derived?.version !== version) this.#derived = await this.#store.loadDerived();
    const records = [...this.#hosts.values()].map((h) => h.record);
    const nowMs = this.#clock();
    const model = this.#builder.build({ hosts: records, names: this.#derived.derived.fabrics, nowMs });
    const kind = this.#builder.lastKind!;
    const built: BuiltModel = { fingerprint, model, records, builtAtMs: nowMs, buildMs: this.#clock() - started, kind };
    this.#current = built;
    return built;
  }

  /**
   * Brings the stored derived state and history up to the current model.
   * Returns how many changes this call wrote.
   */
  async refresh(): Promise<number> {
    // Computing and diffing block the thread that writes the answers: let them go first.
    await whenPartsSent(YIELD_TO_ANSWERS_MS);
    for (let attempt = 0; attempt < 5; attempt++) {
      const built = await this.model();
      const derived = this.#derived!;
      const changes = diffDerived(derived.derived, built.model.derived);
      if (changes.length === 0) {
        // The same state: hold the model's own maps, so the next model, which
        // may share them, is named from and diffed against them at no cost.
        this.#derived = { version: derived.version, derived: built.model.derived };
        return 0;
      }
      const version = await this.#store.commitChanges(derived.version, changes, built.builtAtMs);
      if (version === undefined) {
        // Another server committed first: start again from what it wrote.
        this.#derived = undefined;
        this.#current = undefined;
        continue;
      }
      this.#derived = { version, derived: built.model.derived };
      const [n, s] = built.fingerprint.split(':');
      if (this.#current === built) this.#current = { ...built, fingerprint: `${n}:${s}:${version}` };
      this.changesWritten += changes.length;
      return changes.length;
    }
    this.#log('warn', 'the fleet history could not be brought up to date: other servers kept committing first; trying again later');
    return 0;
  }

  /** The topology document's bytes, in parts, made once per model. */
  static topologyBytes(built: BuiltModel): DocumentBytes {
    built.topology ??= topologyBytes(built.model.topology);
    return built.topology;
  }

  /** The overview document (?detail=overview): the topology less its joins' hints. */
  static overviewBytes(built: BuiltModel): DocumentBytes {
    built.overview ??= topologyBytes(topologyOverview(built.model.topology));
    return built.overview;
  }

  /** The topology document as one buffer. */
  static topologyJson(built: BuiltModel): Buffer {
    return Buffer.concat(FleetState.topologyBytes(built).parts);
  }

  static hostsJson(built: BuiltModel): Buffer {
    built.hostsJson ??= Buffer.from(JSON.stringify(hostsDocument(built.records, built.builtAtMs)));
    return built.hostsJson;
  }
}
