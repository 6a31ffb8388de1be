// Link, IP and UDP parsing of one captured frame: the C++ twin of
// src/protocol/frame.ts parseFrame(). Every read is bounds-checked: the
// frame comes off the wire and this code runs with privileges.
#pragma once
#include <cstddef>
#include <cstdint>

namespace netbeacon {

constexpr uint16_t kBeaconPort = 5240;

// A tag the kernel removed before capture (TPACKET tp_vlan_tci with
// TP_STATUS_VLAN_VALID). It was the outermost tag.
struct StrippedTag {
  bool present = false;
  uint16_t tci = 0;
};

struct FrameFields {
  uint8_t src_mac[6];
  uint8_t dst_mac[6];
  bool has_vid;    // at least one tag: vid is the innermost VID
  bool has_outer;  // two tags: outer_vid is the outer VID
  uint16_t vid;
  uint16_t outer_vid;
  uint8_t family;      // 4 or 6
  uint8_t src_ip[16];  // IPv4: first 4 bytes, rest zero
  uint8_t dst_ip[16];
  uint16_t src_port;
  uint16_t dst_port;
  uint32_t payload_off;  // UDP payload inside the frame
  uint32_t payload_len;  // bounded by the UDP and IP lengths
};

// True for an Ethernet frame carrying UDP to port 5240 (0-2 tags in all,
// counting a stripped one; IPv4 unfragmented, options allowed, total length
// honoured; IPv6 with UDP right after the fixed header; UDP length honoured).
bool ParseFrame(const uint8_t* frame, size_t len, StrippedTag stripped, FrameFields* out);

}  // namespace netbeacon
