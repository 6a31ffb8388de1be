/**
 * The decode inputs, built once by the parent and written to one JSON file
 * that every engine's worker reads, so that native, js and maas-python
 * measure exactly the same bytes judged at exactly the same clock.
 *
 * - valid: the corpus's first case (a v2 IPv4 multicast solicitation, as
 *   MAAS itself encoded it), judged at its own capture time.
 * - forged: the same datagram with one bit of the HMAC flipped; its
 *   timestamp is in the window, so every engine pays a full MAC to reject it.
 * - stale: the same beacon re-encoded with a timestamp one hour before the
 *   clock (expired; the age is in clear text, no MAC needed to reject it).
 * - garbage: 256 datagrams of random bytes (seeded, so identical every run)
 *   of the valid datagram's length.
 * - valid-v3: the same document (same ULID) in beacon format v3, sealed at
 *   the same time: what v3 costs against v2 on the same payload.
 * - forged-v3: that datagram with one bit of the tag flipped and the right
 *   key id (copied from any real beacon), so every engine pays one AEAD.
 * - wrongkey-v3: a key id that names no key: rejected with no AEAD.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { encodeBeacon } from '../../src/protocol/beacon';
import { keyObjects } from '../../src/protocol/fernet';
import { deriveKey } from '../../src/protocol/key';
import type { FernetKey } from '../../src/protocol/key';
import { HEADER_LENGTH } from '../../src/protocol/header';
import { sodiumReady } from '../../src/protocol/sodium';
import { withV3 } from '../../src/protocol/v3';
import { vectorsDir } from './paths';

export const DECODE_INPUTS = ['valid', 'forged', 'stale', 'garbage', 'valid-v3', 'forged-v3', 'wrongkey-v3'] as const;
export type DecodeInput = (typeof DECODE_INPUTS)[number];

/** The verdict each input must get, in netbeacon's reason names (garbage: anything but ok). */
export const EXPECTED: Readonly<Record<DecodeInput, string>> = {
  valid: 'ok',
  forged: 'mac',
  stale: 'expired',
  garbage: '!ok',
  'valid-v3': 'ok',
  'forged-v3': 'mac',
  'wrongkey-v3': 'key',
};

/** Inputs in beacon format v3: the worker's verifier must accept v3 for them. */
export function isV3Input(input: DecodeInput): boolean {
  return input.endsWith('-v3');
}

export interface CorpusBeacon {
  /** The UDP payload. */
  readonly datagram: Buffer;
  /** Capture time, seconds. */
  readonly time: number;
  readonly payload: Record<string, unknown>;
}

export function firstCorpusBeacon(): CorpusBeacon {
  const line = readFileSync(resolve(vectorsDir(), 'corpus.cases.jsonl'), 'utf8').split('\n')[0]!;
  const c = JSON.parse(line) as { time: number; udp_payload_hex: string; beacon: { payload: Record<string, unknown> } };
  return { datagram: Buffer.from(c.udp_payload_hex, 'hex'), time: c.time, payload: c.beacon.payload };
}

let cachedKey: FernetKey | undefined;
export function corpusKey(): FernetKey {
  cachedKey ??= deriveKey(Buffer.from(readFileSync(resolve(vectorsDir(), 'secret'), 'utf8').trim(), 'hex'));
  return cachedKey;
}

export function keyHex(key: FernetKey): string {
  return Buffer.concat([key.signing, key.encryption]).toString('hex');
}

export function keyFromHex(hex: string): FernetKey {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== 32) throw new RangeError(`a Fernet key is 32 bytes, got ${b.length}`);
  return { signing: new Uint8Array(b.subarray(0, 16)), encryption: new Uint8Array(b.subarray(16, 32)) };
}

/** A small seeded PRNG (xorshift32): the garbage is the same bytes on every run and for every engine. */
export function seededBytes(seed: number, n: number): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export interface InputsFile {
  /** signing || encryption, hex. */
  readonly keyHex: string;
  /** The clock every datagram is judged at (seconds). */
  readonly clock: number;
  readonly sets: Readonly<Record<DecodeInput, readonly string[]>>;
}

export async function buildInputs(): Promise<InputsFile> {
  await sodiumReady();
  const key = corpusKey();
  const beacon = firstCorpusBeacon();
  const valid = beacon.datagram;
  const forged = Buffer.from(valid);
  forged[forged.length - 1]! ^= 0x01;
  const { ulid, type: _type, ...rest } = beacon.payload as { ulid: string; type: number } & Record<string, unknown>;
  const stale = encodeBeacon(keyObjects(key), 'solicitation', rest, { nowMs: (Math.floor(beacon.time) - 3600) * 1000, ulid }).bytes;
  const garbage: string[] = [];
  for (let i = 0; i < 256; i++) garbage.push(seededBytes(0x5240 + i, valid.length).toString('hex'));
  const v3 = encodeBeacon(keyObjects(withV3(key)), 'solicitation', rest, { nowMs: Math.floor(beacon.time) * 1000, ulid, format: 'v3' }).bytes;
  const forgedV3 = Buffer.from(v3);
  forgedV3[forgedV3.length - 1]! ^= 0x01;
  const wrongKeyV3 = Buffer.from(v3);
  wrongKeyV3[HEADER_LENGTH]! ^= 0xff;
  return {
    keyHex: keyHex(key),
    clock: beacon.time,
    sets: {
      valid: [valid.toString('hex')],
      forged: [forged.toString('hex')],
      stale: [stale.toString('hex')],
      garbage,
      'valid-v3': [v3.toString('hex')],
      'forged-v3': [forgedV3.toString('hex')],
      'wrongkey-v3': [wrongKeyV3.toString('hex')],
    },
  };
}

export function writeInputs(path: string, inputs: InputsFile): void {
  writeFileSync(path, JSON.stringify(inputs));
}

export interface LoadedInputs {
  readonly key: FernetKey;
  readonly clock: number;
  readonly sets: Readonly<Record<DecodeInput, Buffer[]>>;
}

export function readInputs(path: string): LoadedInputs {
  const f = JSON.parse(readFileSync(path, 'utf8')) as InputsFile;
  const sets = Object.fromEntries(DECODE_INPUTS.map((k) => [k, f.sets[k].map((h) => Buffer.from(h, 'hex'))])) as Record<DecodeInput, Buffer[]>;
  return { key: keyFromHex(f.keyHex), clock: f.clock, sets };
}

/** Checks a worker's verdict counts against what its input must get; returns the problem, if any. */
export function verdictProblem(input: DecodeInput, verdicts: Record<string, number>, okName = 'ok'): string | undefined {
  const total = Object.values(verdicts).reduce((a, b) => a + b, 0);
  if (total === 0) return 'no items were decoded';
  const ok = verdicts[okName] ?? 0;
  if (EXPECTED[input] === 'ok') return ok === total ? undefined : `valid input not all accepted: ${JSON.stringify(verdicts)}`;
  if (ok > 0) return `${input} input was accepted ${ok} times: ${JSON.stringify(verdicts)}`;
  return undefined;
}
