// The beacon BPF program (bpf.cc), run two ways: by the kernel, attached to
// an AF_UNIX datagram socket (any socket runs classic BPF on receive), and
// by the small interpreter below, which must agree with the kernel and is
// then used where a socket pair cannot reach: frames whose outer tag the
// kernel stripped (SKF_AD_VLAN_TAG_PRESENT). The filter must pass every
// frame the parser (frame.cc) takes for a beacon's, so that nothing the
// agent wants is dropped in the kernel.
#include "bpf.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <stdexcept>

#include "frame.h"
#include "helpers.h"

namespace {

using nbtest::Bytes;

// Classic BPF as the kernel runs it, for the instructions BeaconFilter
// emits; any other opcode fails the test. A load past the packet drops it.
uint32_t Interpret(const std::vector<sock_filter>& prog, const Bytes& p, bool vlan_present, uint32_t ifindex = 0) {
  uint32_t a = 0, x = 0;
  auto load = [&](uint32_t off, uint32_t size, bool* ok) -> uint32_t {
    if (off == static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_IFINDEX)) return ifindex;
    if (off >= static_cast<uint32_t>(SKF_AD_OFF)) {
      EXPECT_EQ(off, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
      return vlan_present ? 1 : 0;
    }
    if (off > p.size() || p.size() - off < size) {
      *ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (uint32_t i = 0; i < size; i++) v = v << 8 | p[off + i];
    return v;
  };
  for (size_t pc = 0; pc < prog.size(); pc++) {
    const sock_filter& f = prog[pc];
    bool ok = true;
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_IMM:
        a = f.k;
        break;
      case BPF_LD | BPF_W | BPF_ABS:
        a = load(f.k, 4, &ok);
        break;
      case BPF_LD | BPF_H | BPF_ABS:
        a = load(f.k, 2, &ok);
        break;
      case BPF_LD | BPF_B | BPF_ABS:
        a = load(f.k, 1, &ok);
        break;
      case BPF_LD | BPF_H | BPF_IND:
        a = load(f.k + x, 2, &ok);
        break;
      case BPF_LDX | BPF_B | BPF_MSH:
        x = 4 * (load(f.k, 1, &ok) & 0xf);
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & f.k) ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JA:
        pc += f.k;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        ADD_FAILURE() << "opcode " << f.code << " at " << pc;
        return 0;
    }
    if (!ok) return 0;
  }
  ADD_FAILURE() << "fell off the end of the program";
  return 0;
}

// The kernel's verdict: kept (true) or dropped.
class KernelFilter {
 public:
  explicit KernelFilter(const std::vector<sock_filter>& prog = netbeacon::BeaconFilter()) {
    EXPECT_EQ(0, socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds_));
    EXPECT_EQ(0, netbeacon::AttachFilter(fds_[1], prog));
  }
  ~KernelFilter() {
    close(fds_[0]);
    close(fds_[1]);
  }
  bool Keeps(const Bytes& frame) {
    EXPECT_EQ(static_cast<ssize_t>(frame.size()), send(fds_[0], frame.data(), frame.size(), 0));
    uint8_t buf[4096];
    const ssize_t n = recv(fds_[1], buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
      EXPECT_TRUE(errno == EAGAIN || errno == EWOULDBLOCK) << strerror(errno);
      return false;
    }
    EXPECT_EQ(static_cast<size_t>(n), frame.size()) << "the filter keeps whole frames";
    return true;
  }

 private:
  int fds_[2] = {-1, -1};
};

const Bytes kPayload = nbtest::Str("0123456789abcdef");

struct Case {
  const char* what;
  Bytes frame;
  bool keep;
};

std::vector<Case> Cases() {
  Bytes tcp = nbtest::Udp4Frame(kPayload);
  tcp[14 + 9] = 6;
  Bytes later_fragment = nbtest::Udp4Frame(kPayload);
  later_fragment[14 + 7] = 0x10;
  Bytes first_fragment = nbtest::Udp4Frame(kPayload);
  first_fragment[14 + 6] = 0x20;
  Bytes options = nbtest::Udp4Frame(kPayload);
  options.insert(options.begin() + 34, {1, 1, 1, 1});
  options[14] = 0x46;
  Bytes arp = nbtest::Udp4Frame(kPayload);
  arp[13] = 0x06;
  const Bytes v4 = nbtest::Udp4Frame(kPayload);
  return {
      {"IPv4", nbtest::Udp4Frame(kPayload), true},
      {"IPv6", nbtest::Udp6Frame(kPayload), true},
      {"IPv4, another port", nbtest::Udp4Frame(kPayload, {}, 5241), false},
      {"IPv6, another port", nbtest::Udp6Frame(kPayload, {}, 53), false},
      {"IPv4 TCP", tcp, false},
      {"a later fragment", later_fragment, false},
      {"a first fragment (the parser refuses it)", first_fragment, true},
      {"IPv4 options: UDP found through the IHL", options, true},
      {"ARP", arp, false},
      {"802.1Q", nbtest::Udp4Frame(kPayload, {{0x8100, 5}}), true},
      {"802.1ad + 802.1Q, IPv6", nbtest::Udp6Frame(kPayload, {{0x88a8, 5}, {0x8100, 6}}), true},
      {"0x9100 + 0x8100", nbtest::Udp4Frame(kPayload, {{0x9100, 5}, {0x8100, 6}}), true},
      {"three tags", nbtest::Udp4Frame(kPayload, {{0x8100, 1}, {0x8100, 2}, {0x8100, 3}}), false},
      {"a bare Ethernet header", Bytes(v4.begin(), v4.begin() + 14), false},
  };
}

