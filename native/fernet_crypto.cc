// The low-level SHA256_* functions are deprecated in OpenSSL 3.0 in favour
// of EVP, which is what makes them worth it here (see fernet_crypto.h);
// Node's OpenSSL exports them.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "fernet_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>

#include <climits>
#include <cstring>
#include <stdexcept>

namespace netbeacon {

namespace {

static_assert(sizeof(SHA256_CTX) <= 112, "FernetCrypto::inner_ holds a SHA256_CTX");

// Fetched objects are only needed to create the contexts: a context holds
// its own reference, so they are freed right after.
struct FetchedMac {
  EVP_MAC* p = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  ~FetchedMac() { EVP_MAC_free(p); }
};
struct FetchedCipher {
  EVP_CIPHER* p = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  ~FetchedCipher() { EVP_CIPHER_free(p); }
};

}  // namespace

void FernetCrypto::MacFree::operator()(evp_mac_ctx_st* p) const { EVP_MAC_CTX_free(p); }
void FernetCrypto::CipherFree::operator()(evp_cipher_ctx_st* p) const { EVP_CIPHER_CTX_free(p); }

FernetCrypto::FernetCrypto(const uint8_t signing_key[kKeyHalf], const uint8_t encryption_key[kKeyHalf]) {
  std::memcpy(signing_key_, signing_key, kKeyHalf);
  FetchedMac hmac;
  FetchedCipher aes;
  if (!hmac.p || !aes.p) Fail("OpenSSL lacks HMAC or AES-128-CBC");
  mac_.reset(EVP_MAC_CTX_new(hmac.p));
  aes_.reset(EVP_CIPHER_CTX_new());
  if (!mac_ || !aes_) Fail("out of memory creating OpenSSL contexts");

  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  // The key is set once here; MacInit() only resets the running digests.
  // Padding is off so that DecryptUpdate returns every block and PKCS7 is
  // checked here (EVP_DecryptFinal's failure could not be told apart from an
  // internal error).
  if (EVP_MAC_init(mac_.get(), signing_key_, kKeyHalf, params) != 1 ||
      EVP_DecryptInit_ex2(aes_.get(), aes.p, encryption_key, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(aes_.get(), 0) != 1) {
    Fail("OpenSSL refused the Fernet key");
  }

  // Self-test of keyless re-initialisation (see rekey_each_message_): the
  // tag from the freshly keyed context must equal the one after a reset.
  static const uint8_t probe[] = "netbeacon HMAC re-init self-test";
  uint8_t first[kMacLen];
  size_t n = 0;
  if (EVP_MAC_update(mac_.get(), probe, sizeof probe) != 1 || EVP_MAC_final(mac_.get(), first, &n, sizeof first) != 1 ||
      n != kMacLen) {
    Fail("OpenSSL HMAC-SHA256 failed");
  }
  if (!MacMatches(probe, sizeof probe, first)) {
    rekey_each_message_ = true;
    if (!MacMatches(probe, sizeof probe, first)) Fail("OpenSSL HMAC-SHA256 self-test failed");
  }

  // The direct path: the two padded-key states, then the same probe.
  uint8_t pad[64];
  auto* inner = reinterpret_cast<SHA256_CTX*>(inner_);
  auto* outer = reinterpret_cast<SHA256_CTX*>(outer_);
  std::memset(pad, 0x36, sizeof pad);
  for (size_t i = 0; i < kKeyHalf; i++) pad[i] ^= signing_key[i];
  const bool ok_inner = SHA256_Init(inner) == 1 && SHA256_Update(inner, pad, sizeof pad) == 1;
  std::memset(pad, 0x5c, sizeof pad);
  for (size_t i = 0; i < kKeyHalf; i++) pad[i] ^= signing_key[i];
  const bool ok_outer = SHA256_Init(outer) == 1 && SHA256_Update(outer, pad, sizeof pad) == 1;
  OPENSSL_cleanse(pad, sizeof pad);
  uint8_t direct[kMacLen];
  direct_mac_ =
      ok_inner && ok_outer && DirectMac(probe, sizeof probe, direct) && CRYPTO_memcmp(direct, first, kMacLen) == 0;
  if (!direct_mac_) {
    OPENSSL_cleanse(inner_, sizeof inner_);
    OPENSSL_cleanse(outer_, sizeof outer_);
  }
  // The key copy is kept only for the re-keying fallback.
  if (!rekey_each_message_) OPENSSL_cleanse(signing_key_, sizeof signing_key_);
}

FernetCrypto::~FernetCrypto() {
  OPENSSL_cleanse(signing_key_, sizeof signing_key_);
  OPENSSL_cleanse(inner_, sizeof inner_);
  OPENSSL_cleanse(outer_, sizeof outer_);
}

void FernetCrypto::Fail(const char* why) {
  OPENSSL_cleanse(signing_key_, sizeof signing_key_);
  throw std::runtime_error(why);
}

bool FernetCrypto::MacInit() {
  if (rekey_each_message_) return EVP_MAC_init(mac_.get(), signing_key_, kKeyHalf, nullptr) == 1;
  return EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) == 1;
}

bool FernetCrypto::DirectMac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]) {
  SHA256_CTX c;
  uint8_t inner_hash[kMacLen];
  std::memcpy(&c, inner_, sizeof c);
  bool ok = SHA256_Update(&c, msg, len) == 1 && SHA256_Final(inner_hash, &c) == 1;
  std::memcpy(&c, outer_, sizeof c);
  ok = ok && SHA256_Update(&c, inner_hash, sizeof inner_hash) == 1 && SHA256_Final(out, &c) == 1;
  OPENSSL_cleanse(&c, sizeof c);
  return ok;
}

bool FernetCrypto::EvpMac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]) {
  size_t n = 0;
  return MacInit() && EVP_MAC_update(mac_.get(), msg, len) == 1 && EVP_MAC_final(mac_.get(), out, &n, kMacLen) == 1 &&
         n == kMacLen;
}

bool FernetCrypto::Mac(const uint8_t* msg, size_t len, uint8_t out[kMacLen]) {
  return direct_mac_ ? DirectMac(msg, len, out) : EvpMac(msg, len, out);
}

bool FernetCrypto::MacMatches(const uint8_t* msg, size_t len, const uint8_t* tag) {
  uint8_t computed[kMacLen];
  if (!Mac(msg, len, computed)) return false;
  return CRYPTO_memcmp(computed, tag, kMacLen) == 0;
}

long FernetCrypto::DecryptUnpad(const uint8_t iv[kAesBlock], const uint8_t* ct, size_t len, uint8_t* out) {
  if (len == 0 || len % kAesBlock != 0 || len > static_cast<size_t>(INT_MAX)) return -1;
  // NULL cipher and key: only the IV changes, the key schedule is kept.
  int outl = 0;
  if (EVP_DecryptInit_ex2(aes_.get(), nullptr, nullptr, iv, nullptr) != 1 ||
      EVP_DecryptUpdate(aes_.get(), out, &outl, ct, static_cast<int>(len)) != 1 || outl != static_cast<int>(len)) {
    return -1;
  }
  // PKCS7: the last byte p (1..16) is repeated p times. Timing here leaks
  // nothing: the MAC has already authenticated the ciphertext.
  const uint8_t p = out[len - 1];
  if (p == 0 || p > kAesBlock) return -1;
  for (size_t i = len - p; i < len; i++) {
    if (out[i] != p) return -1;
  }
  return static_cast<long>(len - p);
}

}  // namespace netbeacon
