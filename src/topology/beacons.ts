/**
 * The beacons the correlation core consumes, and the reading of the fields
 * it needs from them. A received beacon is the object `observe` prints (the
 * MAAS observe-beacons keys) with `interface` set; a sent beacon is what the
 * sender knows about a datagram it put on the wire. Both are structural so
 * that src/protocol/observe.ts's ObservedBeacon and the journal's lines fit
 * without conversion.
 *
 * The payload is authenticated but still comes from another host, possibly a
 * different implementation: every field is type-checked here, and a field of
 * the wrong type reads as absent rather than throwing.
 */
import { isIP } from 'node:net';
import type { BeaconTypeName } from '../protocol/header';

export interface ReceivedBeacon {
  /** The local interface the beacon was captured on. */
  readonly interface: string;
  /** The 802.1Q VID it carried; absent when untagged. */
  readonly vid?: number;
  readonly source_ip: string;
  readonly source_port: number;
  readonly destination_ip: string;
  readonly version: number;
  readonly type: BeaconTypeName;
  readonly payload: Readonly<Record<string, unknown>> | null;
  /**
   * Beacon format v3 only: which key authenticated it. A v3 beacon is
   * (key id, ULID), both authenticated, so the receive queue keys it by
   * both: a v2 and a v3 beacon never collide, and a v3 replay is certain.
   */
  readonly key_id?: string;
}

export interface SentBeacon {
  readonly ulid: string;
  /** The interface it was sent from. */
  readonly interface: string;
  /** The VID it was sent with, when the sending interface is a VLAN. */
  readonly vid?: number;
}

/** The `remote` block of a payload: the interface a beacon was sent from. */
export interface InterfaceDescription {
  readonly name: string;
  readonly mac_address?: string;
  readonly type?: string;
  readonly parents?: readonly string[];
  readonly subnet?: string | null;
  readonly vid?: number;
  readonly [field: string]: unknown;
}

/** The part of `remote` that hints carry. */
export interface RemoteInterface {
  readonly name: string;
  readonly mac: string;
  readonly vid?: number;
}

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/**
 * Each char code below 256: its Crockford base-32 value, plus 32 for a
 * lower-case letter, or -1 outside the alphabet. OR-ing the codes of a
 * string then says in one number whether it is valid (not negative) and
 * whether it has lower-case letters (bit 5).
 */
const DIGIT = new Int8Array(256).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) {
  DIGIT[CROCKFORD.charCodeAt(i)] = i;
  const lower = CROCKFORD.toLowerCase().charCodeAt(i);
  if (lower !== CROCKFORD.charCodeAt(i)) DIGIT[lower] = i | 32;
}
const LOWER = 32;

/** DIGIT of char code `c`, -1 for a code of 256 or more (branch-free: `(255 - c) >> 31` is -1 exactly then). */
function digit(c: number): number {
  return DIGIT[c & 255]! | ((255 - c) >> 31);
}

export interface Ulid {
  /** Upper-case form: the queue key, so that case variants of one ULID are one beacon. */
  readonly key: string;
  /** The ULID as the sender wrote it (echoed verbatim in `acks`). */
  readonly text: string;
  /** Its 48-bit timestamp: the sender's clock, in ms since the epoch. */
  readonly timeMs: number;
}

/** Where parseUlid() has readUlid() put the random parts, which it does not need. */
const scratch = new Int32Array(3);

/**
 * Parses a ULID; undefined if `value` is not one (wrong type, length or
 * alphabet: 26 Crockford base-32 characters, I L O U excluded, the first
 * 0-7 so that it fits 128 bits). Every received beacon comes through here,
 * so it is one pass over a lookup table, not a regular expression.
 */
export function parseUlid(value: unknown): Ulid | undefined {
  if (typeof value !== 'string') return undefined;
  const t = readUlid(value, scratch);
  if (t === INVALID) return undefined;
  return t >= 0 ? { key: value, text: value, timeMs: t } : { key: value.toUpperCase(), text: value, timeMs: -1 - t };
}

/** What readUlid() returns for a string that is not a ULID. */
export const INVALID = Number.NEGATIVE_INFINITY;

/**
 * parseUlid() without the object, for the correlator's hot path: returns
 * the ULID's time (ms) when `value` is one in upper case, `-1 - time` when
 * it has lower-case letters (its key is then `value.toUpperCase()`),
 * INVALID when it is not a ULID. Also reads the ULID's 80 random bits,
 * case-insensitively, into `parts` (three numbers of at most 30 bits:
 * characters 10-15, 16-21 and 22-25), so that the queues compare ULIDs as
 * numbers instead of strings: two ULIDs have the same upper-case key
 * exactly when their times and parts are equal. `parts` is meaningful only
 * when the result is not INVALID.
 */
