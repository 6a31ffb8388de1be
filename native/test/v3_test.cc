// Beacon format v3 (docs/beacon-v3.md) through Verifier (verify.cc) and
// XChaCha20Poly1305 (xchacha.cc): a datagram is header (4) | key id (4) |
// nonce (24) | ciphertext | tag (16), the first 32 bytes are the associated
// data, and the plaintext is flags (1) | timestamp (8, BE) | body. Datagrams
// are sealed here with XChaCha20Poly1305::Seal and handed over in exact-size
// heap blocks, so a read past a declared length is ASan's. The known answers
// of the primitive itself are in test/unit/v3-kat.test.ts (libsodium's
// published vectors, through the addon).
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

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

// OpenSSL's Poly1305 (EVP_MAC), for Poly1305WholeBlocks to agree with.
void EvpPoly1305(const uint8_t key[32], const uint8_t* m, size_t len, uint8_t mac[16]) {
  EVP_MAC* alg = EVP_MAC_fetch(nullptr, "POLY1305", nullptr);
  ASSERT_NE(alg, nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(alg);
  size_t n = 0;
  ASSERT_EQ(EVP_MAC_init(ctx, key, 32, nullptr), 1);
  ASSERT_EQ(EVP_MAC_update(ctx, m, len), 1);
  ASSERT_EQ(EVP_MAC_final(ctx, mac, &n, 16), 1);
  EXPECT_EQ(n, 16u);
  EVP_MAC_CTX_free(ctx);
  EVP_MAC_free(alg);
}

// RFC 8439 2.5.2, the one whole-block-free vector made whole: its first two
// blocks (32 bytes of "Cryptographic Forum Research Group") give the tag
// OpenSSL gives; then keys and messages at the edges of the arithmetic
// (r and s all ones, blocks all ones, h landing on and just past p = 2^130 - 5),
// where a carry or the final reduction would go wrong first.
TEST(V3, Poly1305AgreesWithOpenSsl) {
  std::mt19937 rng(20261203);
  const uint8_t patterns[] = {0x00, 0xff, 0x01, 0xfe, 0x80, 0x7f};
  for (int i = 0; i < 3000; i++) {
    uint8_t key[32], mine[16], theirs[16];
    const uint8_t kp = patterns[rng() % sizeof patterns], sp = patterns[rng() % sizeof patterns];
    for (int j = 0; j < 32; j++) {
      const int mode = i % 4;
      key[j] = mode == 0 ? static_cast<uint8_t>(rng()) : j < 16 ? kp : sp;
      if (mode == 3 && rng() % 4 == 0) key[j] = static_cast<uint8_t>(rng());
    }
    Bytes m(16 * (rng() % 20));
    const uint8_t mp = patterns[rng() % sizeof patterns];
    for (auto& b : m)
      b = i % 3 == 0 ? static_cast<uint8_t>(rng()) : (rng() % 8 == 0 ? static_cast<uint8_t>(rng()) : mp);
    netbeacon::Poly1305WholeBlocks(key, m.data(), m.size(), mine);
    EvpPoly1305(key, m.data(), m.size(), theirs);
    ASSERT_EQ(0, std::memcmp(mine, theirs, 16)) << "case " << i;
  }
  // RFC 8439 A.3 #6: r = 2, s = 0, m = 2^128 - 1 (one block): tag 03 00 ...
  uint8_t key[32] = {2}, mac[16];
  Bytes ones(16, 0xff);
  netbeacon::Poly1305WholeBlocks(key, ones.data(), ones.size(), mac);
  const uint8_t want6[16] = {3};
  EXPECT_EQ(0, std::memcmp(mac, want6, 16));
  // A.3 #7: r = 2, s = 2^128 - 1, m = 2: tag 03 00 ...
  uint8_t key7[32] = {2};
  std::memset(key7 + 16, 0xff, 16);
  Bytes two(16, 0);
  two[0] = 2;
  netbeacon::Poly1305WholeBlocks(key7, two.data(), two.size(), mac);
  EXPECT_EQ(0, std::memcmp(mac, want6, 16));
  // A.3 #8: r = 1, s = 0, m = (2^128 - 1) | (2^128 - 2^124... as the RFC's three blocks): tag 0.
  uint8_t key8[32] = {1};
  Bytes m8(48, 0xff);
  m8[16] = 0xfb;
  for (int j = 17; j < 32; j++) m8[j] = 0xfe;
  for (int j = 32; j < 48; j++) m8[j] = 0x01;
  netbeacon::Poly1305WholeBlocks(key8, m8.data(), m8.size(), mac);
  const uint8_t zero[16] = {0};
  EXPECT_EQ(0, std::memcmp(mac, zero, 16));
}

// DeriveXKeys's eight lanes give, for each nonce, what one lane alone gives
// (the scalar rounds), whatever the count.
TEST(V3, DeriveXKeysLanesAgreeWithOneAtATime) {
  std::mt19937 rng(7);
  for (int i = 0; i < 200; i++) {
    uint8_t key[32], nonces[netbeacon::kXLanes][netbeacon::kXNonceLen];
    for (auto& b : key) b = static_cast<uint8_t>(rng());
    for (auto& n : nonces)
      for (auto& b : n) b = static_cast<uint8_t>(rng());
    const size_t count = 1 + static_cast<size_t>(i) % netbeacon::kXLanes;
    netbeacon::XKeys lanes[netbeacon::kXLanes], one;
    netbeacon::DeriveXKeys(key, nonces, count, lanes);
    for (size_t l = 0; l < count; l++) {
      netbeacon::DeriveXKeys(key, &nonces[l], 1, &one);
      uint8_t sub[32];
      netbeacon::HChaCha20(key, nonces[l], sub);
      for (int w = 0; w < 8; w++) ASSERT_EQ(Bytes(sub + 4 * w, sub + 4 * w + 4), nbtest::Le32(one.subkey[w]));
      ASSERT_EQ(0, std::memcmp(lanes[l].subkey, one.subkey, sizeof one.subkey)) << "lane " << l << " of " << count;
      ASSERT_EQ(0, std::memcmp(lanes[l].poly, one.poly, sizeof one.poly)) << "lane " << l << " of " << count;
    }
  }
}

// PrepareV3 changes no verdict: a batch of v3 datagrams (authentic, forged,
// another key, stale, truncated, v2) verified after PrepareV3 of the whole
// run, of part of it, of it out of order or of other bytes altogether gives
// what Verify alone gives.
TEST(V3, PreparedKeysChangeNoVerdict) {
  Verifier plain(kV2.signing, kV2.encryption, &kKey), prepared(kV2.signing, kV2.encryption, &kKey);
  std::vector<Bytes> batch;
  for (int i = 0; i < 8; i++) {
    Bytes d = Seal(kKey, kBson, kNow - i);
    d[8] = static_cast<uint8_t>(i);  // another nonce (and so a forgery unless resealed)
    if (i % 2 == 0) d = Seal(kKey, nbtest::BsonDoc({nbtest::BsonInt32("type", 1 + i % 2)}), kNow);
    if (i == 3) d.back() ^= 1;
    if (i == 5) d = Seal(kOtherKey, kBson, kNow);
    if (i == 6) d = Seal(kKey, kBson, kNow - 1000);
    if (i == 7) d.resize(40);
    batch.push_back(d);
  }
  std::vector<Exact> held;
  for (const auto& d : batch) held.emplace_back(d);
  const uint8_t* ptrs[8];
  size_t lens[8];
  for (size_t i = 0; i < 8; i++) {
    ptrs[i] = held[i].data();
    lens[i] = held[i].size();
  }
  auto check = [&](const char* what) {
    for (size_t i = 0; i < 8; i++) {
      const Verdict a = Verify(plain, batch[i]);
      Bytes out(netbeacon::kMaxInflated);
      const VerifyResult r = prepared.Verify(ptrs[i], lens[i], kNow, out.data(), out.size());
      EXPECT_EQ(a.r.status, r.status) << what << " item " << i;
      if (r.status == netbeacon::kOk) EXPECT_EQ(a.plain, Bytes(out.begin(), out.begin() + r.plain_len)) << what;
    }
  };
  prepared.PrepareV3(ptrs, lens, 8);
  check("all prepared");
  prepared.PrepareV3(ptrs + 4, lens + 4, 4);
  check("half prepared");
  const uint8_t* reversed[8];
  size_t rlens[8];
  for (size_t i = 0; i < 8; i++) {
    reversed[i] = ptrs[7 - i];
    rlens[i] = lens[7 - i];
  }
  prepared.PrepareV3(reversed, rlens, 8);
  check("prepared in reverse");
  // Keys prepared for other nonces are never used for these.
  std::vector<Bytes> others;
  std::vector<Exact> others_held;
  const uint8_t* optrs[8];
  for (size_t i = 0; i < 8; i++) {
    Bytes d = batch[i];
    if (d.size() > 20) d[20] ^= 0x55;
    others.push_back(d);
  }
  for (const auto& d : others) others_held.emplace_back(d);
  for (size_t i = 0; i < 8; i++) optrs[i] = others_held[i].data();
  prepared.PrepareV3(optrs, lens, 8);
  check("prepared for other nonces");
  prepared.ForgetV3();
  check("forgotten");
  const uint8_t* none[1] = {nullptr};
  size_t zero[1] = {0};
  prepared.PrepareV3(none, zero, 1);
  check("prepared nothing");
}

}  // namespace
