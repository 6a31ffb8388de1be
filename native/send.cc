// Raw Ethernet transmission through AF_PACKET, for VLAN and MTU probes and
// for benchmark floods:
//   sendFrame(ifname, frame: Uint8Array)                       → undefined
//   sendFrames(ifname, data: Uint8Array, offsets: Uint32Array) → frames sent
// Frame i of a batch is data[offsets[i] .. offsets[i+1]) (count + 1 offsets,
// as in PayloadBatch). The frame is sent as given: tagged or not, any
// source MAC. Errors name the interface and the errno (EMSGSIZE for a frame
// over the MTU, ENXIO/ENODEV for a missing interface, ENETDOWN when down).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "napi_args.h"
#include "registry.h"
#include "sys_error.h"

namespace netbeacon {
namespace {

constexpr size_t kMaxFrame = 65535 + 18 + 8;         // a full datagram with two tags
constexpr unsigned kBurst = 256;                     // frames per sendmmsg
constexpr std::chrono::milliseconds kMaxRetry{250};  // longest wait on a full queue: congestion clears sooner

// One transmit-only packet socket for the whole process, kept open: closing
// a packet socket waits for an RCU grace period (packet_release calls
// synchronize_net), tens of milliseconds, which made a socket per call cap
// a paced flood at ~35k frames/s and VLAN probes at tens per second.
// Protocol 0 hooks it into no receive path, so it queues nothing however
// long it lives; the interface goes in each sendmmsg's address, so one
// socket serves every interface. Created on first use; retried if that
// failed (EPERM now need not mean EPERM later).
int SharedTxFd(int* err) {
  static std::mutex mu;
  static int fd = -1;
  std::lock_guard<std::mutex> lock(mu);
  if (fd < 0) {
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *err = errno;
      return -1;
    }
    // Straight to the driver: no qdisc, whose queue would drop a flood
    // silently (the driver's refusal comes back as ENOBUFS instead).
    int one = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  }
  return fd;
}

// The shared socket aimed at one interface, for one call.
class TxSocket {
 public:
  TxSocket(Napi::Env env, const std::string& ifname) : ifname_(ifname) {
    if (ifname.empty() || ifname.size() >= IF_NAMESIZE) throw SysError(env, "send on \"" + ifname + "\"", ENODEV);
    // Resolved on every call: an interface re-created under the same name
    // has a new index.
    const unsigned idx = if_nametoindex(ifname.c_str());
    if (idx == 0) throw SysError(env, "send on " + ifname, errno);
    int err = 0;
    fd_ = SharedTxFd(&err);
    if (fd_ < 0) throw SysError(env, "send on " + ifname + ": socket(AF_PACKET)", err);
    addr_.sll_family = AF_PACKET;
    addr_.sll_ifindex = static_cast<int>(idx);
  }
  TxSocket(const TxSocket&) = delete;
  TxSocket& operator=(const TxSocket&) = delete;

  // Sends frames [from, to) of the batch; returns how many went, or -errno
  // if none did.
  int SendBurst(const uint8_t* data, const uint32_t* offsets, size_t from, size_t to) {
    const size_t n = std::min<size_t>(to - from, kBurst);
    iov_.resize(n);
    msgs_.resize(n);
    for (size_t i = 0; i < n; i++) {
      iov_[i].iov_base = const_cast<uint8_t*>(data + offsets[from + i]);
      iov_[i].iov_len = offsets[from + i + 1] - offsets[from + i];
      msgs_[i] = mmsghdr{};
      msgs_[i].msg_hdr.msg_name = &addr_;
      msgs_[i].msg_hdr.msg_namelen = sizeof addr_;
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
    // A full device queue (or a full backlog on the CPU a veth delivers
    // to): yield to the receiving side and try again, for a while: 10000
    // yields, and never longer than kMaxRetry. The time bound matters under
    // load, where a yield can cost a whole time slice (10000 of them add up
    // to seconds, stalling the JS thread that called), and because with
    // PACKET_QDISC_BYPASS a frame the driver drops outright (a veth whose
    // peer end has a smaller MTU) fails with ENOBUFS too, which no retry
    // cures. Anything else is the caller's error.
    const auto deadline = std::chrono::steady_clock::now() + kMaxRetry;
    for (int tries = 0;; tries++) {
      int r = sendmmsg(fd_, msgs_.data(), static_cast<unsigned>(n), 0);
      if (r >= 0) return r;
      if ((errno == ENOBUFS || errno == EAGAIN) && tries < 10000 && std::chrono::steady_clock::now() < deadline) {
        sched_yield();
        continue;
      }
      if (errno == EINTR) continue;
      return -errno;
    }
  }

  const std::string& ifname() const { return ifname_; }

 private:
  std::string ifname_;
  int fd_ = -1;
  sockaddr_ll addr_{};
  std::vector<iovec> iov_;
  std::vector<mmsghdr> msgs_;
};

std::string NameArg(const Napi::CallbackInfo& info, const char* fn) {
  if (!info[0].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": interface name must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

void CheckFrameLength(Napi::Env env, const std::string& fn, size_t len) {
  if (len < 14 || len > kMaxFrame) {
    throw Napi::RangeError::New(
        env, fn + ": a frame must be 14 to " + std::to_string(kMaxFrame) + " bytes, got " + std::to_string(len));
  }
}

Napi::Value SendFrame(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string ifname = NameArg(info, "sendFrame");
  Napi::Uint8Array frame = TypedArg<uint8_t>(info, 1, "sendFrame: frame");
  CheckFrameLength(env, "sendFrame", frame.ByteLength());
  TxSocket tx(env, ifname);
  const uint32_t offsets[2] = {0, static_cast<uint32_t>(frame.ByteLength())};
  const int r = tx.SendBurst(frame.Data(), offsets, 0, 1);
  if (r < 0) throw SysError(env, "sendFrame on " + ifname, -r);
  return env.Undefined();
}

Napi::Value SendFrames(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string ifname = NameArg(info, "sendFrames");
  Napi::Uint8Array data = TypedArg<uint8_t>(info, 1, "sendFrames: data");
  Napi::Uint32Array offsets = TypedArg<uint32_t>(info, 2, "sendFrames: offsets");
  const size_t n = offsets.ElementLength();
  if (n == 0) throw Napi::RangeError::New(env, "sendFrames: offsets needs count + 1 entries");
  const uint32_t* off = offsets.Data();
  for (size_t i = 0; i + 1 < n; i++) {
    if (off[i] > off[i + 1] || off[i + 1] > data.ByteLength()) {
      throw Napi::RangeError::New(
          env, "sendFrames: offsets must be non-decreasing and within data (at " + std::to_string(i) + ")");
    }
    CheckFrameLength(env, "sendFrames", off[i + 1] - off[i]);
  }
  TxSocket tx(env, ifname);
  size_t sent = 0;
  while (sent + 1 < n) {
    const int r = tx.SendBurst(data.Data(), off, sent, n - 1);
    if (r < 0) {
      Napi::Error e = SysError(env, "sendFrames on " + ifname + " (after " + std::to_string(sent) + " frames)", -r);
      e.Set("sent", Napi::Number::New(env, static_cast<double>(sent)));
      throw e;
    }
    sent += static_cast<size_t>(r);
  }
  return Napi::Number::New(env, static_cast<double>(sent));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFrame", Napi::Function::New(env, SendFrame, "sendFrame"));
  exports.Set("sendFrames", Napi::Function::New(env, SendFrames, "sendFrames"));
}

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
