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
  if (text.trim() === '') return undefined;
  const fail = (what: string): never => {
    throw new JournalError('E_JOURNAL_FORMAT', `${where.source}:${where.line}: ${what}`);
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return fail(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) return fail('not a JSON object');
  const fields = new Fields(value, fail);
  const direction = value.direction;
  if (direction !== 'tx' && direction !== 'rx') return fail(`"direction" must be "tx" or "rx", not ${show(direction)}`);

  const common = {
    interface: fields.string('interface'),
    time: fields.number('time'),
    version: fields.integer('version', 0, 255),
    type: fields.beaconType(),
    destination_ip: fields.string('destination_ip'),
    ...fields.optionalVid(),
  };
  if (direction === 'tx') {
    const payload = value.payload;
    if (!isObject(payload)) return fail('"payload" of a sent beacon must be an object');
    const ulid = parseUlid(payload.ulid);
    if (!ulid) return fail(`"payload.ulid" of a sent beacon must be a ULID, not ${show(payload.ulid)}`);
    return { direction, ...common, ulid: ulid.text, destination_port: fields.integer('destination_port', 0, 65535), payload };
  }
  const payload = value.payload;
  if (payload !== null && !isObject(payload)) return fail('"payload" must be an object or null');
  return {
    direction,
    ...common,
    source_ip: fields.string('source_ip'),
    source_port: fields.integer('source_port', 0, 65535),
    payload,
    ...fields.optionalKeyId(common.version),
  };
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

/** Typed reads of one line's fields, failing with the field's name. */
class Fields {
  constructor(
    private readonly obj: Record<string, unknown>,
    private readonly fail: (what: string) => never,
  ) {}

  string(key: string): string {
    const v = this.obj[key];
    return typeof v === 'string' && v !== '' ? v : this.fail(`"${key}" must be a non-empty string, not ${show(v)}`);
  }

  number(key: string): number {
    const v = this.obj[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(`"${key}" must be a number, not ${show(v)}`);
  }

  integer(key: string, min: number, max: number): number {
    const v = this.obj[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? v
      : this.fail(`"${key}" must be an integer from ${min} to ${max}, not ${show(v)}`);
  }

  beaconType(): BeaconTypeName {
    const v = this.obj.type;
    return v === 'solicitation' || v === 'advertisement' ? v : this.fail(`"type" must be "solicitation" or "advertisement", not ${show(v)}`);
  }

  /** v3 only: the key id, as the agent writes it (lower-case hex, V3_KEY_ID_LENGTH bytes). */
  optionalKeyId(version: number): { key_id?: string } {
    const v = this.obj.key_id;
    if (v === undefined) return {};
    if (version !== V3_VERSION) return this.fail(`"key_id" is only for version ${V3_VERSION} beacons, not version ${version}`);
    return typeof v === 'string' && KEY_ID.test(v)
      ? { key_id: v }
      : this.fail(`"key_id" must be ${V3_KEY_ID_LENGTH * 2} lower-case hex digits, not ${show(v)}`);
  }

  optionalVid(): { vid?: number } {
    const v = this.obj.vid;
    if (v === undefined || v === null) return {};
    return isVid(v) ? { vid: v } : this.fail(`"vid" must be an integer from 0 to 4095, not ${show(v)}`);
  }
}
