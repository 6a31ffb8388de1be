// The capture worker. One thread polls every ring plus an eventfd (wake-ups
// for added/removed interfaces, returned batch slots, stop). For each
// retired block it parses and verifies every frame into one batch slot and
// posts that slot to JS: one crossing per block, never per packet.
//
// Backpressure: the slots are a fixed pool. When JS holds them all, the
// worker stops taking blocks from the rings (and stops polling them); the
// kernel then fills the ring's free blocks, then drops and counts the drops
// in PACKET_STATISTICS. Nothing is allocated per packet or per block.
#include "capture.h"

#include <linux/if_packet.h>
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

#include "frame.h"

namespace netbeacon {

struct Capture::Tap {
  std::unique_ptr<Ring> ring;
  bool down = false;  // the interface went down (or away: being checked)
  bool gone = false;  // reported gone; the worker skips it
  std::atomic<uint64_t> beacons{0}, rejected{0}, skipped{0};
};

namespace {

// While an interface is down its socket is unhooked and raises no further
// POLLERR when the device is then deleted, so down taps are re-checked on
// this period.
constexpr int kDownRecheckMs = 250;

void Put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }  // little-endian host (x86, arm64)
void Put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// SIOCGIFFLAGS works on any socket, the packet socket included.
bool IsUp(int fd, const std::string& name) {
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), std::min(name.size(), sizeof ifr.ifr_name - 1));
  return ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP) != 0;
}

std::string ErrnoName(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

}  // namespace

Capture::Capture(const CaptureOptions& opts, std::vector<BatchSlot> slots, CaptureSink* sink)
    : opts_(opts), slots_(std::move(slots)), sink_(sink), scratch_(kMaxInflated) {}

Capture::~Capture() { Stop(); }

