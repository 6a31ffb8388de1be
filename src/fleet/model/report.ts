/**
 * An agent's report to the fleet service: its whole current state (its
 * interfaces, the hints it holds now, the peers it hears, a summary of its
 * counters), stamped with a per-host sequence number. docs/fleet-api.md
 * documents the shape.
 *
 * A report comes from the network: parseReport checks every field, names
 * the first wrong one by its key path (`interfaces[3].mtu`), and bounds
 * every list, before anything is stored. Unknown keys are ignored, so an
 * older service accepts a newer agent's report. Checking is one pass with
 * no regular expression per hint, because it runs for every report.
 */
import { hash } from 'node:crypto';
import { HINT_KINDS, type HintKind, type TopologyHint } from '../../topology/hints';
import type { HostInterface } from '../../topology/interfaces';
import { interfaceSummary } from '../../topology/interfaces';
import { describe, formatPath, type KeyPath } from '../../policy/validate';
import { jsonEqual } from './json-equal';

export const REPORT_VERSION = 1;

export const REPORT_LIMITS = {
  interfaces: 4096,
  hints: 100_000,
  peers: 10_000,
  addresses: 256,
  counters: 64,
  /** Linux interface names: IFNAMSIZ 16 with the NUL. */
  ifnameBytes: 15,
  /** Names peers put in their beacons (related_ifname, peer names): another implementation's interface names. */
  remoteNameBytes: 255,
  hostBytes: 253,
} as const;

export interface ReportInterface {
  readonly name: string;
  readonly mac: string | null;
  readonly mtu: number;
  readonly type: string;
  /** The VID of a VLAN interface. */
  readonly vid?: number;
  readonly addresses: readonly string[];
  /** VIDs of tagged frames heard on it. */
  readonly vids: readonly number[];
}

export interface ReportPeer {
  readonly interface: string;
  readonly vid?: number;
  readonly mac: string;
  readonly name: string;
  readonly last_seen: number;
  /** Beacon formats it was heard in; absent from agents before v3. */
  readonly formats?: readonly ('v2' | 'v3')[];
  /** Heard in v3: the key id that authenticated it (docs/beacon-v3.md), so its evidence is known authenticated. */
  readonly key_id?: string;
}

export interface FleetReport {
  readonly version: 1;
  readonly host: string;
  readonly seq: number;
  /** This run of the agent (a ULID). */
  readonly instance: string;
  /** The agent's clock when it made the report, seconds since the epoch. */
  readonly time: number;
  readonly period_seconds: number;
  readonly agent: { readonly version: string; readonly engine: string };
  readonly interfaces: readonly ReportInterface[];
  readonly hints: readonly TopologyHint[];
  readonly peers: readonly ReportPeer[];
  readonly counters: Readonly<Record<string, number>>;
}

/** A report that cannot be accepted; `field` is the key path of the first problem. */
export class ReportError extends Error {
  readonly code = 'E_REPORT_MALFORMED';
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ReportError';
  }
}

type Json = Record<string, unknown>;
type Key = string | number | undefined;

// Each check takes the parent's path and its own key, and builds the full
// path only for a message: a report has thousands of fields.
function bad(path: KeyPath, key: Key, what: string, got: unknown): never {
  throw new ReportError(formatPath(key === undefined ? path : [...path, key]), `${what}, got ${describe(got)}`);
}

function obj(v: unknown, path: KeyPath, key?: Key): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(path, key, 'must be an object', v);
  return v as Json;
}

function arr(v: unknown, path: KeyPath, key: Key, max: number): unknown[] {
  if (!Array.isArray(v)) bad(path, key, 'must be a list', v);
  if (v.length > max) throw new ReportError(formatPath(key === undefined ? path : [...path, key]), `must have at most ${max} entries, has ${v.length}`);
  return v;
}

function int(v: unknown, path: KeyPath, key: Key, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) bad(path, key, `must be an integer from ${min} to ${max}`, v);
  return v;
}

