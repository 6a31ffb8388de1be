// Beacon format v3 (docs/beacon-v3.md) through Verifier (verify.cc) and
// XChaCha20Poly1305 (xchacha.cc): a datagram is header (4) | key id (4) |
// nonce (24) | ciphertext | tag (16), the first 32 bytes are the associated
// data, and the plaintext is flags (1) | timestamp (8, BE) | body. Datagrams
// are sealed here with XChaCha20Poly1305::Seal and handed over in exact-size
// heap blocks, so a read past a declared length is ASan's. The known answers
// of the primitive itself are in test/unit/v3-kat.test.ts (libsodium's
// published vectors, through the addon).
#include <gtest/gtest.h>

#include <random>

#include "helpers.h"
#include "verify.h"
#include "xchacha.h"

namespace {

using nbtest::Bytes;
using nbtest::Exact;
using netbeacon::Verifier;
using netbeacon::VerifyResult;
using netbeacon::XChaCha20Poly1305;

constexpr int64_t kNow = 1795000000;
const nbtest::Key kV2 = nbtest::TestKey(1);
const Bytes kBson = nbtest::BsonDoc({nbtest::BsonInt32("type", 1)});

netbeacon::V3Key MakeKey(uint8_t seed) {
  netbeacon::V3Key k;
  for (size_t i = 0; i < sizeof k.key; i++) k.key[i] = static_cast<uint8_t>(seed + i);
  for (size_t i = 0; i < sizeof k.id; i++) k.id[i] = static_cast<uint8_t>(0xa0 + seed + i);
  return k;
}

const netbeacon::V3Key kKey = MakeKey(1), kOtherKey = MakeKey(2);

Bytes Be64(uint64_t v) {
  Bytes b(8);
  for (int i = 7; i >= 0; i--, v >>= 8) b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
  return b;
}

// A v3 datagram as a sender seals it. `declared` overrides the header's
// payload length (default: the true one).
Bytes Seal(const netbeacon::V3Key& key, const Bytes& body, uint64_t ts, uint8_t flags = 0, uint8_t type = 1,
           int declared = -1) {
  const Bytes plain = nbtest::Cat({Bytes{flags}, Be64(ts), body});
  Bytes nonce(netbeacon::kXNonceLen);
  for (size_t i = 0; i < nonce.size(); i++) nonce[i] = static_cast<uint8_t>(0x40 + i);
  const size_t payload = netbeacon::kV3KeyIdLen + nonce.size() + plain.size() + netbeacon::kXTagLen;
  const uint16_t len = declared < 0 ? static_cast<uint16_t>(payload) : static_cast<uint16_t>(declared);
  Bytes d = nbtest::Cat({Bytes{3, type}, nbtest::Be16(len), Bytes(key.id, key.id + sizeof key.id), nonce});
  const size_t ad = d.size();
  d.resize(ad + plain.size() + netbeacon::kXTagLen);
  XChaCha20Poly1305 aead;
  EXPECT_TRUE(aead.Seal(key.key, nonce.data(), d.data(), ad, plain.data(), plain.size(), d.data() + ad,
                        d.data() + ad + plain.size()));
  return d;
}

struct Verdict {
  VerifyResult r;
  Bytes plain;
};

Verdict Verify(Verifier& v, const Bytes& datagram, int64_t now = kNow, size_t cap = netbeacon::kMaxInflated) {
  Exact in(datagram);
  Exact out{Bytes(cap)};
  const VerifyResult r = v.Verify(in.data(), in.size(), now, out.data(), cap);
  return {r, Bytes(out.data(), out.data() + (r.status == netbeacon::kOk ? r.plain_len : 0))};
}

TEST(V3, OpensWhatWasSealed) {
  Verifier v(kV2.signing, kV2.encryption, &kKey);
  const Verdict got = Verify(v, Seal(kKey, kBson, kNow));
  EXPECT_EQ(got.r.status, netbeacon::kOk);
  EXPECT_EQ(got.r.version, 3);
  EXPECT_EQ(got.r.header_type, 1);
  EXPECT_EQ(got.plain, kBson);
  EXPECT_TRUE(v.HasV3Id(kKey.id));
  EXPECT_FALSE(v.HasV3Id(kOtherKey.id));
}

TEST(V3, GzipFlagInflatesTheBody) {
  Verifier v(kV2.signing, kV2.encryption, &kKey);
  const Verdict got = Verify(v, Seal(kKey, nbtest::Gzip(kBson), kNow, 0x01));
  EXPECT_EQ(got.r.status, netbeacon::kOk);
  EXPECT_EQ(got.plain, kBson);
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow, 0x01)).r.status, netbeacon::kGzip) << "flagged gzip but is not";
}

TEST(V3, WithoutAV3KeyVersion3IsUnknown) {
  Verifier v2only(kV2.signing, kV2.encryption);
  EXPECT_EQ(Verify(v2only, Seal(kKey, kBson, kNow)).r.status, netbeacon::kVersion);
  EXPECT_FALSE(v2only.HasV3Id(kKey.id));
}

