// ParseFrame (frame.cc): which frames are beacons' and the fields it reads,
// and that no truncation makes it read past the captured bytes (every
// frame is parsed from an exact-size heap copy, so ASan sees one byte over).
#include "frame.h"

#include <gtest/gtest.h>

#include "helpers.h"

namespace {

using nbtest::Bytes;
using nbtest::Exact;
using netbeacon::FrameFields;
using netbeacon::ParseFrame;
using netbeacon::StrippedTag;

bool Parse(const Bytes& f, FrameFields* out, StrippedTag tag = {}) {
  Exact e(f);
  return ParseFrame(e.data(), e.size(), tag, out);
}

const Bytes kPayload = nbtest::Str("beacon payload");

TEST(Frame, Ipv4Untagged) {
  const Bytes f = nbtest::Udp4Frame(kPayload);
  FrameFields ff;
  ASSERT_TRUE(Parse(f, &ff));
  EXPECT_EQ(ff.family, 4);
  EXPECT_FALSE(ff.has_vid);
  EXPECT_FALSE(ff.has_outer);
  EXPECT_EQ(ff.src_port, 40000);
  EXPECT_EQ(ff.dst_port, 5240);
  EXPECT_EQ(ff.payload_off, 14u + 20 + 8);
  EXPECT_EQ(ff.payload_len, kPayload.size());
  EXPECT_EQ(0, memcmp(f.data() + ff.payload_off, kPayload.data(), kPayload.size()));
  const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {224, 0, 0, 118};
  EXPECT_EQ(0, memcmp(ff.src_ip, src, 4));
  EXPECT_EQ(0, memcmp(ff.dst_ip, dst, 4));
  EXPECT_EQ(ff.src_ip[4], 0) << "IPv4 leaves the rest of the address zero";
  const uint8_t smac[6] = {0x02, 0xfc, 0, 0, 0, 1}, dmac[6] = {0x01, 0x00, 0x5e, 0, 0, 0x76};
  EXPECT_EQ(0, memcmp(ff.src_mac, smac, 6));
  EXPECT_EQ(0, memcmp(ff.dst_mac, dmac, 6));
}

TEST(Frame, Ipv6Untagged) {
  const Bytes f = nbtest::Udp6Frame(kPayload);
  FrameFields ff;
  ASSERT_TRUE(Parse(f, &ff));
  EXPECT_EQ(ff.family, 6);
  EXPECT_EQ(ff.payload_off, 14u + 40 + 8);
  EXPECT_EQ(ff.payload_len, kPayload.size());
  EXPECT_EQ(ff.dst_ip[0], 0xff);
  EXPECT_EQ(ff.dst_ip[15], 0x5a);
}

TEST(Frame, TagsInBandAndStripped) {
  FrameFields ff;
  // One in-band tag; the priority bits are not the VID.
  ASSERT_TRUE(Parse(nbtest::Udp4Frame(kPayload, {{0x8100, 0xe00a}}), &ff));
  EXPECT_TRUE(ff.has_vid);
  EXPECT_FALSE(ff.has_outer);
  EXPECT_EQ(ff.vid, 10);
  EXPECT_EQ(ff.payload_off, 18u + 20 + 8);
  // QinQ in band: outer 802.1ad, inner 802.1Q.
  ASSERT_TRUE(Parse(nbtest::Udp6Frame(kPayload, {{0x88a8, 100}, {0x8100, 200}}), &ff));
  EXPECT_TRUE(ff.has_outer);
  EXPECT_EQ(ff.outer_vid, 100);
  EXPECT_EQ(ff.vid, 200);
  // The kernel stripped the outer tag: it counts as the outermost.
  ASSERT_TRUE(Parse(nbtest::Udp4Frame(kPayload, {{0x9100, 7}}), &ff, StrippedTag{true, 0x2005}));
  EXPECT_EQ(ff.outer_vid, 5);
  EXPECT_EQ(ff.vid, 7);
  // A priority-only stripped tag (VID 0) is still a tag.
  ASSERT_TRUE(Parse(nbtest::Udp4Frame(kPayload), &ff, StrippedTag{true, 0}));
  EXPECT_TRUE(ff.has_vid);
  EXPECT_EQ(ff.vid, 0);
  // Three tags in all are refused, in band or with a stripped one.
  EXPECT_FALSE(Parse(nbtest::Udp4Frame(kPayload, {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}}), &ff));
  EXPECT_FALSE(Parse(nbtest::Udp4Frame(kPayload, {{0x8100, 1}, {0x8100, 2}}), &ff, StrippedTag{true, 3}));
}

