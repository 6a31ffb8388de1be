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

inline uint64_t Load64(const uint8_t* p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
#else
  return static_cast<uint64_t>(Load32(p)) | (static_cast<uint64_t>(Load32(p + 4)) << 32);
#endif
}

inline void Store64(uint8_t* p, uint64_t v) {
  Store32(p, static_cast<uint32_t>(v));
  Store32(p + 4, static_cast<uint32_t>(v >> 32));
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

constexpr uint32_t kSigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};  // "expand 32-byte k"

// --- eight ChaCha states at once ------------------------------------------------
// Word w of lane l is x[w][l]: each vector holds one word of eight
// independent states, so the 20 rounds run on eight blocks for about the
// price of one (a single block's rounds are a serial chain; across blocks
// they are not). GCC/clang vector extensions: SSE2 halves by default; on
// x86-64 where the CPU has AVX2 (asked once, __builtin_cpu_supports) one
// AVX2 register per word, and the rotations by 16 and 8 as byte shuffles.
typedef uint32_t Lanes __attribute__((vector_size(4 * kXLanes)));

#if defined(__x86_64__) && !defined(NB_NO_AVX2)
#define NB_AVX2 1
#endif

#define NB_INLINE inline __attribute__((always_inline))

// Macros, not functions: a function passing Lanes by value has a
// different ABI with and without AVX (GCC says so under -Wpsabi).
#define NB_ROTL(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
// Rotations by 16 and 8 as byte shuffles within each word (pshufb, one
// instruction instead of two shifts and an or).
typedef uint8_t LaneBytes __attribute__((vector_size(4 * kXLanes)));
#if defined(__clang__)
#define NB_SHUF8(v, a, b, c, d)                                                                                        \
  ((Lanes)__builtin_shufflevector((LaneBytes)(v), (LaneBytes)(v), a, b, c, d, a + 4, b + 4, c + 4, d + 4, a + 8,       \
                                  b + 8, c + 8, d + 8, a + 12, b + 12, c + 12, d + 12, a + 16, b + 16, c + 16, d + 16, \
                                  a + 20, b + 20, c + 20, d + 20, a + 24, b + 24, c + 24, d + 24, a + 28, b + 28,      \
                                  c + 28, d + 28))
#else
#define NB_SHUF8(v, a, b, c, d)                                                                         \
  ((Lanes)__builtin_shuffle(                                                                            \
      (LaneBytes)(v),                                                                                   \
      LaneBytes{a,      b,      c,      d,      a + 4,  b + 4,  c + 4,  d + 4,  a + 8,  b + 8,  c + 8,  \
                d + 8,  a + 12, b + 12, c + 12, d + 12, a + 16, b + 16, c + 16, d + 16, a + 20, b + 20, \
                c + 20, d + 20, a + 24, b + 24, c + 24, d + 24, a + 28, b + 28, c + 28, d + 28}))
#endif
// Little-endian words: rotl 16 takes bytes (2,3,0,1), rotl 8 takes (3,0,1,2).
#define NB_ROTL16(v) NB_SHUF8(v, 2, 3, 0, 1)
#define NB_ROTL8(v) NB_SHUF8(v, 3, 0, 1, 2)

// kShuffle: byte shuffles for the rotations by 16 and 8 (AVX2 code only:
// SSE2 has no byte shuffle, and GCC would move the bytes one at a time).
template <bool kShuffle>
NB_INLINE void QuarterRoundV(Lanes& a, Lanes& b, Lanes& c, Lanes& d) {
  a += b;
  if constexpr (kShuffle) {
    d = NB_ROTL16(d ^ a);
  } else {
    d = NB_ROTL(d ^ a, 16);
  }
  c += d;
  b = NB_ROTL(b ^ c, 12);
  a += b;
  if constexpr (kShuffle) {
    d = NB_ROTL8(d ^ a);
  } else {
    d = NB_ROTL(d ^ a, 8);
  }
  c += d;
  b = NB_ROTL(b ^ c, 7);
}

template <bool kShuffle>
NB_INLINE void Rounds8(Lanes x[16]) {
  for (int round = 0; round < 10; round++) {
    QuarterRoundV<kShuffle>(x[0], x[4], x[8], x[12]);
    QuarterRoundV<kShuffle>(x[1], x[5], x[9], x[13]);
    QuarterRoundV<kShuffle>(x[2], x[6], x[10], x[14]);
    QuarterRoundV<kShuffle>(x[3], x[7], x[11], x[15]);
    QuarterRoundV<kShuffle>(x[0], x[5], x[10], x[15]);
    QuarterRoundV<kShuffle>(x[1], x[6], x[11], x[12]);
    QuarterRoundV<kShuffle>(x[2], x[7], x[8], x[13]);
    QuarterRoundV<kShuffle>(x[3], x[4], x[9], x[14]);
  }
}

