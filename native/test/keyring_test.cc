// KeyRing (keyring.cc) over Verifier (verify.cc): the current key first,
// a previous key only while its window is open and only after a MAC
// mismatch, the index of the key that matched, and the verdicts before
// the MAC (the same for every key). Tokens are sealed here with OpenSSL
// directly, as a sender does.
#include "keyring.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "helpers.h"

namespace {

using nbtest::Bytes;
using nbtest::Exact;
using netbeacon::KeyMaterial;
using netbeacon::KeyRing;
using netbeacon::VerifyResult;

constexpr int64_t kNow = 1795000000;

KeyMaterial Material(const nbtest::Key& k, int64_t accept_until) {
  KeyMaterial m;
  std::memcpy(m.signing, k.signing, 16);
  std::memcpy(m.encryption, k.encryption, 16);
  m.accept_until = accept_until;
  return m;
}

struct Verdict {
  VerifyResult r;
  uint8_t key_index;
  Bytes plain;
};

Verdict Verify(KeyRing& ring, const Bytes& packet, int64_t now = kNow, size_t cap = netbeacon::kMaxInflated) {
  Exact in(packet);
  Exact out{Bytes(cap)};
  uint8_t key_index = 99;
  const VerifyResult r = ring.Verify(in.data(), in.size(), now, out.data(), cap, &key_index);
  return {r, key_index, Bytes(out.data(), out.data() + r.plain_len)};
}

const nbtest::Key kCurrent = nbtest::TestKey(1), kPrevious = nbtest::TestKey(2), kOther = nbtest::TestKey(3);
const Bytes kBson = nbtest::BsonDoc({nbtest::BsonInt32("type", 1)});

TEST(KeyRing, CurrentKey) {
  KeyRing ring({Material(kCurrent, 0)});
  EXPECT_EQ(ring.size(), 1u);
  const Verdict v = Verify(ring, nbtest::Beacon(kCurrent, nbtest::Gzip(kBson), kNow));
  EXPECT_EQ(v.r.status, netbeacon::kOk);
  EXPECT_EQ(v.r.version, 2);
  EXPECT_EQ(v.r.header_type, 1);
  EXPECT_EQ(v.key_index, 0);
  EXPECT_EQ(v.plain, kBson);
}

TEST(KeyRing, PreviousKeyWhileItsWindowIsOpen) {
  KeyRing ring({Material(kCurrent, 0), Material(kPrevious, kNow + 1)});
  const Bytes old = nbtest::Beacon(kPrevious, nbtest::Gzip(kBson), kNow);
  Verdict v = Verify(ring, old);
  EXPECT_EQ(v.r.status, netbeacon::kOk);
  EXPECT_EQ(v.key_index, 1);
  EXPECT_EQ(v.plain, kBson);
  // At accept_until the window is closed (now < accept_until accepts).
  v = Verify(ring, nbtest::Beacon(kPrevious, nbtest::Gzip(kBson), kNow + 1), kNow + 1);
  EXPECT_EQ(v.r.status, netbeacon::kMac);
  EXPECT_EQ(v.key_index, 0);
  // The current key is accepted whatever its accept_until says.
  EXPECT_EQ(Verify(ring, nbtest::Beacon(kCurrent, nbtest::Gzip(kBson), kNow + 1000), kNow + 1000).r.status,
            netbeacon::kOk);
}

TEST(KeyRing, ForgedTriesEveryOpenKey) {
  KeyRing ring({Material(kCurrent, 0), Material(kPrevious, kNow + 10), Material(kOther, kNow + 10)});
  const Verdict v = Verify(ring, nbtest::Beacon(nbtest::TestKey(9), nbtest::Gzip(kBson), kNow));
  EXPECT_EQ(v.r.status, netbeacon::kMac);
  EXPECT_EQ(v.key_index, 0) << "no key matched";
  EXPECT_EQ(v.r.plain_len, 0u);
  EXPECT_EQ(Verify(ring, nbtest::Beacon(kOther, nbtest::Gzip(kBson), kNow)).key_index, 2);
}

// A verdict after the MAC comes from the key whose MAC matched.
TEST(KeyRing, VerdictsAfterTheMacFromTheMatchingKey) {
  KeyRing ring({Material(kCurrent, 0), Material(kPrevious, kNow + 10)});
  Verdict v = Verify(ring, nbtest::Beacon(kPrevious, nbtest::Str("not gzip"), kNow));
  EXPECT_EQ(v.r.status, netbeacon::kGzip);
  EXPECT_EQ(v.key_index, 1);
  // Unpadded whole blocks ending in a 0 byte: no valid PKCS7 padding.
  v = Verify(ring, nbtest::Beacon(kPrevious, Bytes(32, 0), kNow, /*pad=*/false));
  EXPECT_EQ(v.r.status, netbeacon::kPadding);
  EXPECT_EQ(v.key_index, 1);
  v = Verify(ring, nbtest::Beacon(kCurrent, {}, kNow));
  EXPECT_EQ(v.r.status, netbeacon::kBson) << "an empty plaintext is no BSON document";
  v = Verify(ring, nbtest::Beacon(kCurrent, nbtest::Gzip(Bytes(3000, 1)), kNow), kNow, 2999);
  EXPECT_EQ(v.r.status, netbeacon::kSize);
  EXPECT_EQ(v.r.plain_len, 0u);
}

TEST(KeyRing, VerdictsBeforeTheMac) {
  KeyRing ring({Material(kCurrent, 0), Material(kPrevious, kNow + 10)});
  const Bytes good = nbtest::Beacon(kPrevious, nbtest::Gzip(kBson), kNow);
  EXPECT_EQ(Verify(ring, Bytes(good.begin(), good.begin() + 3)).r.status, netbeacon::kShort);
  EXPECT_EQ(Verify(ring, Bytes(good.begin(), good.end() - 1)).r.status, netbeacon::kLength);
  Bytes v3 = good;
  v3[0] = 3;
  EXPECT_EQ(Verify(ring, v3).r.status, netbeacon::kVersion);
  Bytes marker = good;
  marker[4] = 0x81;
  EXPECT_EQ(Verify(ring, marker).r.status, netbeacon::kToken);
  // The age window, with the current key (the previous one's window closes at kNow + 10).
  const Bytes current = nbtest::Beacon(kCurrent, nbtest::Gzip(kBson), kNow);
  EXPECT_EQ(Verify(ring, current, kNow + 61).r.status, netbeacon::kExpired);
  EXPECT_EQ(Verify(ring, current, kNow + 60).r.status, netbeacon::kOk) << "60 s old is still in the window";
  EXPECT_EQ(Verify(ring, current, kNow - 60).r.status, netbeacon::kOk) << "60 s ahead is still in the window";
  EXPECT_EQ(Verify(ring, current, kNow - 61).r.status, netbeacon::kFuture);
  EXPECT_EQ(Verify(ring, good, kNow + 10).r.status, netbeacon::kMac) << "the previous key, its window closed";
  EXPECT_EQ(Verify(ring, nbtest::Beacon(kCurrent, nbtest::Gzip(kBson), UINT64_MAX)).r.status, netbeacon::kFuture)
      << "a hostile timestamp does not wrap into the window";
  // A header that declares no payload: ok with no bytes; bytes past the declared length are ignored.
  const Verdict empty = Verify(ring, Bytes{1, 2, 0, 0, 9, 9});
  EXPECT_EQ(empty.r.status, netbeacon::kOk);
  EXPECT_EQ(empty.r.plain_len, 0u);
  EXPECT_EQ(Verify(ring, nbtest::Cat({good, Bytes{1, 2, 3}})).r.status, netbeacon::kOk);
}

// Every truncation of an authentic beacon, and every single-bit flip, is
// judged without reading past the packet and never as authentic.
TEST(KeyRing, TruncationsAndBitFlips) {
  KeyRing ring({Material(kCurrent, 0), Material(kPrevious, kNow + 10)});
  Bytes good = nbtest::Beacon(kPrevious, nbtest::Gzip(kBson), kNow);
  const size_t token_len = good.size() - 4;
  for (size_t n = 0; n < good.size(); n++) {
    Bytes cut(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n));
    if (n >= 4) {  // keep the header's length honest, so the token itself is cut
      cut[2] = static_cast<uint8_t>((n - 4) >> 8);
      cut[3] = static_cast<uint8_t>(n - 4);
    }
    const uint8_t s = Verify(ring, cut).r.status;
    EXPECT_TRUE(n == 4 ? s == netbeacon::kOk : s != netbeacon::kOk) << n;
  }
  for (size_t bit = 8 * 4; bit < 8 * good.size(); bit++) {
    Bytes flipped = good;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    const Verdict v = Verify(ring, flipped);
    EXPECT_NE(v.r.status, netbeacon::kOk) << "bit " << bit << " of a " << token_len << "-byte token";
  }
}

TEST(KeyRing, Limits) {
  EXPECT_THROW(KeyRing({}), std::invalid_argument);
  std::vector<KeyMaterial> keys(netbeacon::kMaxKeys, Material(kCurrent, 0));
  EXPECT_EQ(KeyRing(keys).size(), netbeacon::kMaxKeys);
  keys.push_back(Material(kCurrent, 0));
  EXPECT_THROW(KeyRing{keys}, std::invalid_argument);
}

}  // namespace
