// The two keyed primitives of a Fernet token: HMAC-SHA256 over the signed
// bytes and AES-128-CBC decryption of the ciphertext. Algorithms are fetched
// and keyed once in the constructor; per-message work only resets state
// (re-fetching or re-keying per message costs 2-4x, see verify.h).
//
// HMAC: the key's inner and outer SHA-256 states (the hashes of key^ipad
// and key^opad, RFC 2104) are computed once; each message copies them and
// runs SHA-256 directly, which here is ~1.8x the speed of EVP_MAC's
// init/update/final (its provider dispatch costs more than hashing a
// 250-byte token). The constructor checks that path against EVP_MAC on a
// probe and keeps EVP_MAC if they ever differ.
//
// Used by Verifier (verify.cc), by Sealer (seal.cc) for the tag it writes,
// and by the benchmark floor (crypto_floor.cc), so that all of them run the
// very same code path. Not thread-safe: one per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

// OpenSSL's types, forward-declared so that users of this header need not
// include OpenSSL (the fuzz target and the N-API glue stay light).
struct evp_mac_ctx_st;
struct evp_cipher_ctx_st;

namespace netbeacon {

constexpr size_t kAesBlock = 16;
constexpr size_t kMacLen = 32;
constexpr size_t kKeyHalf = 16;

class FernetCrypto {
 public:
  // Throws std::runtime_error when OpenSSL cannot provide or key HMAC-SHA256
  // or AES-128-CBC.
  FernetCrypto(const uint8_t signing_key[kKeyHalf], const uint8_t encryption_key[kKeyHalf]);
  ~FernetCrypto();
  FernetCrypto(const FernetCrypto&) = delete;
  FernetCrypto& operator=(const FernetCrypto&) = delete;

  // True iff HMAC-SHA256(signing key, msg[0..len)) equals tag[0..32),
  // compared in constant time. False also when OpenSSL fails.
  bool MacMatches(const uint8_t* msg, size_t len, const uint8_t* tag);

  // HMAC-SHA256(signing key, msg[0..len)) into out: the tag a sealed token
  // carries (seal.cc). False when OpenSSL fails.
  bool Mac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]);

  // AES-128-CBC-decrypts ct[0..len) (len a positive multiple of 16) into out
  // (room for len bytes) and strips PKCS7 padding. Returns the plaintext
  // length, or -1 when the padding is bad or OpenSSL fails.
  long DecryptUnpad(const uint8_t iv[kAesBlock], const uint8_t* ct, size_t len, uint8_t* out);

 private:
  struct MacFree {
    void operator()(evp_mac_ctx_st* p) const;
  };
  struct CipherFree {
    void operator()(evp_cipher_ctx_st* p) const;
  };
  std::unique_ptr<evp_mac_ctx_st, MacFree> mac_;
  std::unique_ptr<evp_cipher_ctx_st, CipherFree> aes_;
  // SHA256_CTX states after absorbing key^ipad and key^opad; opaque here
  // so that this header needs no OpenSSL (checked in fernet_crypto.cc).
  alignas(8) unsigned char inner_[112];
  alignas(8) unsigned char outer_[112];
  bool direct_mac_ = false;
  bool DirectMac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]);
  bool EvpMac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]);
  // OpenSSL 3.0.0-3.0.2 silently ignored EVP_MAC_init(ctx, NULL, 0, NULL)
  // (openssl#17811): the HMAC was then computed over concatenated messages.
  // A self-test in the constructor detects that and falls back to re-keying.
  bool rekey_each_message_ = false;
  uint8_t signing_key_[kKeyHalf];

  bool MacInit();
  [[noreturn]] void Fail(const char* why);
};

}  // namespace netbeacon
