/**
 * The fleet store: every query the service makes, over Kysely, the same for
 * SQLite and PostgreSQL. No SQL lives in the HTTP handlers. Several servers
 * may share a PostgreSQL database; a SQLite file is for one server (two
 * processes writing one file would wait on each other's locks).
 */
import { gunzipSync } from 'node:zlib';
import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { FleetChange } from './model/history';
import type { DerivedState, Presence } from './model/types';
import { fleetSegmentKey } from './model/segment';
import type pg from 'pg';
import { connect, migrate, type DbTarget } from './db';
import { UNTAGGED, type FleetDatabase, type HostsTable } from './schema';

export interface IngestInput {
  readonly host: string;
  readonly seq: number;
  readonly instance: string;
  readonly periodMs: number;
  readonly digest: string;
  /** The bytes as signed: gzip'd JSON or plain JSON. */
  readonly body: Buffer;
  readonly encoding: 'gzip' | 'identity';
  readonly receivedAtMs: number;
  readonly address: string | null;
}

export type IngestResult = { readonly status: 'stored' | 'duplicate'; readonly seq: number } | { readonly status: 'stale'; readonly currentSeq: number };

export interface HistoryQuery {
  readonly host?: string;
  readonly interface?: string;
  readonly sinceMs?: number;
  readonly limit: number;
}

export interface HistoryRow {
  readonly id: number;
  readonly timeMs: number;
  readonly change: FleetChange;
}

/** Rows per multi-row insert: below SQLite's and PostgreSQL's bound-parameter limits. */
const CHUNK = 400;
/** Reports per batch (10 parameters each). */
const BATCH = 64;
/** PostgreSQL: reports that may wait for a batch before new ones are turned away (max_queued_reports). */
export const DEFAULT_MAX_QUEUED = 1024;

/**
 * A report turned away because max_queued_reports are already waiting for
 * the database: nothing was stored, and the server answers 503 so that the
 * agent keeps its report and sends it again.
 */
export class StoreBusyError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`${limit} reports are already waiting for the database (max_queued_reports)`);
    this.name = 'StoreBusyError';
    this.limit = limit;
  }
}

export interface StoreOptions {
  /** PostgreSQL: at most this many reports wait for a batch (default DEFAULT_MAX_QUEUED). */
  readonly maxQueued?: number;
  readonly onPoolError?: (err: Error) => void;
}