TEST(Frame, NotBeacons) {
  FrameFields ff;
  EXPECT_FALSE(Parse(nbtest::Udp4Frame(kPayload, {}, 5241), &ff)) << "another port";
  Bytes f = nbtest::Udp4Frame(kPayload);
  f[14 + 9] = 6;  // TCP
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp4Frame(kPayload);
  f[14 + 6] = 0x20;  // MF: a first fragment
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp4Frame(kPayload);
  f[14 + 7] = 0x01;  // a later fragment
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp4Frame(kPayload);
  f[14] = 0x44;  // IHL 16 bytes
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp4Frame(kPayload);
  f[12] = 0x08;
  f[13] = 0x06;  // ARP
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp6Frame(kPayload);
  f[14] = 0x40;  // version 4 in an IPv6 ethertype
  EXPECT_FALSE(Parse(f, &ff));
  EXPECT_FALSE(ParseFrame(nullptr, 100, {}, &ff));
}

TEST(Frame, LengthsHonoured) {
  FrameFields ff;
  // Ethernet padding after the datagram: the IP total length bounds the payload.
  Bytes f = nbtest::Cat({nbtest::Udp4Frame(kPayload), Bytes(20, 0)});
  ASSERT_TRUE(Parse(f, &ff));
  EXPECT_EQ(ff.payload_len, kPayload.size());
  // A UDP length below its header, or past the IP datagram, is refused.
  f = nbtest::Udp4Frame(kPayload);
  f[14 + 20 + 5] = 7;
  f[14 + 20 + 4] = 0;
  EXPECT_FALSE(Parse(f, &ff));
  f = nbtest::Udp4Frame(kPayload);
  f[14 + 20 + 5] = static_cast<uint8_t>(f[14 + 20 + 5] + 1);
  EXPECT_FALSE(Parse(f, &ff));
  // A shorter UDP length than the IP datagram bounds the payload.
  f = nbtest::Udp4Frame(kPayload);
  f[14 + 20 + 5] = static_cast<uint8_t>(f[14 + 20 + 5] - 4);
  ASSERT_TRUE(Parse(f, &ff));
  EXPECT_EQ(ff.payload_len, kPayload.size() - 4);
  // IPv4 options: the UDP header follows the IHL.
  f = nbtest::Udp4Frame(kPayload);
  Bytes opt = nbtest::Cat({Bytes(f.begin(), f.begin() + 34), Bytes{1, 1, 1, 1}, Bytes(f.begin() + 34, f.end())});
  opt[14] = 0x46;
  opt[14 + 3] = static_cast<uint8_t>(opt[14 + 3] + 4);
  ASSERT_TRUE(Parse(opt, &ff));
  EXPECT_EQ(ff.payload_off, 14u + 24 + 8);
  // IPv6 payload length past the capture.
  f = nbtest::Udp6Frame(kPayload);
  f[14 + 5] = static_cast<uint8_t>(f[14 + 5] + 1);
  EXPECT_FALSE(Parse(f, &ff));
}

// Every prefix of every shape: refused (the datagram is cut) without a read
// past the prefix, except prefixes that still hold the whole datagram.
TEST(Frame, EveryTruncation) {
  const Bytes frames[] = {
      nbtest::Udp4Frame(kPayload),
      nbtest::Udp6Frame(kPayload),
      nbtest::Udp4Frame(kPayload, {{0x8100, 5}}),
      nbtest::Udp6Frame(kPayload, {{0x88a8, 5}, {0x8100, 6}}),
  };
  for (const Bytes& f : frames) {
    for (size_t n = 0; n < f.size(); n++) {
      FrameFields ff;
      Exact e(f, n);
      EXPECT_FALSE(ParseFrame(e.data(), e.size(), {}, &ff)) << "a " << f.size() << "-byte frame cut to " << n;
      EXPECT_FALSE(ParseFrame(e.data(), e.size(), StrippedTag{true, 9}, &ff));
    }
  }
}

}  // namespace
