// Live capture: a worker thread that drains one TPACKET_V3 ring shared by
// any number of interfaces (ring.h), parses and verifies each beacon, and
// hands JS one batch of fixed-size records per ring block. No N-API here:
// the glue (capture_napi.cc) implements CaptureSink.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "keyring.h"
#include "ring.h"
#include "verify.h"

namespace netbeacon {

// One record per UDP/5240 frame, little-endian, 88 bytes. Mirrored by
// src/capture/record.ts (a unit test checks the two agree through
// captureRecordLayout()). Never reorder without changing both.
//   0 u32 ifindex          4 u32 sec             8 u32 nsec
//  12 u8  status (reason)  13 u8 version        14 u8 header type
//  15 u8  flags (kFlag*)   16 u16 vid           18 u16 outer vid
//  20 u16 src port         22 u16 dst port      24 u8[6] src MAC
//  30 u8[6] dst MAC        36 u8[16] src IP     52 u8[16] dst IP
//     (IPv4: first 4 bytes, rest zero)
//  68 u32 plain offset     72 u32 plain length (BSON in the batch's plain area)
//  76 u16 UDP payload length  78 u16 UDP payload offset in the frame
//  80 u8  sll_pkttype (PACKET_HOST 0, _BROADCAST 1, _MULTICAST 2,
//         _OTHERHOST 3, _LOOPBACK 5)
//  81 u8  key index (0 current, i: the i-th key given; keyring.h)
//  82 u8  key generation (low byte of the SetKeys() count when verified)
//  83..87 reserved (0)
// Flags: 1 has vid, 2 has outer vid, 4 IPv6, 8 the kernel stripped the
// outer tag, 16 the frame was captured short (caplen < wire length).
namespace rec {
constexpr size_t kSize = 88;
constexpr size_t kIfindex = 0, kSec = 4, kNsec = 8, kStatus = 12, kVersion = 13, kHeaderType = 14, kFlags = 15;
constexpr size_t kVid = 16, kOuterVid = 18, kSrcPort = 20, kDstPort = 22, kSrcMac = 24, kDstMac = 30;
constexpr size_t kSrcIp = 36, kDstIp = 52, kPlainOff = 68, kPlainLen = 72, kPayloadLen = 76, kPayloadOff = 78,
                 kPktType = 80;
constexpr size_t kKeyIndex = 81, kKeyGeneration = 82;
constexpr uint8_t kFlagVid = 1, kFlagOuterVid = 2, kFlagIpv6 = 4, kFlagStripped = 8, kFlagTruncated = 16;
}  // namespace rec

// One slot of the batch pool: memory owned by the glue (JS ArrayBuffers),
// written by the worker only while the slot is checked out to it.
struct BatchSlot {
  uint8_t* records;
  size_t record_cap;  // in records
  uint8_t* plain;
  size_t plain_cap;  // in bytes
};

class CaptureSink {
 public:
  virtual ~CaptureSink() = default;
  // Called on the worker: the slot holds `count` records and `plain_len`
  // bytes of plaintext. It stays out of the pool until ReturnSlot().
  virtual void OnBatch(uint32_t slot, uint32_t count, uint32_t plain_len) = 0;
  virtual void OnGone(int ifindex, const std::string& name, const std::string& code, const std::string& message) = 0;
  virtual void OnError(const std::string& message) = 0;
};

struct CaptureOptions {
  RingOptions ring;
  std::vector<KeyMaterial> keys;  // [0] is the current key
};

// Per interface, counted by the worker from each frame's sll_ifindex.
struct InterfaceStats {
  std::string name;
  int ifindex;
  uint64_t packets;  // frames taken from the ring and parsed
  uint64_t shed;     // frames taken from the ring unparsed: JS was behind (Capture::Shed)
  uint64_t beacons, rejected, skipped;
};

// The shared ring's own counters. The kernel counts its drops per socket,
// not per interface: `kernel` is what it dropped because the worker itself
// did not free blocks in time (rare: shedding frees them first), and no
// interface can be named for those.
struct SharedRingStats {
  bool open = false;
  RingStats kernel;
  uint32_t block_size = 0, block_count = 0;
  uint64_t unclaimed = 0;  // frames of an interface no longer captured (in flight when it was removed)
};

// Records a ring block can produce at most: the smallest frame the filter
// passes (42 bytes) in the smallest ring slot (TPACKET3 header, sockaddr_ll,
// alignment: > 112 bytes).
inline size_t RecordsPerBlock(uint32_t block_size) { return block_size / 112 + 1; }

class Capture {
 public:
  Capture(const CaptureOptions& opts, std::vector<BatchSlot> slots, CaptureSink* sink);
  ~Capture();  // Stop()s
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  // Starts the worker; throws std::runtime_error if it cannot verify
  // (the Verifier is built on the worker, which owns it).
  void Start();
  // Opens the ring on the calling thread (so errors are synchronous) and
  // hands it to the worker. Returns the ifindex; throws std::system_error.
  int Add(const std::string& ifname);
  // Asks the worker to close the interface's ring; false if not captured.
  bool Remove(const std::string& ifname);
  void ReturnSlot(uint32_t slot);
  // Replaces the keys (a secret rotation, a reload). The ring is built
  // here, so errors are synchronous; the worker takes it before its next
  // block. Returns the new key generation (what records carry, mod 256).
  uint32_t SetKeys(const std::vector<KeyMaterial>& keys);
  std::vector<InterfaceStats> Stats();
  SharedRingStats RingTotals();
  // Joins the worker and closes every ring. Idempotent.
  void Stop();

