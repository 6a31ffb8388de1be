/** The clear-text beacon header: `!BBH` version, type, payload length. */
export const HEADER_LENGTH = 4;
export const PROTOCOL_VERSION = 2;
/** Beacon format v3's version byte, and the length of its key id (v3.ts; here so that readers of journals need not load libsodium). */
export const V3_VERSION = 3;
export const V3_KEY_ID_LENGTH = 4;

export const BEACON_TYPES = { solicitation: 1, advertisement: 2 } as const;
export type BeaconTypeName = keyof typeof BEACON_TYPES;
export const BEACON_TYPE_NAMES: Readonly<Record<number, BeaconTypeName>> = { 1: 'solicitation', 2: 'advertisement' };

export function writeHeader(out: Uint8Array, version: number, type: number, payloadLength: number): void {
  if (payloadLength > 0xffff) throw new RangeError(`beacon payload of ${payloadLength} bytes does not fit the 16-bit length field`);
  out[0] = version;
  out[1] = type;
  out[2] = payloadLength >>> 8;
  out[3] = payloadLength & 0xff;
}
