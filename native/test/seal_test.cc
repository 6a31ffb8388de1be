// Sealer (seal.cc) against the native Fernet verify (verify.cc): what one
// seals, the other opens, for documents of every size a beacon has and up
// to the limit; the header and token are laid out as Fernet and MAAS lay
// them out; a changed byte is refused. (That the bytes equal Node's
// gzipSync path is test/unit/sealer-agreement.test.ts's: only the node
// binary's zlib makes those exact bytes, and this program links the system's.)
#include "seal.h"

#include <gtest/gtest.h>

#include <random>

#include "helpers.h"
#include "verify.h"

namespace {

using nbtest::Bytes;
using netbeacon::Sealer;
using netbeacon::Verifier;
using netbeacon::VerifyResult;

constexpr uint64_t kNow = 1795000000;
const nbtest::Key kKey = nbtest::TestKey(3);

Bytes Seal(Sealer& s, const Bytes& doc, uint8_t type, uint64_t seconds, const uint8_t iv[16]) {
  nbtest::Exact in(doc);
  Bytes out(Sealer::MaxSealed(doc.size()));
  const size_t n = s.Seal(in.data(), doc.size(), type, seconds, iv, out.data());
  out.resize(n);
  return out;
}

struct Opened {
  VerifyResult r;
  Bytes plain;
};

Opened Open(const Bytes& datagram, int64_t now = kNow) {
  Verifier v(kKey.signing, kKey.encryption);
  nbtest::Exact in(datagram);
  Bytes out(netbeacon::kMaxInflated);
  const VerifyResult r = v.Verify(in.data(), in.size(), now, out.data(), out.size());
  return {r, Bytes(out.begin(), out.begin() + (r.status == netbeacon::kOk ? r.plain_len : 0))};
}

TEST(Seal, WindowBitsAsDeflateWindowBits) {
  EXPECT_EQ(netbeacon::SealWindowBits(0), 9);
  EXPECT_EQ(netbeacon::SealWindowBits(250), 9);
  EXPECT_EQ(netbeacon::SealWindowBits(251), 10);
  EXPECT_EQ(netbeacon::SealWindowBits(762), 10);
  EXPECT_EQ(netbeacon::SealWindowBits(763), 11);
  EXPECT_EQ(netbeacon::SealWindowBits(32506), 15);
  EXPECT_EQ(netbeacon::SealWindowBits(60000), 15);
}

TEST(Seal, RoundTripThroughVerify) {
  Sealer s(kKey.signing, kKey.encryption);
  const Bytes doc =
      nbtest::BsonDoc({nbtest::BsonString("ulid", "01M7Q5CQP8Q1G6HRZ22724C6AZ"), nbtest::BsonInt32("type", 1)});
  const uint8_t iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  const Bytes d = Seal(s, doc, 1, kNow, iv);
  ASSERT_GT(d.size(), 4u + netbeacon::kTokenOverhead);
  EXPECT_EQ(d[0], 2);
  EXPECT_EQ(d[1], 1);
  EXPECT_EQ(static_cast<size_t>(d[2] << 8 | d[3]), d.size() - 4);
  EXPECT_EQ(d[4], 0x80);
  uint64_t stamp = 0;
  for (int i = 0; i < 8; i++) stamp = stamp << 8 | d[5 + i];
  EXPECT_EQ(stamp, kNow);
  EXPECT_EQ(Bytes(d.begin() + 13, d.begin() + 29), Bytes(iv, iv + 16));
  EXPECT_EQ((d.size() - 4 - netbeacon::kTokenOverhead) % 16, 0u) << "whole AES blocks";
  const Opened o = Open(d);
  ASSERT_EQ(o.r.status, netbeacon::kOk);
  EXPECT_EQ(o.r.version, 2);
  EXPECT_EQ(o.r.header_type, 1);
  EXPECT_EQ(o.plain, doc);
  EXPECT_EQ(Open(d, kNow + 61).r.status, netbeacon::kExpired) << "stamped with the time given";
}

TEST(Seal, EverySizeOpensAndEveryByteIsAuthenticated) {
  Sealer s(kKey.signing, kKey.encryption);
  std::mt19937 rng(5240);
  uint8_t iv[16] = {};
  for (size_t n = 1; n <= 4200; n += 37) {
    Bytes doc(n);
    for (auto& b : doc) b = static_cast<uint8_t>(rng() % 3 == 0 ? rng() : 'a' + rng() % 4);
    iv[n % 16] ^= static_cast<uint8_t>(n);
    const Bytes d = Seal(s, doc, 2, kNow, iv);
    const Opened o = Open(d);
    ASSERT_EQ(o.r.status, netbeacon::kOk) << n << " bytes";
    EXPECT_EQ(o.plain, doc) << n << " bytes";
    Bytes bad = d;
    bad[4 + rng() % (bad.size() - 4)] ^= 0x01;
    EXPECT_NE(Open(bad).r.status, netbeacon::kOk) << n << " bytes, one bit changed";
  }
}

TEST(Seal, TheLimitFitsTheHeaderAndPastItIsRefused) {
  Sealer s(kKey.signing, kKey.encryption);
  std::mt19937 rng(7);
  Bytes doc(netbeacon::kMaxSealInput);
  for (auto& b : doc) b = static_cast<uint8_t>(rng());  // incompressible: gzip's worst case
  const uint8_t iv[16] = {};
  const Bytes d = Seal(s, doc, 1, kNow, iv);
  ASSERT_FALSE(d.empty());
  EXPECT_LE(d.size(), Sealer::MaxSealed(doc.size()));
  EXPECT_LE(d.size() - 4, 0xffffu);
  // The verifier's plaintext cap is above the limit, so it opens.
  EXPECT_EQ(Open(d).plain, doc);
  Bytes over(netbeacon::kMaxSealInput + 1);
  nbtest::Exact in(over);
  Bytes out(Sealer::MaxSealed(over.size()));
  EXPECT_EQ(s.Seal(in.data(), over.size(), 1, kNow, iv, out.data()), 0u);
}

TEST(Seal, EmptyDocumentIsAnEmptyGzipMember) {
  Sealer s(kKey.signing, kKey.encryption);
  const uint8_t iv[16] = {};
  const Bytes d = Seal(s, Bytes{}, 1, kNow, iv);
  ASSERT_FALSE(d.empty());
  // Authentic, but nothing inside: the verifier's kBson, as for MAAS.
  EXPECT_EQ(Open(d).r.status, netbeacon::kBson);
}

}  // namespace