function num(v: unknown, path: KeyPath, key: Key, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(path, key, `must be a number from ${min} to ${max}`, v);
  return v;
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes, with no NUL. */
function name(v: unknown, path: KeyPath, key: Key, maxBytes: number): string {
  if (typeof v !== 'string' || v.length === 0) bad(path, key, 'must be a non-empty string', v);
  // Only a string longer than a third of the bound can have too many bytes.
  if (v.length > maxBytes || (v.length * 3 > maxBytes && Buffer.byteLength(v) > maxBytes)) bad(path, key, `must be at most ${maxBytes} bytes`, v);
  if (v.includes('\u0000')) bad(path, key, 'must not contain a NUL', v);
  return v;
}

function text(v: unknown, path: KeyPath, key: Key, maxLength: number): string {
  if (typeof v !== 'string' || v.length > maxLength) bad(path, key, `must be a string of at most ${maxLength} characters`, v);
  return v;
}

/** 52:54:00:0a:00:01, any case; returned lower-case so that MACs compare. */
function mac(v: unknown, path: KeyPath, key: Key): string {
  if (typeof v !== 'string' || v.length !== 17) bad(path, key, 'must be a MAC address like 52:54:00:0a:00:01', v);
  let upper = false;
  for (let i = 0; i < 17; i++) {
    const c = v.charCodeAt(i);
    const big = c >= 65 && c <= 70;
    const ok = i % 3 === 2 ? c === 58 : (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || big;
    if (!ok) bad(path, key, 'must be a MAC address like 52:54:00:0a:00:01', v);
    if (big) upper = true;
  }
  return upper ? v.toLowerCase() : v;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const KINDS = new Set<string>(HINT_KINDS);

function optionalVid(v: unknown, path: KeyPath, key: Key): number | undefined {
  return v === undefined || v === null ? undefined : int(v, path, key, 0, 4095);
}

function parseInterface(v: unknown, path: KeyPath): ReportInterface {
  const o = obj(v, path);
  const ifname = name(o.name, path, 'name', REPORT_LIMITS.ifnameBytes);
  if (ifname.includes('/')) bad(path, 'name', 'must not contain a slash', ifname);
  const m = o.mac === null || o.mac === undefined ? null : mac(o.mac, path, 'mac');
  const addressList = arr(o.addresses ?? [], path, 'addresses', REPORT_LIMITS.addresses);
  const addresses: string[] = new Array<string>(addressList.length);
  for (let i = 0; i < addressList.length; i++) {
    const a = addressList[i];
    addresses[i] = typeof a === 'string' && a.length <= 64 ? a : text(a, [...path, 'addresses'], i, 64);
  }
  const vidList = arr(o.vids ?? [], path, 'vids', 4096);
  const vids: number[] = new Array<number>(vidList.length);
  for (let i = 0; i < vidList.length; i++) {
    const x = vidList[i];
    vids[i] = typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 4095 ? x : int(x, [...path, 'vids'], i, 0, 4095);
  }
  const vid = optionalVid(o.vid, path, 'vid');
  const base = { name: ifname, mac: m, mtu: int(o.mtu, path, 'mtu', 0, 65535), type: text(o.type ?? 'physical', path, 'type', 32), addresses, vids };
  return vid === undefined ? base : { ...base, vid };
}

function parseHint(v: unknown, path: KeyPath): TopologyHint {
  const o = obj(v, path);
  if (typeof o.hint !== 'string' || !KINDS.has(o.hint)) bad(path, 'hint', `must be one of ${HINT_KINDS.join(', ')}`, o.hint);
  const h: { -readonly [K in keyof TopologyHint]: TopologyHint[K] } = {
    ifname: name(o.ifname, path, 'ifname', REPORT_LIMITS.ifnameBytes),
    hint: o.hint as HintKind,
  };
  const vid = optionalVid(o.vid, path, 'vid');
  if (vid !== undefined) h.vid = vid;
  if (o.related_ifname !== undefined && o.related_ifname !== null)
    h.related_ifname = name(o.related_ifname, path, 'related_ifname', REPORT_LIMITS.remoteNameBytes);
  const rvid = optionalVid(o.related_vid, path, 'related_vid');
  if (rvid !== undefined) h.related_vid = rvid;
  if (o.related_mac !== undefined && o.related_mac !== null) h.related_mac = mac(o.related_mac, path, 'related_mac');
  return h;
}

function parsePeer(v: unknown, path: KeyPath): ReportPeer {
  const o = obj(v, path);
  const vid = optionalVid(o.vid, path, 'vid');
  const p: { -readonly [K in keyof ReportPeer]: ReportPeer[K] } = {
    interface: name(o.interface, path, 'interface', REPORT_LIMITS.ifnameBytes),
    mac: mac(o.mac, path, 'mac'),
    name: name(o.name, path, 'name', REPORT_LIMITS.remoteNameBytes),
    last_seen: num(o.last_seen, path, 'last_seen', 0, 1e11),
  };
  if (o.formats !== undefined) p.formats = formats(o.formats, path);
  if (o.key_id !== undefined) p.key_id = keyId(o.key_id, path);
  if (vid !== undefined) p.vid = vid;
  return p;
}

function formats(v: unknown, path: KeyPath): Array<'v2' | 'v3'> {
  const list = arr(v, path, 'formats', 2);
  for (let i = 0; i < list.length; i++)
    if ((list[i] !== 'v2' && list[i] !== 'v3') || list.indexOf(list[i]) !== i) bad([...path, 'formats'], i, 'must be "v2" or "v3", once each', list[i]);
  return list as Array<'v2' | 'v3'>;
}

/** A v3 key id as the agent prints it: 8 lower-case hex digits. */
function keyId(v: unknown, path: KeyPath): string {
  if (typeof v !== 'string' || !/^[0-9a-f]{8}$/.test(v)) bad(path, 'key_id', 'must be a v3 key id (8 lower-case hex digits)', v);
  return v;
}

/** The host's report before this one, if the caller holds it. */
export type PreviousReport = (host: string) => FleetReport | undefined;

function checkInterfaces(v: unknown): ReportInterface[] {
  const list = arr(v, [], 'interfaces', REPORT_LIMITS.interfaces);
  const interfaces = new Array<ReportInterface>(list.length);
  const names = new Set<string>();
  for (let n = 0; n < list.length; n++) {
    const i = parseInterface(list[n], ['interfaces', n]);
    if (names.has(i.name)) bad(['interfaces', n], 'name', 'must be unique in the report', i.name);
    names.add(i.name);
    interfaces[n] = i;
  }
  return interfaces;
}

function checkHints(v: unknown): TopologyHint[] {
  const list = arr(v, [], 'hints', REPORT_LIMITS.hints);
  const hints = new Array<TopologyHint>(list.length);
  for (let i = 0; i < list.length; i++) hints[i] = parseHint(list[i], ['hints', i]);
  return hints;
}

/**
 * Checks a parsed JSON document; throws ReportError naming the first wrong
 * field. With `previous`, a list of interfaces or hints equal to the host's
 * last report's is that report's list: it was checked, and checking a
 * checked list gives an equal one back (every check keeps a value it
 * accepts, and a checked list has no keys the checks drop), so it is
 * neither checked nor copied again. Agents report every 30 s, nearly always
 * with the same interfaces and hints.
 */
export function checkReport(doc: unknown, previous?: PreviousReport): FleetReport {
  return check(doc, previous);
}

/** checkReport, with the hints or interfaces already known (the previous report's, taken by their text). */
function check(doc: unknown, previous: PreviousReport | undefined, hints?: readonly TopologyHint[], known?: readonly ReportInterface[]): FleetReport {
  const o = obj(doc, []);
  if (o.version !== REPORT_VERSION) bad([], 'version', `must be ${REPORT_VERSION} (the report version this service knows)`, o.version);
  const host = name(o.host, [], 'host', REPORT_LIMITS.hostBytes);
  if (!HOST_NAME.test(host)) bad([], 'host', 'must be a host name (letters, digits, ".", "_", "-")', host);
  const agent = o.agent === undefined ? {} : obj(o.agent, [], 'agent');
  const prev = previous?.(host);
  const interfaces = known ?? (prev && jsonEqual(o.interfaces, prev.interfaces) ? prev.interfaces : checkInterfaces(o.interfaces));
  const counters: Record<string, number> = {};
  const c = o.counters === undefined ? {} : obj(o.counters, [], 'counters');
  const keys = Object.keys(c);
  if (keys.length > REPORT_LIMITS.counters) throw new ReportError('counters', `must have at most ${REPORT_LIMITS.counters} keys, has ${keys.length}`);
  for (const k of keys) counters[text(k, [], 'counters', 64)] = num(c[k], ['counters'], k, 0, Number.MAX_SAFE_INTEGER);
  return {
    version: REPORT_VERSION,
    host,
    seq: int(o.seq, [], 'seq', 0, Number.MAX_SAFE_INTEGER),
    instance: text(o.instance, [], 'instance', 64),
    time: num(o.time, [], 'time', 0, 1e11),
    period_seconds: num(o.period_seconds, [], 'period_seconds', 1, 3600),
    agent: { version: text(agent.version ?? '', ['agent'], 'version', 64), engine: text(agent.engine ?? '', ['agent'], 'engine', 32) },
    interfaces,
    hints: hints ?? (prev && jsonEqual(o.hints, prev.hints) ? prev.hints : checkHints(o.hints)),
    peers: arr(o.peers ?? [], [], 'peers', REPORT_LIMITS.peers).map((x, i) => parsePeer(x, ['peers', i])),
    counters,
  };
}

/**
 * Parses and checks a report's bytes (`previous` as for checkReport).
 *
 * With `previous` and `token`, the hints' text is set aside before parsing,
 * when the report is laid out as agents write it (`,"hints":` then
 * `,"peers":`): the hints are most of a report, and the same as last time
 * nearly always. The rest is parsed with `token` as a JSON string in the
 * hints' place. If that parses and its top-level hints are the token, the
 * text set aside is exactly the top-level hints' value, whatever it holds
 * (the token is a random string the caller never sends, so a report cannot
 * hold it), and it is parsed only when its SHA-256 is not that of the text
 * the host's previous hints came from. Anything else parses the whole text
 * as before, so every answer, error messages included, is the same.
 */
export function parseReport(body: string, previous?: PreviousReport, token?: string): FleetReport {
  if (previous && token !== undefined) {
    const fast = parseHintsAside(body, previous, token);
    if (fast) return fast;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new ReportError('(body)', `is not JSON: ${(err as Error).message}`);
  }
  return checkReport(doc, previous);
}

const INTERFACES_KEY = ',"interfaces":';
const HINTS_KEY = ',"hints":';
const PEERS_KEY = ',"peers":';
/** A checked hint list -> the SHA-256 of the text it was parsed from (one text per list, the last). */
const hintsTextDigest = new WeakMap<readonly TopologyHint[], string>();
/** The same for a checked list of interfaces. */
const interfacesTextDigest = new WeakMap<readonly ReportInterface[], string>();

const sha256 = (data: string | Uint8Array): string => hash('sha256', data, 'base64');

/**
 * parseReport of a report's bytes (UTF-8), with the same answer, error
 * messages included, as parseReport of their text.
 *
 * With `previous` and `token`, when the report is laid out as agents write
 * it (`,"interfaces":`, `,"hints":` then `,"peers":`), both the interfaces'
 * and the hints' bytes are set aside, and only the rest is decoded and
 * parsed, with `token` in both places (as parseReport does for the hints:
 * if that parses and its top-level interfaces and hints are the token, the
 * bytes set aside are exactly their values). Each list set aside is decoded
 * and parsed only when its SHA-256 is not that of the bytes the host's
 * previous list came from: the interfaces and hints are two thirds of a
 * report, and the same as last time nearly always. Anything else is
 * parseReport of the whole text. (UTF-8 is decoded the same in pieces cut
 * at ASCII bytes as in one.)
 */
export function parseReportBytes(bytes: Buffer, previous?: PreviousReport, token?: string): FleetReport {
  if (previous && token !== undefined) {
    const fast = parseListsAside(bytes, previous, token);
    if (fast) return fast;
  }
  return parseReport(bytes.toString('utf8'), previous, token);
}

function parseListsAside(bytes: Buffer, previous: PreviousReport, token: string): FleetReport | undefined {
  const at = bytes.indexOf(INTERFACES_KEY);
  if (at < 0) return undefined;
  const ifStart = at + INTERFACES_KEY.length;
  const ifEnd = bytes.indexOf(HINTS_KEY, ifStart);
  if (ifEnd < 0) return undefined;
  const hintsStart = ifEnd + HINTS_KEY.length;
  // From the end: the peers are the last list, and shorter than the hints. (Where the cuts fall is checked below.)
  const hintsEnd = bytes.lastIndexOf(PEERS_KEY);
  if (hintsEnd < hintsStart) return undefined;
  const placeholder = JSON.stringify(token);
  let doc: unknown;
  try {
    doc = JSON.parse(`${bytes.toString('utf8', 0, ifStart)}${placeholder}${HINTS_KEY}${placeholder}${bytes.toString('utf8', hintsEnd)}`);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || (doc as Json).interfaces !== token || (doc as Json).hints !== token) return undefined;
  const o = doc as Json;
  const ifBytes = bytes.subarray(ifStart, ifEnd);
  const hintBytes = bytes.subarray(hintsStart, hintsEnd);
  const ifDigest = sha256(ifBytes);
  const hintsDigest = sha256(hintBytes);
  const prev = typeof o.host === 'string' ? previous(o.host) : undefined;
  const knownInterfaces = prev && interfacesTextDigest.get(prev.interfaces) === ifDigest ? prev.interfaces : undefined;
  const knownHints = prev && hintsTextDigest.get(prev.hints) === hintsDigest ? prev.hints : undefined;
  try {
    if (!knownInterfaces) o.interfaces = JSON.parse(ifBytes.toString('utf8'));
    if (!knownHints) o.hints = JSON.parse(hintBytes.toString('utf8'));
  } catch {
    return undefined;
  }
  const report = check(o, previous, knownHints, knownInterfaces);
  interfacesTextDigest.set(report.interfaces, ifDigest);
  hintsTextDigest.set(report.hints, hintsDigest);
  return report;
}

function parseHintsAside(body: string, previous: PreviousReport, token: string): FleetReport | undefined {
  const at = body.indexOf(HINTS_KEY);
  if (at < 0) return undefined;
  const start = at + HINTS_KEY.length;
  const end = body.indexOf(PEERS_KEY, start);
  if (end < 0) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(`${body.slice(0, start)}${JSON.stringify(token)}${body.slice(end)}`);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || (doc as Json).hints !== token) return undefined;
  const o = doc as Json;
  const span = body.slice(start, end);
  const digest = sha256(span);
  const prev = typeof o.host === 'string' ? previous(o.host) : undefined;
  let report: FleetReport;
  if (prev && hintsTextDigest.get(prev.hints) === digest) report = check(o, previous, prev.hints);
  else {
    try {
      o.hints = JSON.parse(span);
    } catch {
      return undefined;
    }
    report = check(o, previous);
  }
  hintsTextDigest.set(report.hints, digest);
  return report;
}

export interface ReportState {
  readonly host: string;
  readonly seq: number;
  readonly instance: string;
  readonly timeMs: number;
  readonly periodSeconds: number;
  readonly agent: { readonly version: string; readonly engine: string };
  readonly interfaces: readonly HostInterface[];
  readonly hints: readonly TopologyHint[];
  readonly peers: ReadonlyArray<ReportPeer>;
  readonly counters: Readonly<Record<string, number>>;
}

/**
 * The report an agent sends for its current state. The VIDs heard on an
 * interface are those of its tagged segments in the hints and of the peers
 * heard tagged on it.
 */
export function buildReport(s: ReportState): FleetReport {
  const vids = new Map<string, Set<number>>();
  const heard = (ifname: string, vid: number | undefined): void => {
    if (vid === undefined) return;
    const set = vids.get(ifname) ?? new Set<number>();
    set.add(vid);
    vids.set(ifname, set);
  };
  for (const h of s.hints) {
    heard(h.ifname, h.vid);
    if (h.hint === 'same_local_fabric_as' || h.hint.startsWith('rx_own_beacon')) heard(h.related_ifname ?? h.ifname, h.related_vid);
  }
  for (const p of s.peers) heard(p.interface, p.vid);
  // What a peer put in its beacons reaches the hints and peers as it was
  // sent; anything the service would refuse is left out here (and
  // counted), so that one odd peer cannot get every report refused.
  const hints = s.hints.filter((h, i) => acceptable(() => parseHint(h, ['hints', i])));
  const peers = s.peers.filter((p, i) => acceptable(() => parsePeer(p, ['peers', i])));
  const left = s.hints.length - hints.length + (s.peers.length - peers.length);
  const interfaces = s.interfaces.map((i): ReportInterface => {
    const sum = interfaceSummary(i);
    const base = {
      name: sum.name,
      mac: sum.mac,
      mtu: sum.mtu,
      type: sum.type,
      addresses: sum.addresses,
      vids: [...(vids.get(i.name) ?? [])].sort((a, b) => a - b),
    };
    return i.vid === undefined ? base : { ...base, vid: i.vid };
  });
  return {
    version: REPORT_VERSION,
    host: s.host,
    seq: s.seq,
    instance: s.instance,
    time: s.timeMs / 1000,
    period_seconds: s.periodSeconds,
    agent: s.agent,
    interfaces,
    hints,
    peers: peers.map((p) => ({ ...p })),
    counters: left > 0 ? { ...s.counters, not_reported: left } : s.counters,
  };
}

function acceptable(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (err) {
    if (err instanceof ReportError) return false;
    throw err;
  }
}
