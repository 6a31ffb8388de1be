// The TPACKET_V3 ring walker (ring.cc) over a synthetic ring: memory laid
// out as the kernel lays out a ring, adopted by Ring::Adopt, with a
// PROT_NONE page right after it so that any read past the last block
// faults. Covers block ownership (ring order, hand-back, wrap-around) and
// the per-packet offsets, which the kernel writes and we check anyway.
#include "ring.h"

#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "helpers.h"

namespace {

using nbtest::Bytes;
using netbeacon::Ring;
using netbeacon::RingOptions;
using netbeacon::RingPacket;

constexpr uint32_t kBlockSize = 8192;
constexpr uint32_t kBlocks = 4;
const size_t kHdr = TPACKET_ALIGN(sizeof(tpacket3_hdr));  // sockaddr_ll follows

struct Written {
  Bytes frame;
  uint32_t sec, nsec, wirelen;
  uint32_t status;
  uint16_t tci, tpid;
  uint8_t pkttype;
  int ifindex = 2;  // sll_ifindex: one ring serves every interface, each frame names its own
};

class SyntheticRing {
 public:
  SyntheticRing() {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    void* m = mmap(nullptr, Len() + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(m, MAP_FAILED);
    map_ = static_cast<uint8_t*>(m);
    EXPECT_EQ(0, mprotect(map_ + Len(), page_, PROT_NONE));
    for (uint32_t b = 0; b < kBlocks; b++) Desc(b)->hdr.bh1.block_status = TP_STATUS_KERNEL;
    RingOptions opts;
    opts.block_size = kBlockSize;
    opts.block_count = kBlocks;
    ring_ = Ring::Adopt(map_, opts);
  }
  ~SyntheticRing() {
    ring_.reset();  // unmaps the blocks
    munmap(map_ + Len(), page_);
  }
  static size_t Len() { return static_cast<size_t>(kBlockSize) * kBlocks; }
  Ring& ring() { return *ring_; }
  tpacket_block_desc* Desc(uint32_t b) { return reinterpret_cast<tpacket_block_desc*>(map_ + b * kBlockSize); }
  uint8_t* Block(uint32_t b) { return map_ + b * kBlockSize; }

  // Fills block b with packets as the kernel does and hands it to user space.
  void Fill(uint32_t b, const std::vector<Written>& pkts) {
    tpacket_block_desc* d = Desc(b);
    uint32_t off = TPACKET_ALIGN(sizeof(tpacket_block_desc));
    d->version = TPACKET_V3;
    d->hdr.bh1.num_pkts = static_cast<uint32_t>(pkts.size());
    d->hdr.bh1.offset_to_first_pkt = off;
    for (size_t i = 0; i < pkts.size(); i++) {
      const Written& w = pkts[i];
      // The kernel puts the frame so that the network header is aligned.
      const uint32_t mac = static_cast<uint32_t>(TPACKET_ALIGN(kHdr + sizeof(sockaddr_ll)) + 2);
      const uint32_t size = static_cast<uint32_t>(TPACKET_ALIGN(mac + w.frame.size()));
      auto* h = reinterpret_cast<tpacket3_hdr*>(Block(b) + off);
      *h = tpacket3_hdr{};
      h->tp_next_offset = i + 1 < pkts.size() ? size : 0;
      h->tp_sec = w.sec;
      h->tp_nsec = w.nsec;
      h->tp_snaplen = static_cast<uint32_t>(w.frame.size());
      h->tp_len = w.wirelen;
      h->tp_status = w.status;
      h->tp_mac = static_cast<uint16_t>(mac);
      h->hv1.tp_vlan_tci = w.tci;
      h->hv1.tp_vlan_tpid = w.tpid;
      auto* sll = reinterpret_cast<sockaddr_ll*>(Block(b) + off + kHdr);
      *sll = sockaddr_ll{};
      sll->sll_pkttype = w.pkttype;
      sll->sll_ifindex = w.ifindex;
      std::memcpy(Block(b) + off + mac, w.frame.data(), w.frame.size());
      off += size;
    }
    d->hdr.bh1.blk_len = off;
    __atomic_store_n(&d->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_USER), __ATOMIC_RELEASE);
  }