TEST(Bpf, ProgramIsWellFormed) {
  const auto prog = netbeacon::BeaconFilter();
  ASSERT_GT(prog.size(), 0u);
  ASSERT_LE(prog.size(), static_cast<size_t>(BPF_MAXINSNS));
  for (size_t pc = 0; pc < prog.size(); pc++) {
    if (BPF_CLASS(prog[pc].code) == BPF_JMP) {
      EXPECT_LT(pc + 1 + prog[pc].jt, prog.size()) << pc;
      EXPECT_LT(pc + 1 + prog[pc].jf, prog.size()) << pc;
    }
  }
  EXPECT_EQ(prog.back().code, BPF_RET | BPF_K);
  EXPECT_EQ(netbeacon::DropAllFilter().size(), 1u);
  EXPECT_EQ(netbeacon::AttachFilter(-1, prog), EBADF);
}

TEST(Bpf, KernelAndInterpreterOnKnownFrames) {
  KernelFilter kernel;
  const auto prog = netbeacon::BeaconFilter();
  for (const Case& c : Cases()) {
    EXPECT_EQ(kernel.Keeps(c.frame), c.keep) << c.what;
    EXPECT_EQ(Interpret(prog, c.frame, false) != 0, c.keep) << c.what;
  }
}

// The outer tag stripped by the kernel: at most one more tag in band.
TEST(Bpf, StrippedOuterTag) {
  const auto prog = netbeacon::BeaconFilter();
  EXPECT_NE(0u, Interpret(prog, nbtest::Udp4Frame(kPayload), true));
  EXPECT_NE(0u, Interpret(prog, nbtest::Udp6Frame(kPayload, {{0x8100, 6}}), true));
  EXPECT_EQ(0u, Interpret(prog, nbtest::Udp4Frame(kPayload, {{0x8100, 5}, {0x8100, 6}}), true));
  EXPECT_EQ(0u, Interpret(prog, nbtest::Udp4Frame(kPayload, {}, 5241), true));
}

// Random mutations of the known frames: the interpreter agrees with the
// kernel, and neither drops a frame that the parser accepts.
TEST(Bpf, MutationsAgreeAndKeepWhatTheParserTakes) {
  KernelFilter kernel;
  const auto prog = netbeacon::BeaconFilter();
  std::mt19937 rng(5240);
  const std::vector<Case> cases = Cases();
  int parsed = 0;
  for (int i = 0; i < 20000; i++) {
    Bytes f = cases[rng() % cases.size()].frame;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !f.empty(); e++) {
      switch (rng() % 4) {
        case 0:
          f[rng() % f.size()] = static_cast<uint8_t>(rng());
          break;
        case 1:
          f.resize(rng() % f.size());
          break;
        // Header bytes are where the decisions are: hit them more often.
        case 2:
          f[rng() % std::min<size_t>(f.size(), 60)] ^= static_cast<uint8_t>(1u << (rng() % 8));
          break;
        default:  // one more tag where the ethertype was
          if (f.size() >= 16)
            f.insert(f.begin() + static_cast<std::ptrdiff_t>(12 + rng() % 4), {0x81, 0x00, 0x00, 0x05});
          break;
      }
    }
    const bool kept = kernel.Keeps(f);
    ASSERT_EQ(Interpret(prog, f, false) != 0, kept) << "mutation " << i;
    for (bool stripped : {false, true}) {
      netbeacon::FrameFields ff;
      nbtest::Exact e(f);
      if (netbeacon::ParseFrame(e.data(), e.size(), netbeacon::StrippedTag{stripped, 3}, &ff)) {
        parsed++;
        ASSERT_NE(0u, Interpret(prog, f, stripped)) << "the filter drops a frame the parser takes, mutation " << i;
      }
    }
  }
  EXPECT_GT(parsed, 1000) << "the mutations must still reach the parser's accepting paths";
}

// The filter of the socket bound to every interface: the same verdicts,
// on the chosen interfaces only, for any number of them up to the limit.
TEST(Bpf, OnChosenInterfacesOnly) {
  std::mt19937 rng(7);
  std::vector<int> many;
  for (size_t i = 0; i < netbeacon::kMaxFilterInterfaces; i++) many.push_back(static_cast<int>(3 + 2 * i));
  const std::vector<std::vector<int>> lists = {{}, {2}, {2, 5, 9}, many};
  const auto plain = netbeacon::BeaconFilter();
  for (const auto& list : lists) {
    const auto prog = netbeacon::BeaconFilterOn(list);
    EXPECT_LE(prog.size(), static_cast<size_t>(BPF_MAXINSNS)) << list.size();
    // The kernel checks it (size, jumps) when it is attached; an AF_UNIX
    // skb has no device, so SKF_AD_IFINDEX ends the program, returning A
    // as it stands (the kernel's conversion to eBPF): zeroed first, dropped.
    KernelFilter kernel(prog);
    EXPECT_FALSE(kernel.Keeps(nbtest::Udp4Frame(kPayload))) << "no device, no interface to match";
    for (const Case& c : Cases()) {
      for (int k = 0; k < 20; k++) {
        const uint32_t ifindex = !list.empty() && k % 2 == 0 ? static_cast<uint32_t>(list[rng() % list.size()])
                                                             : static_cast<uint32_t>(rng() % 9000);
        const bool chosen = std::find(list.begin(), list.end(), static_cast<int>(ifindex)) != list.end();
        const bool want = chosen && Interpret(plain, c.frame, false) != 0;
        EXPECT_EQ(Interpret(prog, c.frame, false, ifindex) != 0, want)
            << c.what << " on " << ifindex << " of " << list.size();
      }
    }
  }
  std::vector<int> too_many(netbeacon::kMaxFilterInterfaces + 1, 1);
  EXPECT_THROW(netbeacon::BeaconFilterOn(too_many), std::length_error);
}

}  // namespace