#define NB_BROADCAST(v) (Lanes{} + static_cast<uint32_t>(v))

// Word w of every lane out to words[w][0..kXLanes): whole-vector stores, so
// that the scalar reads after them are forwarded from the store buffer.
// (Everything from the lanes' setup to here is inside one function of each
// clone: a vector split into halves by the default code and read whole by
// the AVX2 code would stall on every word.)
NB_INLINE void Spill(const Lanes x[16], uint32_t words[16][kXLanes]) {
  for (int w = 0; w < 16; w++) std::memcpy(words[w], &x[w], sizeof(Lanes));
}

// HChaCha20, then ChaCha20 block 0 under its output, for nonces[0..n)
// (n in 2..kXLanes; the other lanes repeat nonce 0 and are dropped).
template <bool kShuffle>
NB_INLINE void DeriveLanesT(const uint8_t key[kXKeyLen], const uint8_t (*nonces)[kXNonceLen], size_t n, XKeys* out) {
  alignas(32) uint32_t words[16][kXLanes];
  const uint8_t* nc[kXLanes];
  for (size_t l = 0; l < kXLanes; l++) nc[l] = nonces[l < n ? l : 0];
  Lanes x[16];
  for (int i = 0; i < 4; i++) x[i] = NB_BROADCAST(kSigma[i]);
  for (int i = 0; i < 8; i++) x[4 + i] = NB_BROADCAST(Load32(key + 4 * i));
  for (int i = 0; i < 4; i++) {
    x[12 + i] = Lanes{Load32(nc[0] + 4 * i), Load32(nc[1] + 4 * i), Load32(nc[2] + 4 * i), Load32(nc[3] + 4 * i),
                      Load32(nc[4] + 4 * i), Load32(nc[5] + 4 * i), Load32(nc[6] + 4 * i), Load32(nc[7] + 4 * i)};
  }
  Rounds8<kShuffle>(x);
  // The subkey is HChaCha20's words 0-3 and 12-15; block 0 has counter 0
  // and the nonce 0 || nonce[16..24).
  Lanes y[16];
  for (int i = 0; i < 4; i++) {
    y[i] = NB_BROADCAST(kSigma[i]);
    y[4 + i] = x[i];
    y[8 + i] = x[12 + i];
  }
  y[12] = Lanes{};
  y[13] = Lanes{};
  for (int i = 0; i < 2; i++) {
    const size_t at = 16 + 4 * static_cast<size_t>(i);
    y[14 + i] = Lanes{Load32(nc[0] + at), Load32(nc[1] + at), Load32(nc[2] + at), Load32(nc[3] + at),
                      Load32(nc[4] + at), Load32(nc[5] + at), Load32(nc[6] + at), Load32(nc[7] + at)};
  }
  Spill(y, words);  // words 4-11: the subkeys
  for (size_t l = 0; l < n; l++) {
    for (int i = 0; i < 8; i++) out[l].subkey[i] = words[4 + i][l];
  }
  Lanes s[16];
  for (int w = 0; w < 16; w++) s[w] = y[w];
  Rounds8<kShuffle>(y);
  for (int w = 0; w < 8; w++) y[w] += s[w];
  Spill(y, words);
  for (size_t l = 0; l < n; l++) {
    for (int i = 0; i < 8; i++) Store32(out[l].poly + 4 * i, words[i][l]);
  }
  OPENSSL_cleanse(words, sizeof words);
}

// ChaCha20 block 0 (RFC 8439 2.3) under the subkey and the 12-byte nonce
// 0 || nonce[16..24): its first 32 bytes are the Poly1305 key.
void PolyKey(const uint32_t subkey[8], const uint8_t nonce[kXNonceLen], uint8_t out[32]) {
  uint32_t x[16], s[16];
  for (int i = 0; i < 4; i++) x[i] = kSigma[i];
  for (int i = 0; i < 8; i++) x[4 + i] = subkey[i];
  x[12] = 0;
  x[13] = 0;
  x[14] = Load32(nonce + 16);
  x[15] = Load32(nonce + 20);
  for (int i = 0; i < 16; i++) s[i] = x[i];
  DoubleRounds(x);
  for (int i = 0; i < 8; i++) Store32(out + 4 * i, x[i] + s[i]);
}

