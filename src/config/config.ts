/**
 * The agent's configuration: one YAML file (default
 * /etc/netbeacon/netbeacon.yaml), validated with key paths, with defaults
 * for everything, and command-line flags laid over it.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { describeFsError, UsageError } from '../errors';
import { LOG_LEVELS, type LogLevel } from '../log';
import { bool, list, nullable, num, obj, oneOf, SchemaError, str, type Check, type FromShape } from './schema';
import { parsePolicyConfig, type PolicyConfig } from '../policy/config';
import { BEACON_FORMATS, type BeaconFormat } from '../protocol/beacon';

/** Placeholder file name for policy errors, swapped for the key path form of this schema. */
const POLICY_SOURCE = { name: '\u0000policy', code: 'E_CONFIG' };

/** The `policy:` section, checked by policy/config.ts, its errors reported like every other key's. */
const policy: Check<PolicyConfig> = (v, path) => {
  try {
    return parsePolicyConfig(POLICY_SOURCE, v, [path]);
  } catch (err) {
    const prefix = `${POLICY_SOURCE.name}: `;
    if (!(err instanceof UsageError) || !err.message.startsWith(prefix)) throw err;
    const rest = err.message.slice(prefix.length);
    const cut = rest.indexOf(': ');
    throw new SchemaError(rest.slice(0, cut), rest.slice(cut + 2));
  }
};

export const DEFAULT_CONFIG = '/etc/netbeacon/netbeacon.yaml';

const LISTEN = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([0-9A-Za-z.-]+)):)?(\d{1,5})$/;
const listenString = str({ pattern: LISTEN, hint: 'must be PORT or HOST:PORT (e.g. 127.0.0.1:9240)' });
/** YAML reads `metrics: 9240` as a number; a port alone is fine. */
const listen: Check<string> = (v, path) => listenString(typeof v === 'number' && Number.isInteger(v) ? String(v) : v, path);

/** beacons.formats: which beacon formats to send; v2 is accepted whatever it says (MAAS racks speak it). */
const formatList: Check<BeaconFormat[]> = (v, path) => {
  const formats = list(oneOf(BEACON_FORMATS), { max: BEACON_FORMATS.length })(v, path);
  if (formats.length === 0) throw new SchemaError(path, `must name at least one format (${BEACON_FORMATS.join(', ')})`);
  if (new Set(formats).size !== formats.length) throw new SchemaError(path, `names a format twice: ${formats.join(', ')}`);
  return formats;
};

