/** The reference data MAAS's own code produced (../shared/vectors/maas). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fernetVerifyDecrypt, keyObjects } from '../../src/protocol/fernet';
import { deriveKey } from '../../src/protocol/key';
import type { FernetKey } from '../../src/protocol/key';

export const VECTORS = resolve(__dirname, '..', '..', '..', 'shared', 'vectors', 'maas');
export const vector = (name: string): string => join(VECTORS, name);

export interface CorpusCase {
  label: string;
  note: string;
  time: number;
  frame_hex: string;
  udp_payload_hex?: string;
  beacon?: { version: number; type: string; payload: Record<string, unknown> | null };
  invalid?: string;
  not_udp?: boolean;
}

export function corpusCases(): CorpusCase[] {
  return readFileSync(vector('corpus.cases.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as CorpusCase);
}

let key: FernetKey | undefined;
/** The corpus key, derived once per test process. */
export function corpusKey(): FernetKey {
  key ??= deriveKey(Buffer.from(readFileSync(vector('secret'), 'utf8').trim(), 'hex'));
  return key;
}

/** MAAS's reason text → the netbeacon reason codes that mean the same. */
export const MAAS_REASONS: ReadonlyArray<[string, readonly string[]]> = [
  ['Beaconing packet must be at least', ['short']],
  ['Invalid payload length', ['length']],
  ['Unknown beacon version', ['version']],
  ['Failed to decrypt inner payload', ['token', 'expired', 'future', 'mac', 'padding']],
  ['Failed to decompress inner payload', ['gzip', 'size']],
  ['Inner beacon payload is not BSON', ['bson']],
];

export function reasonsForMaas(invalid: string): readonly string[] {
  const hit = MAAS_REASONS.find(([prefix]) => invalid.startsWith(prefix));
  if (!hit) throw new Error(`no reason mapping for MAAS's "${invalid}"`);
  return hit[1];
}

/**
 * MAAS's well-formed v2 beacons in the corpus, taken apart: the BSON inside,
 * the header type, and the token's time and IV, for re-sealing them.
 */
export function maasV2Beacons(): Array<{ c: CorpusCase; datagram: Buffer; item: { bson: Buffer; type: number; timeSeconds: number; iv: Buffer } }> {
  const keys = keyObjects(corpusKey());
  return corpusCases().flatMap((c) => {
    if (c.beacon?.version !== 2 || c.udp_payload_hex === undefined) return [];
    const datagram = Buffer.from(c.udp_payload_hex, 'hex');
    // Exactly one whole token (a case with bytes after it is about the receiver, not the sender).
    // and a token at all (a header-only beacon carries none).
    if (datagram.length < 4 + 73 || 4 + datagram.readUInt16BE(2) !== datagram.length) return [];
    const gz = fernetVerifyDecrypt(keys, datagram, 4, datagram.length);
    if (typeof gz === 'string') return [];
    const item = { bson: gunzipSync(gz), type: datagram[1]!, timeSeconds: Number(datagram.readBigUInt64BE(5)), iv: datagram.subarray(13, 29) };
    return [{ c, datagram, item }];
  });
}