void Capture::Start() {
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
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

void Capture::Loop() {
  TapList taps;
  uint64_t seen = ~uint64_t{0};
  std::vector<pollfd> fds;
  while (!stopping_.load(std::memory_order_acquire)) {
    if (generation_.load(std::memory_order_acquire) != seen) {
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_.load();
      taps.clear();
      for (auto& kv : taps_) taps.push_back(kv.second);
    }
    TakeKeys();
    ProcessBlocks(taps);
    // Poll the rings only when a block could be taken: otherwise a ready
    // ring would wake us again and again with nowhere to put its block.
    bool can_take = have_slot_;
    if (!can_take) {
      std::lock_guard<std::mutex> lock(mu_);
      can_take = !free_.empty();
    }
    fds.clear();
    fds.push_back({event_fd_, POLLIN, 0});
    bool any_down = false;
    for (auto& t : taps) {
      any_down = any_down || (t->down && !t->gone);
      // POLLERR is reported whatever `events` says; keep polling for it.
      fds.push_back({t->ring->fd(), static_cast<short>(can_take ? POLLIN : 0), 0});
    }
    int n = poll(fds.data(), fds.size(), any_down ? kDownRecheckMs : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    if (fds[0].revents & POLLIN) {
      uint64_t v;
      ssize_t r = read(event_fd_, &v, sizeof v);
      (void)r;
    }
    for (size_t i = 0; i < taps.size(); i++) {
      Tap& t = *taps[i];
      if (t.gone) continue;
      const bool err = (fds[i + 1].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
      if (err || t.down) CheckTap(t, err);
    }
  }
}

// Takes blocks round-robin, one per ring per round, so that one busy
// interface cannot starve the others.
void Capture::ProcessBlocks(const TapList& taps) {
  bool progress = true;
  while (progress && !stopping_.load(std::memory_order_acquire)) {
    progress = false;
    for (auto& t : taps) {
      if (t->gone) continue;
      if (!have_slot_ && !TakeSlot()) return;
      const tpacket_block_desc* block = t->ring->Acquire();
      if (block == nullptr) continue;
      FillFromBlock(*t, block);
      t->ring->Release();
      if (count_ > 0) Post();
      progress = true;
    }
  }
}

void Capture::FillFromBlock(Tap& tap, const tpacket_block_desc* block) {
  bool ok = true;
  const uint32_t bad = tap.ring->ForEachPacket(block, [&](const RingPacket& p) {
    if (ok) ok = Record(tap, p);
  });
  tap.skipped.fetch_add(bad, std::memory_order_relaxed);
}

// One frame to one record. False only when stopping mid-block.
bool Capture::Record(Tap& tap, const RingPacket& p) {
  // Kernels before 4.20 lack PACKET_IGNORE_OUTGOING: skip our own sends here.
  if (p.pkttype == PACKET_OUTGOING) return true;
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
  Put32(r + rec::kIfindex, static_cast<uint32_t>(tap.ring->ifindex()));
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
    // A wake-up for a tap change is consumed here; make the loop re-read taps.
    generation_.fetch_add(1, std::memory_order_acq_rel);
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

// POLLERR on a packet socket is sk_err: ENETDOWN when its device went down
// or is being deleted (a deletion downs the device first). Reading SO_ERROR
// clears it. Whether the device still exists is what getsockname says: the
// kernel sets the socket's ifindex to -1 when its device unregisters
// (also when it moves to another namespace), which is exact even if the
// ifindex is later reused. A device that is only down keeps the socket: the
// kernel re-hooks it when the device comes back up.
void Capture::CheckTap(Tap& tap, bool had_error) {
  int err = 0;
  socklen_t len = sizeof err;
  if (had_error) (void)getsockopt(tap.ring->fd(), SOL_SOCKET, SO_ERROR, &err, &len);
  sockaddr_ll sll{};
  socklen_t slen = sizeof sll;
  const bool named = getsockname(tap.ring->fd(), reinterpret_cast<sockaddr*>(&sll), &slen) == 0;
  const bool gone = !named || sll.sll_ifindex <= 0;
  if (!gone) {
    if (err == ENETDOWN) {
      tap.down = true;
    } else if (err != 0) {
      sink_->OnError(tap.ring->name() + ": capture socket error " + ErrnoName(err) + ": " + std::strerror(err));
    }
    if (tap.down && IsUp(tap.ring->fd(), tap.ring->name())) tap.down = false;
    return;
  }
  tap.gone = true;
  const int ifindex = tap.ring->ifindex();
  {
    std::lock_guard<std::mutex> lock(mu_);
    taps_.erase(ifindex);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  // The device is gone whatever the socket said on the way (ENETDOWN as
  // it went down): report that, with the socket's error for the record.
  std::string message = "interface " + tap.ring->name() + " is gone";
  if (err != 0) message += " (capture socket: " + ErrnoName(err) + ", " + std::strerror(err) + ")";
  sink_->OnGone(ifindex, tap.ring->name(), "ENODEV", message);
}

int Capture::Add(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IF_NAMESIZE)
    throw std::system_error(EINVAL, std::generic_category(), ifname + ": bad interface name");
  const unsigned idx = if_nametoindex(ifname.c_str());
  if (idx == 0) throw std::system_error(errno, std::generic_category(), ifname);
  const int ifindex = static_cast<int>(idx);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (taps_.count(ifindex)) throw std::system_error(EEXIST, std::generic_category(), ifname + ": already capturing");
  }
  int err = 0;
  const char* step = "";
  std::unique_ptr<Ring> ring = Ring::Open(ifname, ifindex, opts_.ring, &err, &step);
  if (!ring) throw std::system_error(err, std::generic_category(), ifname + ": " + step);
  auto tap = std::make_shared<Tap>();
  tap->ring = std::move(ring);
  {
    std::lock_guard<std::mutex> lock(mu_);
    taps_[ifindex] = std::move(tap);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  Wake();
  return ifindex;
}

bool Capture::Remove(const std::string& ifname) {
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = taps_.begin(); it != taps_.end(); ++it) {
      if (it->second->ring->name() == ifname) {
        taps_.erase(it);
        found = true;
        break;
      }
    }
    if (found) generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (found) Wake();
  return found;
}

std::vector<InterfaceStats> Capture::Stats() {
  std::vector<InterfaceStats> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& kv : taps_) {
    Tap& t = *kv.second;
    out.push_back(
        {t.ring->name(), kv.first, t.ring->ReadStats(), t.beacons.load(), t.rejected.load(), t.skipped.load()});
  }
  return out;
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
  }
  if (event_fd_ >= 0) {
    close(event_fd_);
    event_fd_ = -1;
  }
}

}  // namespace netbeacon