 private:
  struct Tap;
  // The worker's view: taps by ifindex (sorted), refreshed when generation_ moves.
  struct View {
    uint64_t generation = ~uint64_t{0};
    std::shared_ptr<Ring> ring;
    std::vector<std::pair<int, std::shared_ptr<Tap>>> taps;
    Tap* Find(int ifindex) const;
  };
  void Run(std::promise<std::string>* started);
  void Loop();
  void Wake();
  void TakeKeys();
  void Refresh(View* v);
  void ProcessBlocks(View* v);
  void FillFromBlock(const View& v, const tpacket_block_desc* block);
  bool Record(Tap& tap, const RingPacket& p);
  void Shed(const View& v);
  bool TakeSlot();
  bool WaitSlot();
  void Post();
  void ReadLinkEvents();
  void Gone(int ifindex);
  int UpdateFilter();  // under mu_

  CaptureOptions opts_;
  std::vector<BatchSlot> slots_;
  CaptureSink* sink_;
  int event_fd_ = -1;
  // rtnetlink, subscribed to link events: RTM_DELLINK says a captured
  // interface is gone (a socket bound to every interface gets no error
  // when one of them goes). Owned by the worker once started.
  int link_fd_ = -1;
  uint32_t link_portid_ = 0;
  std::vector<uint8_t> link_buf_;
  std::thread worker_;
  std::atomic<bool> stopping_{false};

  // Guards free_, ring_ and taps_. taps_ is changed by Add/Remove (JS
  // thread) and by the worker when an interface goes away; the worker
  // works on a copy (View), refreshed when generation_ moves, so a tap
  // removed while the worker is inside a block stays alive until it is done.
  std::mutex mu_;
  std::vector<uint32_t> free_;
  std::shared_ptr<Ring> ring_;                // opened by the first Add()
  std::map<int, std::shared_ptr<Tap>> taps_;  // by ifindex
  std::atomic<uint64_t> generation_{0};
  std::atomic<uint64_t> unclaimed_{0};
  // Keys given by SetKeys() and not yet taken by the worker (under mu_).
  std::unique_ptr<KeyRing> pending_keys_;
  uint32_t pending_key_gen_ = 0;
  std::atomic<bool> keys_pending_{false};
  uint32_t key_gen_count_ = 0;  // JS thread: SetKeys() calls

  // Worker-only state: the keys, and the batch being filled.
  std::unique_ptr<KeyRing> keys_;
  uint8_t key_gen_ = 0;
  bool have_slot_ = false;
  uint32_t slot_ = 0;
  uint32_t count_ = 0;
  size_t plain_used_ = 0;
  std::vector<uint8_t> scratch_;  // one plaintext, before it is known to fit
};

}  // namespace netbeacon
