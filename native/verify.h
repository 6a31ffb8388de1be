// Batched beacon verification: header checks, the pre-MAC age check,
// HMAC-SHA256 (constant-time compare), AES-128-CBC with PKCS7, and gunzip to
// the BSON bytes. The BSON itself is decoded in JS (src/engine/decode.ts).
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
  Verifier(const uint8_t signing_key[16], const uint8_t encryption_key[16]);
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
  VerifyResult Verify(const uint8_t* data, size_t len, int64_t now_sec, uint8_t* out, size_t out_cap);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace netbeacon
