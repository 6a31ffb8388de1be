// XChaCha20-Poly1305-IETF, as libsodium's crypto_aead_xchacha20poly1305_ietf_*
// (draft-irtf-cfrg-xchacha): HChaCha20 turns the key and the first 16 nonce
// bytes into a subkey, and ChaCha20-Poly1305 (RFC 8439) runs with that
// subkey and the nonce 0x00000000 || nonce[16..24).
//
// Sealing, and opening under ForceEvp, is the EVP cipher ChaCha20-Poly1305
// of the OpenSSL that Node ships. HChaCha20 is not exposed by it (no EVP
// name, no public symbol: `nm -D` on node shows only ChaCha20_ctr32, an
// internal), so it is here, checked against libsodium's own test vectors
// (test/unit/v3-kat.test.ts). The batch verifier's open is mostly ours too
// (below): a departure from issue 18's "OpenSSL for ChaCha20-Poly1305",
// made for speed on ~200-byte messages and checked against OpenSSL itself.
//
// Two ways to the same bytes. Open's own path, tag first (a forged
// datagram costs HChaCha20, one ChaCha20 block and Poly1305; nothing is
// decrypted): HChaCha20 and the Poly1305 key block here, eight states at
// once where a batch allows (DeriveXKeys: vector extensions, AVX2 where the
// CPU has it, which the batch verifier uses, verify.h); Poly1305 here
// (OpenSSL's base 2^64 arithmetic: for ~15 blocks, cheaper than OpenSSL's
// exported vector code, which first computes powers of r); the keystream
// from node's exported ChaCha20_ctr32 (not public API: looked up with
// dlsym, never linked) where it exists, else ours, eight blocks a pass.
// The EVP cipher "ChaCha20-Poly1305" (fetched once; each message re-keys
// the same context) seals, and opens under ForceEvp: tests check the two
// against each other, against EVP_MAC's Poly1305 and libsodium's vectors
// (test/unit/v3-kat.test.ts, native/test/v3_test.cc). Not thread-safe: one
// per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

struct evp_cipher_ctx_st;
struct evp_cipher_st;

namespace netbeacon {

constexpr size_t kXKeyLen = 32;
constexpr size_t kXNonceLen = 24;
constexpr size_t kXTagLen = 16;
constexpr size_t kXLanes = 8;  // ChaCha20 states computed side by side

// What a message's key and nonce give: the ChaCha20 subkey (HChaCha20's
// output as eight little-endian words) and the Poly1305 key (ChaCha20 block
// 0's first 32 bytes under that subkey).
struct XKeys {
  uint32_t subkey[8];
  uint8_t poly[32];
};

// XKeys for nonces[0..n) under one key, n <= kXLanes (more are ignored).
void DeriveXKeys(const uint8_t key[kXKeyLen], const uint8_t (*nonces)[kXNonceLen], size_t n, XKeys* out);

// Open's own path with the keys already derived (DeriveXKeys of this
// nonce): checks the tag over ad and ct in constant time, and only then
// decrypts ct[0..len) into out (len bytes; may not overlap ct).
bool OpenWithKeys(const XKeys& keys, const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen], uint8_t* out);

// HChaCha20(key, in) -> out: 20 ChaCha rounds over (constants, key, in),
// no final addition, words 0-3 and 12-15 of the state.
void HChaCha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]);

// Poly1305 of m[0..len), len a multiple of 16 (as every AEAD message is),
// with OpenWithKeys's arithmetic. For tests (against OpenSSL's EVP_MAC).
void Poly1305WholeBlocks(const uint8_t key[32], const uint8_t* m, size_t len, uint8_t mac[16]);

class XChaCha20Poly1305 {
 public:
  // Throws std::runtime_error when OpenSSL has no ChaCha20-Poly1305.
  XChaCha20Poly1305();
  ~XChaCha20Poly1305();
  XChaCha20Poly1305(const XChaCha20Poly1305&) = delete;
  XChaCha20Poly1305& operator=(const XChaCha20Poly1305&) = delete;

  // Decrypts ct[0..len) into out (room for len bytes; may not overlap ct)
  // and checks the tag over ad and ct, in constant time. False on a tag
  // mismatch or an OpenSSL failure; out then holds nothing to use.
  bool Open(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
            const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen], uint8_t* out);

  // Encrypts pt[0..len) into out (len bytes) and writes the tag. For the
  // fuzz target and tests: netbeacon seals through libsodium in TypeScript.
  bool Seal(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
            const uint8_t* pt, size_t len, uint8_t* out, uint8_t tag[kXTagLen]);

  // Whether Open takes its own path (OpenWithKeys), else EVP's.
  bool direct() const { return !evp_; }
  // Open through EVP (tests: both paths must agree).
  void ForceEvp() { evp_ = true; }

 private:
  struct CtxFree {
    void operator()(evp_cipher_ctx_st* p) const;
  };
  struct CipherFree {
    void operator()(evp_cipher_st* p) const;
  };
  std::unique_ptr<evp_cipher_st, CipherFree> cipher_;
  std::unique_ptr<evp_cipher_ctx_st, CtxFree> ctx_;
  bool evp_ = false;
  bool Init(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], int enc);
};

}  // namespace netbeacon
