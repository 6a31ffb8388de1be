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

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

export class FleetStore {
  readonly target: DbTarget;
  readonly db: Kysely<FleetDatabase>;
  /** The report upsert, compiled once: building and compiling it per report cost a tenth of ingest's CPU. */
  #upsert: CompiledUpsert | undefined;

  private constructor(db: Kysely<FleetDatabase>, target: DbTarget) {
    this.db = db;
    this.target = target;
  }

  /** Connects and migrates; throws FleetDbError naming the database and the problem. */
  static async open(target: DbTarget, onPoolError?: (err: Error) => void): Promise<{ store: FleetStore; applied: string[] }> {
    const open = connect(target, onPoolError);
    try {
      const { applied } = await migrate(open);
      return { store: new FleetStore(open.db, target), applied };
    } catch (err) {
      await open.db.destroy();
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  /**
   * Stores a report if its seq is above the stored one, in one statement
   * (so one transaction): all of it or nothing.
   */
  async ingest(r: IngestInput): Promise<IngestResult> {
    const row: HostsTable = {
      name: r.host,
      seq: r.seq,
      digest: r.digest,
      instance: r.instance,
      received_at: r.receivedAtMs,
      first_seen: r.receivedAtMs,
      period_ms: r.periodMs,
      address: r.address,
      report: r.body,
      encoding: r.encoding,
    };
    const { sql: text, columns } = (this.#upsert ??= compileUpsert(this.db));
    const result = await this.db.executeQuery<{ seq: number }>(
      CompiledQuery.raw(
        text,
        columns.map((c) => row[c]),
      ),
    );
    const stored = result.rows[0];
    if (stored) return { status: 'stored', seq: r.seq };
    const current = await this.db.selectFrom('fleet_hosts').select(['seq', 'digest']).where('name', '=', r.host).executeTakeFirstOrThrow();
    if (current.seq === r.seq && current.digest === r.digest) return { status: 'duplicate', seq: r.seq };
    return { status: 'stale', currentSeq: current.seq };
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
  /** The row's column for each bound parameter, in order. */
  readonly columns: ReadonlyArray<keyof HostsTable>;
}

/**
 * Stores a report if its seq is above the stored one, in one statement (so
 * one transaction): all of it or nothing. Compiled over a row of markers,
 * so that which parameter is which column is read from the compiled query,
 * not assumed.
 */
function compileUpsert(db: Kysely<FleetDatabase>): CompiledUpsert {
  const keys = ['name', 'seq', 'digest', 'instance', 'received_at', 'first_seen', 'period_ms', 'address', 'report', 'encoding'] as const;
  const marker = (k: string): string => `\u0000${k}\u0000`;
  const row = Object.fromEntries(keys.map((k) => [k, marker(k)])) as unknown as HostsTable;
  const compiled = db
    .insertInto('fleet_hosts')
    .values(row)
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
    .returning('seq')
    .compile();
  const columns = compiled.parameters.map((p) => {
    const k = keys.find((key) => p === marker(key));
    if (k === undefined) throw new Error(`the report upsert has a parameter that is no column: ${String(p)}`);
    return k;
  });
  if (new Set(columns).size !== keys.length) throw new Error(`the report upsert binds ${columns.length} parameters for ${keys.length} columns`);
  return { sql: compiled.sql, columns };
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
