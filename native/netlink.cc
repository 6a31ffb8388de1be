// The rtnetlink parser and socket calls (netlink.h). Kernel behaviour this
// relies on (see net/core/rtnetlink.c, net/ipv4/devinet.c, net/ipv6/addrconf.c
// and Documentation/userspace-api/netlink/intro.rst):
// - A datagram holds one or more messages, each NLMSG_ALIGN()ed; a dump
//   ends with NLMSG_DONE (whose payload is the dump's error, an int), and
//   a request that fails answers NLMSG_ERROR (a negative errno, then the
//   request's header).
// - NLM_F_DUMP_INTR on a dump message: the tables changed while the dump
//   was being built, so it may be inconsistent and is redone.
// - Attributes are rtattr (length includes the 4-byte header), each
//   RTA_ALIGN()ed; IFLA_LINKINFO and its IFLA_INFO_DATA are nested the same
//   way. The kernel may add attributes we do not know: they are skipped.
#include "netlink.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace netbeacon {
namespace rtnl {
namespace {

// One attribute, bounds-checked: `data` holds `len` bytes inside the message.
struct Attr {
  uint16_t type;
  const uint8_t* data;
  size_t len;
};

// Walks the attributes in [p, p + len). Calls fn(Attr) for each; returns
// false (the caller counts the message malformed) when one does not fit.
template <typename F>
bool ForEachAttr(const uint8_t* p, size_t len, F&& fn) {
  size_t off = 0;
  while (len - off >= sizeof(rtattr)) {
    rtattr a;
    std::memcpy(&a, p + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || a.rta_len > len - off) return false;
    // NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the type's top bits.
    fn(Attr{static_cast<uint16_t>(a.rta_type & NLA_TYPE_MASK), p + off + sizeof(rtattr), a.rta_len - sizeof(rtattr)});
    const size_t step = RTA_ALIGN(a.rta_len);
    if (step >= len - off) return true;  // the last one may lack its padding
    off += step;
  }
  return off == len || len - off < sizeof(rtattr);
}

bool U32(const Attr& a, uint32_t* v) {
  if (a.len < 4) return false;
  std::memcpy(v, a.data, 4);
  return true;
}

// A NUL-terminated string attribute; the kernel counts the NUL in the length.
bool Str(const Attr& a, std::string* s, size_t max) {
  const void* nul = std::memchr(a.data, 0, a.len);
  const size_t n = nul ? static_cast<const uint8_t*>(nul) - a.data : a.len;
  if (n == 0 || n > max) return false;
  s->assign(reinterpret_cast<const char*>(a.data), n);
  return true;
}

constexpr size_t kMaxName = 15;  // IFNAMSIZ - 1
constexpr size_t kMaxKind = 63;
constexpr size_t kMaxLinkAddress = 32;  // MAX_ADDR_LEN

bool ParseLinkInfo(const Attr& info, Link* l) {
  bool vlan_data = false;
  Attr data{0, nullptr, 0};
  const bool ok = ForEachAttr(info.data, info.len, [&](const Attr& a) {
    if (a.type == IFLA_INFO_KIND) {
      if (!Str(a, &l->kind, kMaxKind)) l->kind.clear();
    } else if (a.type == IFLA_INFO_DATA) {
      data = a;
      vlan_data = true;
    }
  });
  if (!ok) return false;
  // IFLA_INFO_DATA is the kind's own attribute space: read only a VLAN's.
  if (!vlan_data || l->kind != "vlan") return true;
  return ForEachAttr(data.data, data.len, [&](const Attr& a) {
    uint16_t id;
    if (a.type == IFLA_VLAN_ID && a.len >= 2) {
      std::memcpy(&id, a.data, 2);
      if (id < 4096) l->vlan_id = id;
    }
  });
}

bool ParseLink(const uint8_t* body, size_t len, Link* l) {
  if (len < sizeof(ifinfomsg)) return false;
  ifinfomsg ifi;
  std::memcpy(&ifi, body, sizeof ifi);
  if (ifi.ifi_index <= 0) return false;
  l->ifindex = ifi.ifi_index;
  l->flags = ifi.ifi_flags;
  l->type = ifi.ifi_type;
  const size_t off = NLMSG_ALIGN(sizeof(ifinfomsg));
  if (off > len) return true;  // no attributes
  bool bad = false;
  const bool walked = ForEachAttr(body + off, len - off, [&](const Attr& a) {
    uint32_t v;
    switch (a.type) {
      case IFLA_IFNAME:
        if (!Str(a, &l->name, kMaxName)) bad = true;
        break;
      case IFLA_MTU:
        if (U32(a, &v)) l->mtu = v;
        break;
      case IFLA_ADDRESS:
        if (a.len <= kMaxLinkAddress) l->address.assign(a.data, a.data + a.len);
        break;
      case IFLA_OPERSTATE:
        if (a.len >= 1) l->operstate = a.data[0];
        break;
      case IFLA_LINK:
        if (U32(a, &v)) l->link = v;
        break;
      case IFLA_LINK_NETNSID:
        if (U32(a, &v)) l->link_netnsid = static_cast<int32_t>(v);
        break;
      case IFLA_MASTER:
        if (U32(a, &v)) l->master = v;
        break;
      case IFLA_LINKINFO:
        if (!ParseLinkInfo(a, l)) bad = true;
        break;
      default:
        break;
    }
  });
  // The kernel always names a link; a message without a name is not one we can use.
  return walked && !bad && !l->name.empty();
}

bool ParseAddr(const uint8_t* body, size_t len, Addr* ad) {
  if (len < sizeof(ifaddrmsg)) return false;
  ifaddrmsg ifa;
  std::memcpy(&ifa, body, sizeof ifa);
  if (ifa.ifa_family != AF_INET && ifa.ifa_family != AF_INET6) return false;
  const size_t alen = ifa.ifa_family == AF_INET ? 4 : 16;
  if (ifa.ifa_prefixlen > alen * 8 || ifa.ifa_index == 0 || ifa.ifa_index > INT32_MAX) return false;
  ad->ifindex = static_cast<int32_t>(ifa.ifa_index);
  ad->family = ifa.ifa_family;
  ad->prefixlen = ifa.ifa_prefixlen;
  ad->scope = ifa.ifa_scope;
  ad->flags = ifa.ifa_flags;
  std::vector<uint8_t> address, local;
  const size_t off = NLMSG_ALIGN(sizeof(ifaddrmsg));
  const bool walked = off <= len && ForEachAttr(body + off, len - off, [&](const Attr& a) {
                        uint32_t v;
                        if ((a.type == IFA_ADDRESS || a.type == IFA_LOCAL) && a.len == alen) {
                          (a.type == IFA_ADDRESS ? address : local).assign(a.data, a.data + alen);
                        } else if (a.type == IFA_FLAGS && U32(a, &v)) {
                          ad->flags = v;  // the 32-bit flags; ifa_flags holds only the low 8
                        }
                      });
  if (!walked) return false;
  ad->local = !local.empty() ? local : address;
  return !ad->local.empty();
}

}  // namespace

ParseResult Parse(const uint8_t* buf, size_t len, uint32_t seq, uint32_t portid, std::vector<Message>* out) {
  ParseResult r;
  size_t off = 0;
  while (len - off >= sizeof(nlmsghdr)) {
    nlmsghdr h;
    std::memcpy(&h, buf + off, sizeof h);
    // A length that does not fit ends the datagram: nothing after it can be framed.
    if (h.nlmsg_len < sizeof(nlmsghdr) || h.nlmsg_len > len - off) {
      r.malformed++;
      return r;
    }
    const uint8_t* body = buf + off + NLMSG_HDRLEN;
    const size_t blen = h.nlmsg_len - NLMSG_HDRLEN;
    const bool ours = seq != 0 && h.nlmsg_seq == seq && h.nlmsg_pid == portid;
    if (h.nlmsg_flags & NLM_F_DUMP_INTR) r.interrupted = r.interrupted || ours;
    switch (h.nlmsg_type) {
      case NLMSG_DONE:
        if (ours) {
          r.done = true;
          int32_t e = 0;
          if (blen >= sizeof e) std::memcpy(&e, body, sizeof e);
          if (e < 0) r.error = -e;
        }
        break;
      case NLMSG_ERROR: {
        int32_t e = 0;
        if (blen >= sizeof e)
          std::memcpy(&e, body, sizeof e);
        else
          r.malformed++;
        if (ours && e < 0) {
          r.error = -e;
          r.done = true;
        }
        break;
      }
      case RTM_NEWLINK:
      case RTM_DELLINK: {
        Message m{h.nlmsg_type == RTM_NEWLINK ? Message::kNewLink : Message::kDelLink, ours, {}, {}};
        if (ParseLink(body, blen, &m.link))
          out->push_back(std::move(m));
        else
          r.malformed++;
        break;
      }
      case RTM_NEWADDR:
      case RTM_DELADDR: {
        Message m{h.nlmsg_type == RTM_NEWADDR ? Message::kNewAddr : Message::kDelAddr, ours, {}, {}};
        if (ParseAddr(body, blen, &m.addr))
          out->push_back(std::move(m));
        else
          r.malformed++;
        break;
      }
      default:
        r.other++;
        break;
    }
    const size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step >= len - off) break;
    off += step;
  }
  return r;
}

int OpenSocket(uint32_t groups, uint32_t* portid) {
  const int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return -errno;
  // Room for a burst (128 interfaces coming up at once is ~1,000 messages);
  // past it the kernel says ENOBUFS and the caller dumps again.
  int size = 1024 * 1024;
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  sa.nl_groups = groups;
  socklen_t salen = sizeof sa;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &salen) != 0) {
    const int e = errno;
    close(fd);
    return -e;
  }
  *portid = sa.nl_pid;
  return fd;
}

int RequestDump(int fd, uint16_t type, uint32_t seq) {
  struct {
    nlmsghdr h;
    union {
      ifinfomsg link;
      ifaddrmsg addr;
    } body;
  } req{};
  const size_t body = type == RTM_GETLINK ? sizeof(ifinfomsg) : sizeof(ifaddrmsg);
  req.h.nlmsg_len = static_cast<uint32_t>(NLMSG_LENGTH(body));
  req.h.nlmsg_type = type;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = seq;
  // AF_UNSPEC: every family (for addresses, IPv4 then IPv6, as `ip` lists them).
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  for (;;) {
    if (sendto(fd, &req, req.h.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

}  // namespace rtnl
}  // namespace netbeacon
