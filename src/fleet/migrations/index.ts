/**
 * Every migration this netbeacon knows, in order. Migrations are files that
 * never change once released: a new schema is a new file, added here.
 * Names sort in the order they run (Kysely's Migrator checks it).
 */
import type { Migration, MigrationProvider } from 'kysely';
import * as m0001 from './0001-initial';

export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001-initial': m0001,
};

export const provider: MigrationProvider = { getMigrations: () => Promise.resolve(MIGRATIONS) };