// out = in ^ ChaCha20(subkey, 0 || nonce[16..24)) from block 1 on, eight
// blocks (512 bytes) per pass.
template <bool kShuffle>
NB_INLINE void ChaChaXorT(const uint32_t subkey[8], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len,
                          uint8_t* out) {
  alignas(32) uint32_t ks[16][kXLanes];
  Lanes init[16];
  for (int i = 0; i < 4; i++) init[i] = NB_BROADCAST(kSigma[i]);
  for (int i = 0; i < 8; i++) init[4 + i] = NB_BROADCAST(subkey[i]);
  init[13] = Lanes{};
  init[14] = NB_BROADCAST(Load32(nonce + 16));
  init[15] = NB_BROADCAST(Load32(nonce + 20));
  const Lanes step = Lanes{0, 1, 2, 3, 4, 5, 6, 7};
  uint32_t counter = 1;
  while (len > 0) {
    init[12] = NB_BROADCAST(counter) + step;
    Lanes x[16];
    for (int w = 0; w < 16; w++) x[w] = init[w];
    Rounds8<kShuffle>(x);
    for (int w = 0; w < 16; w++) x[w] += init[w];
    Spill(x, ks);
    for (size_t l = 0; l < kXLanes && len > 0; l++) {
      if (len >= 64) {
        for (int w = 0; w < 16; w++) Store32(out + 4 * w, Load32(in + 4 * w) ^ ks[w][l]);
        in += 64;
        out += 64;
        len -= 64;
      } else {
        uint8_t block[64];
        for (int w = 0; w < 16; w++) Store32(block + 4 * w, ks[w][l]);
        for (size_t i = 0; i < len; i++) out[i] = in[i] ^ block[i];
        OPENSSL_cleanse(block, sizeof block);
        len = 0;
      }
    }
    counter += kXLanes;
  }
  OPENSSL_cleanse(ks, sizeof ks);
}

// The vector code compiled twice (AVX2, and the x86-64 or other baseline),
// the AVX2 copy run where the CPU has it.
#ifdef NB_AVX2
__attribute__((target("avx2"))) void DeriveLanesAvx2(const uint8_t key[kXKeyLen], const uint8_t (*nonces)[kXNonceLen],
                                                     size_t n, XKeys* out) {
  DeriveLanesT<true>(key, nonces, n, out);
}
__attribute__((target("avx2"))) void ChaChaXorAvx2(const uint32_t subkey[8], const uint8_t nonce[kXNonceLen],
                                                   const uint8_t* in, size_t len, uint8_t* out) {
  ChaChaXorT<true>(subkey, nonce, in, len, out);
}
bool HasAvx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return has;
}
#endif

void DeriveLanes(const uint8_t key[kXKeyLen], const uint8_t (*nonces)[kXNonceLen], size_t n, XKeys* out) {
#ifdef NB_AVX2
  if (HasAvx2()) return DeriveLanesAvx2(key, nonces, n, out);
#endif
  DeriveLanesT<false>(key, nonces, n, out);
}

// OpenSSL's ChaCha20 (crypto/chacha.h), which the node binary exports (not
// public API: looked up, never linked): its assembly beats ours on one
// message's few blocks. Null where it is not exported (the C++ tests'
// libcrypto), and then ours does it.
using Ctr32 = void (*)(unsigned char* out, const unsigned char* in, size_t len, const unsigned int key[8],
                       const unsigned int counter[4]);
Ctr32 OpenSslChaCha() {
  static const Ctr32 f = reinterpret_cast<Ctr32>(dlsym(RTLD_DEFAULT, "ChaCha20_ctr32"));
  return f;
}

void ChaChaXor(const uint32_t subkey[8], const uint8_t nonce[kXNonceLen], const uint8_t* in, size_t len, uint8_t* out) {
  if (const Ctr32 f = OpenSslChaCha()) {
    const unsigned int counter[4] = {1, 0, Load32(nonce + 16), Load32(nonce + 20)};
    unsigned int key[8];
    for (int i = 0; i < 8; i++) key[i] = subkey[i];
    f(out, in, len, key, counter);
    OPENSSL_cleanse(key, sizeof key);
    return;
  }
#ifdef NB_AVX2
  if (HasAvx2()) return ChaChaXorAvx2(subkey, nonce, in, len, out);
#endif
  ChaChaXorT<false>(subkey, nonce, in, len, out);
}

