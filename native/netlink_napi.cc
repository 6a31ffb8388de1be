// JS class NetlinkWatcher: the host's links and addresses from rtnetlink,
// as a stream of batches, with no process started (src/net/netlink.ts):
//   const w = new NetlinkWatcher(onEvent);   w.resync();   await w.close();
// onEvent is called on the JS thread with
//   ('batch', {reset, links, addresses?, malformed})
//   ('error', message)
// - reset: the batch starts from nothing (the dump at start, and again
//   after the kernel dropped events: ENOBUFS, a truncated datagram, or
//   resync()). links then holds every link, then the events read during
//   the dump, in the order received.
// - links: [{op: 'new', ifindex, name, flags, type, mtu?, address?,
//   operstate?, link?, linkNetnsid?, master?, kind?, vlanId?} |
//   {op: 'del', ifindex, name}], RTM_NEWLINK and RTM_DELLINK in order.
//   A link message carries the link's whole state, so applying them in
//   order is exact.
// - addresses: when present, every IPv4 and IPv6 address of the host
//   ([{ifindex, family: 4|6, local, prefixlen, scope, flags}]), which
//   replaces what JS held. An address event (RTM_NEWADDR/DELADDR) says
//   what changed but not where the address now sits in its interface's
//   list, and that order decides which IPv4 address names the subnet in
//   beacons (and what `ip` shows): so address events are followed by a
//   dump of the addresses, whose order is the kernel's own.
// - malformed: messages skipped because a length did not fit (netlink.h).
// Events are coalesced: a batch waits 10 ms for more (at most 50 ms from
// its first event), so a burst of changes is one batch.
//
// Also parseRtnetlink(bytes, seq?) → {messages, done, error, interrupted,
// malformed, other}: the parser alone, for the tests.
#include <arpa/inet.h>
#include <linux/rtnetlink.h>
#include <napi.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "netlink.h"
#include "netlink_watch.h"
#include "registry.h"

namespace netbeacon {
namespace {

std::string Hex(const std::vector<uint8_t>& b) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < b.size(); i++) {
    if (i) s += ':';
    s += kDigits[b[i] >> 4];
    s += kDigits[b[i] & 15];
  }
  return s;
}

std::string Ip(uint8_t family, const std::vector<uint8_t>& a) {
  char text[INET6_ADDRSTRLEN] = {0};
  if (a.size() != (family == AF_INET ? 4u : 16u) || !inet_ntop(family, a.data(), text, sizeof text)) return "";
  return text;
}

Napi::Object LinkToJs(Napi::Env env, const rtnl::Message& m) {
  const rtnl::Link& l = m.link;
  Napi::Object o = Napi::Object::New(env);
  o.Set("op", m.kind == rtnl::Message::kNewLink ? "new" : "del");
  o.Set("ifindex", l.ifindex);
  o.Set("name", l.name);
  if (m.kind == rtnl::Message::kDelLink) return o;
  o.Set("flags", static_cast<double>(l.flags));
  o.Set("type", l.type);
  if (l.mtu >= 0) o.Set("mtu", static_cast<double>(l.mtu));
  if (!l.address.empty()) o.Set("address", Hex(l.address));
  if (l.operstate >= 0) o.Set("operstate", l.operstate);
  if (l.link >= 0) o.Set("link", static_cast<double>(l.link));
  if (l.link_netnsid >= 0) o.Set("linkNetnsid", static_cast<double>(l.link_netnsid));
  if (l.master >= 0) o.Set("master", static_cast<double>(l.master));
  if (!l.kind.empty()) o.Set("kind", l.kind);
  if (l.vlan_id >= 0) o.Set("vlanId", l.vlan_id);
  return o;
}

Napi::Object AddrToJs(Napi::Env env, const rtnl::Addr& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("ifindex", a.ifindex);
  o.Set("family", a.family == AF_INET ? 4 : 6);
  o.Set("local", Ip(a.family, a.local));
  o.Set("prefixlen", a.prefixlen);
  o.Set("scope", a.scope);
  o.Set("flags", static_cast<double>(a.flags));
  return o;
}

}  // namespace
}  // namespace netbeacon

