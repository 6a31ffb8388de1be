// The classic BPF program that keeps everything but beacons in the kernel,
// and the race-free way to attach it to an AF_PACKET socket.
#pragma once
#include <linux/filter.h>

#include <cstddef>
#include <vector>

namespace netbeacon {

// Accepts IPv4 and IPv6 UDP to destination port 5240 when the frame is
// untagged, carries one or two in-band tags (TPID 0x8100, 0x88a8, 0x9100),
// or had its outer tag stripped by the kernel (then at most one more tag may
// be in band). Returns the number of bytes to keep (the whole frame) or 0.
std::vector<sock_filter> BeaconFilter();

// The same program for a socket bound to every interface: a beacon is kept
// only when it arrived on one of `ifindexes` (SKF_AD_IFINDEX, checked after
// the beacon test, so other traffic never pays for it). An empty list
// keeps nothing. The list is checked in chunks, each followed by its own
// accept, so that no jump is longer than classic BPF allows.
std::vector<sock_filter> BeaconFilterOn(const std::vector<int>& ifindexes);

// The most interfaces BeaconFilterOn takes: the kernel refuses programs of
// more than BPF_MAXINSNS (4096) instructions.
constexpr size_t kMaxFilterInterfaces = 3900;

// A program that drops everything: attached first, so that nothing unwanted
// is queued while the socket is being set up.
std::vector<sock_filter> DropAllFilter();

// Attaches `prog` with SO_ATTACH_FILTER. Returns 0 or an errno value.
int AttachFilter(int fd, const std::vector<sock_filter>& prog);

}  // namespace netbeacon