  // The packets of the block Acquire() gives, and how many were refused.
  std::vector<RingPacket> Walk(uint32_t* refused) {
    std::vector<RingPacket> out;
    const tpacket_block_desc* block = ring_->Acquire();
    EXPECT_NE(block, nullptr);
    if (!block) return out;
    *refused = ring_->ForEachPacket(block, [&](const RingPacket& p) { out.push_back(p); });
    return out;
  }

 private:
  size_t page_ = 0;
  uint8_t* map_ = nullptr;
  std::unique_ptr<Ring> ring_;
};

Written Packet(const std::string& text, uint32_t sec = 1795000000) {
  return Written{nbtest::Udp4Frame(nbtest::Str(text)), sec, 123456789, 0, 0, 0, 0, PACKET_MULTICAST};
}

TEST(Ring, BlocksAreTakenInRingOrderAndHandedBack) {
  SyntheticRing r;
  EXPECT_EQ(r.ring().Acquire(), nullptr) << "nothing retired yet";
  r.Fill(1, {Packet("b1")});
  EXPECT_EQ(r.ring().Acquire(), nullptr) << "block 1 is ready, but the kernel fills in order: block 0 first";
  r.Fill(0, {Packet("b0")});
  const tpacket_block_desc* b0 = r.ring().Acquire();
  ASSERT_EQ(b0, r.Desc(0));
  EXPECT_EQ(r.ring().Acquire(), b0) << "held: the same block until released";
  r.ring().Release();
  EXPECT_EQ(r.Desc(0)->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL)) << "handed back";
  r.ring().Release();  // releasing nothing held changes nothing
  ASSERT_EQ(r.ring().Acquire(), r.Desc(1));
  r.ring().Release();
  r.Fill(2, {Packet("b2")});
  r.Fill(3, {Packet("b3")});
  ASSERT_EQ(r.ring().Acquire(), r.Desc(2));
  r.ring().Release();
  ASSERT_EQ(r.ring().Acquire(), r.Desc(3));
  r.ring().Release();
  EXPECT_EQ(r.ring().Acquire(), nullptr) << "wrapped around to block 0, which the kernel owns again";
  r.Fill(0, {Packet("again")});
  EXPECT_EQ(r.ring().Acquire(), r.Desc(0));
}

TEST(Ring, PacketFieldsAsTheKernelWroteThem) {
  SyntheticRing r;
  Written tagged = Packet("tagged", 7);
  tagged.status = TP_STATUS_VLAN_VALID | TP_STATUS_VLAN_TPID_VALID;
  tagged.tci = 0x2005;
  tagged.tpid = ETH_P_8021AD;
  tagged.pkttype = PACKET_HOST;
  Written prio = Packet("priority only", 8);
  prio.status = TP_STATUS_VLAN_VALID;  // TCI 0 is still a tag; no TPID reported
  prio.tpid = 0x9999;
  Written cut = Packet("cut short", 9);
  cut.wirelen = static_cast<uint32_t>(cut.frame.size() + 100);
  cut.ifindex = 77;  // another interface, in the same block
  const std::vector<Written> pkts = {Packet("plain"), tagged, prio, cut};
  r.Fill(0, pkts);
  uint32_t refused = 99;
  const std::vector<RingPacket> got = r.Walk(&refused);
  EXPECT_EQ(refused, 0u);
  ASSERT_EQ(got.size(), pkts.size());
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(Bytes(got[i].frame, got[i].frame + got[i].caplen), pkts[i].frame) << i;
    EXPECT_EQ(got[i].sec, pkts[i].sec);
    EXPECT_EQ(got[i].nsec, 123456789u);
    EXPECT_EQ(got[i].wirelen, pkts[i].wirelen);
    EXPECT_EQ(got[i].pkttype, pkts[i].pkttype);
    EXPECT_EQ(got[i].ifindex, pkts[i].ifindex) << "each frame names its interface";
  }
  EXPECT_FALSE(got[0].vlan_valid);
  EXPECT_TRUE(got[1].vlan_valid);
  EXPECT_EQ(got[1].vlan_tci, 0x2005);
  EXPECT_EQ(got[1].vlan_tpid, ETH_P_8021AD);
  EXPECT_TRUE(got[2].vlan_valid);
  EXPECT_EQ(got[2].vlan_tci, 0);
  EXPECT_EQ(got[2].vlan_tpid, 0) << "the TPID only when the kernel says it is valid";
}

