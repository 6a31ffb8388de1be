// See frame.h. Offsets are size_t and every field is read only after its
// end was checked against the captured length.
#include "frame.h"

#include <cstring>

namespace netbeacon {
namespace {

inline uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

constexpr size_t kEthHeader = 14;
constexpr size_t kUdpHeader = 8;
constexpr int kMaxTags = 2;

bool IsTagTpid(uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }

// UDP header at frame[off..end): end is where the IP layer says the datagram
// ends (never past the captured bytes).
bool ParseUdp(const uint8_t* f, size_t off, size_t end, FrameFields* out) {
  if (end < off || end - off < kUdpHeader) return false;
  const uint16_t udp_len = Be16(f + off + 4);
  if (udp_len < kUdpHeader || udp_len > end - off) return false;
  out->src_port = Be16(f + off);
  out->dst_port = Be16(f + off + 2);
  if (out->dst_port != kBeaconPort) return false;
  out->payload_off = static_cast<uint32_t>(off + kUdpHeader);
  out->payload_len = udp_len - static_cast<uint32_t>(kUdpHeader);
  return true;
}

bool ParseIpv4(const uint8_t* f, size_t off, size_t len, FrameFields* out) {
  if (len - off < 20) return false;
  const uint8_t* ip = f + off;
  if (ip[0] >> 4 != 4) return false;
  const size_t ihl = static_cast<size_t>(ip[0] & 0x0f) * 4;
  const size_t total = Be16(ip + 2);
  if (ihl < 20 || total < ihl || total > len - off) return false;
  // Neither a later fragment (no UDP header) nor a first one (MF set: the
  // datagram is incomplete, and reassembly is not our job).
  if ((Be16(ip + 6) & 0x3fff) != 0) return false;
  if (ip[9] != 17) return false;
  out->family = 4;
  std::memcpy(out->src_ip, ip + 12, 4);
  std::memcpy(out->dst_ip, ip + 16, 4);
  return ParseUdp(f, off + ihl, off + total, out);
}

bool ParseIpv6(const uint8_t* f, size_t off, size_t len, FrameFields* out) {
  if (len - off < 40) return false;
  const uint8_t* ip = f + off;
  if (ip[0] >> 4 != 6) return false;
  const size_t payload = Be16(ip + 4);  // 0 would be a jumbogram: refused below
  if (payload > len - off - 40) return false;
  if (ip[6] != 17) return false;
  out->family = 6;
  std::memcpy(out->src_ip, ip + 8, 16);
  std::memcpy(out->dst_ip, ip + 24, 16);
  return ParseUdp(f, off + 40, off + 40 + payload, out);
}

}  // namespace

bool ParseFrame(const uint8_t* f, size_t len, StrippedTag stripped, FrameFields* out) {
  std::memset(out, 0, sizeof *out);
  if (f == nullptr || len < kEthHeader) return false;
  std::memcpy(out->dst_mac, f, 6);
  std::memcpy(out->src_mac, f + 6, 6);
  // Tags from the outside in; the stripped one, if any, was outermost.
  uint16_t vids[kMaxTags];
  int tags = 0;
  if (stripped.present) vids[tags++] = stripped.tci & 0x0fff;
  size_t off = 12;
  uint16_t type = Be16(f + off);
  while (IsTagTpid(type)) {
    if (tags == kMaxTags || len - off < 6) return false;  // TPID, TCI, next type
    vids[tags++] = Be16(f + off + 2) & 0x0fff;            // the priority bits are not the VID
    off += 4;
    type = Be16(f + off);
  }
  off += 2;
  if (tags > 0) {
    out->has_vid = true;
    out->vid = vids[tags - 1];
  }
  if (tags == 2) {
    out->has_outer = true;
    out->outer_vid = vids[0];
  }
  if (type == 0x0800) return ParseIpv4(f, off, len, out);
  if (type == 0x86dd) return ParseIpv6(f, off, len, out);
  return false;
}

}  // namespace netbeacon
