/**
 * The journal: a recording of what an agent sent and received, one JSON
 * object a line, that can be replayed through the same correlation code.
 *
 * - tx line: `{"direction": "tx", "interface", "time", "destination_ip",
 *   "destination_port", "version", "type", "payload"}`, the payload as
 *   encoded (it carries the `ulid`); optional `vid` when sent on a VLAN.
 * - rx line: the observe-beacons object (`source_mac`, `source_ip`, ...,
 *   `vid` when tagged, `version`, `type`, `payload`) plus `interface` and
 *   `"direction": "rx"`; a beacon format v3 reception (`"version": 3`) adds
 *   `key_id`, the 8 hex digits of the key id that authenticated it. A v3
 *   beacon is (key id, ULID), and replay keys it by both, as the agent did.
 *   Journals without `key_id` (older agents, MAAS's) replay by ULID alone,
 *   exactly as before; `key_id` on a line of another version is refused.
 * `time` is seconds since the epoch and is the replay's clock. Blank lines
 * are skipped; keys not listed are ignored.
 *
 * Only the fields correlation reads are checked, and strictly: a journal is
 * written by a program, so a line that breaks these rules means a corrupt or
 * foreign file, and the replay stops at it with the file and line number
 * (JournalError, exit code 3, as for a bad capture file). What was replayed
 * before that line is still reported by the caller. A received beacon that
 * is merely unusable (version 1, no ULID) is a valid line: correlation drops
 * and counts it, exactly as it would live.
 */
import { NetbeaconError } from '../errors';
import { V3_KEY_ID_LENGTH, V3_VERSION, type BeaconTypeName } from '../protocol/header';
import { isVid, parseUlid, type ReceivedBeacon, type SentBeacon } from './beacons';

const KEY_ID = new RegExp(`^[0-9a-f]{${V3_KEY_ID_LENGTH * 2}}$`);

export class JournalError extends NetbeaconError {
  constructor(code: 'E_JOURNAL_FORMAT' | 'E_JOURNAL_IO', message: string) {
    super(code, message, 3);
  }
}

export interface JournalTx extends SentBeacon {
  readonly direction: 'tx';
  readonly time: number;
  readonly destination_ip: string;
  readonly destination_port: number;
  readonly version: number;
  readonly type: BeaconTypeName;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface JournalRx extends ReceivedBeacon {
  readonly direction: 'rx';
  readonly time: number;
}

export type JournalRecord = JournalTx | JournalRx;

/** Where a line came from, for messages: `source:line`. */
export interface JournalLocation {
  readonly source: string;
  readonly line: number;
}

/** Parses one line; undefined for a blank one. Throws JournalError naming `where`. */
export function parseJournalLine(text: string, where: JournalLocation): JournalRecord | undefined {
  // A line the agent wrote opens with its object; only another one can be blank.
  if (text.charCodeAt(0) !== 123 && text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(where, `not JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) return fail(where, 'not a JSON object');
  const direction = value.direction;
  if (direction !== 'tx' && direction !== 'rx') return fail(where, `"direction" must be "tx" or "rx", not ${show(direction)}`);
  // Every line of a replay comes through here: fields are checked in the
  // order below (the first bad one is reported) and the record is built
  // in one go, without spreads or helper objects.
  const iface = string(value, 'interface', where);
  const time = number(value, 'time', where);
  const version = integer(value, 'version', 0, 255, where);
  const type = beaconType(value, where);
  const destinationIp = string(value, 'destination_ip', where);
  const vid = optionalVid(value, where);
  const payload = value.payload;
  if (direction === 'tx') {
    if (!isObject(payload)) return fail(where, '"payload" of a sent beacon must be an object');
    const ulid = parseUlid(payload.ulid);
    if (!ulid) return fail(where, `"payload.ulid" of a sent beacon must be a ULID, not ${show(payload.ulid)}`);
    const destinationPort = integer(value, 'destination_port', 0, 65535, where);
    return vid === undefined
      ? { direction, interface: iface, time, version, type, destination_ip: destinationIp, ulid: ulid.text, destination_port: destinationPort, payload }
      : { direction, interface: iface, time, version, type, destination_ip: destinationIp, vid, ulid: ulid.text, destination_port: destinationPort, payload };
  }
  if (payload !== null && !isObject(payload)) return fail(where, '"payload" must be an object or null');
  const sourceIp = string(value, 'source_ip', where);
  const sourcePort = integer(value, 'source_port', 0, 65535, where);
  const keyId = optionalKeyId(value, version, where);
  const rx: { -readonly [K in keyof JournalRx]: JournalRx[K] } =
    vid === undefined
      ? { direction, interface: iface, time, version, type, destination_ip: destinationIp, source_ip: sourceIp, source_port: sourcePort, payload }
      : { direction, interface: iface, time, version, type, destination_ip: destinationIp, vid, source_ip: sourceIp, source_port: sourcePort, payload };
  if (keyId !== undefined) rx.key_id = keyId;
  return rx;
}

function fail(where: JournalLocation, what: string): never {
  throw new JournalError('E_JOURNAL_FORMAT', `${where.source}:${where.line}: ${what}`);
}

/** A value for a message: short, and "nothing" for a missing key. */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const json = JSON.stringify(v);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Typed reads of one line's fields, failing with the field's name.

function string(obj: Record<string, unknown>, key: string, where: JournalLocation): string {
  const v = obj[key];
  return typeof v === 'string' && v !== '' ? v : fail(where, `"${key}" must be a non-empty string, not ${show(v)}`);
}

function number(obj: Record<string, unknown>, key: string, where: JournalLocation): number {
  const v = obj[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : fail(where, `"${key}" must be a number, not ${show(v)}`);
}

function integer(obj: Record<string, unknown>, key: string, min: number, max: number, where: JournalLocation): number {
  const v = obj[key];
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
    ? v
    : fail(where, `"${key}" must be an integer from ${min} to ${max}, not ${show(v)}`);
}

function beaconType(obj: Record<string, unknown>, where: JournalLocation): BeaconTypeName {
  const v = obj.type;
  return v === 'solicitation' || v === 'advertisement' ? v : fail(where, `"type" must be "solicitation" or "advertisement", not ${show(v)}`);
}

/** v3 only: the key id, as the agent writes it (lower-case hex, V3_KEY_ID_LENGTH bytes). */
function optionalKeyId(obj: Record<string, unknown>, version: number, where: JournalLocation): string | undefined {
  const v = obj.key_id;
  if (v === undefined) return undefined;
  if (version !== V3_VERSION) return fail(where, `"key_id" is only for version ${V3_VERSION} beacons, not version ${version}`);
  return typeof v === 'string' && KEY_ID.test(v) ? v : fail(where, `"key_id" must be ${V3_KEY_ID_LENGTH * 2} lower-case hex digits, not ${show(v)}`);
}

function optionalVid(obj: Record<string, unknown>, where: JournalLocation): number | undefined {
  const v = obj.vid;
  if (v === undefined || v === null) return undefined;
  return isVid(v) ? v : fail(where, `"vid" must be an integer from 0 to 4095, not ${show(v)}`);
}