// --- Poly1305 -------------------------------------------------------------------
// Base 2^64 (two 64-bit limbs and a 2-bit top limb, 128-bit products: four
// multiplications a block), the arithmetic of OpenSSL's own C Poly1305
// (crypto/poly1305/poly1305.c). The AEAD's message (ad | pad16 | ct |
// pad16 | lengths) is all whole 16-byte blocks, so every block carries the
// 2^128 bit and there is no partial-block path. For a beacon (~15 blocks)
// this costs less than OpenSSL's exported routines, whose vector code first
// computes powers of r.
inline void Mul(uint64_t a, uint64_t b, uint64_t* lo, uint64_t* hi) {
  const unsigned __int128 p = static_cast<unsigned __int128>(a) * b;
  *lo = static_cast<uint64_t>(p);
  *hi = static_cast<uint64_t>(p >> 64);
}

class Poly1305 {
 public:
  explicit Poly1305(const uint8_t key[32]) {
    r0_ = Load64(key) & 0x0ffffffc0fffffffULL;
    r1_ = Load64(key + 8) & 0x0ffffffc0ffffffcULL;
    pad0_ = Load64(key + 16);
    pad1_ = Load64(key + 24);
  }
  ~Poly1305() { OPENSSL_cleanse(this, sizeof *this); }

  // Whole blocks of m[0..len), then the last partial one padded with zeros.
  void Padded(const uint8_t* m, size_t len) {
    const size_t whole = len & ~static_cast<size_t>(15);
    Blocks(m, whole);
    if (whole < len) {
      uint8_t last[16] = {0};
      std::memcpy(last, m + whole, len - whole);
      Blocks(last, 16);
    }
  }

  // 64-bit halves and explicit carries (compiled to add/adc): GCC spilled
  // the same loop written with 128-bit sums to the stack.
  void Blocks(const uint8_t* m, size_t len) {
    const uint64_t r0 = r0_, r1 = r1_;
    const uint64_t s1 = r1 + (r1 >> 2);  // 5 * r1 / 4: r1 is a multiple of 4
    uint64_t h0 = h0_, h1 = h1_, h2 = h2_;
    for (; len >= 16; m += 16, len -= 16) {
      // h += m | 2^128
      const uint64_t m0 = Load64(m), m1 = Load64(m + 8);
      h0 += m0;
      uint64_t c = h0 < m0;
      h1 += c;
      uint64_t c1 = h1 < c;
      h1 += m1;
      c1 += h1 < m1;
      h2 += c1 + 1;
      // h *= r, partly reduced mod 2^130 - 5
      uint64_t d0lo, d0hi, d1lo, d1hi, tlo, thi;
      Mul(h0, r0, &d0lo, &d0hi);
      Mul(h1, s1, &tlo, &thi);
      d0lo += tlo;
      d0hi += thi + (d0lo < tlo);
      Mul(h0, r1, &d1lo, &d1hi);
      Mul(h1, r0, &tlo, &thi);
      d1lo += tlo;
      d1hi += thi + (d1lo < tlo);
      tlo = h2 * s1;
      d1lo += tlo;
      d1hi += d1lo < tlo;
      d1lo += d0hi;
      d1hi += d1lo < d0hi;
      h0 = d0lo;
      h1 = d1lo;
      h2 = h2 * r0 + d1hi;
      // (h2:h0 += (h2:h0 >> 130) * 5) %= 2^130
      c = (h2 >> 2) + (h2 & ~static_cast<uint64_t>(3));
      h2 &= 3;
      h0 += c;
      c = h0 < c;
      h1 += c;
      c = h1 < c;
      h2 += c;
    }
    h0_ = h0;
    h1_ = h1;
    h2_ = h2;
  }

  void Final(uint8_t mac[16]) {
    using U128 = unsigned __int128;
    uint64_t h0 = h0_, h1 = h1_;
    // h + 5 reaching 2^130 means h >= p: then h - p, which is h + 5 mod
    // 2^128. Chosen by mask, in constant time.
    U128 t = static_cast<U128>(h0) + 5;
    uint64_t g0 = static_cast<uint64_t>(t);
    t = static_cast<U128>(h1) + static_cast<uint64_t>(t >> 64);
    uint64_t g1 = static_cast<uint64_t>(t);
    const uint64_t g2 = h2_ + static_cast<uint64_t>(t >> 64);
    uint64_t mask = 0 - (g2 >> 2);
    g0 &= mask;
    g1 &= mask;
    mask = ~mask;
    h0 = (h0 & mask) | g0;
    h1 = (h1 & mask) | g1;
    // (h + s) mod 2^128
    t = static_cast<U128>(h0) + pad0_;
    h0 = static_cast<uint64_t>(t);
    h1 = h1 + pad1_ + static_cast<uint64_t>(t >> 64);
    Store64(mac, h0);
    Store64(mac + 8, h1);
  }

