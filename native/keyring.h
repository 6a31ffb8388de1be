// The keys a capture verifies with during a secret rotation: the current
// key, then each previous key whose transition window is still open. A
// token is tried with a previous key only when the current key's HMAC did
// not match, and the first key whose HMAC matches decides the verdict (as
// src/engine/multikey-verifier.ts does for the JS engines). The index of
// that key (0 = current) travels in the capture record.
//
// A forged flood during a rotation costs one HMAC per open key per packet;
// outside a rotation there is only the current key. A forged v3 flood costs
// one AEAD at most, with the key its key id names, and none for an unknown id.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "verify.h"

namespace netbeacon {

struct KeyMaterial {
  uint8_t signing[16];
  uint8_t encryption[16];
  // The v3 key, when v3 is accepted: a v3 datagram goes straight to the
  // key its key id names, with no trial of the others.
  bool has_v3 = false;
  V3Key v3{};
  // Seconds since the epoch: accepted while now < accept_until. The
  // current key (index 0) is always accepted whatever this says.
  int64_t accept_until;
};

// At most 1 current + 15 previous keys: the index fits a record byte with
// room to spare, and a rotation never needs more.
constexpr size_t kMaxKeys = 16;

class KeyRing {
 public:
  // keys[0] is the current key. Throws std::invalid_argument when empty or
  // too many, std::runtime_error when OpenSSL or zlib cannot be set up.
  explicit KeyRing(const std::vector<KeyMaterial>& keys);

  // Verify() of verify.h, with the key that matched in *key_index (0 when
  // no key matched: a reason other than kMac from key 0 means its HMAC
  // matched or was never reached).
  VerifyResult Verify(const uint8_t* data, size_t len, int64_t now_sec, uint8_t* out, size_t out_cap,
                      uint8_t* key_index);

  size_t size() const { return verifiers_.size(); }

 private:
  std::vector<std::unique_ptr<Verifier>> verifiers_;
  std::vector<int64_t> accept_until_;
};

}  // namespace netbeacon
