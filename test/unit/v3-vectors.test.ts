/**
 * Beacon format v3's published test vectors (test/fixtures/v3/vectors.json,
 * printed in docs/beacon-v3.md): the key schedule, the datagrams and the
 * rejections, over both engines; and the independent checker
 * (docs/beacon-v3-check.py: Python's hashlib and PyNaCl, no netbeacon code).
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createVerifier } from '../../src/engine/verifier';
import { decodeBeacon } from '../../src/engine/decode';
import { deriveKey } from '../../src/protocol/key';
import { sodium, sodiumReady } from '../../src/protocol/sodium';
import { deriveV3Key, sealV3, V3_CLEAR_LENGTH, withV3 } from '../../src/protocol/v3';
import { enginesToTest } from '../helpers/engines';

interface Vectors {
  secret_hex: string;
  pbkdf2_hex: string;
  v3_key_hex: string;
  key_id_hex: string;
  datagrams: Array<{
    label: string;
    type: number;
    timestamp: number;
    nonce_hex: string;
    bson_hex: string;
    plaintext_hex: string;
    datagram_hex: string;
    document: unknown;
  }>;
  rejections: Array<{ label: string; at: number; reason: string; datagram_hex: string }>;
}

const FILE = 'test/fixtures/v3/vectors.json';
const v = JSON.parse(readFileSync(FILE, 'utf8')) as Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h, 'hex');

t.before(sodiumReady);

t.test('the key schedule', async (t) => {
  const fernet = deriveKey(bytes(v.secret_hex));
  t.equal(hex(Buffer.concat([fernet.signing, fernet.encryption])), v.pbkdf2_hex, 'PBKDF2 as MAAS derives the Fernet key');
  const k = deriveV3Key(fernet);
  t.equal(hex(k.key), v.v3_key_hex, 'v3 key from libsodium KDF over the Fernet key');
  t.equal(k.idHex, v.key_id_hex);
  t.equal(hex(k.id), v.key_id_hex);
  t.not(hex(k.key), v.pbkdf2_hex, 'not the Fernet key');
});

t.test('datagrams are built byte for byte', async (t) => {
  const k = deriveV3Key(deriveKey(bytes(v.secret_hex)));
  for (const d of v.datagrams) {
    const dg = bytes(d.datagram_hex);
    // The plaintext sealed under the header as associated data gives the datagram (gzip bytes aside, zlib's business).
    const sealed = sodium().crypto_aead_xchacha20poly1305_ietf_encrypt(
      bytes(d.plaintext_hex),
      dg.subarray(0, V3_CLEAR_LENGTH),
      null,
      bytes(d.nonce_hex),
      k.key,
    );
    t.equal(hex(Buffer.concat([dg.subarray(0, V3_CLEAR_LENGTH), sealed])), d.datagram_hex, `${d.label}: seal`);
    if (!d.label.includes('gzip')) {
      const built = sealV3(k, bytes(d.bson_hex), { type: d.type, timestamp: d.timestamp, nonce: bytes(d.nonce_hex) });
      t.equal(hex(built), d.datagram_hex, `${d.label}: sealV3 builds it`);
    }
  }
});

for (const engine of enginesToTest()) {
  t.test(`${engine} engine opens and rejects the vectors`, async (t) => {
    const verifier = createVerifier(engine, withV3(deriveKey(bytes(v.secret_hex))));
    for (const d of v.datagrams) {
      t.same(
        decodeBeacon(verifier, bytes(d.datagram_hex), d.timestamp),
        { ok: true, version: 3, type: d.type === 1 ? 'solicitation' : 'advertisement', payload: d.document },
        d.label,
      );
    }
    for (const r of v.rejections) t.same(decodeBeacon(verifier, bytes(r.datagram_hex), r.at), { ok: false, reason: r.reason }, r.label);
    t.ok(v.rejections.length >= 8 && v.datagrams.length >= 2);
  });
}

// The checker needs PyNaCl (Debian python3-nacl, which .ci/run installs).
const python = process.env.NETBEACON_BENCH_PYTHON ?? '/usr/bin/python3';
const nacl = spawnSync(python, ['-c', 'import nacl.bindings'], { encoding: 'utf8' });
t.test(
  'an independent implementation agrees (docs/beacon-v3-check.py)',
  { skip: nacl.status === 0 ? false : `no PyNaCl for ${python}: apt-get install python3-nacl` },
  async (t) => {
    const r = spawnSync(python, ['docs/beacon-v3-check.py', FILE], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stdout + r.stderr);
    t.match(r.stdout, /every vector checks/);
    t.notMatch(r.stdout, /FAIL/);
  },
);
