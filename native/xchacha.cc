#include "xchacha.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <climits>
#include <cstring>
#include <stdexcept>

namespace netbeacon {

namespace {

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}

inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

inline uint32_t Rotl(uint32_t v, int n) { return (v << n) | (v >> (32 - n)); }

inline void QuarterRound(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d) {
  a += b;
  d = Rotl(d ^ a, 16);
  c += d;
  b = Rotl(b ^ c, 12);
  a += b;
  d = Rotl(d ^ a, 8);
  c += d;
  b = Rotl(b ^ c, 7);
}

// ChaCha's 20 rounds (10 double rounds) over the 16-word state, in place.
void DoubleRounds(uint32_t x[16]) {
  for (int round = 0; round < 10; round++) {
    QuarterRound(x[0], x[4], x[8], x[12]);
    QuarterRound(x[1], x[5], x[9], x[13]);
    QuarterRound(x[2], x[6], x[10], x[14]);
    QuarterRound(x[3], x[7], x[11], x[15]);
    QuarterRound(x[0], x[5], x[10], x[15]);
    QuarterRound(x[1], x[6], x[11], x[12]);
    QuarterRound(x[2], x[7], x[8], x[13]);
    QuarterRound(x[3], x[4], x[9], x[14]);
  }
}

}  // namespace

void HChaCha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]) {
  // "expand 32-byte k", the key, then the 16 input bytes where ChaCha20 has
  // its counter and nonce.
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) x[4 + i] = Load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = Load32(in + 4 * i);
  DoubleRounds(x);
  for (int i = 0; i < 4; i++) Store32(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) Store32(out + 16 + 4 * i, x[12 + i]);
}

// OpenSSL's internal block functions (crypto/chacha.h, crypto/poly1305.h),
// with the prototypes they have had since OpenSSL 1.1.0.
struct XChaCha20Poly1305::Direct {
  void (*chacha)(unsigned char* out, const unsigned char* in, size_t len, const unsigned int key[8],
                 const unsigned int counter[4]);
  size_t (*poly_size)();
  void (*poly_init)(void* ctx, const unsigned char key[32]);
  void (*poly_update)(void* ctx, const unsigned char* in, size_t len);
  void (*poly_final)(void* ctx, unsigned char mac[16]);
};

namespace {

const XChaCha20Poly1305::Direct* FindDirect();

}  // namespace

void XChaCha20Poly1305::CtxFree::operator()(evp_cipher_ctx_st* p) const { EVP_CIPHER_CTX_free(p); }
void XChaCha20Poly1305::CipherFree::operator()(evp_cipher_st* p) const { EVP_CIPHER_free(p); }

XChaCha20Poly1305::XChaCha20Poly1305()
    : cipher_(EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)),
      ctx_(EVP_CIPHER_CTX_new()),
      direct_(FindDirect()) {
  if (!cipher_ || !ctx_) throw std::runtime_error("OpenSSL has no ChaCha20-Poly1305");
  // Bind the cipher once, so that each message only sets key and IV.
  if (EVP_CipherInit_ex2(ctx_.get(), cipher_.get(), nullptr, nullptr, 0, nullptr) != 1) {
    throw std::runtime_error("cannot set up ChaCha20-Poly1305");
  }
  if (direct_ != nullptr) {
    // 64 bytes of slack: OpenSSL's context wants 8-byte alignment, new[] gives 16.
    poly_.reset(new unsigned char[direct_->poly_size() + 64]);
  }
}

