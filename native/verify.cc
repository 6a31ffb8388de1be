// Verifier: the decode order of MAAS's read_beacon_payload and Fernet's
// decrypt, with cheap rejections first. The order is part of the contract
// (the JS engine gives the same reason for the same bytes), see verify.h.
#include "verify.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "fernet_crypto.h"
#include "gunzip.h"
#include "xchacha.h"

namespace netbeacon {

namespace {

constexpr size_t kHeaderLen = 4;  // !BBH
// Fernet token: 0x80 | timestamp (8) | IV (16) | ciphertext | HMAC (32).
constexpr uint8_t kTokenMarker = 0x80;
constexpr size_t kTsOffset = 1;
constexpr size_t kIvOffset = 9;
constexpr size_t kCtOffset = 25;
constexpr size_t kMinToken = kCtOffset + kAesBlock + kMacLen;  // 73
// The header's length field is 16 bits, so no token exceeds this and a
// scratch buffer of this size holds any ciphertext's decryption.
constexpr size_t kMaxToken = 0xffff;

// v3 (docs/beacon-v3.md): header | key id (4) | nonce (24) | ciphertext |
// tag (16); the first 32 bytes are the associated data; the plaintext is
// flags (1) | timestamp (8, BE seconds) | body.
constexpr uint8_t kV3Version = 3;
constexpr size_t kV3NonceOffset = kHeaderLen + kV3KeyIdLen;
constexpr size_t kV3ClearLen = kV3NonceOffset + kXNonceLen;  // 32
constexpr size_t kV3PlainPrefix = 9;
constexpr size_t kV3MinLen = kV3KeyIdLen + kXNonceLen + kV3PlainPrefix + kXTagLen;  // 53
constexpr uint8_t kV3FlagGzip = 0x01;

uint64_t ReadBe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
  return v;
}

// Fernet: expired iff ts + ttl < now, future iff now + skew < ts. In 128
// bits so that neither a hostile 2^64-1 timestamp nor an extreme clock can
// wrap around into the window.
Reason CheckAge(uint64_t ts, int64_t now_sec) {
  const __int128 t = ts;
  const __int128 now = now_sec;
  if (t + kTokenTtl < now) return kExpired;
  if (t > now + kMaxClockSkew) return kFuture;
  return kOk;
}

}  // namespace

struct Verifier::Impl {
  Impl(const uint8_t* sign, const uint8_t* enc, const V3Key* key) : crypto(sign, enc) {
    if (key != nullptr) {
      v3 = *key;
      aead.reset(new XChaCha20Poly1305());
    }
  }
  FernetCrypto crypto;
  Gunzip gunzip;
  uint8_t scratch[kMaxToken];  // AES-CBC (or XChaCha20) output for one token
  V3Key v3{};
  std::unique_ptr<XChaCha20Poly1305> aead;  // only with a v3 key
  // PrepareV3's keys: prepared[i] for the nonce prepared_nonce[i], i < n_prepared.
  XKeys prepared[Verifier::kV3Batch];
  uint8_t prepared_nonce[Verifier::kV3Batch][kXNonceLen];
  size_t n_prepared = 0;
  size_t next_prepared = 0;  // where the next datagram's keys are most likely

  ~Impl() { Forget(); }
  void Forget() {
    OPENSSL_cleanse(prepared, sizeof prepared);
    n_prepared = next_prepared = 0;
  }
  // Whether d (a datagram Verify has checked up to its key id) is v3 with our key id, of a valid length.
  bool Ours(const uint8_t* d, size_t payload_len) const {
    return payload_len >= kV3MinLen && payload_len <= kMaxToken && std::memcmp(d + kHeaderLen, v3.id, kV3KeyIdLen) == 0;
  }
  const XKeys* Prepared(const uint8_t* nonce);

  Reason Token(const uint8_t* tok, size_t n, int64_t now_sec, uint8_t* out, size_t out_cap, uint32_t* plain_len);
  Reason V3(const uint8_t* d, size_t payload_len, int64_t now_sec, uint8_t* out, size_t out_cap, uint32_t* plain_len);
};

// d is the whole datagram, whose header said version 3 and a payload of
// payload_len bytes that the datagram holds.
Reason Verifier::Impl::V3(const uint8_t* d, size_t payload_len, int64_t now_sec, uint8_t* out, size_t out_cap,
                          uint32_t* plain_len) {
  if (payload_len < kV3MinLen || payload_len > kMaxToken) return kToken;
  // The key id is clear text on the wire: no need for a constant-time compare.
  if (!Ours(d, payload_len)) return kKey;
  const size_t ct_len = payload_len - kV3KeyIdLen - kXNonceLen - kXTagLen;  // >= kV3PlainPrefix
  const uint8_t* ct = d + kV3ClearLen;
  const uint8_t* nonce = d + kV3NonceOffset;
  const XKeys* keys = aead->direct() ? Prepared(nonce) : nullptr;
  const bool opened = keys != nullptr ? OpenWithKeys(*keys, nonce, d, kV3ClearLen, ct, ct_len, ct + ct_len, scratch)
                                      : aead->Open(v3.key, nonce, d, kV3ClearLen, ct, ct_len, ct + ct_len, scratch);
  if (!opened) return kMac;
  const uint8_t flags = scratch[0];
  if ((flags & ~kV3FlagGzip) != 0) return kToken;
  Reason r = CheckAge(ReadBe64(scratch + 1), now_sec);
  if (r != kOk) return r;
  const uint8_t* body = scratch + kV3PlainPrefix;
  const size_t body_len = ct_len - kV3PlainPrefix;
  const size_t cap = std::min(out_cap, kMaxInflated);
  size_t n = 0;
  if (flags & kV3FlagGzip) {
    r = gunzip.Inflate(body, body_len, out, cap, &n);
    if (r != kOk) return r;
  } else {
    if (body_len > cap) return kSize;
    if (body_len > 0) std::memcpy(out, body, body_len);
    n = body_len;
  }
  if (n == 0) return kBson;
  *plain_len = static_cast<uint32_t>(n);
  return kOk;
}