 private:
  uint64_t r0_, r1_, pad0_, pad1_;
  uint64_t h0_ = 0, h1_ = 0, h2_ = 0;
};

}  // namespace

void HChaCha20(const uint8_t key[32], const uint8_t in[16], uint8_t out[32]) {
  // "expand 32-byte k", the key, then the 16 input bytes where ChaCha20 has
  // its counter and nonce.
  uint32_t x[16];
  for (int i = 0; i < 4; i++) x[i] = kSigma[i];
  for (int i = 0; i < 8; i++) x[4 + i] = Load32(key + 4 * i);
  for (int i = 0; i < 4; i++) x[12 + i] = Load32(in + 4 * i);
  DoubleRounds(x);
  for (int i = 0; i < 4; i++) Store32(out + 4 * i, x[i]);
  for (int i = 0; i < 4; i++) Store32(out + 16 + 4 * i, x[12 + i]);
}

void DeriveXKeys(const uint8_t key[kXKeyLen], const uint8_t (*nonces)[kXNonceLen], size_t n, XKeys* out) {
  if (n == 0) return;
  if (n == 1) {
    // One state: the scalar rounds cost less than a pass of eight.
    uint8_t sub[32];
    HChaCha20(key, nonces[0], sub);
    for (int i = 0; i < 8; i++) out[0].subkey[i] = Load32(sub + 4 * i);
    PolyKey(out[0].subkey, nonces[0], out[0].poly);
    OPENSSL_cleanse(sub, sizeof sub);
    return;
  }
  DeriveLanes(key, nonces, n < kXLanes ? n : kXLanes, out);
}

void XChaCha20Poly1305::CtxFree::operator()(evp_cipher_ctx_st* p) const { EVP_CIPHER_CTX_free(p); }
void XChaCha20Poly1305::CipherFree::operator()(evp_cipher_st* p) const { EVP_CIPHER_free(p); }

XChaCha20Poly1305::XChaCha20Poly1305()
    : cipher_(EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr)), ctx_(EVP_CIPHER_CTX_new()) {
  if (!cipher_ || !ctx_) throw std::runtime_error("OpenSSL has no ChaCha20-Poly1305");
  // Bind the cipher once, so that each message only sets key and IV.
  if (EVP_CipherInit_ex2(ctx_.get(), cipher_.get(), nullptr, nullptr, 0, nullptr) != 1) {
    throw std::runtime_error("cannot set up ChaCha20-Poly1305");
  }
}

XChaCha20Poly1305::~XChaCha20Poly1305() = default;

// RFC 8439 section 2.8 by hand, tag first: the Poly1305 key is ChaCha20
// block 0, the ciphertext is decrypted from block 1 only once the tag over
// ad | pad16 | ct | pad16 | le64(ad_len) | le64(len) has matched.
bool OpenWithKeys(const XKeys& keys, const uint8_t nonce[kXNonceLen], const uint8_t* ad, size_t ad_len,
                  const uint8_t* ct, size_t len, const uint8_t tag[kXTagLen], uint8_t* out) {
  uint8_t lengths[16], mac[16];
  {
    Poly1305 poly(keys.poly);
    poly.Padded(ad, ad_len);
    poly.Padded(ct, len);
    Store64(lengths, static_cast<uint64_t>(ad_len));
    Store64(lengths + 8, static_cast<uint64_t>(len));
    poly.Blocks(lengths, sizeof lengths);
    poly.Final(mac);
  }
  const bool ok = CRYPTO_memcmp(mac, tag, kXTagLen) == 0;
  if (ok && len > 0) ChaChaXor(keys.subkey, nonce, ct, len, out);
  return ok;
}

void Poly1305WholeBlocks(const uint8_t key[32], const uint8_t* m, size_t len, uint8_t mac[16]) {
  Poly1305 poly(key);
  poly.Blocks(m, len & ~static_cast<size_t>(15));
  poly.Final(mac);
}

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
  if (!evp_) {
    XKeys keys;
    DeriveXKeys(key, reinterpret_cast<const uint8_t(*)[kXNonceLen]>(nonce), 1, &keys);
    const bool ok = OpenWithKeys(keys, nonce, ad, ad_len, ct, len, tag, out);
    OPENSSL_cleanse(&keys, sizeof keys);
    return ok;
  }
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