const shape = {
  interfaces: obj({ include: list(str(), { max: 1024 }), exclude: list(str(), { max: 1024 }) }),
  secret_file: str(),
  socket: str(),
  metrics: nullable(listen),
  log_level: oneOf(LOG_LEVELS),
  journal: nullable(str()),
  engine: oneOf(['auto', 'native', 'js'] as const),
  user: nullable(str({ pattern: /^[a-z_][a-z0-9_-]*\$?$|^\d+$/, hint: 'must be a user name or a numeric uid' })),
  periods: obj({
    solicitation: num(1, 3600),
    retry: num(0.1, 600),
    advertisement: num(0.1, 3600),
    interface_poll: num(0.2, 60),
  }),
  queues: obj({
    tx: num(16, 10_000_000, true),
    rx: num(16, 10_000_000, true),
    hints: num(16, 10_000_000, true),
    support: num(16, 100_000_000, true),
    // Seconds a beacon (and so the hints it supports) is remembered after its ULID's time: MAAS's 120. For tests.
    ttl: num(1, 3600),
  }),
  ring: obj({
    block_size: num(4096, 64 * 1024 * 1024, true),
    block_count: num(2, 4096, true),
    retire_ms: num(1, 1000, true),
  }),
  advertise: obj({ role: oneOf(['region', 'rack', 'node'] as const), maas_url: str({ pattern: /^https?:\/\//, hint: 'must be an http(s) URL' }) }),
  notify: bool,
  policy,
  fleet: obj({
    url: str({ pattern: /^(https?:\/\/|unix:\/)/, hint: 'must be an http(s):// URL or unix:/path' }),
    name: str({ pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, hint: 'must be a host name (letters, digits, ".", "_", "-")' }),
    period: num(1, 3600),
    secret_file: str(),
  }),
  beacons: obj({ formats: formatList }),
};

export type ConfigFile = FromShape<typeof shape>;
const checkFile = obj(shape);

/** Everything resolved: file values over defaults, flags over both. */
export interface AgentConfig {
  interfaces: { include: string[]; exclude: string[] };
  secretFile?: string;
  socket: string;
  metrics: string | null;
  logLevel: LogLevel;
  journal: string | null;
  engine: 'auto' | 'native' | 'js';
  user: string | null;
  periods: { solicitationMs: number; retryMs: number; advertisementMs: number; interfacePollMs: number };
  queues: { tx: number; rx: number; hints: number; support: number; ttlMs: number };
  ring: { blockSize: number; blockCount: number; retireMs: number };
  advertise: { role?: string; maas_url?: string };
  /** Tell systemd READY=1 / WATCHDOG=1 when $NOTIFY_SOCKET is set. */
  notify: boolean;
  /** Filters, reply limits, alarms, keys, expected topology (policy/config.ts). */
  policy: PolicyConfig;
  /** Reports to the fleet service (agent/fleet-reporter.ts); no url: none. */
  fleet: { url: string | null; name: string | null; periodMs: number; secretFile?: string };
  /**
   * Beacon formats sent (docs/beacon-v3.md). [v2] is MAAS's alone; with v3
   * in the list v3 is accepted too. v2 is always accepted.
   */
  beacons: { formats: BeaconFormat[] };
  /** Where it came from, for status and errors. */
  source: string | null;
}

export function defaults(): AgentConfig {
  return {
    interfaces: { include: [], exclude: [] },
    socket: '/run/netbeacon/netbeacon.sock',
    metrics: null,
    logLevel: 'info',
    journal: null,
    engine: 'auto',
    user: null,
    periods: { solicitationMs: 30_000, retryMs: 3_000, advertisementMs: 5_000, interfacePollMs: 2_000 },
    queues: { tx: 10_000, rx: 10_000, hints: 10_000, support: 100_000, ttlMs: 120_000 },
    // Sized in native/ring.h: 64 blocks of 256 KiB absorb ~160 ms of a
    // 100,000 packets/s flood while JS is busy.
    ring: { blockSize: 256 * 1024, blockCount: 64, retireMs: 10 },
    advertise: {},
    notify: true,
    policy: { filters: [], replies: {}, alarms: {} },
    fleet: { url: null, name: null, periodMs: 30_000 },
    beacons: { formats: ['v2'] },
    source: null,
  };
}

/** Parse and validate the YAML text; `where` names the file in errors. */
export function parseConfig(text: string, where: string): ConfigFile {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new UsageError('E_CONFIG', `config ${where}: not valid YAML${at}: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  try {
    return checkFile(value, '');
  } catch (err) {
    if (err instanceof SchemaError) throw new UsageError('E_CONFIG', `config ${where}: ${err.message}`);
    throw err;
  }
}

/** Lay a validated file over the defaults. */
export function applyFile(base: AgentConfig, f: ConfigFile, source: string): AgentConfig {
  const c: AgentConfig = structuredClone(base);
  c.source = source;
  if (f.interfaces?.include) c.interfaces.include = f.interfaces.include;
  if (f.interfaces?.exclude) c.interfaces.exclude = f.interfaces.exclude;
  if (f.secret_file) c.secretFile = f.secret_file;
  if (f.socket) c.socket = f.socket;
  if (f.metrics !== undefined) c.metrics = f.metrics;
  if (f.log_level) c.logLevel = f.log_level;
  if (f.journal !== undefined) c.journal = f.journal;
  if (f.engine) c.engine = f.engine;
  if (f.user !== undefined) c.user = f.user;
  const p = f.periods ?? {};
  if (p.solicitation !== undefined) c.periods.solicitationMs = p.solicitation * 1000;
  if (p.retry !== undefined) c.periods.retryMs = p.retry * 1000;
  if (p.advertisement !== undefined) c.periods.advertisementMs = p.advertisement * 1000;
  if (p.interface_poll !== undefined) c.periods.interfacePollMs = p.interface_poll * 1000;
  const { ttl, ...bounds } = f.queues ?? {};
  Object.assign(c.queues, bounds);
  if (ttl !== undefined) c.queues.ttlMs = ttl * 1000;
  if (f.ring?.block_size !== undefined) {
    if (f.ring.block_size % 4096 !== 0)
      throw new UsageError('E_CONFIG', `config ${source}: ring.block_size: must be a multiple of 4096 (the page size), got ${f.ring.block_size}`);
    c.ring.blockSize = f.ring.block_size;
  }
  if (f.ring?.block_count !== undefined) c.ring.blockCount = f.ring.block_count;
  if (f.ring?.retire_ms !== undefined) c.ring.retireMs = f.ring.retire_ms;
  if (f.advertise) c.advertise = { ...f.advertise };
  if (f.notify !== undefined) c.notify = f.notify;
  if (f.policy !== undefined) c.policy = f.policy;
  if (f.fleet?.url) c.fleet.url = f.fleet.url;
  if (f.fleet?.name) c.fleet.name = f.fleet.name;
  if (f.fleet?.period !== undefined) c.fleet.periodMs = f.fleet.period * 1000;
  if (f.fleet?.secret_file) c.fleet.secretFile = f.fleet.secret_file;
  if (f.beacons?.formats) c.beacons.formats = f.beacons.formats;
  return c;
}

/**
 * Read the config file. The default path may be absent (defaults apply);
 * a path the operator named must exist.
 */
export function loadConfigFile(path: string | undefined): AgentConfig {
  const file = path ?? DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (path === undefined && e.code === 'ENOENT') return defaults();
    throw new UsageError('E_CONFIG', `config ${file}: ${describeFsError(e)}`);
  }
  return applyFile(defaults(), parseConfig(text, file), file);
}

/** Flags the operator gave on the command line; each overrides the file. */
export interface ConfigFlags {
  interface?: string[];
  exclude?: string[];
  secretFile?: string;
  socket?: string;
  metrics?: string;
  logLevel?: LogLevel;
  journal?: string;
  engine?: 'auto' | 'native' | 'js';
  user?: string;
  role?: string;
  maasUrl?: string;
  pollMs?: number;
  fleet?: string;
  name?: string;
  /** --formats v2,v3 */
  formats?: string;
}

export function applyFlags(base: AgentConfig, f: ConfigFlags): AgentConfig {
  const c: AgentConfig = structuredClone(base);
  if (f.interface?.length) c.interfaces.include = f.interface;
  if (f.exclude?.length) c.interfaces.exclude = f.exclude;
  if (f.secretFile) c.secretFile = f.secretFile;
  if (f.socket) c.socket = f.socket;
  if (f.metrics) {
    parseListen(f.metrics);
    c.metrics = f.metrics;
  }
  if (f.logLevel) c.logLevel = f.logLevel;
  if (f.journal) c.journal = f.journal;
  if (f.engine) c.engine = f.engine;
  if (f.user) c.user = f.user;
  if (f.role) c.advertise.role = f.role;
  if (f.maasUrl) c.advertise.maas_url = f.maasUrl;
  if (f.pollMs) c.periods.interfacePollMs = f.pollMs;
  if (f.fleet) c.fleet.url = f.fleet;
  if (f.name) c.fleet.name = f.name;
  if (f.formats !== undefined) {
    try {
      c.beacons.formats = formatList(
        f.formats.split(',').map((x) => x.trim()),
        '--formats',
      );
    } catch (err) {
      if (err instanceof SchemaError) throw new UsageError('E_CONFIG', err.message);
      throw err;
    }
  }
  return c;
}

/** `--metrics 9240` means 127.0.0.1:9240: metrics are not exposed beyond the host unless asked. */
export function parseListen(spec: string): { host: string; port: number } {
  const m = LISTEN.exec(spec);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new UsageError('E_CONFIG', `metrics listen address must be PORT or HOST:PORT, got "${spec}"`);
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port };
}