namespace {

template <typename F>
bool Find(const char* name, F* f) {
  *f = reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
  return *f != nullptr;
}

const XChaCha20Poly1305::Direct* FindDirect() {
  static const XChaCha20Poly1305::Direct* found = [] {
    static XChaCha20Poly1305::Direct d;
    const bool all = Find("ChaCha20_ctr32", &d.chacha) && Find("Poly1305_ctx_size", &d.poly_size) &&
                     Find("Poly1305_Init", &d.poly_init) && Find("Poly1305_Update", &d.poly_update) &&
                     Find("Poly1305_Final", &d.poly_final);
    // A context that does not fit what we allocate for it would be a different OpenSSL: use EVP.
    return all && d.poly_size() > 0 && d.poly_size() < 4096 ? &d : nullptr;
  }();
  return found;
}

// ChaCha20 block 0 (RFC 8439 2.3), the Poly1305 key's 32 bytes only: OpenSSL's
// ChaCha20_ctr32 takes its wide vector path even for one block, which
// costs more than the 20 rounds themselves.
void PolyKey(const unsigned int key[8], const unsigned int counter[4], uint8_t out[32]) {
  uint32_t x[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
  for (int i = 0; i < 8; i++) x[4 + i] = key[i];
  for (int i = 0; i < 4; i++) x[12 + i] = counter[i];
  uint32_t s[16];
  for (int i = 0; i < 16; i++) s[i] = x[i];
  DoubleRounds(x);
  for (int i = 0; i < 8; i++) Store32(out + 4 * i, x[i] + s[i]);
}

void Words(unsigned int* w, const uint8_t* b, int n) {
  for (int i = 0; i < n; i++) w[i] = Load32(b + 4 * i);
}

}  // namespace

// RFC 8439 section 2.8 by hand, tag first: the Poly1305 key is ChaCha20
// block 0, the ciphertext is decrypted from block 1 only once the tag over
// ad | pad16 | ct | pad16 | le64(ad_len) | le64(len) has matched.
bool XChaCha20Poly1305::DirectOpen(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad,
                                   size_t ad_len, const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen],
                                   uint8_t* out) {
  static const uint8_t kZero[64] = {0};
  uint8_t subkey[32], block[64], lengths[16], mac[16];
  unsigned int k[8], counter[4] = {0, 0, 0, 0};
  HChaCha20(key, nonce, subkey);
  Words(k, subkey, 8);
  Words(counter + 2, nonce + 16, 2);
  PolyKey(k, counter, block);
  void* poly = poly_.get();
  direct_->poly_init(poly, block);
  direct_->poly_update(poly, ad, ad_len);
  if (ad_len % 16) direct_->poly_update(poly, kZero, 16 - ad_len % 16);
  direct_->poly_update(poly, ct, len);
  if (len % 16) direct_->poly_update(poly, kZero, 16 - len % 16);
  for (int i = 0; i < 8; i++) {
    lengths[i] = static_cast<uint8_t>(static_cast<uint64_t>(ad_len) >> (8 * i));
    lengths[8 + i] = static_cast<uint8_t>(static_cast<uint64_t>(len) >> (8 * i));
  }
  direct_->poly_update(poly, lengths, sizeof lengths);
  direct_->poly_final(poly, mac);
  const bool ok = CRYPTO_memcmp(mac, tag, kXTagLen) == 0;
  if (ok && len > 0) {
    counter[0] = 1;
    direct_->chacha(out, ct, len, k, counter);
  }
  OPENSSL_cleanse(subkey, sizeof subkey);
  OPENSSL_cleanse(block, sizeof block);
  OPENSSL_cleanse(k, sizeof k);
  return ok;
}

XChaCha20Poly1305::~XChaCha20Poly1305() = default;

bool XChaCha20Poly1305::Init(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], int enc) {
  uint8_t subkey[32];
  uint8_t iv[12] = {0, 0, 0, 0};
  HChaCha20(key, nonce, subkey);
  std::memcpy(iv + 4, nonce + 16, 8);
  const bool ok = EVP_CipherInit_ex2(ctx_.get(), nullptr, subkey, iv, enc, nullptr) == 1;
  OPENSSL_cleanse(subkey, sizeof subkey);
  return ok;
}

bool XChaCha20Poly1305::Open(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad,
                             size_t ad_len, const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen], uint8_t* out) {
  // EVP takes int lengths; a datagram never comes near, but say no rather than wrap.
  if (ad_len > INT_MAX || len > INT_MAX) return false;
  if (direct_ != nullptr) return DirectOpen(key, nonce, ad, ad_len, ct, len, tag, out);
  if (!Init(key, nonce, 0)) return false;
  int n = 0;
  if (ad_len > 0 && EVP_DecryptUpdate(ctx_.get(), nullptr, &n, ad, static_cast<int>(ad_len)) != 1) return false;
  if (len > 0 && EVP_DecryptUpdate(ctx_.get(), out, &n, ct, static_cast<int>(len)) != 1) return false;
  if (EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kXTagLen), const_cast<uint8_t*>(tag)) !=
      1) {
    return false;
  }
  // The tag is compared here, in constant time (CRYPTO_memcmp).
  return EVP_DecryptFinal_ex(ctx_.get(), out + len, &n) == 1;
}

bool XChaCha20Poly1305::Seal(const uint8_t key[kXKeyLen], const uint8_t nonce[kXNonceLen], const uint8_t* ad,
                             size_t ad_len, const uint8_t* pt, size_t len, uint8_t* out, uint8_t tag[kXTagLen]) {
  if (ad_len > INT_MAX || len > INT_MAX) return false;
  if (!Init(key, nonce, 1)) return false;
  int n = 0;
  if (ad_len > 0 && EVP_EncryptUpdate(ctx_.get(), nullptr, &n, ad, static_cast<int>(ad_len)) != 1) return false;
  if (len > 0 && EVP_EncryptUpdate(ctx_.get(), out, &n, pt, static_cast<int>(len)) != 1) return false;
  if (EVP_EncryptFinal_ex(ctx_.get(), out + len, &n) != 1) return false;
  return EVP_CIPHER_CTX_ctrl(ctx_.get(), EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kXTagLen), tag) == 1;
}

}  // namespace netbeacon