TEST(Ring, AFullBlockToTheLastByte) {
  SyntheticRing r;
  // Frames until the block is full; in the last block, so that one byte
  // read past it hits the guard page.
  std::vector<Written> pkts;
  size_t used = TPACKET_ALIGN(sizeof(tpacket_block_desc));
  const size_t per = TPACKET_ALIGN(TPACKET_ALIGN(kHdr + sizeof(sockaddr_ll)) + 2 + Packet("x").frame.size());
  while (used + per <= kBlockSize) {
    pkts.push_back(Packet("x"));
    used += per;
  }
  for (uint32_t b = 0; b < kBlocks - 1; b++) {
    r.Fill(b, {});
    ASSERT_NE(r.ring().Acquire(), nullptr);
    r.ring().Release();
  }
  r.Fill(kBlocks - 1, pkts);
  // Stretch the last frame's snaplen to the very end of the block.
  tpacket_block_desc* d = r.Desc(kBlocks - 1);
  size_t off = d->hdr.bh1.offset_to_first_pkt;
  for (size_t i = 0; i + 1 < pkts.size(); i++)
    off += reinterpret_cast<tpacket3_hdr*>(r.Block(kBlocks - 1) + off)->tp_next_offset;
  auto* last = reinterpret_cast<tpacket3_hdr*>(r.Block(kBlocks - 1) + off);
  last->tp_snaplen = static_cast<uint32_t>(kBlockSize - off - last->tp_mac);
  uint32_t refused = 99;
  std::vector<RingPacket> got = r.Walk(&refused);
  EXPECT_EQ(refused, 0u);
  ASSERT_EQ(got.size(), pkts.size());
  EXPECT_EQ(got.back().frame + got.back().caplen, r.Block(kBlocks - 1) + kBlockSize);
  r.ring().Release();
  // One byte more is refused, not read.
  r.Fill(0, {});
  ASSERT_NE(r.ring().Acquire(), nullptr);
  r.ring().Release();
  for (uint32_t b = 1; b < kBlocks - 1; b++) {
    r.Fill(b, {});
    ASSERT_NE(r.ring().Acquire(), nullptr);
    r.ring().Release();
  }
  r.Fill(kBlocks - 1, pkts);
  last->tp_snaplen = static_cast<uint32_t>(kBlockSize - off - last->tp_mac + 1);
  got = r.Walk(&refused);
  EXPECT_EQ(got.size(), pkts.size() - 1);
  EXPECT_EQ(refused, 1u);
}

