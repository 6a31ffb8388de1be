// The beacon BPF program, built by a small assembler with forward labels so
// that every jump offset is computed rather than counted by hand.
//
// Why our own program rather than libpcap's: MAAS's filter
// `udp dst port 5240 or (vlan and udp dst port 5240)` handles one tag level.
// This one also accepts QinQ (a stripped tag plus one in band, or two in
// band) and is exported to JS so that a unit test runs it next to tcpdump's.
#include "bpf.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace netbeacon {
namespace {

constexpr uint32_t kPort = 5240;
constexpr uint32_t kKeep = 0x40000;  // bytes to keep: more than any frame

// Jumps in classic BPF are forward only, at most 255 instructions: Resolve()
// checks both, so a mistake fails loudly instead of filtering wrongly.
class Assembler {
 public:
  using Label = int;
  Label NewLabel() {
    labels_.push_back(-1);
    return static_cast<Label>(labels_.size() - 1);
  }
  void Bind(Label l) { labels_[l] = static_cast<int>(code_.size()); }
  void Stmt(uint16_t code, uint32_t k) { code_.push_back({{code, 0, 0, k}, kNone, kNone}); }
  void Jump(uint16_t code, uint32_t k, Label yes, Label no) { code_.push_back({{code, 0, 0, k}, yes, no}); }
  // BPF_JA: its offset is k, 32 bits, so it may go anywhere forward.
  void JumpAlways(Label to) { code_.push_back({{kJa, 0, 0, 0}, kNone, kNone, to}); }
  size_t size() const { return code_.size(); }
  std::vector<sock_filter> Resolve() const {
    std::vector<sock_filter> out;
    for (size_t i = 0; i < code_.size(); i++) {
      sock_filter f = code_[i].insn;
      f.jt = Offset(i, code_[i].jt);
      f.jf = Offset(i, code_[i].jf);
      if (code_[i].ja != kNone) f.k = LongOffset(i, code_[i].ja);
      out.push_back(f);
    }
    return out;
  }

 private:
  static constexpr Label kNone = -1;
  static constexpr uint16_t kJa = BPF_JMP | BPF_JA;
  struct Pending {
    sock_filter insn;
    Label jt, jf;
    Label ja = kNone;
  };
  uint32_t LongOffset(size_t at, Label l) const {
    const int target = labels_[l];
    const int off = target - static_cast<int>(at) - 1;
    if (target < 0 || off < 0) throw std::logic_error("bpf: unresolvable jump");
    return static_cast<uint32_t>(off);
  }
  uint8_t Offset(size_t at, Label l) const {
    if (l == kNone) return 0;
    const int target = labels_[l];
    const int off = target - static_cast<int>(at) - 1;
    if (target < 0 || off < 0 || off > 255) throw std::logic_error("bpf: unresolvable jump");
    return static_cast<uint8_t>(off);
  }
  std::vector<Pending> code_;
  std::vector<int> labels_;
};

using Label = Assembler::Label;

constexpr uint16_t kLdImm = BPF_LD | BPF_W | BPF_IMM;
constexpr uint16_t kLdAbsW = BPF_LD | BPF_W | BPF_ABS;
constexpr uint16_t kLdAbsH = BPF_LD | BPF_H | BPF_ABS;
constexpr uint16_t kLdAbsB = BPF_LD | BPF_B | BPF_ABS;
constexpr uint16_t kLdIndH = BPF_LD | BPF_H | BPF_IND;
constexpr uint16_t kLdxMsh = BPF_LDX | BPF_B | BPF_MSH;
constexpr uint16_t kJeq = BPF_JMP | BPF_JEQ | BPF_K;
constexpr uint16_t kJset = BPF_JMP | BPF_JSET | BPF_K;
constexpr uint16_t kRet = BPF_RET | BPF_K;

// IPv4 header at constant offset `net`. The fragment offset must be 0 (a
// later fragment has no UDP header; tcpdump's `udp dst port` checks the same
// and the frame parser then refuses first fragments too). The UDP header is
// found through the IHL: ldx 4*([net]&0xf). A load past the end of the
// packet makes the kernel return 0 (drop), so short frames are safe.
void EmitIpv4(Assembler& a, uint32_t net, Label accept, Label drop) {
  Label udp = a.NewLabel(), whole = a.NewLabel();
  a.Stmt(kLdAbsB, net + 9);
  a.Jump(kJeq, 17, udp, drop);
  a.Bind(udp);
  a.Stmt(kLdAbsH, net + 6);
  a.Jump(kJset, 0x1fff, drop, whole);
  a.Bind(whole);
  a.Stmt(kLdxMsh, net);
  a.Stmt(kLdIndH, net + 2);
  a.Jump(kJeq, kPort, accept, drop);
}

// IPv6 with UDP directly after the fixed header (what MAAS sends; extension
// headers are not followed, as in tcpdump's filter).
void EmitIpv6(Assembler& a, uint32_t net, Label accept, Label drop) {
  Label udp = a.NewLabel();
  a.Stmt(kLdAbsB, net + 6);
  a.Jump(kJeq, 17, udp, drop);
  a.Bind(udp);
  a.Stmt(kLdAbsH, net + 40 + 2);
  a.Jump(kJeq, kPort, accept, drop);
}

// The ethertype at `type_off`, with up to `tags` more in-band tags allowed.
void EmitLevel(Assembler& a, uint32_t type_off, int tags, Label accept, Label drop) {
  Label v4 = a.NewLabel(), not_v4 = a.NewLabel(), v6 = a.NewLabel();
  a.Stmt(kLdAbsH, type_off);
  a.Jump(kJeq, 0x0800, v4, not_v4);
  a.Bind(not_v4);
  Label tagged = a.NewLabel();
  if (tags > 0) {
    Label n1 = a.NewLabel(), n2 = a.NewLabel(), n3 = a.NewLabel();
    a.Jump(kJeq, 0x86dd, v6, n1);
    a.Bind(n1);
    a.Jump(kJeq, 0x8100, tagged, n2);
    a.Bind(n2);
    a.Jump(kJeq, 0x88a8, tagged, n3);
    a.Bind(n3);
    a.Jump(kJeq, 0x9100, tagged, drop);
  } else {
    a.Jump(kJeq, 0x86dd, v6, drop);
  }
  a.Bind(v4);
  EmitIpv4(a, type_off + 2, accept, drop);
  a.Bind(v6);
  EmitIpv6(a, type_off + 2, accept, drop);
  a.Bind(tagged);
  // 4 bytes further: skip this tag's TPID/TCI.
  if (tags > 0) EmitLevel(a, type_off + 4, tags - 1, accept, drop);
}

// The beacon test: jumps to `accept` or `drop`, both bound by the caller.
void EmitBeacon(Assembler& a, Label accept, Label drop) {
  Label plain = a.NewLabel(), stripped = a.NewLabel();
  // The kernel removes the outer 802.1Q/802.1ad tag before packet sockets see
  // the frame (skb_vlan_untag on receive, or NIC offload) and keeps it in
  // skb metadata; only this ancillary load can tell. libpcap does the same
  // for live captures.
  a.Stmt(kLdAbsW, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT));
  a.Jump(kJeq, 0, plain, stripped);
  a.Bind(plain);
  EmitLevel(a, 12, 2, accept, drop);
  a.Bind(stripped);
  EmitLevel(a, 12, 1, accept, drop);
}

