// The capture worker. One thread polls the shared ring, an eventfd
// (wake-ups for added/removed interfaces, returned batch slots, stop) and
// an rtnetlink socket (RTM_DELLINK: a captured interface is gone). For each
// retired block it parses and verifies every frame into one batch slot and
// posts that slot to JS: one crossing per block, never per packet. Frames
// name their interface (sll_ifindex); the worker counts them per interface.
//
// Backpressure: the slots are a fixed pool. When JS holds them all, the
// worker stops taking blocks to parse, and the kernel fills the ring's
// free blocks. Before it runs out of them (and would drop frames it cannot
// name an interface for: PACKET_STATISTICS counts drops per socket), the
// worker sheds the oldest blocks itself, unparsed, counting their frames
// per interface: so the drops of a shared ring are still counted per
// interface, exactly (Shed). Nothing is allocated per packet or per block.
#include "capture.h"

#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "bpf.h"
#include "frame.h"
#include "netlink.h"

namespace netbeacon {

struct Capture::Tap {
  std::string name;
  int ifindex = 0;
  std::atomic<uint64_t> packets{0}, shed{0}, beacons{0}, rejected{0}, skipped{0};
};

namespace {

void Put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }  // little-endian host (x86, arm64)
void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

std::string ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

// While JS holds every batch slot, the worker looks at the ring this often
// (at most every retire period) to shed before the kernel runs out.
int ShedCheckMs(uint32_t retire_ms) {
  return static_cast<int>(std::min<uint32_t>(10, std::max<uint32_t>(1, retire_ms / 2)));
}

// Blocks left to the kernel before the worker sheds: an eighth of the
// ring, at least two (its current block and one more). At 100,000
// beacons/s a 256 KiB block fills in ~6 ms, so 8 blocks are ~50 ms of
// margin against a 5 ms check.
uint32_t ShedMargin(uint32_t block_count) { return std::max<uint32_t>(2, block_count / 8); }

}  // namespace

Capture::Tap* Capture::View::Find(int ifindex) const {
  auto it = std::lower_bound(taps.begin(), taps.end(), ifindex, [](const auto& e, int i) { return e.first < i; });
  return it != taps.end() && it->first == ifindex ? it->second.get() : nullptr;
}

Capture::Capture(const CaptureOptions& opts, std::vector<BatchSlot> slots, CaptureSink* sink)
    : opts_(opts), slots_(std::move(slots)), sink_(sink), link_buf_(rtnl::kRecvBuffer), scratch_(kMaxInflated) {}

Capture::~Capture() { Stop(); }

void Capture::Start() {
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  link_fd_ = rtnl::OpenSocket(RTMGRP_LINK, &link_portid_);
  if (link_fd_ < 0) {
    const int e = -link_fd_;
    link_fd_ = -1;
    throw std::system_error(e, std::generic_category(), "rtnetlink socket (to see interfaces go)");
  }
  for (uint32_t i = 0; i < slots_.size(); i++) free_.push_back(i);
  std::promise<std::string> started;
  std::future<std::string> result = started.get_future();
  worker_ = std::thread(&Capture::Run, this, &started);
  std::string err = result.get();
  if (!err.empty()) {
    worker_.join();
    throw std::runtime_error("capture worker: " + err);
  }
}

void Capture::Run(std::promise<std::string>* started) {
  try {
    keys_.reset(new KeyRing(opts_.keys));
  } catch (const std::exception& e) {
    started->set_value(e.what());
    return;
  }
  started->set_value("");  // `started` dies with Start()'s frame after this
  try {
    Loop();
  } catch (const std::exception& e) {
    sink_->OnError(std::string("capture worker stopped: ") + e.what());
  }
}