interface Pending {
  readonly input: IngestInput;
  resolve(result: IngestResult): void;
  reject(err: unknown): void;
}

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export class FleetStore {
  readonly target: DbTarget;
  readonly db: Kysely<FleetDatabase>;
  /** PostgreSQL: reports are stored in batches, as prepared statements on the pool itself. */
  readonly #pool: pg.Pool | undefined;
  /** The report upsert per number of rows, compiled once: building and compiling it per report cost a tenth of ingest's CPU. */
  readonly #upserts = new Map<number, CompiledUpsert>();
  /** Reports waiting for the batch being stored. */
  #queue: Pending[] = [];
  #flushing = false;
  readonly #maxQueued: number;

  private constructor(db: Kysely<FleetDatabase>, target: DbTarget, maxQueued: number, pool?: pg.Pool) {
    this.db = db;
    this.target = target;
    this.#maxQueued = maxQueued;
    this.#pool = pool;
  }

  /** Connects and migrates; throws FleetDbError naming the database and the problem. */
  static async open(target: DbTarget, opts: StoreOptions = {}): Promise<{ store: FleetStore; applied: string[] }> {
    const maxQueued = opts.maxQueued ?? DEFAULT_MAX_QUEUED;
    if (!Number.isInteger(maxQueued) || maxQueued < 1) throw new RangeError(`maxQueued must be a positive integer, not ${maxQueued}`);
    const open = connect(target, opts.onPoolError);
    try {
      const { applied } = await migrate(open);
      return { store: new FleetStore(open.db, target, maxQueued, open.pool), applied };
    } catch (err) {
      await open.db.destroy();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  /** PostgreSQL: reports waiting for a batch (always 0 over SQLite, which stores each one as it comes). */
  get queued(): number {
    return this.#queue.length;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * Stores a report if its seq is above the stored one: all of it or
   * nothing, and answered once it is committed.
   *
   * Over PostgreSQL, the reports that arrive while one batch is being
   * stored wait for the next, and are stored together in one statement (so
   * one transaction), prepared once per batch size on each connection. At
   * most one report per host goes in a batch: a second one of the same host
   * waits for the next batch, so each host's reports are stored in the order
   * they came. If a batch fails, its reports are stored one by one, so one
   * report the database refuses fails alone. While maxQueued reports are
   * waiting (a slow or stalled database), a new one is refused at once with
   * StoreBusyError rather than held in memory without bound.
   */
  ingest(r: IngestInput): Promise<IngestResult> {
    if (this.#pool === undefined) return this.#store([r]).then((results) => results[0]!);
    if (this.#queue.length >= this.#maxQueued) return Promise.reject(new StoreBusyError(this.#maxQueued));
    return new Promise((resolve, reject) => {
      this.#queue.push({ input: r, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) await this.#storeBatch(this.#takeBatch());
    } finally {
      this.#flushing = false;
    }
  }

  /** The first waiting report of each host, in the order they came, up to BATCH. */
  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const hosts = new Set<string>();
    const rest: Pending[] = [];
    for (const p of this.#queue) {
      if (batch.length < BATCH && !hosts.has(p.input.host)) {
        hosts.add(p.input.host);
        batch.push(p);
      } else rest.push(p);
    }
    this.#queue = rest;
    return batch;
  }

  /** Settles every report of the batch; never throws. */
  async #storeBatch(batch: Pending[]): Promise<void> {
    // Rows locked in one order by every server: two servers' batches over one database wait for each other, never deadlock.
    batch.sort((a, b) => (a.input.host < b.input.host ? -1 : a.input.host > b.input.host ? 1 : 0));
    try {
      const results = await this.#store(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(results[i]!));
      return;
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
    }
    await Promise.all(
      batch.map(async (p) => {
        try {
          p.resolve((await this.#store([p.input]))[0]!);
        } catch (err) {
          p.reject(err);
        }
      }),
    );
  }

  /** Stores reports of distinct hosts in one statement; each one's result, in order. */
  async #store(inputs: readonly IngestInput[]): Promise<IngestResult[]> {
    let up = this.#upserts.get(inputs.length);
    if (up === undefined) {
      up = compileUpsert(this.db, inputs.length);
      this.#upserts.set(inputs.length, up);
    }
    const values = up.params.map(({ row, column }) => hostsRow(inputs[row]!, column));
    const names = this.#pool
      ? (await this.#pool.query<{ name: string }>({ name: `netbeacon_ingest_${inputs.length}`, text: up.sql, values })).rows
      : (await this.db.executeQuery<{ name: string }>(CompiledQuery.raw(up.sql, values))).rows;
    const stored = new Set(names.map((row) => row.name));
    const others = inputs.filter((r) => !stored.has(r.host)).map((r) => r.host);
    const current = new Map<string, { seq: number; digest: string }>();
    for (const part of chunks(others)) {
      for (const row of await this.db.selectFrom('fleet_hosts').select(['name', 'seq', 'digest']).where('name', 'in', part).execute())
        current.set(row.name, { seq: Number(row.seq), digest: row.digest });
    }
    return inputs.map((r): IngestResult => {
      if (stored.has(r.host)) return { status: 'stored', seq: r.seq };
      const now = current.get(r.host);
      if (now === undefined) throw new Error(`the report of ${r.host} was neither stored nor found stored`);
      if (now.seq === r.seq && now.digest === r.digest) return { status: 'duplicate', seq: r.seq };
      return { status: 'stale', currentSeq: now.seq };
    });
  }

  /**
   * Changes whenever a report is stored or the derived state is committed:
   * seqs only grow, so the sum of them moves with every accepted report,
   * whichever server (and transaction) stored it.
   */
  async fingerprint(): Promise<string> {
    const r = await sql<{ n: number | string; s: number | string | null; v: number | string }>`
      select (select count(*) from fleet_hosts) as n, (select sum(seq) from fleet_hosts) as s, (select version from fleet_state where id = 1) as v`.execute(
      this.db,
    );
    const row = r.rows[0]!;
    return `${row.n}:${row.s ?? 0}:${row.v}`;
  }

  async hostSeqs(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('fleet_hosts').select(['name', 'seq']).execute();
    return new Map(rows.map((r) => [r.name, Number(r.seq)]));
  }

  async loadHosts(names: readonly string[]): Promise<HostsTable[]> {
    const out: HostsTable[] = [];
    for (const part of chunks(names)) out.push(...(await this.db.selectFrom('fleet_hosts').selectAll().where('name', 'in', part).execute()));
    return out;
  }

  async stateVersion(): Promise<number> {
    const r = await this.db.selectFrom('fleet_state').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
    return Number(r.version);
  }

  async loadDerived(): Promise<{ version: number; derived: DerivedState }> {
    return this.db.transaction().execute(async (trx) => {
      const { version } = await trx.selectFrom('fleet_state').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
      const segs = await trx.selectFrom('fleet_segments').selectAll().execute();
      const places = await trx.selectFrom('fleet_placements').selectAll().execute();
      const pres = await trx.selectFrom('fleet_presence').selectAll().execute();
      return {
        version: Number(version),
        derived: {
          fabrics: new Map(segs.map((s) => [fleetSegmentKey(s.host, s.interface, s.vid === UNTAGGED ? null : s.vid), s.fabric])),
          placements: new Map(places.map((p) => [`${p.host}\u0000${p.interface}`, p.placement])),
          presence: new Map(pres.map((p) => [p.host, p.presence as Presence])),
        },
      };
    });
  }

  /**
   * Records `changes` (and the derived state they lead to) if the stored
   * derived state is still version `base`; returns the new version, or
   * undefined when another server committed first (the caller reloads and
   * recomputes). One transaction that starts by moving the version from
   * `base` on: the row lock that takes (PostgreSQL) or the write lock
   * (SQLite) makes a second server wait, and its own compare then fails,
   * so no change is written twice and none half.
   */
  async commitChanges(base: number, changes: readonly FleetChange[], timeMs: number): Promise<number | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('fleet_state')
        .set({ version: base + 1 })
        .where('id', '=', 1)
        .where('version', '=', base)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) return undefined;
      await applyChanges(trx, changes);
      for (const part of chunks(changes)) {
        await trx
          .insertInto('fleet_history')
          .values(part.map((c) => ({ time: timeMs, kind: c.kind, host: c.host, interface: c.interface, vid: c.vid, before: c.before, after: c.after })))
          .execute();
      }
      return base + 1;
    });
  }

  async history(q: HistoryQuery): Promise<HistoryRow[]> {
    let query = this.db.selectFrom('fleet_history').selectAll();
    if (q.host !== undefined) query = query.where('host', '=', q.host);
    if (q.interface !== undefined) query = query.where('interface', '=', q.interface);
    if (q.sinceMs !== undefined) query = query.where('time', '>=', q.sinceMs);
    const rows = await query.orderBy('time', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
    return rows.map((r) => ({
      id: Number(r.id),
      timeMs: Number(r.time),
      change: { kind: r.kind as FleetChange['kind'], host: r.host, interface: r.interface, vid: r.vid, before: r.before, after: r.after },
    }));
  }
}

interface CompiledUpsert {
  readonly sql: string;
  /** The row and column of each bound parameter, in order. */
  readonly params: ReadonlyArray<{ readonly row: number; readonly column: keyof HostsTable }>;
}

const HOST_COLUMNS = ['name', 'seq', 'digest', 'instance', 'received_at', 'first_seen', 'period_ms', 'address', 'report', 'encoding'] as const;

function hostsRow(r: IngestInput, column: keyof HostsTable): HostsTable[keyof HostsTable] {
  switch (column) {
    case 'name':
      return r.host;
    case 'seq':
      return r.seq;
    case 'digest':
      return r.digest;
    case 'instance':
      return r.instance;
    case 'received_at':
    case 'first_seen':
      return r.receivedAtMs;
    case 'period_ms':
      return r.periodMs;
    case 'address':
      return r.address;
    case 'report':
      return r.body;
    case 'encoding':
      return r.encoding;
  }
}

/**
 * Stores `rows` reports (of distinct hosts) where each one's seq is above
 * the stored one, in one statement (so one transaction): all of it or
 * nothing; returns the names of the hosts stored. Compiled over rows of
 * markers, so that which parameter is which row's column is read from the
 * compiled query, not assumed.
 */
function compileUpsert(db: Kysely<FleetDatabase>, rows: number): CompiledUpsert {
  const marker = (row: number, k: string): string => `\u0000${row}\u0000${k}\u0000`;
  const values = Array.from({ length: rows }, (_, row) => Object.fromEntries(HOST_COLUMNS.map((k) => [k, marker(row, k)])) as unknown as HostsTable);
  const compiled = db
    .insertInto('fleet_hosts')
    .values(values)
    .onConflict((oc) =>
      oc
        .column('name')
        .doUpdateSet((eb) => ({
          seq: eb.ref('excluded.seq'),
          digest: eb.ref('excluded.digest'),
          instance: eb.ref('excluded.instance'),
          received_at: eb.ref('excluded.received_at'),
          period_ms: eb.ref('excluded.period_ms'),
          address: eb.ref('excluded.address'),
          report: eb.ref('excluded.report'),
          encoding: eb.ref('excluded.encoding'),
        }))
        .where('fleet_hosts.seq', '<', (eb) => eb.ref('excluded.seq')),
    )
    .returning('name')
    .compile();
  const markers = new Map<unknown, { row: number; column: keyof HostsTable }>();
  for (let row = 0; row < rows; row++) for (const column of HOST_COLUMNS) markers.set(marker(row, column), { row, column });
  const params = compiled.parameters.map((p) => {
    const at = markers.get(p);
    if (at === undefined) throw new Error(`the report upsert has a parameter that is no column: ${String(p)}`);
    markers.delete(p);
    return at;
  });
  if (markers.size > 0) throw new Error(`the report upsert binds ${params.length} parameters for ${rows * HOST_COLUMNS.length} values`);
  return { sql: compiled.sql, params };
}

/** A stored report's JSON text. */
export function storedReportText(row: Pick<HostsTable, 'report' | 'encoding'>): string {
  const bytes = Buffer.from(row.report);
  return (row.encoding === 'gzip' ? gunzipSync(bytes) : bytes).toString('utf8');
}

async function applyChanges(trx: Transaction<FleetDatabase>, changes: readonly FleetChange[]): Promise<void> {
  const segUpserts: Array<{ host: string; interface: string; vid: number; fabric: string }> = [];
  const placeUpserts: Array<{ host: string; interface: string; placement: string | null }> = [];
  for (const c of changes) {
    if (c.kind === 'segment_fabric') {
      const vid = c.vid ?? UNTAGGED;
      if (c.after === null)
        await trx.deleteFrom('fleet_segments').where('host', '=', c.host).where('interface', '=', c.interface!).where('vid', '=', vid).execute();
      else segUpserts.push({ host: c.host, interface: c.interface!, vid, fabric: c.after });
    } else if (c.kind === 'placement') {
      placeUpserts.push({ host: c.host, interface: c.interface!, placement: c.after });
    } else if (c.after === null) {
      await trx.deleteFrom('fleet_presence').where('host', '=', c.host).execute();
    } else {
      await trx
        .insertInto('fleet_presence')
        .values({ host: c.host, presence: c.after })
        .onConflict((oc) => oc.column('host').doUpdateSet({ presence: c.after! }))
        .execute();
    }
  }
  for (const part of chunks(segUpserts)) {
    await trx
      .insertInto('fleet_segments')
      .values(part)
      .onConflict((oc) => oc.columns(['host', 'interface', 'vid']).doUpdateSet((eb) => ({ fabric: eb.ref('excluded.fabric') })))
      .execute();
  }
  for (const part of chunks(placeUpserts)) {
    await trx
      .insertInto('fleet_placements')
      .values(part)
      .onConflict((oc) => oc.columns(['host', 'interface']).doUpdateSet((eb) => ({ placement: eb.ref('excluded.placement') })))
      .execute();
  }
}
