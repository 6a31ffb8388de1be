#!/usr/bin/env python3
"""Checks the beacon format v3 test vectors (test/fixtures/v3/vectors.json)
without netbeacon: PBKDF2 and BLAKE2b from Python's hashlib (libsodium's
crypto_kdf_derive_from_key is BLAKE2b keyed with the master key, the subkey
id as salt and the context as personalisation), XChaCha20-Poly1305-IETF
from PyNaCl (libsodium). Prints one line per check; exits 1 on a mismatch.

    python3 docs/beacon-v3-check.py [vectors.json]     (Debian: python3-nacl)
"""
import hashlib
import json
import sys

import nacl.bindings as sodium


def kdf(length, subkey_id, context, key):
    """libsodium's crypto_kdf_derive_from_key (BLAKE2b, 8-byte context)."""
    return hashlib.blake2b(b"", digest_size=length, key=key,
                           salt=subkey_id.to_bytes(8, "little") + bytes(8),
                           person=context + bytes(8)).digest()


def main(path):
    v = json.load(open(path))
    failures = 0

    def check(what, got, want):
        nonlocal failures
        ok = got == want
        failures += not ok
        print(("ok   " if ok else "FAIL ") + what)

    master = hashlib.pbkdf2_hmac("sha256", bytes.fromhex(v["secret_hex"]), b"", 100000, 32)
    check("PBKDF2-HMAC-SHA256(secret, empty salt, 100000) is the Fernet key", master.hex(), v["pbkdf2_hex"])
    key = kdf(32, 1, b"nbeacon3", master)
    check("v3 key = kdf(32, 1, 'nbeacon3', Fernet key)", key.hex(), v["v3_key_hex"])
    check("key id = kdf(16, 1, 'nbkeyid3', v3 key)[0:4]", kdf(16, 1, b"nbkeyid3", key)[:4].hex(), v["key_id_hex"])
    for d in v["datagrams"]:
        dg = bytes.fromhex(d["datagram_hex"])
        length = int.from_bytes(dg[2:4], "big")
        check(d["label"] + ": header (version 3, type, length, key id)",
              (dg[0], dg[1], 4 + length, dg[4:8].hex()), (3, d["type"], len(dg), v["key_id_hex"]))
        check(d["label"] + ": associated data is bytes 0..32", dg[:32].hex(), d["associated_data_hex"])
        check(d["label"] + ": nonce is bytes 8..32", dg[8:32].hex(), d["nonce_hex"])
        plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(dg[32:4 + length], dg[:32], dg[8:32], key)
        check(d["label"] + ": XChaCha20-Poly1305-IETF opens to the plaintext", plain.hex(), d["plaintext_hex"])
        sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, dg[:32], dg[8:32], key)
        check(d["label"] + ": and seals back to the datagram", (dg[:32] + sealed).hex(), d["datagram_hex"])
        check(d["label"] + ": flags and timestamp", (plain[0], int.from_bytes(plain[1:9], "big")),
              (1 if "gzip" in d["label"] else 0, d["timestamp"]))
        body = plain[9:]
        if plain[0] & 1:
            import gzip
            body = gzip.decompress(body)
        check(d["label"] + ": the body is the BSON", body.hex(), d["bson_hex"])
    for r in v["rejections"]:
        dg = bytes.fromhex(r["datagram_hex"])
        length = int.from_bytes(dg[2:4], "big")
        if r["reason"] == "key":
            check(r["label"] + ": key id names no key", dg[4:8].hex() != v["key_id_hex"], True)
            continue
        if r["reason"] in ("expired", "future"):
            plain = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(dg[32:4 + length], dg[:32], dg[8:32], key)
            age = r["at"] - int.from_bytes(plain[1:9], "big")
            check(r["label"] + ": authentic, outside the 60 s window", age > 60 if r["reason"] == "expired" else age < -60, True)
            continue
        try:
            sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(dg[32:4 + length], dg[:32], dg[8:32], key)
            opened = True
        except Exception:
            opened = False
        check(r["label"] + ": does not open (" + r["reason"] + ")", opened, False)
    print(f"{failures} failed" if failures else "every vector checks")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/v3/vectors.json"))
