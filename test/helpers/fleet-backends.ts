/**
 * The fleet's two stores for tests: SQLite in a temporary file, and a real
 * PostgreSQL (a throw-away cluster, src/lab/postgres.ts) when the machine
 * has it. Each call of `fresh()` is a new empty database. Everything goes
 * in teardown, also on failure.
 */
import type { Test } from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresUnavailable, startPostgres, type PgCluster } from '../../src/lab/postgres';

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty database's URL. */
  fresh(): string;
  /** The PostgreSQL cluster itself (to stop and start it), when this is PostgreSQL. */
  readonly cluster?: PgCluster;
}

/** The backends to run a suite over; PostgreSQL is left out (with the reason printed) only where it cannot run. */
export function fleetBackends(t: Test, tag: string): Backend[] {
  const dir = mkdtempSync(join(tmpdir(), `nb-fleet-${tag}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const out: Backend[] = [{ name: 'sqlite', fresh: () => `sqlite:${join(dir, `fleet-${n++}.db`)}` }];
  const why = postgresUnavailable();
  if (why) {
    t.comment(`PostgreSQL store tests skipped: ${why}`);
    return out;
  }
  let cluster: PgCluster | undefined;
  t.teardown(() => cluster?.destroy());
  const get = (): PgCluster => (cluster ??= startPostgres(tag, { fsync: false }));
  let m = 0;
  out.push({
    name: 'postgres',
    fresh: () => get().createDatabase(`fleet_${m++}`),
    get cluster() {
      return get();
    },
  });
  return out;
}
