// XChaCha20-Poly1305-IETF, as libsodium's crypto_aead_xchacha20poly1305_ietf_*
// (draft-irtf-cfrg-xchacha): HChaCha20 turns the key and the first 16 nonce
// bytes into a subkey, and ChaCha20-Poly1305 (RFC 8439) runs with that
// subkey and the nonce 0x00000000 || nonce[16..24).
//
// ChaCha20-Poly1305 is the EVP cipher of the OpenSSL that Node ships;
// HChaCha20 is not exposed by it (no EVP name, no public symbol: `nm -D`
// on node shows only ChaCha20_ctr32, an internal), so it is here, checked
// against libsodium's own test vectors (test/unit/v3-kat.test.ts).
//
// Two ways to the same bytes. The fast one calls OpenSSL's own ChaCha20 and
// Poly1305 routines, which the node binary exports (ChaCha20_ctr32,
// Poly1305_Init/Update/Final: not public API, so they are looked up with
// dlsym, never linked): it checks the tag before decrypting anything, so a
// forged datagram costs HChaCha20, one ChaCha20 block and Poly1305, and
// skips EVP's per-message dispatch (~0.5 us of a ~1 us open here). Where
// they are not exported, the EVP cipher "ChaCha20-Poly1305" does the work
// (fetched once; each message re-keys the same context, as the subkey
// changes with every nonce). Tests run both (ForceEvp). Not thread-safe:
// one per thread.
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

// HChaCha20(key, in) -> out: 20 ChaCha rounds over (constants, key, in),
// no final addition, words 0-3 and 12-15 of the state.
void HChaCha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]);

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

  // Whether Open uses OpenSSL's exported ChaCha20/Poly1305 routines (else EVP).
  bool direct() const { return direct_ != nullptr; }
  // Use EVP whatever is exported (tests: both paths must agree).
  void ForceEvp() { direct_ = nullptr; }

  struct Direct;  // the exported routines (xchacha.cc)

 private:
  bool DirectOpen(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen], uint8_t* out);

  struct CtxFree {
    void operator()(evp_cipher_ctx_st* p) const;
  };
  struct CipherFree {
    void operator()(evp_cipher_st* p) const;
  };
  std::unique_ptr<evp_cipher_st, CipherFree> cipher_;
  std::unique_ptr<evp_cipher_ctx_st, CtxFree> ctx_;
  const Direct* direct_;                   // after ctx_: the constructor initialises them in this order
  std::unique_ptr<unsigned char[]> poly_;  // a POLY1305 context, of the size OpenSSL says
  bool Init(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], int enc);
};

}  // namespace netbeacon
