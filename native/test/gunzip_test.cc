// Gunzip (gunzip.cc) with the semantics of Python's gzip.decompress, which
// MAAS uses: concatenated members, NUL padding between and after them, the
// optional header fields, CRC-32 and ISIZE checked, and the size limit
// decided at the first byte past it. Inputs and outputs are exact-size heap
// blocks, so a read or write one byte out is ASan's.
#include "gunzip.h"

#include <gtest/gtest.h>

#include "helpers.h"

namespace {

using nbtest::Bytes;
using nbtest::Exact;
using netbeacon::Gunzip;
using netbeacon::Reason;

struct Result {
  Reason reason;
  Bytes out;
};

Result Inflate(Gunzip& gz, const Bytes& in, size_t cap = 1 << 16) {
  Exact src(in);
  Exact dst{Bytes(cap)};
  size_t n = 12345;
  const Reason r = gz.Inflate(src.data(), src.size(), cap ? dst.data() : nullptr, cap, &n);
  if (r != netbeacon::kOk) EXPECT_EQ(n, 0u) << "a failed inflate reports no bytes";
  return {r, Bytes(dst.data(), dst.data() + (r == netbeacon::kOk ? n : 0))};
}

// A member with a hand-made header: flags and the fields they announce.
Bytes Member(const Bytes& plain, uint8_t flags, const Bytes& fields) {
  return nbtest::Cat({{0x1f, 0x8b, 8, flags, 0, 0, 0, 0, 0, 3},
                      fields,
                      nbtest::Deflate(plain),
                      nbtest::Le32(nbtest::Crc32(plain)),
                      nbtest::Le32(static_cast<uint32_t>(plain.size()))});
}

const Bytes kText = nbtest::Str("{\"hints\": [1, 2, 3]} and some more text to make it worth compressing, compressing");

TEST(Gunzip, OneMember) {
  Gunzip gz;
  const Result r = Inflate(gz, nbtest::Gzip(kText));
  EXPECT_EQ(r.reason, netbeacon::kOk);
  EXPECT_EQ(r.out, kText);
}

TEST(Gunzip, EmptyInputIsNoMember) {
  Gunzip gz;
  const Result r = Inflate(gz, {});
  EXPECT_EQ(r.reason, netbeacon::kOk);
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(Inflate(gz, {0, 0, 0}).reason, netbeacon::kGzip) << "NULs are padding only after a member, as in Python";
}

TEST(Gunzip, MembersAndPadding) {
  Gunzip gz;
  const Bytes a = nbtest::Str("first"), b = nbtest::Str("second");
  Result r = Inflate(gz, nbtest::Cat({nbtest::Gzip(a), nbtest::Gzip(b)}));
  EXPECT_EQ(r.reason, netbeacon::kOk);
  EXPECT_EQ(r.out, nbtest::Cat({a, b}));
  r = Inflate(gz, nbtest::Cat({nbtest::Gzip(a), Bytes(7, 0), nbtest::Gzip(b), Bytes(3, 0)}));
  EXPECT_EQ(r.reason, netbeacon::kOk);
  EXPECT_EQ(r.out, nbtest::Cat({a, b}));
  EXPECT_EQ(Inflate(gz, nbtest::Cat({nbtest::Gzip(a), Bytes{0, 1}})).reason, netbeacon::kGzip)
      << "trailing bytes other than NUL";
}

TEST(Gunzip, HeaderFieldsAsPythonReadsThem) {
  Gunzip gz;
  // FEXTRA (2-byte length), FNAME, FCOMMENT, FHCRC: skipped; the header CRC
  // and the reserved flag bits are not checked (Python checks neither).
  const Bytes fields = nbtest::Cat({{3, 0, 'x', 'y', 'z'}, nbtest::Str("name"), {0}, nbtest::Str("c"), {0}, {9, 9}});
  Result r = Inflate(gz, Member(kText, 0x04 | 0x08 | 0x10 | 0x02 | 0xe0, fields));
  EXPECT_EQ(r.reason, netbeacon::kOk);
  EXPECT_EQ(r.out, kText);
  EXPECT_EQ(Inflate(gz, Member(kText, 0x08, nbtest::Str("no NUL"))).reason, netbeacon::kGzip);
  EXPECT_EQ(Inflate(gz, Member(kText, 0x04, {0xff, 0xff, 1})).reason, netbeacon::kGzip) << "FEXTRA past the end";
  Bytes bad_method = nbtest::Gzip(kText);
  bad_method[2] = 7;
  EXPECT_EQ(Inflate(gz, bad_method).reason, netbeacon::kGzip);
}

TEST(Gunzip, TrailerChecked) {
  Gunzip gz;
  Bytes crc = nbtest::Gzip(kText);
  crc[crc.size() - 8] ^= 1;
  EXPECT_EQ(Inflate(gz, crc).reason, netbeacon::kGzip);
  Bytes isize = nbtest::Gzip(kText);
  isize[isize.size() - 1] ^= 1;
  EXPECT_EQ(Inflate(gz, isize).reason, netbeacon::kGzip);
  Bytes deflate = nbtest::Gzip(kText);
  deflate[12] ^= 0xff;
  EXPECT_EQ(Inflate(gz, deflate).reason, netbeacon::kGzip);
}

TEST(Gunzip, EveryTruncationIsGzip) {
  Gunzip gz;
  const Bytes whole = nbtest::Gzip(kText);
  for (size_t n = 1; n < whole.size(); n++) {
    EXPECT_EQ(Inflate(gz, Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(n))).reason,
              netbeacon::kGzip)
        << n;
  }
  // The stream is reset between calls: a good member after all those still inflates.
  EXPECT_EQ(Inflate(gz, whole).out, kText);
}

TEST(Gunzip, SizeLimitAtTheFirstByteOver) {
  Gunzip gz;
  const Bytes big(5000, 'a');
  const Bytes z = nbtest::Gzip(big);
  EXPECT_EQ(Inflate(gz, z, big.size()).reason, netbeacon::kOk) << "exactly full";
  EXPECT_EQ(Inflate(gz, z, big.size()).out, big);
  EXPECT_EQ(Inflate(gz, z, big.size() - 1).reason, netbeacon::kSize);
  EXPECT_EQ(Inflate(gz, z, 0).reason, netbeacon::kSize) << "no room at all (a null buffer)";
  EXPECT_EQ(Inflate(gz, nbtest::Gzip({}), 0).reason, netbeacon::kOk) << "an empty member fits no room";
  // Two members whose sum passes the limit.
  EXPECT_EQ(Inflate(gz, nbtest::Cat({z, z}), 2 * big.size() - 1).reason, netbeacon::kSize);
  EXPECT_EQ(Inflate(gz, nbtest::Cat({z, z}), 2 * big.size()).out.size(), 2 * big.size());
}

TEST(Gunzip, BombCostsAtMostTheCap) {
  Gunzip gz;
  // 64 MiB of zeros in ~64 KiB: refused at the cap, not inflated whole.
  const Bytes bomb = nbtest::Gzip(Bytes(64 << 20, 0));
  EXPECT_LT(bomb.size(), 100u << 10);
  EXPECT_EQ(Inflate(gz, bomb, netbeacon::kMaxInflated).reason, netbeacon::kSize);
}

}  // namespace