export function readUlid(value: string, parts: Int32Array): number {
  if (value.length !== 26 || value.charCodeAt(0) > 55) return INVALID; // the first character is 0-7
  // Branch-free: `seen` goes negative at any character outside the alphabet, and has LOWER set
  // at any lower-case letter (see DIGIT); checked once at the end.
  let seen = 0;
  let timeMs = 0;
  for (let i = 0; i < 10; i++) {
    const v = digit(value.charCodeAt(i));
    seen |= v;
    // 10 characters x 5 bits = 50 bits; the leading 0-7 keeps it within 48.
    // Multiplication, not shifts: JS bitwise operators truncate to 32 bits.
    timeMs = timeMs * 32 + (v & 31);
  }
  // The random part: 6 characters (30 bits) a part, within a small integer
  // (characters 10-15, 16-21, 22-25). A bad character makes a part garbage,
  // but then INVALID is returned.
  const a = randomBits(value, 10, 16);
  const b = randomBits(value, 16, 22);
  const c = randomBits(value, 22, 26);
  parts[0] = a & PART_MASK;
  parts[1] = b & PART_MASK;
  parts[2] = c & PART_MASK;
  const flags = a | b | c;
  if ((seen | flags) < 0) return INVALID;
  return (seen & LOWER) !== 0 || (flags & PART_LOWER) !== 0 ? -1 - timeMs : timeMs;
}

/** The 30 bits of a random part's characters. */
const PART_MASK = 0x3fffffff;
/** randomBits() sets this bit when the characters have a lower-case letter. */
const PART_LOWER = 0x40000000;

/**
 * Characters `from` to `to` (at most 6) of `value` as base-32 bits, with
 * PART_LOWER set at any lower-case letter and the sign bit at any
 * character outside the alphabet (a 30-bit value leaves both free).
 */
function randomBits(value: string, from: number, to: number): number {
  let seen = 0;
  let r = 0;
  for (let i = from; i < to; i++) {
    const v = digit(value.charCodeAt(i));
    seen |= v;
    r = (r << 5) | (v & 31);
  }
  // LOWER (bit 5) moved to bit 30; `seen` is negative exactly when a character was outside the alphabet.
  return (r & PART_MASK) | ((seen & LOWER) << 25) | (seen & -0x80000000);
}

export function isVid(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4095;
}

/** `remote.name`, `remote.mac_address` and `remote.vid`, when name and MAC are present. */
export function readRemote(payload: Readonly<Record<string, unknown>> | null): RemoteInterface | undefined {
  const remote = payload?.remote;
  if (typeof remote !== 'object' || remote === null) return undefined;
  const { name, mac_address: mac, vid } = remote as Record<string, unknown>;
  if (typeof name !== 'string' || name === '' || typeof mac !== 'string' || mac === '') return undefined;
  return isVid(vid) ? { name, mac, vid } : { name, mac };
}

/**
 * Multicast is judged by the destination address, as MAAS does: the beacon
 * groups 224.0.0.118 and ff02::15a, or any other multicast group a sender
 * chose. An IPv4-mapped IPv6 address is judged by its IPv4 part. Anything
 * unparseable counts as unicast, the reading that yields the weaker hint.
 */
export function isMulticastAddress(ip: string): boolean {
  // The beacon groups themselves, most beacons: a compare of a few bytes,
  // not the hashing of a fresh string that a map lookup costs.
  if (ip === BEACON_GROUP_V4 || ip === BEACON_GROUP_V6) return true;
  // A host receives beacons for a handful of destinations (the groups, its
  // own addresses): remembered, so that each beacon costs one lookup.
  const known = judged.get(ip);
  if (known !== undefined) return known;
  const multicast = judgeMulticast(ip);
  if (judged.size >= 1024) judged.clear();
  judged.set(ip, multicast);
  return multicast;
}

const judged = new Map<string, boolean>();
/** MAAS's beacon groups, as MAAS spells them (another spelling of the same address goes through the map). */
const BEACON_GROUP_V4 = '224.0.0.118';
const BEACON_GROUP_V6 = 'ff02::15a';

function judgeMulticast(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return isMulticastV4(ip);
  if (family !== 6) return false;
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isMulticastV4(mapped[1]!);
  // ff00::/8: the first group written out in full as ffXX ("ff::1" is 0x00ff, not multicast).
  const first = lower.slice(0, lower.indexOf(':'));
  return first.length === 4 && first.startsWith('ff');
}

function isMulticastV4(ip: string): boolean {
  const first = Number(ip.slice(0, ip.indexOf('.')));
  return first >= 224 && first <= 239;
}