TEST(V3, VerdictsInTheirOrder) {
  Verifier v(kV2.signing, kV2.encryption, &kKey);
  EXPECT_EQ(Verify(v, Seal(kOtherKey, kBson, kNow)).r.status, netbeacon::kKey) << "another key id: no AEAD run";
  Bytes header_changed = Seal(kKey, kBson, kNow);
  header_changed[1] = 2;  // the type is associated data
  EXPECT_EQ(Verify(v, header_changed).r.status, netbeacon::kMac);
  Bytes nonce_changed = Seal(kKey, kBson, kNow);
  nonce_changed[10] ^= 1;
  EXPECT_EQ(Verify(v, nonce_changed).r.status, netbeacon::kMac);
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow - 61)).r.status, netbeacon::kExpired);
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow - 60)).r.status, netbeacon::kOk);
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow + 61)).r.status, netbeacon::kFuture);
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, UINT64_MAX)).r.status, netbeacon::kFuture) << "no wrap-around";
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow, 0x02)).r.status, netbeacon::kToken) << "unknown flag";
  EXPECT_EQ(Verify(v, Seal(kKey, Bytes{}, kNow)).r.status, netbeacon::kBson) << "empty body";
  EXPECT_EQ(Verify(v, Seal(kKey, kBson, kNow), kNow, kBson.size() - 1).r.status, netbeacon::kSize);
}

TEST(V3, EveryTruncationAndDeclaredLength) {
  Verifier v(kV2.signing, kV2.encryption, &kKey);
  const Bytes good = Seal(kKey, kBson, kNow);
  for (size_t n = 0; n < good.size(); n++) {
    const Verdict got = Verify(v, Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(n)));
    EXPECT_NE(got.r.status, netbeacon::kOk) << "truncated to " << n;
  }
  // Declared lengths shorter than the minimum are kToken; longer than the
  // datagram, kLength; a valid datagram with bytes after it still opens.
  for (int declared = 0; declared < 53; declared++) {
    Bytes d = good;
    d[2] = static_cast<uint8_t>(declared >> 8);
    d[3] = static_cast<uint8_t>(declared);
    d.resize(4 + static_cast<size_t>(declared));
    EXPECT_EQ(Verify(v, d).r.status, netbeacon::kToken) << "declared " << declared;
  }
  Bytes longer = good;
  longer[3] = static_cast<uint8_t>(longer[3] + 1);
  EXPECT_EQ(Verify(v, longer).r.status, netbeacon::kLength);
  Bytes trailing = good;
  trailing.push_back(0xee);
  EXPECT_EQ(Verify(v, trailing).r.status, netbeacon::kOk);
}

TEST(V3, DirectAndEvpPathsAgree) {
  XChaCha20Poly1305 direct, evp;
  evp.ForceEvp();
  std::mt19937 rng(20261201);
  for (int i = 0; i < 500; i++) {
    uint8_t key[32], nonce[24], tag_a[16], tag_b[16];
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    for (auto& b : nonce) b = static_cast<uint8_t>(rng());
    Bytes ad(rng() % 40), pt(rng() % 700);
    for (auto& b : ad) b = static_cast<uint8_t>(rng());
    for (auto& b : pt) b = static_cast<uint8_t>(rng());
    Bytes ct_a(pt.size()), ct_b(pt.size());
    ASSERT_TRUE(direct.Seal(key, nonce, ad.data(), ad.size(), pt.data(), pt.size(), ct_a.data(), tag_a));
    ASSERT_TRUE(evp.Seal(key, nonce, ad.data(), ad.size(), pt.data(), pt.size(), ct_b.data(), tag_b));
    ASSERT_EQ(ct_a, ct_b);
    ASSERT_EQ(0, std::memcmp(tag_a, tag_b, 16));
    Exact ct(ct_a);
    Bytes out_a(pt.size() + 1), out_b(pt.size() + 1);
    ASSERT_TRUE(direct.Open(key, nonce, ad.data(), ad.size(), ct.data(), ct.size(), tag_a, out_a.data()));
    ASSERT_TRUE(evp.Open(key, nonce, ad.data(), ad.size(), ct.data(), ct.size(), tag_a, out_b.data()));
    ASSERT_EQ(Bytes(out_a.begin(), out_a.end() - 1), pt);
    ASSERT_EQ(Bytes(out_b.begin(), out_b.end() - 1), pt);
    tag_a[rng() % 16] ^= static_cast<uint8_t>(1u << (rng() % 8));
    EXPECT_FALSE(direct.Open(key, nonce, ad.data(), ad.size(), ct.data(), ct.size(), tag_a, out_a.data()));
    EXPECT_FALSE(evp.Open(key, nonce, ad.data(), ad.size(), ct.data(), ct.size(), tag_a, out_b.data()));
  }
}

}  // namespace
