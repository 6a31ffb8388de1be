// The AF_PACKET TPACKET_V3 receive ring. One ring serves every captured
// interface: the socket is bound to all of them (ifindex 0), the BPF
// filter keeps beacons arriving on the captured ones (SKF_AD_IFINDEX), and
// each frame names its interface (sll_ifindex), so memory and descriptors
// do not grow with the number of interfaces (README, "Many interfaces").
#pragma once
#include <linux/filter.h>
#include <linux/if_packet.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace netbeacon {

// Defaults, for beacons of ~300 bytes (a ring slot of ~430 bytes with the
// TPACKET header and alignment), a 100,000 packets/s target without drops,
// and ~10 ms from the wire to JS:
// - block_size 256 KiB: holds ~600 beacons, filled in ~6 ms at 100k/s, so
//   the block (one batch, one call into JS) is handed over within the
//   10 ms latency budget even at full rate; an order-6 allocation, which
//   the kernel finds far more readily than 1 MiB ones (measured here: 256
//   MiB of 1 MiB blocks took ~1 s to set up, of 256 KiB blocks 45 ms).
//   Larger than any frame (the kernel truncates frames to a block).
// - retire_ms 10: at low rates the kernel hands over a partly filled block
//   after 10 ms, the latency budget. It never retires an empty block.
// - block_count 64 (16 MiB, for every interface together): JS stalls (GC, a slow batch) are covered
//   by blocks the kernel can still fill: 64 x ~6 ms = ~380 ms at 100k/s, and
//   64 x 10 ms = 640 ms at low rates (a timed-out block is retired however
//   empty, so at low rates cover is counted in blocks x retire_ms, not bytes).
struct RingOptions {
  uint32_t block_size = 256 * 1024;
  uint32_t block_count = 64;
  uint32_t retire_ms = 10;
};

struct RingStats {
  uint64_t packets = 0;  // passed the filter (the kernel counts drops in too; removed)
  uint64_t drops = 0;    // passed the filter, no room in the ring
  uint64_t freezes = 0;  // times the queue froze on a block still held by us
};

// One frame of a retired block, bounds-checked against the block.
struct RingPacket {
  const uint8_t* frame;
  uint32_t caplen;
  uint32_t wirelen;
  uint32_t sec;
  uint32_t nsec;
  bool vlan_valid;  // TP_STATUS_VLAN_VALID: the kernel stripped a tag
  uint16_t vlan_tci;
  uint16_t vlan_tpid;  // 0 unless TP_STATUS_VLAN_TPID_VALID
  uint8_t pkttype;     // sll_pkttype: PACKET_HOST, _MULTICAST, _LOOPBACK...
  int ifindex;         // sll_ifindex: the interface it arrived on
};

class Ring {
 public:
  // Opens, configures and binds the ring, with a filter that drops
  // everything until SetFilter(). ifindex 0 binds it to every interface of
  // the namespace (`ifname` then only names it in messages). On failure
  // returns null and sets *err (errno) and *step.
  static std::unique_ptr<Ring> Open(const std::string& ifname, int ifindex, const RingOptions& opts, int* err,
                                    const char** step);
  // A ring with no socket over `map` (mmap()ed, block_count x block_size
  // bytes, laid out as the kernel lays out a TPACKET_V3 ring), which it
  // adopts: the C++ tests' synthetic rings (native/test/ring_test.cc).
  static std::unique_ptr<Ring> Adopt(uint8_t* map, const RingOptions& opts);
  ~Ring();
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;

  int fd() const { return fd_; }
  int ifindex() const { return ifindex_; }
  const std::string& name() const { return name_; }
  uint32_t block_size() const { return opts_.block_size; }

  // The next block in ring order if the kernel has handed it to us, else
  // null. Blocks must be released in the order acquired, one at a time.
  const tpacket_block_desc* Acquire();
  void Release();

  // Calls fn(const RingPacket&) for each frame; skips (and counts in the
  // return value) any whose offsets do not fit in the block.
  template <typename F>
  uint32_t ForEachPacket(const tpacket_block_desc* block, F&& fn) const;

  // Adds the kernel's counters (which it zeroes on every read) to the totals.
  RingStats ReadStats();

  // Replaces the BPF filter (atomically: the kernel swaps it). Returns 0 or an errno.
  int SetFilter(const std::vector<sock_filter>& prog);
  // A link-layer membership of the beacon groups on `ifindex`, so that its
  // NIC passes their frames up even when no IP socket joined them (an
  // interface without addresses). Best effort; Leave() drops it.
  void Join(int ifindex);
  void Leave(int ifindex);

  // Blocks handed to us and not yet released, from the next one in ring
  // order: how close the kernel is to running out of blocks.
  uint32_t UserBlocks() const;
  uint32_t block_count() const { return opts_.block_count; }

 private:
  Ring(std::string name, int ifindex, const RingOptions& opts)
      : name_(std::move(name)), ifindex_(ifindex), opts_(opts) {}
  int Setup(const char** step);
  tpacket_block_desc* Block(uint32_t i) const {
    return reinterpret_cast<tpacket_block_desc*>(map_ + static_cast<size_t>(i) * opts_.block_size);
  }
  bool DecodePacket(const uint8_t* block, size_t off, RingPacket* out, uint32_t* next) const;

  std::string name_;
  int ifindex_;
  RingOptions opts_;
  int fd_ = -1;
  uint8_t* map_ = nullptr;  // block_count x block_size, shared with the kernel
  size_t map_len_ = 0;
  uint32_t current_ = 0;  // next block to look at; the kernel fills in order
  bool held_ = false;     // current_ acquired, not yet released
  std::mutex stats_mu_;   // ReadStats runs on the JS thread and the worker
  RingStats totals_;
};

template <typename F>
uint32_t Ring::ForEachPacket(const tpacket_block_desc* block, F&& fn) const {
  const auto* base = reinterpret_cast<const uint8_t*>(block);
  const uint32_t n = block->hdr.bh1.num_pkts;
  size_t off = block->hdr.bh1.offset_to_first_pkt;
  for (uint32_t i = 0; i < n; i++) {
    RingPacket p;
    uint32_t next = 0;
    // The kernel wrote these offsets; a bad one ends the block, counted.
    if (!DecodePacket(base, off, &p, &next)) return n - i;
    fn(p);
    if (next == 0) break;  // the last frame of a block may say 0
    off += next;
  }
  return 0;
}

}  // namespace netbeacon