namespace netbeacon {
namespace {

class NetlinkWatcher : public Napi::ObjectWrap<NetlinkWatcher> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NetlinkWatcher",
        {InstanceMethod<&NetlinkWatcher::Resync>("resync"), InstanceMethod<&NetlinkWatcher::Close>("close")});
  }

  explicit NetlinkWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkWatcher>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "NetlinkWatcher: onEvent must be a function");
    // As in capture_napi.cc: the finalizer reaches us through a context
    // that outlives us.
    ctx_ = new Context{this};
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[0].As<Napi::Function>(), "netbeacon netlink", 0, 1, ctx_,
                                          [](Napi::Env, Context* c) {
                                            if (c->self) c->self->Finalized();
                                            delete c;
                                          });
    watcher_.reset(new rtnl::Watcher([this](rtnl::Batch* b) {
      napi_status st =
          tsfn_.NonBlockingCall(b, [this](Napi::Env e, Napi::Function fn, rtnl::Batch* m) { Deliver(e, fn, m); });
      if (st != napi_ok) delete b;
      return st == napi_ok;
    }));
    try {
      watcher_->Start();
    } catch (const std::system_error& e) {
      watcher_.reset();
      ctx_->self = nullptr;
      ctx_ = nullptr;
      tsfn_.Release();
      Napi::Error err = Napi::Error::New(env, std::string("interface watcher: ") + e.what());
      err.Set("errno", Napi::Number::New(env, e.code().value()));
      throw err;
    }
    Ref();  // alive until the thread-safe function is finalized
  }

  ~NetlinkWatcher() override {
    if (ctx_) ctx_->self = nullptr;
    watcher_.reset();
  }

 private:
  void Deliver(Napi::Env env, Napi::Function fn, rtnl::Batch* raw) {
    std::unique_ptr<rtnl::Batch> b(raw);
    if (watcher_) watcher_->Delivered();
    if (env == nullptr || closed_) return;
    Napi::HandleScope scope(env);
    if (!b->error.empty()) {
      fn.Call({Napi::String::New(env, "error"), Napi::String::New(env, b->error)});
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("reset", b->reset);
    Napi::Array links = Napi::Array::New(env, b->links.size());
    for (size_t i = 0; i < b->links.size(); i++) links.Set(static_cast<uint32_t>(i), LinkToJs(env, b->links[i]));
    o.Set("links", links);
    if (b->has_addresses) {
      Napi::Array addrs = Napi::Array::New(env, b->addresses.size());
      for (size_t i = 0; i < b->addresses.size(); i++)
        addrs.Set(static_cast<uint32_t>(i), AddrToJs(env, b->addresses[i]));
      o.Set("addresses", addrs);
    }
    o.Set("malformed", b->malformed);
    fn.Call({Napi::String::New(env, "batch"), o});
  }

  void Finalized() {
    finalized_ = true;
    ctx_ = nullptr;
    Napi::HandleScope scope(Env());
    if (watcher_) watcher_->Stop();
    for (auto& d : close_deferred_) d.Resolve(Env().Undefined());
    close_deferred_.clear();
    Unref();
  }

  Napi::Value Resync(const Napi::CallbackInfo& info) {
    if (closed_) throw Napi::Error::New(info.Env(), "NetlinkWatcher is closed");
    watcher_->Resync();
    return info.Env().Undefined();
  }

  // Joins the thread now, then lets the thread-safe function drain; the
  // promise settles in Finalized().
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto d = Napi::Promise::Deferred::New(env);
    if (finalized_) {
      d.Resolve(env.Undefined());
      return d.Promise();
    }
    close_deferred_.push_back(d);
    if (!closed_) {
      closed_ = true;
      watcher_->Stop();
      tsfn_.Release();
    }
    return d.Promise();
  }

  struct Context {
    NetlinkWatcher* self;
  };
  Context* ctx_ = nullptr;
  std::unique_ptr<rtnl::Watcher> watcher_;
  Napi::ThreadSafeFunction tsfn_;
  std::vector<Napi::Promise::Deferred> close_deferred_;
  bool closed_ = false;
  bool finalized_ = false;
};

// parseRtnetlink(bytes, seq = 0, portid = 0): the parser over one datagram.
Napi::Value ParseRtnetlink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "parseRtnetlink: bytes must be a Uint8Array");
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  auto u32 = [&](size_t i) -> uint32_t {
    if (info[i].IsUndefined()) return 0;
    if (!info[i].IsNumber()) throw Napi::TypeError::New(env, "parseRtnetlink: seq and portid must be numbers");
    return info[i].As<Napi::Number>().Uint32Value();
  };
  std::vector<rtnl::Message> msgs;
  const rtnl::ParseResult r = rtnl::Parse(bytes.Data(), bytes.ElementLength(), u32(1), u32(2), &msgs);
  Napi::Array out = Napi::Array::New(env, msgs.size());
  for (size_t i = 0; i < msgs.size(); i++) {
    const rtnl::Message& m = msgs[i];
    const bool link = m.kind == rtnl::Message::kNewLink || m.kind == rtnl::Message::kDelLink;
    Napi::Object o = link ? LinkToJs(env, m) : AddrToJs(env, m.addr);
    if (!link) o.Set("op", m.kind == rtnl::Message::kNewAddr ? "newaddr" : "deladdr");
    o.Set("dump", m.dump);
    out.Set(static_cast<uint32_t>(i), o);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("messages", out);
  o.Set("done", r.done);
  o.Set("error", r.error);
  o.Set("interrupted", r.interrupted);
  o.Set("malformed", r.malformed);
  o.Set("other", r.other);
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NetlinkWatcher", NetlinkWatcher::Define(env));
  exports.Set("parseRtnetlink", Napi::Function::New(env, ParseRtnetlink, "parseRtnetlink"));
}

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
