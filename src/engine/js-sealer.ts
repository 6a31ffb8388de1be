/**
 * The JS BeaconSealer (src/engine/types.ts): src/protocol/beacon.ts's
 * sealV2, what encodeBeacon runs, an item at a time; and the checks on a
 * batch that both engines make.
 */
import { sealV2, type SealItem } from '../protocol/beacon';
import type { FernetKeyObjects } from '../protocol/fernet';
import { BEACON_TYPE_NAMES } from '../protocol/header';
import type { BeaconSealer } from './types';

/**
 * The largest BSON document a sealer takes. The header's length field is 16
 * bits, and fixed-code gzip of incompressible bytes grows them by up to an
 * eighth: past this a token might not fit. Beacons are a few hundred bytes.
 */
export const MAX_SEAL_INPUT = 60_000;
/** The most beacons in one batch (native/seal_napi.cc's bound); a round is interfaces x addresses x formats. */
export const MAX_SEAL_BATCH = 65_536;

/**
 * The checks both engines make before sealing, so that both throw the same
 * errors for the same bad items (the addon checks again for itself).
 */
export function checkSealItems(items: readonly SealItem[]): void {
  // Checked as unknown: Array.isArray would narrow the typed items to any[].
  const list: unknown = items;
  if (!Array.isArray(list)) throw new TypeError('sealV2: items must be an array');
  if (items.length > MAX_SEAL_BATCH) throw new RangeError(`sealV2: at most ${MAX_SEAL_BATCH} items a batch, got ${items.length}`);
  items.forEach((item, i) => {
    const at = `sealV2: items[${i}]`;
    if (!(item.bson instanceof Uint8Array)) throw new TypeError(`${at}.bson must be a Uint8Array`);
    if (item.bson.length > MAX_SEAL_INPUT) throw new RangeError(`${at}.bson is ${item.bson.length} bytes, more than ${MAX_SEAL_INPUT}`);
    if (BEACON_TYPE_NAMES[item.type] === undefined) throw new RangeError(`${at}.type must be 1 (solicitation) or 2 (advertisement), got ${item.type}`);
    const t = item.timeSeconds;
    if (typeof t !== 'number' || !(t >= 0 && t <= Number.MAX_SAFE_INTEGER))
      throw new RangeError(`${at}.timeSeconds must be seconds from 0 to 2^53 - 1, got ${String(t)}`);
    if (item.iv !== undefined) {
      if (!(item.iv instanceof Uint8Array)) throw new TypeError(`${at}.iv must be a Uint8Array`);
      if (item.iv.length !== 16) throw new RangeError(`${at}.iv must be 16 bytes, got ${item.iv.length}`);
    }
  });
}

/** The JS engine: today's gzipSync, createCipheriv and createHmac path, a beacon at a time. */
export class JsBeaconSealer implements BeaconSealer {
  readonly engine = 'js';

  sealV2(keys: FernetKeyObjects, items: readonly SealItem[]): Buffer[] {
    checkSealItems(items);
    return items.map((item) => sealV2(keys, item));
  }
}