// Offsets the kernel would never write: each ends the block, and the
// packets not walked are counted.
TEST(Ring, BadOffsetsEndTheBlockCounted) {
  struct Corruption {
    const char* what;
    void (*apply)(tpacket_block_desc* d, uint8_t* block);
    size_t walked;
  };
  auto second = [](tpacket_block_desc* d, uint8_t* block) {
    const size_t first = d->hdr.bh1.offset_to_first_pkt;
    return reinterpret_cast<tpacket3_hdr*>(block + first +
                                           reinterpret_cast<tpacket3_hdr*>(block + first)->tp_next_offset);
  };
  static decltype(second) s_second = second;
  const Corruption cases[] = {
      {"first packet past the block",
       [](tpacket_block_desc* d, uint8_t*) { d->hdr.bh1.offset_to_first_pkt = kBlockSize; }, 0},
      {"first packet with no room for its headers",
       [](tpacket_block_desc* d, uint8_t*) { d->hdr.bh1.offset_to_first_pkt = kBlockSize - 40; }, 0},
      {"tp_mac past the block", [](tpacket_block_desc* d, uint8_t* b) { s_second(d, b)->tp_mac = 0xffff; }, 1},
      {"snaplen past the block", [](tpacket_block_desc* d, uint8_t* b) { s_second(d, b)->tp_snaplen = kBlockSize; }, 1},
      {"snaplen wrapping round", [](tpacket_block_desc* d, uint8_t* b) { s_second(d, b)->tp_snaplen = 0xffffffff; }, 1},
      {"next offset past the block",
       [](tpacket_block_desc* d, uint8_t* b) {
         reinterpret_cast<tpacket3_hdr*>(b + d->hdr.bh1.offset_to_first_pkt)->tp_next_offset = kBlockSize;
       },
       1},
  };
  for (const Corruption& c : cases) {
    SyntheticRing r;
    r.Fill(0, {Packet("one"), Packet("two"), Packet("three")});
    c.apply(r.Desc(0), r.Block(0));
    uint32_t refused = 0;
    const std::vector<RingPacket> got = r.Walk(&refused);
    EXPECT_EQ(got.size(), c.walked) << c.what;
    EXPECT_EQ(refused, 3 - c.walked) << c.what;
  }
  // A packet count above what the block holds: the last packet's zero
  // next offset ends the walk.
  SyntheticRing r;
  r.Fill(0, {Packet("one"), Packet("two")});
  r.Desc(0)->hdr.bh1.num_pkts = 1000;
  uint32_t refused = 99;
  EXPECT_EQ(r.Walk(&refused).size(), 2u);
  EXPECT_EQ(refused, 0u);
}

// What the capture sheds by: how many blocks from the next one in ring
// order are ours and not yet taken (capture.cc keeps the kernel some).
TEST(Ring, UserBlocksCountsFromTheNextInRingOrder) {
  SyntheticRing r;
  EXPECT_EQ(r.ring().UserBlocks(), 0u);
  EXPECT_EQ(r.ring().block_count(), kBlocks);
  r.Fill(1, {Packet("b1")});
  EXPECT_EQ(r.ring().UserBlocks(), 0u) << "block 0, the next in order, is still the kernel's";
  r.Fill(0, {Packet("b0")});
  EXPECT_EQ(r.ring().UserBlocks(), 2u);
  r.Fill(2, {Packet("b2")});
  r.Fill(3, {Packet("b3")});
  EXPECT_EQ(r.ring().UserBlocks(), kBlocks) << "full: the kernel would freeze";
  ASSERT_NE(r.ring().Acquire(), nullptr);
  EXPECT_EQ(r.ring().UserBlocks(), kBlocks) << "a held block is still ours";
  r.ring().Release();
  EXPECT_EQ(r.ring().UserBlocks(), kBlocks - 1);
  for (uint32_t b = 1; b < kBlocks; b++) {
    ASSERT_NE(r.ring().Acquire(), nullptr);
    r.ring().Release();
  }
  EXPECT_EQ(r.ring().UserBlocks(), 0u) << "all handed back, wrapped round";
}

TEST(Ring, StatsWithNoSocketAreZero) {
  SyntheticRing r;
  const netbeacon::RingStats s = r.ring().ReadStats();
  EXPECT_EQ(s.packets, 0u);
  EXPECT_EQ(s.drops, 0u);
  EXPECT_EQ(s.freezes, 0u);
  EXPECT_EQ(r.ring().fd(), -1);
  EXPECT_EQ(r.ring().block_size(), kBlockSize);
}

}  // namespace
