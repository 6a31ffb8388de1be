/**
 * 0001: the first schema (see ../schema.ts). Released: never edit this file;
 * a change of schema is a new migration after it.
 */
import { PostgresAdapter, sql, type Kysely } from 'kysely';

// Migrations see whatever the database holds, not today's types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.schema
    .createTable('fleet_hosts')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('instance', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('first_seen', 'bigint', (c) => c.notNull())
    .addColumn('period_ms', 'integer', (c) => c.notNull())
    .addColumn('address', 'text')
    .addColumn('report', postgres ? 'bytea' : 'blob', (c) => c.notNull())
    .addColumn('encoding', 'text', (c) => c.notNull())
    .execute();
  // Agents send their reports gzip'd and they are stored so: compressing
  // them again (PostgreSQL's TOAST would) costs CPU for nothing.
  if (postgres) await sql`alter table fleet_hosts alter column report set storage external`.execute(db);
  await db.schema
    .createTable('fleet_state')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .execute();
  await db.insertInto('fleet_state').values({ id: 1, version: 0 }).execute();
  await db.schema
    .createTable('fleet_segments')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('interface', 'text', (c) => c.notNull())
    .addColumn('vid', 'integer', (c) => c.notNull())
    .addColumn('fabric', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('fleet_segments_pk', ['host', 'interface', 'vid'])
    .execute();
  await db.schema
    .createTable('fleet_placements')
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('interface', 'text', (c) => c.notNull())
    .addColumn('placement', 'text')
    .addPrimaryKeyConstraint('fleet_placements_pk', ['host', 'interface'])
    .execute();
  await db.schema
    .createTable('fleet_presence')
    .addColumn('host', 'text', (c) => c.primaryKey())
    .addColumn('presence', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('fleet_history')
    .addColumn('id', postgres ? 'bigserial' : 'integer', (c) => (postgres ? c.primaryKey() : c.primaryKey().autoIncrement()))
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('interface', 'text')
    .addColumn('vid', 'integer')
    .addColumn('before', 'text')
    .addColumn('after', 'text')
    .execute();
  await db.schema.createIndex('fleet_history_time').on('fleet_history').columns(['time', 'id']).execute();
  await db.schema.createIndex('fleet_history_host').on('fleet_history').columns(['host', 'interface', 'time']).execute();
}

export async function down(db: AnyDb): Promise<void> {
  for (const t of ['fleet_history', 'fleet_presence', 'fleet_placements', 'fleet_segments', 'fleet_state', 'fleet_hosts'])
    await db.schema.dropTable(t).execute();
}