void Capture::Wake() {
  if (event_fd_ < 0) return;  // stopped (Stop runs on the JS thread, as do its callers)
  const uint64_t one = 1;
  ssize_t n = write(event_fd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: awake anyway
}

uint32_t Capture::SetKeys(const std::vector<KeyMaterial>& keys) {
  std::unique_ptr<KeyRing> ring(new KeyRing(keys));  // throws: nothing changed
  std::lock_guard<std::mutex> lock(mu_);
  pending_keys_ = std::move(ring);
  pending_key_gen_ = ++key_gen_count_;
  keys_pending_.store(true, std::memory_order_release);
  return pending_key_gen_;
}

void Capture::TakeKeys() {
  if (!keys_pending_.load(std::memory_order_acquire)) return;
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(pending_keys_);
  key_gen_ = static_cast<uint8_t>(pending_key_gen_);
  keys_pending_.store(false, std::memory_order_relaxed);
}

void Capture::Refresh(View* v) {
  const uint64_t g = generation_.load(std::memory_order_acquire);
  if (g == v->generation) return;
  std::lock_guard<std::mutex> lock(mu_);
  v->generation = generation_.load();
  v->ring = ring_;
  v->taps.clear();
  for (auto& kv : taps_) v->taps.emplace_back(kv.first, kv.second);  // a std::map: sorted by ifindex
}

void Capture::Loop() {
  View v;
  std::vector<pollfd> fds;
  while (!stopping_.load(std::memory_order_acquire)) {
    Refresh(&v);
    TakeKeys();
    ProcessBlocks(&v);
    // Poll the ring only when a block could be taken: otherwise a ready
    // ring would wake us again and again with nowhere to put its block.
    bool can_take = have_slot_;
    if (!can_take) {
      std::lock_guard<std::mutex> lock(mu_);
      can_take = !free_.empty();
    }
    fds.clear();
    fds.push_back({event_fd_, POLLIN, 0});
    fds.push_back({link_fd_, POLLIN, 0});
    if (v.ring) fds.push_back({v.ring->fd(), static_cast<short>(can_take ? POLLIN : 0), 0});
    const int timeout = v.ring && !can_take ? ShedCheckMs(opts_.ring.retire_ms) : -1;
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    if (fds[0].revents & POLLIN) {
      uint64_t val;
      ssize_t r = read(event_fd_, &val, sizeof val);
      (void)r;
    }
    if (fds[1].revents & POLLIN) ReadLinkEvents();
    if (v.ring && (fds[2].revents & POLLERR)) {
      // Bound to every interface, the socket gets no device errors; anything else is worth a line.
      int err = 0;
      socklen_t len = sizeof err;
      (void)getsockopt(v.ring->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) sink_->OnError("capture socket error " + ErrnoName(err) + ": " + std::strerror(err));
    }
    if (v.ring && !can_take) {
      Refresh(&v);
      Shed(v);
    }
  }
}

// Blocks in ring order (the kernel fills them in time order, so the shared
// ring is fair to the interfaces by arrival).
void Capture::ProcessBlocks(View* v) {
  while (!stopping_.load(std::memory_order_acquire)) {
    Refresh(v);  // a tap added since: its frames may be in the next block
    if (!v->ring) return;
    if (!have_slot_ && !TakeSlot()) return;
    const tpacket_block_desc* block = v->ring->Acquire();
    if (block == nullptr) return;
    FillFromBlock(*v, block);
    v->ring->Release();
    if (count_ > 0) Post();
  }
}

void Capture::FillFromBlock(const View& v, const tpacket_block_desc* block) {
  bool ok = true;
  const uint32_t bad = v.ring->ForEachPacket(block, [&](const RingPacket& p) {
    if (!ok) return;
    Tap* tap = v.Find(p.ifindex);
    if (tap == nullptr) {
      // Kernels before 4.20 lack PACKET_IGNORE_OUTGOING: our own sends are not counted.
      if (p.pkttype != PACKET_OUTGOING) unclaimed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    ok = Record(*tap, p);
  });
  // Frames whose offsets the kernel wrote wrongly name no interface we can trust.
  unclaimed_.fetch_add(bad, std::memory_order_relaxed);
}

// JS holds every slot: the kernel is filling the ring's free blocks. Give
// it back the oldest before it runs out, counting each frame for its
// interface: the kernel could only count them for the socket.
void Capture::Shed(const View& v) {
  Ring& ring = *v.ring;
  const uint32_t margin = ShedMargin(ring.block_count());
  while (ring.UserBlocks() + margin >= ring.block_count()) {
    const tpacket_block_desc* block = ring.Acquire();
    if (block == nullptr) return;
    const uint32_t bad = ring.ForEachPacket(block, [&](const RingPacket& p) {
      if (p.pkttype == PACKET_OUTGOING) return;
      Tap* tap = v.Find(p.ifindex);
      (tap ? tap->shed : unclaimed_).fetch_add(1, std::memory_order_relaxed);
    });
    unclaimed_.fetch_add(bad, std::memory_order_relaxed);
    ring.Release();
  }
}

// One frame to one record. False only when stopping mid-block.
bool Capture::Record(Tap& tap, const RingPacket& p) {
  // Kernels before 4.20 lack PACKET_IGNORE_OUTGOING: skip our own sends here.
  if (p.pkttype == PACKET_OUTGOING) return true;
  tap.packets.fetch_add(1, std::memory_order_relaxed);
  StrippedTag tag;
  tag.present = p.vlan_valid;
  tag.tci = p.vlan_tci;
  FrameFields ff;
  if (!ParseFrame(p.frame, p.caplen, tag, &ff)) {
    // The filter passes first fragments and malformed headers; they stop here.
    tap.skipped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  uint8_t key_index = 0;
  const VerifyResult vr =
      keys_->Verify(p.frame + ff.payload_off, ff.payload_len, p.sec, scratch_.data(), scratch_.size(), &key_index);
  const uint32_t plain_len = vr.status == kOk ? vr.plain_len : 0;
  // Only many large plaintexts fill a slot before its block ends: post it
  // early and continue in the next (the one case of two posts for a block).
  const BatchSlot* s = &slots_[slot_];
  if (count_ == s->record_cap || plain_len > s->plain_cap - plain_used_) {
    Post();
    if (!WaitSlot()) return false;
    s = &slots_[slot_];
  }
  uint8_t* r = s->records + static_cast<size_t>(count_) * rec::kSize;
  std::memset(r, 0, rec::kSize);
  Put32(r + rec::kIfindex, static_cast<uint32_t>(tap.ifindex));
  Put32(r + rec::kSec, p.sec);
  Put32(r + rec::kNsec, p.nsec);
  r[rec::kStatus] = vr.status;
  r[rec::kVersion] = vr.version;
  r[rec::kHeaderType] = vr.header_type;
  uint8_t flags = 0;
  if (ff.has_vid) flags |= rec::kFlagVid;
  if (ff.has_outer) flags |= rec::kFlagOuterVid;
  if (ff.family == 6) flags |= rec::kFlagIpv6;
  if (p.vlan_valid) flags |= rec::kFlagStripped;
  if (p.caplen < p.wirelen) flags |= rec::kFlagTruncated;
  r[rec::kFlags] = flags;
  Put16(r + rec::kVid, ff.vid);
  Put16(r + rec::kOuterVid, ff.outer_vid);
  Put16(r + rec::kSrcPort, ff.src_port);
  Put16(r + rec::kDstPort, ff.dst_port);
  std::memcpy(r + rec::kSrcMac, ff.src_mac, 6);
  std::memcpy(r + rec::kDstMac, ff.dst_mac, 6);
  std::memcpy(r + rec::kSrcIp, ff.src_ip, 16);
  std::memcpy(r + rec::kDstIp, ff.dst_ip, 16);
  Put32(r + rec::kPlainOff, static_cast<uint32_t>(plain_used_));
  Put32(r + rec::kPlainLen, plain_len);
  Put16(r + rec::kPayloadLen, static_cast<uint16_t>(ff.payload_len));
  Put16(r + rec::kPayloadOff, static_cast<uint16_t>(ff.payload_off));
  r[rec::kPktType] = p.pkttype;
  r[rec::kKeyIndex] = key_index;
  r[rec::kKeyGeneration] = key_gen_;
  if (plain_len > 0) std::memcpy(s->plain + plain_used_, scratch_.data(), plain_len);
  plain_used_ += plain_len;
  count_++;
  (vr.status == kOk ? tap.beacons : tap.rejected).fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool Capture::TakeSlot() {
  std::lock_guard<std::mutex> lock(mu_);
  if (free_.empty()) return false;
  slot_ = free_.back();
  free_.pop_back();
  have_slot_ = true;
  count_ = 0;
  plain_used_ = 0;
  return true;
}

// Blocks until JS returns a slot (mid-block only; see Record). The rings
// are not read meanwhile, which is the backpressure we want.
bool Capture::WaitSlot() {
  while (!TakeSlot()) {
    if (stopping_.load(std::memory_order_acquire)) return false;
    pollfd pfd{event_fd_, POLLIN, 0};
    if (poll(&pfd, 1, -1) < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "poll");
    uint64_t v;
    ssize_t r = read(event_fd_, &v, sizeof v);
    (void)r;
    // A wake-up for a tap change is consumed here; the loop sees generation_ move.
  }
  return true;
}

void Capture::Post() {
  if (!have_slot_) return;
  have_slot_ = false;
  sink_->OnBatch(slot_, count_, static_cast<uint32_t>(plain_used_));
  count_ = 0;
  plain_used_ = 0;
}

void Capture::ReturnSlot(uint32_t slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (slot >= slots_.size()) return;
    free_.push_back(slot);
  }
  Wake();
}

// RTM_DELLINK for a captured interface: it is gone (deleted, or moved to
// another namespace). When the kernel dropped link messages (ENOBUFS) or
// cut one, every tap is checked by name instead.
void Capture::ReadLinkEvents() {
  for (;;) {
    const ssize_t n = recv(link_fd_, link_buf_.data(), link_buf_.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if ((n < 0 && errno == ENOBUFS) || static_cast<size_t>(n) > link_buf_.size()) {
      std::vector<std::pair<int, std::string>> taps;
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& kv : taps_) taps.emplace_back(kv.first, kv.second->name);
      }
      for (auto& t : taps) {
        char name[IF_NAMESIZE] = {0};
        if (if_indextoname(static_cast<unsigned>(t.first), name) == nullptr || t.second != name) Gone(t.first);
      }
      continue;
    }
    if (n < 0) {
      sink_->OnError(std::string("rtnetlink: ") + std::strerror(errno));
      return;
    }
    std::vector<rtnl::Message> msgs;
    (void)rtnl::Parse(link_buf_.data(), static_cast<size_t>(n), 0, link_portid_, &msgs);
    for (const auto& m : msgs)
      if (m.kind == rtnl::Message::kDelLink) Gone(m.link.ifindex);
  }
}

void Capture::Gone(int ifindex) {
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = taps_.find(ifindex);
    if (it == taps_.end()) return;
    name = it->second->name;
    taps_.erase(it);
    if (const int e = UpdateFilter())
      sink_->OnError("capture filter update after " + name + " went: " + std::strerror(e));
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  sink_->OnGone(ifindex, name, "ENODEV", "interface " + name + " is gone");
}

int Capture::UpdateFilter() {
  if (!ring_) return 0;
  std::vector<int> ifindexes;
  for (auto& kv : taps_) ifindexes.push_back(kv.first);
  return ring_->SetFilter(BeaconFilterOn(ifindexes));
}

int Capture::Add(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IF_NAMESIZE)
    throw std::system_error(EINVAL, std::generic_category(), ifname + ": bad interface name");
  const unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw std::system_error(errno, std::generic_category(), ifname);
  const int ifindex = static_cast<int>(idx);
  std::shared_ptr<Ring> ring;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (taps_.count(ifindex)) throw std::system_error(EEXIST, std::generic_category(), ifname + ": already capturing");
    if (taps_.size() >= kMaxFilterInterfaces)
      throw std::system_error(
          E2BIG, std::generic_category(),
          ifname + ": one capture takes at most " + std::to_string(kMaxFilterInterfaces) + " interfaces");
    ring = ring_;
  }
  if (!ring) {
    // The first interface opens the one ring, outside the lock (its
    // blocks take tens of milliseconds to allocate).
    int err = 0;
    const char* step = "";
    std::unique_ptr<Ring> r = Ring::Open("(every interface)", 0, opts_.ring, &err, &step);
    if (!r) throw std::system_error(err, std::generic_category(), ifname + ": " + step);
    std::lock_guard<std::mutex> lock(mu_);
    if (!ring_) ring_ = std::move(r);
    ring = ring_;
  }
  ring->Join(ifindex);
  auto tap = std::make_shared<Tap>();
  tap->name = ifname;
  tap->ifindex = ifindex;
  {
    std::lock_guard<std::mutex> lock(mu_);
    taps_[ifindex] = tap;
    if (const int e = UpdateFilter()) {
      taps_.erase(ifindex);
      (void)UpdateFilter();
      ring->Leave(ifindex);
      throw std::system_error(e, std::generic_category(), ifname + ": SO_ATTACH_FILTER");
    }
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  Wake();
  // Deleted (or renamed) since if_nametoindex: then no RTM_DELLINK is
  // coming for it, since the tap was not there when it came.
  char now[IF_NAMESIZE] = {0};
  if (if_indextoname(idx, now) == nullptr || ifname != now) {
    Remove(ifname);
    throw std::system_error(ENODEV, std::generic_category(), ifname);
  }
  return ifindex;
}

bool Capture::Remove(const std::string& ifname) {
  int ifindex = 0;
  std::shared_ptr<Ring> ring;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = taps_.begin(); it != taps_.end(); ++it) {
      if (it->second->name == ifname) {
        ifindex = it->first;
        taps_.erase(it);
        break;
      }
    }
    if (ifindex == 0) return false;
    (void)UpdateFilter();  // fewer interfaces: the old filter still keeps the rest
    generation_.fetch_add(1, std::memory_order_acq_rel);
    ring = ring_;
  }
  if (ring) ring->Leave(ifindex);
  Wake();
  return true;
}

std::vector<InterfaceStats> Capture::Stats() {
  std::vector<InterfaceStats> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : taps_) {
    Tap& t = *kv.second;
    out.push_back(
        {t.name, kv.first, t.packets.load(), t.shed.load(), t.beacons.load(), t.rejected.load(), t.skipped.load()});
  }
  return out;
}

SharedRingStats Capture::RingTotals() {
  SharedRingStats s;
  std::shared_ptr<Ring> ring;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ring = ring_;
  }
  s.unclaimed = unclaimed_.load();
  if (!ring) return s;
  s.open = true;
  s.kernel = ring->ReadStats();
  s.block_size = opts_.ring.block_size;
  s.block_count = opts_.ring.block_count;
  return s;
}

void Capture::Stop() {
  if (worker_.joinable()) {
    stopping_.store(true, std::memory_order_release);
    Wake();
    worker_.join();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    taps_.clear();
    ring_.reset();
  }
  if (link_fd_ >= 0) {
    close(link_fd_);
    link_fd_ = -1;
  }
  if (event_fd_ >= 0) {
    close(event_fd_);
    event_fd_ = -1;
  }
}

}  // namespace netbeacon
