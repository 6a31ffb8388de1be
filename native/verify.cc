// Verifier: the decode order of MAAS's read_beacon_payload and Fernet's
// decrypt, with cheap rejections first. The order is part of the contract
// (the JS engine gives the same reason for the same bytes), see verify.h.
#include "verify.h"

#include <algorithm>
#include <memory>

#include "fernet_crypto.h"
#include "gunzip.h"

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
  Impl(const uint8_t* sign, const uint8_t* enc) : crypto(sign, enc) {}
  FernetCrypto crypto;
  Gunzip gunzip;
  uint8_t scratch[kMaxToken];  // AES-CBC output for one token

  Reason Token(const uint8_t* tok, size_t n, int64_t now_sec, uint8_t* out, size_t out_cap, uint32_t* plain_len);
};

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

Verifier::Verifier(const uint8_t signing_key[16], const uint8_t encryption_key[16])
    : impl_(new Impl(signing_key, encryption_key)) {}

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
  } else if (res.version != 1 && res.version != 2) {
    res.status = kVersion;
  } else if (payload_len != 0) {
    res.status = impl_->Token(data + kHeaderLen, payload_len, now_sec, out, out_cap, &res.plain_len);
  }
  return res;
}

}  // namespace netbeacon
