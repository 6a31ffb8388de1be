// TPACKET_V3 receive ring. Kernel behaviour this code depends on (see
// net/packet/af_packet.c and Documentation/networking/packet_mmap.rst):
// - The kernel fills blocks strictly in ring order. When the next block is
//   still owned by user space the queue "freezes": every packet that passes
//   the filter is dropped (tp_drops) until that very block is given back
//   (tp_freeze_q_cnt counts the freezes). So blocks are released promptly
//   and in order, and user space walks them in the same order.
// - A block becomes ours when block_status has TP_STATUS_USER. The kernel
//   writes the packets, issues a write barrier, then sets the status; our
//   acquire load pairs with that barrier. Handing it back is a release store
//   of TP_STATUS_KERNEL, so our reads of the block complete before the
//   kernel may overwrite it.
// - poll() says POLLIN when the block before the kernel's current one was
//   retired to user space (full, or the retire timer fired on a non-empty
//   block). POLLERR reports sk_err, which a socket bound to one device gets
//   as ENETDOWN when that device goes down or away; bound to every device
//   (ifindex 0), it gets none (packet_notifier matches po->ifindex), so the
//   capture learns that an interface went from rtnetlink instead.
// - PACKET_STATISTICS zeroes the counters on each read, and for V3 adds the
//   drops into tp_packets. The counters are the socket's: with one socket
//   for every interface they cannot say which interface a drop was from.
// - Bound to ifindex 0, the socket sees every device of the namespace; the
//   filter (SKF_AD_IFINDEX) keeps the captured ones, and each frame's
//   sockaddr_ll names its device.
#include "ring.h"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "bpf.h"

namespace netbeacon {

std::unique_ptr<Ring> Ring::Open(const std::string& ifname, int ifindex, const RingOptions& opts, int* err,
                                 const char** step) {
  std::unique_ptr<Ring> r(new Ring(ifname, ifindex, opts));
  *err = r->Setup(step);
  if (*err != 0) return nullptr;
  return r;
}

std::unique_ptr<Ring> Ring::Adopt(uint8_t* map, const RingOptions& opts) {
  std::unique_ptr<Ring> r(new Ring("synthetic", 0, opts));
  r->map_ = map;
  r->map_len_ = static_cast<size_t>(opts.block_size) * opts.block_count;
  return r;
}

int Ring::Setup(const char** step) {
  // Protocol 0: the socket is hooked into no receive path until bind()
  // names one, so nothing is queued while we configure it.
  *step = "socket(AF_PACKET)";
  fd_ = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return errno;
  // Drop everything until the ring and the real filter are in place.
  *step = "SO_ATTACH_FILTER (drop all)";
  if (int e = AttachFilter(fd_, DropAllFilter())) return e;
  *step = "PACKET_VERSION";
  int v = TPACKET_V3;
  if (setsockopt(fd_, SOL_PACKET, PACKET_VERSION, &v, sizeof v) != 0) return errno;
  // Our own transmissions on this socket's interface are not beacons
  // received (MAAS runs tcpdump --direction=in). Linux >= 4.20; older
  // kernels say ENOPROTOOPT and the worker skips PACKET_OUTGOING itself.
  int one = 1;
  if (setsockopt(fd_, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) != 0 && errno != ENOPROTOOPT) {
    *step = "PACKET_IGNORE_OUTGOING";
    return errno;
  }
  *step = "PACKET_RX_RING";
  tpacket_req3 req{};
  req.tp_block_size = opts_.block_size;
  req.tp_block_nr = opts_.block_count;
  // V3 frames are variable length; tp_frame_size only has to divide the
  // block evenly and be TPACKET_ALIGNMENT-aligned for the kernel's checks.
  req.tp_frame_size = 2048;
  req.tp_frame_nr = (opts_.block_size / req.tp_frame_size) * opts_.block_count;
  req.tp_retire_blk_tov = opts_.retire_ms;
  req.tp_feature_req_word = 0;
  if (setsockopt(fd_, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) return errno;
  *step = "mmap";
  map_len_ = static_cast<size_t>(opts_.block_size) * opts_.block_count;
  // No MAP_LOCKED: the ring is kernel pages mapped into us, never swapped.
  void* m = mmap(nullptr, map_len_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
  if (m == MAP_FAILED) {
    map_len_ = 0;
    return errno;
  }
  map_ = static_cast<uint8_t*>(m);
  *step = "bind";
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex_;  // 0: every interface of the namespace
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) return errno;
  if (ifindex_ > 0) Join(ifindex_);
  // The filter still drops everything (SetFilter() replaces it): start
  // with zeroed counters.
  tpacket_stats_v3 st{};
  socklen_t sl = sizeof st;
  (void)getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
  return 0;
}

int Ring::SetFilter(const std::vector<sock_filter>& prog) { return AttachFilter(fd_, prog); }

namespace {
const uint8_t kGroups[2][6] = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x76}, {0x33, 0x33, 0x00, 0x00, 0x01, 0x5a}};

void Membership(int fd, int ifindex, int op) {
  for (const auto& g : kGroups) {
    packet_mreq mr{};
    mr.mr_ifindex = ifindex;
    mr.mr_type = PACKET_MR_MULTICAST;
    mr.mr_alen = 6;
    std::memcpy(mr.mr_address, g, 6);
    (void)setsockopt(fd, SOL_PACKET, op, &mr, sizeof mr);  // best effort
  }
}
}  // namespace

