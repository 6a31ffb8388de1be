/**
 * Opening the fleet database: `sqlite:PATH` (better-sqlite3, the embedded
 * default) or `postgres://…` (pg), both behind Kysely, so one typed query
 * layer serves both. The schema is migrated at open with Kysely's Migrator;
 * a database that a newer netbeacon migrated further is refused.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { NetbeaconError, UsageError } from '../errors';
import { VERSION } from '../version';
import { MIGRATIONS, provider } from './migrations/index';
import type { FleetDatabase } from './schema';

export type DbKind = 'sqlite' | 'postgres';

export interface DbTarget {
  readonly kind: DbKind;
  /** The file (SQLite) or the connection string (PostgreSQL). */
  readonly location: string;
  /** For messages and logs: never a password. */
  readonly display: string;
}

export const DEFAULT_DB = 'sqlite:/var/lib/netbeacon/fleet.db';

/** A database the service cannot use as it is (unreachable, newer, broken): exit 1 at start. */
export class FleetDbError extends NetbeaconError {
  constructor(code: 'E_FLEET_DB_NEWER' | 'E_FLEET_DB_MIGRATE' | 'E_FLEET_DB_OPEN', message: string) {
    super(code, message, 1);
  }
}

export function parseDbUrl(url: string): DbTarget {
  if (url.startsWith('sqlite:')) {
    const location = url.slice('sqlite:'.length);
    if (location === '') throw new UsageError('E_FLEET_DB_URL', 'database sqlite: needs a path, e.g. sqlite:/var/lib/netbeacon/fleet.db');
    return { kind: 'sqlite', location, display: url };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // The password, if any, stays out of every message.
    return { kind: 'postgres', location: url, display: url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@') };
  }
  throw new UsageError('E_FLEET_DB_URL', `database must be sqlite:PATH or postgres://USER@HOST/DB, got "${url}"`);
}

export interface OpenDb {
  readonly db: Kysely<FleetDatabase>;
  readonly target: DbTarget;
  /** PostgreSQL: the pool under `db`, for the statements run as prepared ones (the report upsert). */
  readonly pool?: pg.Pool;
}

/** bigint columns (counts, sequence numbers, times) as numbers: they stay below 2^53. */
const PG_TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (v: string) => Number(v);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-return
    return pg.types.getTypeParser(oid, format);
  },
};

export function connect(target: DbTarget, onPoolError: (err: Error) => void = () => undefined): OpenDb {
  if (target.kind === 'sqlite') {
    mkdirSync(dirname(target.location), { recursive: true });
    let file: BetterSqlite3.Database;
    try {
      file = new BetterSqlite3(target.location);
    } catch (err) {
      throw new FleetDbError('E_FLEET_DB_OPEN', `database ${target.display} cannot be opened: ${(err as Error).message}`);
    }
    // WAL: a commit is in the log before the report is acknowledged, so a
    // kill -9 loses nothing acknowledged. synchronous=NORMAL gives up only
    // the last commits on a power loss, and reports are state that the
    // agents send again within a period anyway.
    file.pragma('journal_mode = WAL');
    file.pragma('synchronous = NORMAL');
    file.pragma('busy_timeout = 5000');
    return { db: new Kysely<FleetDatabase>({ dialect: new SqliteDialect({ database: cachingStatements(file) }) }), target };
  }
  const pool = new pg.Pool({ connectionString: target.location, max: 8, types: PG_TYPES, connectionTimeoutMillis: 5000 });
  // A client whose server went away emits 'error', idle or busy (its query
  // fails too): that must not take the process down, so every client gets a
  // listener, not only the pool's idle ones.
  pool.on('error', onPoolError);
  pool.on('connect', (client) => client.on('error', onPoolError));
  return { db: new Kysely<FleetDatabase>({ dialect: new PostgresDialect({ pool }) }), target, pool };
}

/**
 * Kysely prepares every query anew; preparing costs as much as a small
 * insert. The service runs few distinct statements (the SQL of a query is
 * the same whatever its values), so prepared statements are kept, bounded.
 */
function cachingStatements(file: BetterSqlite3.Database): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => file.close(),
    prepare(text: string) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = file.prepare(text);
        if (cache.size >= 256) cache.delete(cache.keys().next().value!);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

/** The migrations the database has run, or none when it is new. */
async function executedMigrations(db: Kysely<FleetDatabase>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === 'kysely_migration')) return [];
  const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.rows.map((r) => r.name);
}

/** Brings the schema up to date; refuses a database migrated by a newer netbeacon. */
export async function migrate(open: OpenDb): Promise<{ applied: string[] }> {
  let done: string[];
  try {
    done = await executedMigrations(open.db);
  } catch (err) {
    throw new FleetDbError('E_FLEET_DB_OPEN', `database ${open.target.display} cannot be read: ${(err as Error).message}`);
  }
  const unknown = done.filter((name) => !(name in MIGRATIONS));
  if (unknown.length > 0) {
    throw new FleetDbError(
      'E_FLEET_DB_NEWER',
      `database ${open.target.display} was written by a newer netbeacon: it has schema migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which netbeacon ${VERSION} does not know (it knows up to ${Object.keys(MIGRATIONS).at(-1)}). Upgrade netbeacon, or give another --db.`,
    );
  }
  const { error, results } = await new Migrator({ db: open.db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new FleetDbError(
      'E_FLEET_DB_MIGRATE',
      `database ${open.target.display}: migration ${failed ?? '(before any ran)'} failed: ${(error as Error).message}`,
    );
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
