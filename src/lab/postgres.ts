/**
 * A throw-away PostgreSQL cluster for tests and benchmarks: initdb into a
 * temporary directory, run as the `postgres` user (PostgreSQL refuses
 * root), listening on a Unix socket in that directory only (no TCP, so
 * nothing reaches an interface), removed by destroy(). Debian's postgresql
 * package provides the binaries (/usr/lib/postgresql/N/bin).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withoutSanitizerRuntime } from './sanitizer-env';

export interface PgCluster {
  /** A connection string for Kysely/pg: the socket directory as `host`. */
  readonly url: string;
  readonly dir: string;
  /** A new empty database; its connection string. */
  createDatabase(name: string): string;
  /** Stops the server (fast shutdown); start() brings it back on the same data. */
  stop(): void;
  start(): void;
  /** Stops and removes everything; idempotent. */
  destroy(): void;
}

function pgBin(): string | undefined {
  const env = process.env.NETBEACON_PG_BIN;
  if (env) return existsSync(join(env, 'initdb')) ? env : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function postgresUid(): { uid: number; gid: number } | undefined {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) return undefined;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Why a cluster cannot be made here, or undefined when it can. */
export function postgresUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  const bin = pgBin();
  if (!bin) return 'PostgreSQL is not installed (apt-get install postgresql; or set NETBEACON_PG_BIN)';
  if (process.getuid?.() === 0 && !postgresUid()) return 'running as root and there is no postgres user to run the server as';
  return undefined;
}

let counter = 0;

/** Makes and starts a cluster with a database `fleet`; throws with the server's log when it cannot. */
export function startPostgres(tag: string, opts: { fsync?: boolean } = {}): PgCluster {
  const bin = pgBin();
  if (!bin) throw new Error(postgresUnavailable());
  const root = process.getuid?.() === 0;
  const owner = root ? postgresUid() : undefined;
  const dir = mkdtempSync(join(tmpdir(), `nb-pg-${tag}-${process.pid}-${counter++}-`));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const run = (cmd: string, args: string[]): SpawnSyncReturns<string> => {
    const argv = root ? ['runuser', '-u', 'postgres', '--', join(bin, cmd), ...args] : [join(bin, cmd), ...args];
    // Not under the sanitizer runtime of `npm run test:asan`: PostgreSQL is not ours to check (./sanitizer-env.ts).
    return spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd: dir, timeout: 120_000, env: withoutSanitizerRuntime() });
  };
  const must = (cmd: string, args: string[]): void => {
    const r = run(cmd, args);
    if (r.status !== 0) {
      const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '';
      throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || String(r.error ?? '')).trim()}\n${serverLog}`);
    }
  };
  let running = false;
  let destroyed = false;
  const options = [`-k ${dir}`, "-c listen_addresses=''", '-c max_connections=50', ...(opts.fsync === false ? ['-c fsync=off'] : [])].join(' ');
  const urlOf = (db: string): string => `postgresql://postgres@localhost/${db}?host=${encodeURIComponent(dir)}`;
  const cluster: PgCluster = {
    url: urlOf('fleet'),
    dir,
    createDatabase(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new RangeError(`not a plain database name: ${name}`);
      must('createdb', ['-h', dir, '-U', 'postgres', name]);
      return urlOf(name);
    },
    start() {
      must('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start']);
      running = true;
    },
    stop() {
      if (!running) return;
      running = false;
      run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      if (running) run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    must('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
    cluster.start();
    must('createdb', ['-h', dir, '-U', 'postgres', 'fleet']);
  } catch (err) {
    cluster.destroy();
    throw err;
  }
  return cluster;
}