// Not promiscuous: a link-layer membership per group, which the kernel
// drops when the socket closes (or the device goes away).
void Ring::Join(int ifindex) { Membership(fd_, ifindex, PACKET_ADD_MEMBERSHIP); }
void Ring::Leave(int ifindex) { Membership(fd_, ifindex, PACKET_DROP_MEMBERSHIP); }

uint32_t Ring::UserBlocks() const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < opts_.block_count; i++) {
    const tpacket_block_desc* b = Block((current_ + i) % opts_.block_count);
    if ((__atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) == 0) break;
    n++;
  }
  return n;
}

Ring::~Ring() {
  if (map_ != nullptr) munmap(map_, map_len_);
  if (fd_ >= 0) close(fd_);
}

const tpacket_block_desc* Ring::Acquire() {
  if (held_) return Block(current_);
  tpacket_block_desc* b = Block(current_);
  const uint32_t status = __atomic_load_n(&b->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
  if ((status & TP_STATUS_USER) == 0) return nullptr;
  held_ = true;
  return b;
}

void Ring::Release() {
  if (!held_) return;
  __atomic_store_n(&Block(current_)->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
  held_ = false;
  current_ = (current_ + 1) % opts_.block_count;
}

bool Ring::DecodePacket(const uint8_t* block, size_t off, RingPacket* out, uint32_t* next) const {
  const size_t bs = opts_.block_size;
  const size_t sll_off = TPACKET_ALIGN(sizeof(tpacket3_hdr));
  if (off >= bs || bs - off < sll_off + sizeof(sockaddr_ll)) return false;
  tpacket3_hdr h;
  std::memcpy(&h, block + off, sizeof h);
  if (h.tp_mac > bs - off || h.tp_snaplen > bs - off - h.tp_mac) return false;
  sockaddr_ll sll;
  std::memcpy(&sll, block + off + sll_off, sizeof sll);
  out->frame = block + off + h.tp_mac;
  out->caplen = h.tp_snaplen;
  out->wirelen = h.tp_len;
  out->sec = h.tp_sec;
  out->nsec = h.tp_nsec;
  // TP_STATUS_VLAN_VALID, not tp_vlan_tci != 0: a priority-only tag has
  // VID 0 (and TCI 0 is possible) yet is a tag.
  out->vlan_valid = (h.tp_status & TP_STATUS_VLAN_VALID) != 0;
  out->vlan_tci = static_cast<uint16_t>(h.hv1.tp_vlan_tci);
  out->vlan_tpid = (h.tp_status & TP_STATUS_VLAN_TPID_VALID) ? h.hv1.tp_vlan_tpid : 0;
  out->pkttype = sll.sll_pkttype;
  out->ifindex = sll.sll_ifindex;
  *next = h.tp_next_offset;
  return true;
}

RingStats Ring::ReadStats() {
  std::lock_guard<std::mutex> lock(stats_mu_);
  tpacket_stats_v3 st{};
  socklen_t sl = sizeof st;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) {
    // V3 reports tp_packets with the drops already added in.
    totals_.packets += st.tp_packets >= st.tp_drops ? st.tp_packets - st.tp_drops : 0;
    totals_.drops += st.tp_drops;
    totals_.freezes += st.tp_freeze_q_cnt;
  }
  return totals_;
}

}  // namespace netbeacon
