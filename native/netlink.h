// rtnetlink: the parser of link and address messages (RTM_NEWLINK,
// RTM_DELLINK, RTM_NEWADDR, RTM_DELADDR) and the socket calls around it.
// No N-API here: netlink_napi.cc (the interface watcher) and capture.cc
// (which learns from RTM_DELLINK that a captured interface is gone) both
// use it.
//
// The kernel writes these messages, but they are parsed as carefully as
// packets: every length (nlmsghdr, the family header, each rtattr, nested
// attributes) is checked against what contains it before it is read, and
// a message that does not fit is skipped and counted, never read past.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace netbeacon {
namespace rtnl {

// What RTM_NEWLINK says of a link (RTM_DELLINK: ifindex and name).
// Optional attributes the message lacked are left at their "absent" value.
struct Link {
  int32_t ifindex = 0;
  uint32_t flags = 0;            // ifi_flags: IFF_UP, IFF_LOOPBACK, ...
  uint16_t type = 0;             // ifi_type: ARPHRD_ETHER, ARPHRD_LOOPBACK, ...
  std::string name;              // IFLA_IFNAME (a message without one is skipped as malformed)
  int64_t mtu = -1;              // IFLA_MTU
  std::vector<uint8_t> address;  // IFLA_ADDRESS (link-layer; empty: absent)
  int operstate = -1;            // IFLA_OPERSTATE (IF_OPER_*)
  int64_t link = -1;             // IFLA_LINK: the lower device's ifindex
  int64_t link_netnsid = -1;     // IFLA_LINK_NETNSID: `link` is in another namespace
  int64_t master = -1;           // IFLA_MASTER: the bond or bridge this link is a port of
  std::string kind;              // IFLA_LINKINFO / IFLA_INFO_KIND ("vlan", "bridge", "veth", ...)
  int vlan_id = -1;              // IFLA_LINKINFO / IFLA_INFO_DATA / IFLA_VLAN_ID, for kind "vlan"
};

// What RTM_NEWADDR / RTM_DELADDR say of an IPv4 or IPv6 address.
struct Addr {
  int32_t ifindex = 0;
  uint8_t family = 0;  // AF_INET or AF_INET6
  uint8_t prefixlen = 0;
  uint8_t scope = 0;   // RT_SCOPE_*
  uint32_t flags = 0;  // IFA_FLAGS when present, else ifa_flags
  // The interface's own address: IFA_LOCAL when present (IPv4: IFA_ADDRESS
  // is then the peer of a point-to-point link), else IFA_ADDRESS, as `ip`
  // prints it. Empty when neither came (the message is then skipped).
  std::vector<uint8_t> local;
};

struct Message {
  enum Kind { kNewLink, kDelLink, kNewAddr, kDelAddr } kind;
  bool dump = false;  // an answer to our dump, not an event
  Link link;          // kNewLink, kDelLink
  Addr addr;          // kNewAddr, kDelAddr
};

// What one datagram held besides its messages.
struct ParseResult {
  bool done = false;         // NLMSG_DONE: the end of a dump
  int error = 0;             // NLMSG_ERROR with a non-zero errno (positive)
  bool interrupted = false;  // NLM_F_DUMP_INTR: the dump saw the tables change; dump again
  uint32_t malformed = 0;    // messages skipped because a length did not fit
  uint32_t other = 0;        // well-formed messages of other types (ignored)
};

// Parses one datagram of netlink messages, appending what it says to *out.
// `seq` is the sequence number of our dump in progress (0: none) and
// `portid` our socket's port id: a message is the dump's when it carries
// both (an event carries the sequence number and port id of whoever made
// the change, `ip` for instance, so the sequence number alone could
// collide). Another request's NLMSG_DONE/NLMSG_ERROR is not the dump's end.
ParseResult Parse(const uint8_t* buf, size_t len, uint32_t seq, uint32_t portid, std::vector<Message>* out);

// ------------------------------------------------------------ the socket

// A NETLINK_ROUTE socket (non-blocking, close-on-exec) subscribed to
// `groups` (RTMGRP_* bits). Returns the fd, or -errno; *portid is the
// port id the kernel gave it.
int OpenSocket(uint32_t groups, uint32_t* portid);

// Asks for a dump of every link (RTM_GETLINK) or every IPv4 and IPv6
// address (RTM_GETADDR) with sequence number `seq`. Returns 0 or an errno.
int RequestDump(int fd, uint16_t type, uint32_t seq);

// Datagrams of at most this size: the kernel's dump chunks are at most a
// page (up to 32 KiB with large pages); an event is one message.
constexpr size_t kRecvBuffer = 64 * 1024;

}  // namespace rtnl
}  // namespace netbeacon
