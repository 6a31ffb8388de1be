// Batched beacon verification: header checks, the pre-MAC age check,
// HMAC-SHA256 (constant-time compare), AES-128-CBC with PKCS7, and gunzip to
// the BSON bytes. The BSON itself is decoded in JS (src/engine/decode.ts).
// With a v3 key, version-3 datagrams (docs/beacon-v3.md) are opened in the
// same call: key id, XChaCha20-Poly1305 (xchacha.h), flags, sealed age,
// then the body (gunzipped only when its flag says so).
//
// A Verifier holds OpenSSL contexts and a zlib stream keyed and fetched once;
// it is not thread-safe: each thread (main thread, capture worker) owns one.
#pragma once
#include <cstddef>
#include <cstdint>

namespace netbeacon {

// Mirrors src/protocol/reasons.ts. Never renumber.
enum Reason : uint8_t {
  kOk = 0,
  kShort = 1,
  kLength = 2,
  kVersion = 3,
  kToken = 4,
  kExpired = 5,
  kFuture = 6,
  kMac = 7,
  kPadding = 8,
  kGzip = 9,
  kSize = 10,
  kBson = 11,
  kType = 12,
  kKey = 13,  // v3: the key id names no key of this verifier
};

constexpr size_t kV3KeyIdLen = 4;

// A beacon format v3 key, derived in TypeScript (src/protocol/v3.ts).
struct V3Key {
  uint8_t key[32];
  uint8_t id[kV3KeyIdLen];
};

constexpr size_t kMaxInflated = 256 * 1024;  // MAX_INFLATED in reasons.ts
constexpr int64_t kTokenTtl = 60;
constexpr int64_t kMaxClockSkew = 60;

struct VerifyResult {
  uint8_t status;       // Reason
  uint8_t version;      // header byte 0, 0 if short
  uint8_t header_type;  // header byte 1, 0 if short
  uint32_t plain_len;   // bytes of BSON written to out when status == kOk
};

class Verifier {
 public:
  // Throws std::runtime_error when OpenSSL or zlib cannot be set up.
  // Without v3 (nullptr) version 3 is kVersion, exactly as before.
  Verifier(const uint8_t signing_key[16], const uint8_t encryption_key[16], const V3Key* v3 = nullptr);
  ~Verifier();
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;

  // Verifies one UDP payload. now_sec is the integer clock (Fernet's
  // int(time.time())). On kOk the gunzipped BSON is in out[0..plain_len).
  // A plaintext larger than out_cap (or kMaxInflated) gives kSize, decided
  // at the first byte past the limit whatever the stream holds after it.
  // gunzip follows Python's gzip.decompress exactly, as src/protocol/gzip.ts
  // does: members are concatenated, NUL bytes between/after members are
  // skipped, other trailing bytes are kGzip, a CRC32 or ISIZE mismatch is
  // kGzip. An authentic token whose plaintext gunzips to ZERO bytes
  // (including an empty plaintext) is kBson: zero bytes on kOk means only
  // "the header declared no payload".
  // Never allocates; never throws.
  // v3 datagrams keep the same contract: kToken when too short for a v3
  // payload or the flags are unknown, kKey for another key id (no AEAD is
  // run), kMac when the tag does not match, then kExpired/kFuture (the
  // timestamp is sealed), kGzip/kSize, and kBson for an empty body.
  VerifyResult Verify(const uint8_t* data, size_t len, int64_t now_sec, uint8_t* out, size_t out_cap);

  // Optional, before Verify-ing a run of datagrams: derives the XChaCha20
  // subkeys and Poly1305 keys of the v3 datagrams among data[0..n) (n <=
  // kV3Batch; lens[i] bytes each) in one pass (xchacha.h DeriveXKeys).
  // Verify then takes the keys prepared for a datagram's nonce instead of
  // deriving them itself, whatever order it comes in; a nonce prepared for
  // nothing, or changed since (shared memory), is derived as before. The
  // verdicts are the same with or without it. ForgetV3 wipes the keys.
  void PrepareV3(const uint8_t* const data[], const size_t lens[], size_t n);
  void ForgetV3();
  static constexpr size_t kV3Batch = 8;

  // Whether v3 datagrams with this key id are this verifier's to open.
  bool HasV3Id(const uint8_t id[kV3KeyIdLen]) const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace netbeacon
