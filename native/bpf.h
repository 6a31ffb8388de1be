// The classic BPF program that keeps everything but beacons in the kernel,
// and the race-free way to attach it to an AF_PACKET socket.
#pragma once
#include <linux/filter.h>

#include <vector>

namespace netbeacon {

// Accepts IPv4 and IPv6 UDP to destination port 5240 when the frame is
// untagged, carries one or two in-band tags (TPID 0x8100, 0x88a8, 0x9100),
// or had its outer tag stripped by the kernel (then at most one more tag may
// be in band). Returns the number of bytes to keep (the whole frame) or 0.
std::vector<sock_filter> BeaconFilter();

// A program that drops everything: attached first, so that nothing unwanted
// is queued while the socket is being set up.
std::vector<sock_filter> DropAllFilter();

// Attaches `prog` with SO_ATTACH_FILTER. Returns 0 or an errno value.
int AttachFilter(int fd, const std::vector<sock_filter>& prog);

}  // namespace netbeacon