Reason Verifier::Impl::Token(const uint8_t* tok, size_t n, int64_t now_sec, uint8_t* out, size_t out_cap,
                             uint32_t* plain_len) {
  if (n < kMinToken || n > kMaxToken || tok[0] != kTokenMarker) return kToken;
  const size_t ct_len = n - kCtOffset - kMacLen;
  if (ct_len % kAesBlock != 0) return kToken;
  // The timestamp is clear text: a stale flood costs no MAC.
  Reason r = CheckAge(ReadBe64(tok + kTsOffset), now_sec);
  if (r != kOk) return r;
  if (!crypto.MacMatches(tok, n - kMacLen, tok + n - kMacLen)) return kMac;
  const long padded = crypto.DecryptUnpad(tok + kIvOffset, tok + kCtOffset, ct_len, scratch);
  if (padded < 0) return kPadding;
  size_t inflated = 0;
  r = gunzip.Inflate(scratch, static_cast<size_t>(padded), out, std::min(out_cap, kMaxInflated), &inflated);
  if (r != kOk) return r;
  // gzip.decompress(b"") is b"", which MAAS then fails to decode as BSON.
  // Reporting kBson here keeps "ok with no bytes" meaning only "header with
  // no payload", which JS could not otherwise tell from an empty plaintext.
  if (inflated == 0) return kBson;
  *plain_len = static_cast<uint32_t>(inflated);
  return kOk;
}

const XKeys* Verifier::Impl::Prepared(const uint8_t* nonce) {
  if (next_prepared < n_prepared && std::memcmp(prepared_nonce[next_prepared], nonce, kXNonceLen) == 0) {
    return &prepared[next_prepared++];
  }
  for (size_t i = 0; i < n_prepared; i++) {
    if (std::memcmp(prepared_nonce[i], nonce, kXNonceLen) == 0) {
      next_prepared = i + 1;
      return &prepared[i];
    }
  }
  return nullptr;
}

void Verifier::PrepareV3(const uint8_t* const data[], const size_t lens[], size_t n) {
  Impl& m = *impl_;
  m.n_prepared = m.next_prepared = 0;
  if (!m.aead || !m.aead->direct()) return;
  size_t k = 0;
  for (size_t i = 0; i < n && i < kV3Batch; i++) {
    const uint8_t* d = data[i];
    if (d == nullptr || lens[i] < kV3ClearLen || d[0] != kV3Version) continue;
    const size_t payload_len = (static_cast<size_t>(d[2]) << 8) | d[3];
    if (payload_len > lens[i] - kHeaderLen || !m.Ours(d, payload_len)) continue;
    // Keys are derived from this copy, and used only for a nonce equal to it.
    std::memcpy(m.prepared_nonce[k++], d + kV3NonceOffset, kXNonceLen);
  }
  DeriveXKeys(m.v3.key, m.prepared_nonce, k, m.prepared);
  m.n_prepared = k;
}

void Verifier::ForgetV3() { impl_->Forget(); }

Verifier::Verifier(const uint8_t signing_key[16], const uint8_t encryption_key[16], const V3Key* v3)
    : impl_(new Impl(signing_key, encryption_key, v3)) {}

bool Verifier::HasV3Id(const uint8_t id[kV3KeyIdLen]) const {
  return impl_->aead != nullptr && std::memcmp(id, impl_->v3.id, kV3KeyIdLen) == 0;
}

Verifier::~Verifier() { delete impl_; }

VerifyResult Verifier::Verify(const uint8_t* data, size_t len, int64_t now_sec, uint8_t* out, size_t out_cap) {
  VerifyResult res{kOk, 0, 0, 0};
  if (data == nullptr || len < kHeaderLen) {
    res.status = kShort;
    return res;
  }
  res.version = data[0];
  res.header_type = data[1];
  const size_t payload_len = (static_cast<size_t>(data[2]) << 8) | data[3];
  // MAAS checks the length before the version; bytes past it are ignored.
  if (payload_len > len - kHeaderLen) {
    res.status = kLength;
  } else if (res.version == kV3Version && impl_->aead) {
    res.status = impl_->V3(data, payload_len, now_sec, out, out_cap, &res.plain_len);
  } else if (res.version != 1 && res.version != 2) {
    res.status = kVersion;
  } else if (payload_len != 0) {
    res.status = impl_->Token(data + kHeaderLen, payload_len, now_sec, out, out_cap, &res.plain_len);
  }
  return res;
}

}  // namespace netbeacon
