/**
 * The fleet service's configuration: one YAML file (default
 * /etc/netbeacon/fleet.yaml, used when it exists), checked with key paths
 * like the agent's, flags laid over it.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { describeFsError, UsageError } from '../errors';
import { LOG_LEVELS, type LogLevel } from '../log';
import { num, obj, oneOf, SchemaError, str, type Check, type FromShape } from '../config/schema';
import { DEFAULT_DB, parseDbUrl } from './db';
import { DEFAULT_LISTEN, parseFleetListen } from './listen';
import { DEFAULT_MAX_REPORT_BYTES } from './server';
import { DEFAULT_MAX_QUEUED } from './store';

export const DEFAULT_FLEET_CONFIG = '/etc/netbeacon/fleet.yaml';

/** YAML reads `listen: 9241` as a number; a port alone is fine. */
const listen: Check<string> = (v, path) => {
  const s = str()(typeof v === 'number' && Number.isInteger(v) ? String(v) : v, path);
  try {
    parseFleetListen(s);
  } catch {
    throw new SchemaError(path, `must be PORT, HOST:PORT or unix:/path, got ${JSON.stringify(s)}`);
  }
  return s;
};

const db: Check<string> = (v, path) => {
  const s = str()(v, path);
  try {
    parseDbUrl(s);
  } catch {
    throw new SchemaError(path, `must be sqlite:PATH or postgres://USER@HOST/DB, got ${JSON.stringify(s)}`);
  }
  return s;
};

const shape = {
  db,
  listen,
  secret_file: str(),
  read_token_file: str(),
  log_level: oneOf(LOG_LEVELS),
  max_report_bytes: num(4096, 1024 * 1024 * 1024, true),
  max_queued_reports: num(1, 1_000_000, true),
  refresh_interval: num(0.05, 60),
};

export interface FleetConfig {
  db: string;
  listen: string;
  secretFile?: string;
  readTokenFile?: string;
  logLevel: LogLevel;
  maxReportBytes: number;
  maxQueuedReports: number;
  refreshMs: number;
  source: string | null;
}

export interface FleetFlags {
  db?: string;
  listen?: string;
  secretFile?: string;
  readTokenFile?: string;
  logLevel?: LogLevel;
  maxReportBytes?: number;
}

export function fleetDefaults(): FleetConfig {
  return {
    db: DEFAULT_DB,
    listen: DEFAULT_LISTEN,
    logLevel: 'info',
    maxReportBytes: DEFAULT_MAX_REPORT_BYTES,
    maxQueuedReports: DEFAULT_MAX_QUEUED,
    refreshMs: 1000,
    source: null,
  };
}

export function parseFleetConfig(text: string, where: string): FromShape<typeof shape> {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = e.linePos?.[0] ? ` (line ${e.linePos[0].line}, column ${e.linePos[0].col})` : '';
    throw new UsageError('E_CONFIG', `config ${where}: not valid YAML${at}: ${e.message.split('\n')[0]}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  try {
    return obj(shape)(value, '');
  } catch (err) {
    if (err instanceof SchemaError) throw new UsageError('E_CONFIG', `config ${where}: ${err.message}`);
    throw err;
  }
}

/** The file (the default path may be absent) with the flags over it. */
export function loadFleetConfig(path: string | undefined, flags: FleetFlags): FleetConfig {
  const c = fleetDefaults();
  const file = path ?? DEFAULT_FLEET_CONFIG;
  let text: string | undefined;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (!(path === undefined && e.code === 'ENOENT')) throw new UsageError('E_CONFIG', `config ${file}: ${describeFsError(e)}`);
  }
  if (text !== undefined) {
    const f = parseFleetConfig(text, file);
    c.source = file;
    if (f.db) c.db = f.db;
    if (f.listen) c.listen = f.listen;
    if (f.secret_file) c.secretFile = f.secret_file;
    if (f.read_token_file) c.readTokenFile = f.read_token_file;
    if (f.log_level) c.logLevel = f.log_level;
    if (f.max_report_bytes !== undefined) c.maxReportBytes = f.max_report_bytes;
    if (f.max_queued_reports !== undefined) c.maxQueuedReports = f.max_queued_reports;
    if (f.refresh_interval !== undefined) c.refreshMs = f.refresh_interval * 1000;
  }
  if (flags.db) c.db = flags.db;
  if (flags.listen) c.listen = flags.listen;
  if (flags.secretFile) c.secretFile = flags.secretFile;
  if (flags.readTokenFile) c.readTokenFile = flags.readTokenFile;
  if (flags.logLevel) c.logLevel = flags.logLevel;
  if (flags.maxReportBytes !== undefined) c.maxReportBytes = flags.maxReportBytes;
  return c;
}

/** A token file: its first line, trimmed; errors name the file and the problem, never the content. */
export function readTokenFile(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError('E_TOKEN_FILE', `${what} ${file} ${describeFsError(err as NodeJS.ErrnoException)}`);
  }
  const token = text.split('\n')[0]!.trim();
  if (token.length < 16) throw new UsageError('E_TOKEN_FILE', `${what} ${file} holds no token of at least 16 characters on its first line`);
  return token;
}
