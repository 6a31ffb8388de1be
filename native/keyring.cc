#include "keyring.h"

#include <stdexcept>

namespace netbeacon {

KeyRing::KeyRing(const std::vector<KeyMaterial>& keys) {
  if (keys.empty()) throw std::invalid_argument("a key ring needs a current key");
  if (keys.size() > kMaxKeys) throw std::invalid_argument("a key ring holds at most 16 keys");
  for (const KeyMaterial& k : keys) {
    verifiers_.emplace_back(new Verifier(k.signing, k.encryption, k.has_v3 ? &k.v3 : nullptr));
    accept_until_.push_back(k.accept_until);
  }
}

VerifyResult KeyRing::Verify(const uint8_t* data, size_t len, int64_t now_sec, uint8_t* out, size_t out_cap,
                             uint8_t* key_index) {
  *key_index = 0;
  VerifyResult r = verifiers_[0]->Verify(data, len, now_sec, out, out_cap);
  // v3: the key id picks the key (kKey from the current key means another
  // id); past the header, Verify read the id from the datagram already.
  if (r.status == kKey) {
    for (size_t i = 1; i < verifiers_.size(); i++) {
      if (now_sec >= accept_until_[i] || !verifiers_[i]->HasV3Id(data + 4)) continue;
      const VerifyResult again = verifiers_[i]->Verify(data, len, now_sec, out, out_cap);
      if (again.status != kMac) *key_index = static_cast<uint8_t>(i);
      return again;
    }
    return r;
  }
  // Everything before the HMAC (header, token shape, age) is the same for
  // every key, so only a MAC mismatch is worth another key.
  for (size_t i = 1; r.status == kMac && i < verifiers_.size(); i++) {
    if (now_sec >= accept_until_[i]) continue;
    const VerifyResult again = verifiers_[i]->Verify(data, len, now_sec, out, out_cap);
    if (again.status != kMac) {
      *key_index = static_cast<uint8_t>(i);
      r = again;
    }
  }
  return r;
}

}  // namespace netbeacon
