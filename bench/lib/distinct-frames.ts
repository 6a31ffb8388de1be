/**
 * Frames for the end-to-end flood: `count` valid multicast advertisements,
 * every one with its own ULID, so that the receiver's correlator sees each
 * as a new beacon (a repeated ULID is a replay, handled in a few lookups;
 * a round-robin pool of 1,024 would measure that, not correlation).
 *
 * Advertisements, not solicitations: the agent answers every new
 * solicitation with a unicast advertisement, so a solicitation flood would
 * measure its sender as much as its receive path.
 *
 * Built before the clock starts, sealed in batches by the addon's sealer
 * when there is one (the JS sealer otherwise), stamped `nowMs`: tokens and
 * ULIDs are then well inside the receiver's +/-60 s window and the
 * correlator's 120 s TTL for the few seconds a step lasts. The BSON of
 * every beacon is one template with the ULID patched in place.
 */
import { serialize } from 'bson';
import { randomBytes } from 'node:crypto';
import { NativeBeaconSealer } from '../../src/engine/native-sealer';
import { JsBeaconSealer } from '../../src/engine/js-sealer';
import type { BeaconSealer } from '../../src/engine/types';
import type { SealItem } from '../../src/protocol/beacon';
import type { FernetKeyObjects } from '../../src/protocol/fernet';
import { BEACON_TYPES } from '../../src/protocol/header';
import { BEACON_PORT, GROUP4, GROUP4_MAC, udpFrame, type Endpoint, type FramePool } from './frames';

/** Ethernet + IPv4 + UDP. */
const HEADERS = 42;
const BATCH = 4096;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The addon's sealer when it loads, else the JS one. */
export function floodSealer(): BeaconSealer {
  try {
    return new NativeBeaconSealer();
  } catch {
    return new JsBeaconSealer();
  }
}

/**
 * ULIDs stamped `nowMs` whose random part is a random 80-bit base plus a
 * counter: distinct within a build, and across builds but for chance.
 */
function ulidWriter(nowMs: number): (out: Buffer, at: number, n: number) => void {
  const time = Buffer.alloc(10);
  let t = Math.floor(nowMs);
  for (let i = 9; i >= 0; i--) {
    time[i] = CROCKFORD.charCodeAt(t % 32);
    t = Math.floor(t / 32);
  }
  const rand = Buffer.from(randomBytes(16).map((b) => CROCKFORD.charCodeAt(b % 32)));
  return (out, at, n) => {
    time.copy(out, at);
    rand.copy(out, at + 10);
    // The counter in the last 6 characters (30 bits), over the random ones.
    let r = n;
    for (let i = 25; i >= 20; i--) {
      out[at + i] = CROCKFORD.charCodeAt(r & 31);
      r >>>= 5;
    }
  };
}

/** `count` advertisements from `src` to the IPv4 group carrying `remote`, each with a fresh ULID stamped `nowMs`. */
export function distinctBeaconFrames(
  keys: FernetKeyObjects,
  src: Endpoint,
  count: number,
  nowMs: number,
  remote: Record<string, unknown>,
  sealer: BeaconSealer = floodSealer(),
): FramePool & { sealer: string } {
  if (count > 2 ** 30) throw new RangeError(`at most 2^30 distinct beacons, asked for ${count}`);
  const marker = 'U'.repeat(26);
  const template = Buffer.from(serialize({ remote, ulid: marker, type: BEACON_TYPES.advertisement }));
  const ulidAt = template.indexOf(marker);
  const writeUlid = ulidWriter(nowMs);
  const type = BEACON_TYPES.advertisement;
  const timeSeconds = nowMs / 1000;
  const dst = { mac: GROUP4_MAC, ip: GROUP4 };
  // Ethernet/IPv4/UDP headers by datagram length (gzip makes a few lengths).
  const headers = new Map<number, Buffer>();
  const header = (len: number): Buffer => {
    let h = headers.get(len);
    if (!h) {
      h = udpFrame(src, dst, BEACON_PORT, BEACON_PORT, new Uint8Array(len)).subarray(0, HEADERS);
      headers.set(len, h);
    }
    return h;
  };
  const chunks: Buffer[] = [];
  const offsets = new Uint32Array(count + 1);
  const bsons = Buffer.alloc(template.length * BATCH);
  for (let i = 0; i < BATCH; i++) template.copy(bsons, i * template.length);
  let total = 0;
  for (let done = 0; done < count;) {
    const n = Math.min(BATCH, count - done);
    const items: SealItem[] = new Array<SealItem>(n);
    for (let i = 0; i < n; i++) {
      const bson = bsons.subarray(i * template.length, (i + 1) * template.length);
      writeUlid(bson, ulidAt, done + i);
      items[i] = { bson, type, timeSeconds };
    }
    const sealed = sealer.sealV2(keys, items);
    let bytes = 0;
    for (const d of sealed) bytes += Math.max(60, HEADERS + d.length);
    const chunk = Buffer.alloc(bytes);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const d = sealed[i]!;
      header(d.length).copy(chunk, at);
      chunk.set(d, at + HEADERS);
      offsets[done + i] = total + at;
      at += Math.max(60, HEADERS + d.length);
    }
    chunks.push(chunk);
    total += bytes;
    done += n;
  }
  offsets[count] = total;
  const data = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    data.set(c, at);
    at += c.length;
  }
  return { data, offsets, count, sealer: sealer.engine };
}