// Jumps of a conditional are 8 bits: each chunk's tests reach its own accept.
constexpr size_t kChunk = 250;

}  // namespace

std::vector<sock_filter> BeaconFilter() {
  Assembler a;
  Label accept = a.NewLabel(), drop = a.NewLabel();
  EmitBeacon(a, accept, drop);
  a.Bind(accept);
  a.Stmt(kRet, kKeep);
  a.Bind(drop);
  a.Stmt(kRet, 0);
  return a.Resolve();
}

std::vector<sock_filter> BeaconFilterOn(const std::vector<int>& ifindexes) {
  if (ifindexes.size() > kMaxFilterInterfaces) throw std::length_error("bpf: too many interfaces for one filter");
  Assembler a;
  Label beacon = a.NewLabel(), drop = a.NewLabel();
  EmitBeacon(a, beacon, drop);
  // Right after the beacon test, so that its jumps to it stay short.
  a.Bind(drop);
  a.Stmt(kRet, 0);
  a.Bind(beacon);
  // A = 0 first: on an skb with no device the kernel ends the program at
  // this load and returns A as it stands, which would keep the frame.
  a.Stmt(kLdImm, 0);
  a.Stmt(kLdAbsW, static_cast<uint32_t>(SKF_AD_OFF + SKF_AD_IFINDEX));
  for (size_t from = 0; from < ifindexes.size(); from += kChunk) {
    const size_t to = std::min(ifindexes.size(), from + kChunk);
    Label keep = a.NewLabel(), next = a.NewLabel();
    for (size_t i = from; i < to; i++) {
      Label no = a.NewLabel();
      a.Jump(kJeq, static_cast<uint32_t>(ifindexes[i]), keep, no);
      a.Bind(no);
    }
    a.JumpAlways(next);
    a.Bind(keep);
    a.Stmt(kRet, kKeep);
    a.Bind(next);
  }
  a.Stmt(kRet, 0);
  std::vector<sock_filter> prog = a.Resolve();
  if (prog.size() > BPF_MAXINSNS) throw std::length_error("bpf: the filter is too long");
  return prog;
}

std::vector<sock_filter> DropAllFilter() { return {sock_filter{kRet, 0, 0, 0}}; }

int AttachFilter(int fd, const std::vector<sock_filter>& prog) {
  sock_fprog fprog{};
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = const_cast<sock_filter*>(prog.data());  // the kernel copies it
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog) != 0) return errno;
  return 0;
}

}  // namespace netbeacon
