/**
 * The JSON objects `netbeacon observe` prints: exactly the keys and values
 * of MAAS's `maas-rack observe-beacons`, plus `interface` when known.
 */
import type { DecodedBeacon } from '../engine/decode';
import type { FrameInfo } from './frame-types';

export interface ObservedBeacon {
  source_mac: string;
  destination_mac: string;
  source_ip: string;
  destination_ip: string;
  source_port: number;
  destination_port: number;
  time: number;
  vid?: number;
  outer_vid?: number;
  version: number;
  type: DecodedBeacon['type'];
  payload: Record<string, unknown> | null;
  interface?: string;
}

/** `time` is the integer second of the capture time, as MAAS prints it. */
export function observedBeacon(frame: FrameInfo, time: number, beacon: DecodedBeacon, iface?: string): ObservedBeacon {
  const o: ObservedBeacon = {
    source_mac: frame.sourceMac,
    destination_mac: frame.destinationMac,
    source_ip: frame.sourceIp,
    destination_ip: frame.destinationIp,
    source_port: frame.sourcePort,
    destination_port: frame.destinationPort,
    time: Math.floor(time),
    version: beacon.version,
    type: beacon.type,
    payload: beacon.payload,
  };
  if (frame.vid !== undefined) o.vid = frame.vid;
  if (frame.outerVid !== undefined) o.outer_vid = frame.outerVid;
  if (iface !== undefined) o.interface = iface;
  return o;
}

/**
 * One line of JSON, keys in the order MAAS prints them: exactly
 * JSON.stringify(o), built by hand because JSON.stringify is most of the
 * cost of `observe --input-file` (about 1 us per beacon on Node 20, this
 * about a third of that). The frame fields are our own formatting (hex,
 * digits, dots, colons); the payload goes through plainJson, and anything
 * it does not cover goes back to JSON.stringify.
 */
export function observedLine(o: ObservedBeacon): string {
  const payload = o.payload === null ? 'null' : plainJson(o.payload);
  if (payload === undefined || !frameFieldsPlain(o)) return JSON.stringify(o);
  let line = `{"source_mac":"${o.source_mac}","destination_mac":"${o.destination_mac}","source_ip":"${o.source_ip}","destination_ip":"${o.destination_ip}","source_port":${o.source_port},"destination_port":${o.destination_port},"time":${o.time},"version":${o.version},"type":"${o.type}","payload":${payload}`;
  // Added after construction in observedBeacon, so they come after payload.
  if (o.vid !== undefined) line += `,"vid":${o.vid}`;
  if (o.outer_vid !== undefined) line += `,"outer_vid":${o.outer_vid}`;
  if (o.interface !== undefined) line += `,"interface":${JSON.stringify(o.interface)}`;
  return line + '}';
}

/** The fields observedLine writes without escaping, checked rather than assumed. */
function frameFieldsPlain(o: ObservedBeacon): boolean {
  return (
    plainString(o.source_mac) &&
    plainString(o.destination_mac) &&
    plainString(o.source_ip) &&
    plainString(o.destination_ip) &&
    plainString(o.type) &&
    Number.isInteger(o.source_port) &&
    Number.isInteger(o.destination_port) &&
    Number.isFinite(o.time) &&
    Number.isInteger(o.version) &&
    (o.vid === undefined || Number.isInteger(o.vid)) &&
    (o.outer_vid === undefined || Number.isInteger(o.outer_vid))
  );
}

/** True when JSON.stringify(s) is s in quotes: no quote, backslash, control character or surrogate. */
export function plainString(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return false;
  }
  return true;
}

/**
 * JSON.stringify(v) for the values the BSON step makes of beacons: plain
 * objects and arrays of strings, finite numbers, booleans and null.
 * Undefined for anything else (a Buffer, a Date, a Long, undefined,
 * NaN, a string that needs escaping), so that the caller uses
 * JSON.stringify itself.
 */
export function plainJson(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return plainString(v) ? `"${v}"` : undefined;
    case 'number':
      // String() is JSON's number syntax for finite numbers (-0 included: "0").
      return Number.isFinite(v) ? String(v) : undefined;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          const item = plainJson(v[i]);
          if (item === undefined) return undefined;
          out += i === 0 ? item : `,${item}`;
        }
        return out + ']';
      }
      if (Object.getPrototypeOf(v) !== Object.prototype) return undefined;
      let out = '{';
      let first = true;
      for (const k in v) {
        if (!Object.prototype.hasOwnProperty.call(v, k) || !plainString(k)) return undefined;
        const item = plainJson((v as Record<string, unknown>)[k]);
        if (item === undefined) return undefined;
        out += first ? `"${k}":${item}` : `,"${k}":${item}`;
        first = false;
      }
      return out + '}';
    }
    default:
      return undefined;
  }
}
