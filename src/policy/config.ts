/**
 * The `policy` section of the agent's configuration, checked with key
 * paths. Proposed layout (every key optional; defaults as shown):
 *
 *   policy:
 *     keys:                              # secret rotation; absent: secret_file alone
 *       - secret_file: /var/lib/maas/secret.new
 *         role: current                  # exactly one current key: it signs
 *       - secret_file: /var/lib/maas/secret
 *         role: previous                 # accepted until accept_until, then ignored
 *         accept_until: "2025-07-01T12:00:00Z"   # ISO 8601 with a zone, or epoch seconds
 *     filters: []                        # see filters.ts
 *     replies:                           # see ratelimit.ts for why these defaults
 *       per_peer: { rate: 1, burst: 5 }
 *       total: { rate: 50, burst: 100 }
 *       max_peers: 4096
 *     alarms:
 *       interval: 60                     # seconds between identical alarms
 *       max_tracked: 4096
 *     expected: /etc/netbeacon/expected.yaml   # declared topology; drift in status
 *
 * Reading the secret files and deriving the keys is the driver's work
 * (deriving costs ~100 ms each); this only says which files, in which role.
 */
import type { AlarmOptions } from './alarms';
import { parseFilterRules, type FilterRule } from './filters';
import type { KeyRole } from '../protocol/keyring';
import type { BucketConfig, ReplyLimitOptions } from './ratelimit';
import { fail, failGot, formatPath, integer, list, mapping, positive, string, type KeyPath, type Source } from './validate';

export interface KeySpec {
  readonly secretFile: string;
  readonly role: KeyRole;
  /** Seconds since the epoch; previous keys only. */
  readonly acceptUntil?: number;
}

export interface PolicyConfig {
  /** Absent: the agent's one secret_file is the current key. */
  readonly keys?: readonly KeySpec[];
  readonly filters: readonly FilterRule[];
  readonly replies: ReplyLimitOptions;
  readonly alarms: AlarmOptions;
  readonly expected?: string;
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

export function parsePolicyConfig(src: Source, value: unknown, path: KeyPath = ['policy']): PolicyConfig {
  if (value === undefined || value === null) return { filters: [], replies: {}, alarms: {} };
  const top = mapping(src, value, path, ['keys', 'filters', 'replies', 'alarms', 'expected']);
  return {
    ...(top.keys !== undefined && { keys: parseKeys(src, top.keys, [...path, 'keys']) }),
    filters: top.filters === undefined ? [] : parseFilterRules(src, top.filters, [...path, 'filters']),
    replies: top.replies === undefined ? {} : parseReplies(src, top.replies, [...path, 'replies']),
    alarms: top.alarms === undefined ? {} : parseAlarms(src, top.alarms, [...path, 'alarms']),
    ...(top.expected !== undefined && { expected: string(src, top.expected, [...path, 'expected']) }),
  };
}

function parseKeys(src: Source, value: unknown, path: KeyPath): KeySpec[] {
  const files = new Map<string, number>();
  const keys = list(src, value, path).map((item, i): KeySpec => {
    const at = [...path, i];
    const k = mapping(src, item, at, ['secret_file', 'role', 'accept_until'], ['secret_file', 'role']);
    const secretFile = string(src, k.secret_file, [...at, 'secret_file']);
    const first = files.get(secretFile);
    if (first !== undefined) fail(src, [...at, 'secret_file'], `${secretFile} is already listed at ${formatPath([...path, first])}`);
    files.set(secretFile, i);
    const role = k.role;
    if (role !== 'current' && role !== 'previous') return failGot(src, [...at, 'role'], 'must be "current" or "previous"', role);
    if (role === 'current') {
      if (k.accept_until !== undefined) fail(src, [...at, 'accept_until'], 'the current key signs and is always accepted; only previous keys have an end');
      return { secretFile, role };
    }
    if (k.accept_until === undefined) fail(src, [...at, 'accept_until'], 'is required for a previous key: a transition window needs an end');
    return { secretFile, role, acceptUntil: readTime(src, k.accept_until, [...at, 'accept_until']) };
  });
  const current = keys.filter((k) => k.role === 'current').length;
  if (current !== 1) fail(src, path, `must have exactly one key with role current, has ${current}`);
  return keys;
}

/** ISO 8601 with an explicit zone (a time without one means different things on different hosts), or epoch seconds. */
function readTime(src: Source, v: unknown, path: KeyPath): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  const ms = typeof v === 'string' && ISO_WITH_ZONE.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(ms)) return failGot(src, path, 'must be a time like "2025-07-01T12:00:00Z" (with a zone) or seconds since the epoch', v);
  return ms / 1000;
}

function parseBucket(src: Source, v: unknown, path: KeyPath): BucketConfig {
  const b = mapping(src, v, path, ['rate', 'burst'], ['rate', 'burst']);
  return { ratePerSecond: positive(src, b.rate, [...path, 'rate'], 1_000_000), burst: integer(src, b.burst, [...path, 'burst'], 1, 1_000_000) };
}

function parseReplies(src: Source, v: unknown, path: KeyPath): ReplyLimitOptions {
  const r = mapping(src, v, path, ['per_peer', 'total', 'max_peers']);
  return {
    ...(r.per_peer !== undefined && { perPeer: parseBucket(src, r.per_peer, [...path, 'per_peer']) }),
    ...(r.total !== undefined && { total: parseBucket(src, r.total, [...path, 'total']) }),
    ...(r.max_peers !== undefined && { maxPeers: integer(src, r.max_peers, [...path, 'max_peers'], 1, 10_000_000) }),
  };
}

function parseAlarms(src: Source, v: unknown, path: KeyPath): AlarmOptions {
  const a = mapping(src, v, path, ['interval', 'max_tracked']);
  return {
    ...(a.interval !== undefined && { intervalMs: positive(src, a.interval, [...path, 'interval'], 86_400) * 1000 }),
    ...(a.max_tracked !== undefined && { maxKeys: integer(src, a.max_tracked, [...path, 'max_tracked'], 1, 10_000_000) }),
  };
}
