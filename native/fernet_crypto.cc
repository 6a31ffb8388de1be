#include "fernet_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <climits>
#include <cstring>
#include <stdexcept>

namespace netbeacon {

namespace {

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

FernetCrypto::FernetCrypto(const uint8_t signing_key[kKeyHalf],
                           const uint8_t encryption_key[kKeyHalf]) {
  std::memcpy(signing_key_, signing_key, kKeyHalf);
  FetchedMac hmac;
  FetchedCipher aes;
  if (!hmac.p || !aes.p) Fail("OpenSSL lacks HMAC or AES-128-CBC");
  mac_.reset(EVP_MAC_CTX_new(hmac.p));
  aes_.reset(EVP_CIPHER_CTX_new());
  if (!mac_ || !aes_) Fail("out of memory creating OpenSSL contexts");

  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
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
  if (EVP_MAC_update(mac_.get(), probe, sizeof probe) != 1 ||
      EVP_MAC_final(mac_.get(), first, &n, sizeof first) != 1 || n != kMacLen) {
    Fail("OpenSSL HMAC-SHA256 failed");
  }
  if (!MacMatches(probe, sizeof probe, first)) {
    rekey_each_message_ = true;
    if (!MacMatches(probe, sizeof probe, first)) Fail("OpenSSL HMAC-SHA256 self-test failed");
  }
  // The key copy is kept only for the re-keying fallback.
  if (!rekey_each_message_) OPENSSL_cleanse(signing_key_, sizeof signing_key_);
}

FernetCrypto::~FernetCrypto() { OPENSSL_cleanse(signing_key_, sizeof signing_key_); }

void FernetCrypto::Fail(const char* why) {
  OPENSSL_cleanse(signing_key_, sizeof signing_key_);
  throw std::runtime_error(why);
}

bool FernetCrypto::MacInit() {
  if (rekey_each_message_) return EVP_MAC_init(mac_.get(), signing_key_, kKeyHalf, nullptr) == 1;
  return EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) == 1;
}

bool FernetCrypto::MacMatches(const uint8_t* msg, size_t len, const uint8_t* tag) {
  uint8_t computed[kMacLen];
  size_t n = 0;
  if (!MacInit() || EVP_MAC_update(mac_.get(), msg, len) != 1 ||
      EVP_MAC_final(mac_.get(), computed, &n, sizeof computed) != 1 || n != kMacLen) {
    return false;
  }
  return CRYPTO_memcmp(computed, tag, kMacLen) == 0;
}

long FernetCrypto::DecryptUnpad(const uint8_t iv[kAesBlock], const uint8_t* ct,
                                size_t len, uint8_t* out) {
  if (len == 0 || len % kAesBlock != 0 || len > static_cast<size_t>(INT_MAX)) return -1;
  // NULL cipher and key: only the IV changes, the key schedule is kept.
  int outl = 0;
  if (EVP_DecryptInit_ex2(aes_.get(), nullptr, nullptr, iv, nullptr) != 1 ||
      EVP_DecryptUpdate(aes_.get(), out, &outl, ct, static_cast<int>(len)) != 1 ||
      outl != static_cast<int>(len)) {
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
