// JS class NativeCapture over Capture (capture.h):
//   const c = new NativeCapture({signingKey, encryptionKey, previousKeys?,
//       blockSize?, blockCount?, retireMs?, poolSize?, plainBytes?}, onEvent);
//   c.add('eth0') → ifindex        c.remove('eth0') → boolean
//   c.setKeys({signingKey, encryptionKey, previousKeys?}) → key generation
// previousKeys: [{signingKey, encryptionKey, acceptUntil}] (acceptUntil in
// whole seconds since the epoch), tried in order when the current key's
// HMAC does not match; records say which key matched (keyring.h).
//   c.stats() → {eth0: {ifindex, packets, drops, beacons, rejected, skipped}}
//       per interface, from each frame's sll_ifindex: packets parsed, and
//       drops: frames shed unparsed because JS held every batch slot
//   c.ring() → {open, blockSize, blockCount, packets, drops, freezes, unclaimed}
//       the one ring all interfaces share (capture.h, SharedRingStats):
//       the kernel's counters for it, which name no interface
//   c.release(slot)   a batch slot the callback kept goes back to the worker
//   await c.close()
// onEvent is called on the JS thread with
//   ('batch', records: Uint8Array, count, plain: Uint8Array, plainLength, slot)
//   ('interface-gone', name, ifindex, code, message)
//   ('error', message)
// The two views of a batch are the pool's own memory, reused once the slot
// goes back to the worker: when the callback returns, unless it returns
// true, in which case JS keeps the slot until it calls release(slot). A
// slot kept is the backpressure: while JS works a batch off over several
// turns of its event loop, the worker cannot fill that slot, and with every
// slot kept it stops reading the rings (capture.cc). Record layout:
// capture.h, captureRecordLayout().
#include <napi.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "capture.h"
#include "napi_args.h"
#include "registry.h"
#include "sys_error.h"

namespace netbeacon {
namespace {

struct Message {
  enum Kind { kBatch, kGone, kError } kind;
  uint32_t slot = 0, count = 0, plain_len = 0;
  int ifindex = 0;
  std::string name, code, text;
};

uint32_t OptU32(Napi::Object o, const char* key, uint32_t dflt, uint32_t min, uint32_t max) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return dflt;
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::RangeError::New(
        o.Env(), std::string(key) + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
  }
  return static_cast<uint32_t>(d);
}

const uint8_t* Key16(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      v.As<Napi::Uint8Array>().ElementLength() != 16) {
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a 16-byte Uint8Array");
  }
  return v.As<Napi::Uint8Array>().Data();
}

int64_t WholeSeconds(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 9007199254740991.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(o.Env(), std::string(key) + " must be whole seconds since the epoch");
  }
  return static_cast<int64_t>(d);
}

// v3Key (32 bytes) and v3KeyId (4), both or neither: v3 accepted with this key.
void V3Keys(Napi::Object o, KeyMaterial* m) {
  Napi::Value key = o.Get("v3Key"), id = o.Get("v3KeyId");
  if (key.IsUndefined() && id.IsUndefined()) return;
  if (!key.IsTypedArray() || key.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      key.As<Napi::Uint8Array>().ElementLength() != 32 || !id.IsTypedArray() ||
      id.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      id.As<Napi::Uint8Array>().ElementLength() != 4) {
    throw Napi::TypeError::New(o.Env(), "v3Key and v3KeyId must be a 32-byte and a 4-byte Uint8Array");
  }
  m->has_v3 = true;
  std::memcpy(m->v3.key, key.As<Napi::Uint8Array>().Data(), 32);
  std::memcpy(m->v3.id, id.As<Napi::Uint8Array>().Data(), 4);
}

// {signingKey, encryptionKey, v3Key?, v3KeyId?, previousKeys?} to the ring's keys, current first.
std::vector<KeyMaterial> Keys(Napi::Object o) {
  std::vector<KeyMaterial> keys(1);
  std::memcpy(keys[0].signing, Key16(o, "signingKey"), 16);
  std::memcpy(keys[0].encryption, Key16(o, "encryptionKey"), 16);
  V3Keys(o, &keys[0]);
  keys[0].accept_until = INT64_MAX;
  Napi::Value prev = o.Get("previousKeys");
  if (prev.IsUndefined()) return keys;
  if (!prev.IsArray()) throw Napi::TypeError::New(o.Env(), "previousKeys must be an array");
  Napi::Array a = prev.As<Napi::Array>();
  if (a.Length() > kMaxKeys - 1) throw Napi::RangeError::New(o.Env(), "previousKeys holds at most 15 keys");
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsObject()) throw Napi::TypeError::New(o.Env(), "previousKeys[" + std::to_string(i) + "] must be an object");
    Napi::Object k = e.As<Napi::Object>();
    KeyMaterial m;
    std::memcpy(m.signing, Key16(k, "signingKey"), 16);
    std::memcpy(m.encryption, Key16(k, "encryptionKey"), 16);
    m.accept_until = WholeSeconds(k, "acceptUntil");
    V3Keys(k, &m);
    keys.push_back(m);
  }
  return keys;
}

class NativeCapture : public Napi::ObjectWrap<NativeCapture>, public CaptureSink {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "NativeCapture",
        {InstanceMethod<&NativeCapture::Add>("add"), InstanceMethod<&NativeCapture::Remove>("remove"),
         InstanceMethod<&NativeCapture::Stats>("stats"), InstanceMethod<&NativeCapture::Close>("close"),
         InstanceMethod<&NativeCapture::SetKeys>("setKeys"), InstanceMethod<&NativeCapture::Release>("release"),
         InstanceMethod<&NativeCapture::Ring>("ring")});
  }

  explicit NativeCapture(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeCapture>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "NativeCapture: options must be an object");
    if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "NativeCapture: onEvent must be a function");
    Napi::Object o = info[0].As<Napi::Object>();
    CaptureOptions opts;
    opts.keys = Keys(o);
    // The kernel wants whole pages per block; 64 KiB minimum keeps a
    // jumbo beacon in one block (larger frames are truncated to a block).
    const uint32_t page = static_cast<uint32_t>(sysconf(_SC_PAGESIZE));
    opts.ring.block_size = OptU32(o, "blockSize", opts.ring.block_size, 64 * 1024, 64 * 1024 * 1024);
    if (opts.ring.block_size % page != 0)
      throw Napi::RangeError::New(env, "blockSize must be a multiple of the page size");
    opts.ring.block_count = OptU32(o, "blockCount", opts.ring.block_count, 2, 4096);
    opts.ring.retire_ms = OptU32(o, "retireMs", opts.ring.retire_ms, 1, 10000);
    // 4 slots: one being filled, the rest queued to or being read by JS.
    const uint32_t pool = OptU32(o, "poolSize", 4, 1, 64);
    const uint32_t plain = OptU32(o, "plainBytes", 1024 * 1024, kMaxInflated, 256 * 1024 * 1024);
    const size_t record_cap = RecordsPerBlock(opts.ring.block_size);
    std::vector<BatchSlot> slots;
    for (uint32_t i = 0; i < pool; i++) {
      // V8 owns the memory; the references keep it alive (and at a fixed
      // address: ArrayBuffer contents never move) until the finalizer.
      Napi::Uint8Array rv = Napi::Uint8Array::New(env, record_cap * rec::kSize);
      Napi::Uint8Array pv = Napi::Uint8Array::New(env, plain);
      records_.push_back(Napi::Persistent(rv));
      plain_.push_back(Napi::Persistent(pv));
      slots.push_back({rv.Data(), record_cap, pv.Data(), plain});
    }
    kept_.assign(pool, false);
    // The finalizer reaches us through a context that outlives us: if the
    // constructor throws below, or the environment is torn down, `this` may
    // be gone before the thread-safe function is finalized.
    ctx_ = new Context{this};
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "netbeacon capture", 0, 1, ctx_,
                                          [](Napi::Env, Context* c) {
                                            if (c->self) c->self->Finalized();
                                            delete c;
                                          });
    capture_.reset(new Capture(opts, std::move(slots), this));
    try {
      capture_->Start();
    } catch (const std::exception& e) {
      capture_.reset();
      ctx_->self = nullptr;
      ctx_ = nullptr;
      tsfn_.Release();
      throw Napi::Error::New(env, e.what());
    }
    Ref();  // alive until the thread-safe function is finalized
  }

  ~NativeCapture() override {
    if (ctx_) ctx_->self = nullptr;
    capture_.reset();
  }

  // CaptureSink, on the worker thread. Never blocking: the queue is
  // unbounded but holds at most one batch per pool slot.
  void OnBatch(uint32_t slot, uint32_t count, uint32_t plain_len) override {
    auto* m = new Message{Message::kBatch};
    m->slot = slot;
    m->count = count;
    m->plain_len = plain_len;
    Send(m);
  }
  void OnGone(int ifindex, const std::string& name, const std::string& code, const std::string& message) override {
    auto* m = new Message{Message::kGone};
    m->ifindex = ifindex;
    m->name = name;
    m->code = code;
    m->text = message;
    Send(m);
  }
  void OnError(const std::string& message) override {
    auto* m = new Message{Message::kError};
    m->text = message;
    Send(m);
  }

 private:
  void Send(Message* m) {
    napi_status st =
        tsfn_.NonBlockingCall(m, [this](Napi::Env env, Napi::Function fn, Message* msg) { Deliver(env, fn, msg); });
    if (st != napi_ok) delete m;  // closing: nobody to tell
  }

  void Deliver(Napi::Env env, Napi::Function fn, Message* raw) {
    std::unique_ptr<Message> m(raw);
    // The slot goes back to the worker however the callback ends, unless
    // it returned true: then JS keeps it until release(slot).
    struct Return {
      NativeCapture* self;
      Message* m;
      bool kept = false;
      ~Return() {
        if (m->kind == Message::kBatch && !kept && self->capture_) self->capture_->ReturnSlot(m->slot);
      }
    } give_back{this, m.get()};
    if (env == nullptr || closed_) return;  // torn down, or close() called: not wanted
    Napi::HandleScope scope(env);
    switch (m->kind) {
      case Message::kBatch: {
        Napi::Value keep =
            fn.Call({Napi::String::New(env, "batch"), records_[m->slot].Value(), Napi::Number::New(env, m->count),
                     plain_[m->slot].Value(), Napi::Number::New(env, m->plain_len), Napi::Number::New(env, m->slot)});
        if (keep.IsBoolean() && keep.As<Napi::Boolean>().Value()) {
          kept_[m->slot] = true;
          give_back.kept = true;
        }
        break;
      }
      case Message::kGone:
        fn.Call({Napi::String::New(env, "interface-gone"), Napi::String::New(env, m->name),
                 Napi::Number::New(env, m->ifindex), Napi::String::New(env, m->code), Napi::String::New(env, m->text)});
        break;
      case Message::kError:
        fn.Call({Napi::String::New(env, "error"), Napi::String::New(env, m->text)});
        break;
    }
  }

  // After close() (or at environment teardown): the worker is joined and
  // every queued message has been delivered or dropped.
  void Finalized() {
    finalized_ = true;
    ctx_ = nullptr;  // deleted by the caller
    Napi::HandleScope scope(Env());
    if (capture_) capture_->Stop();
    records_.clear();
    plain_.clear();
    if (!close_deferred_.empty()) {
      for (auto& d : close_deferred_) d.Resolve(Env().Undefined());
      close_deferred_.clear();
    }
    Unref();
  }

  Napi::Value Add(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "add: interface name must be a string");
    const std::string name = info[0].As<Napi::String>().Utf8Value();
    try {
      return Napi::Number::New(env, capture_->Add(name));
    } catch (const std::system_error& e) {
      throw SysError(env, std::string("capture on ") + e.what(), e.code().value());
    }
  }

  Napi::Value Remove(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsString()) throw Napi::TypeError::New(env, "remove: interface name must be a string");
    return Napi::Boolean::New(env, capture_->Remove(info[0].As<Napi::String>().Utf8Value()));
  }

  Napi::Value SetKeys(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CheckOpen(env);
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "setKeys: keys must be an object");
    const std::vector<KeyMaterial> keys = Keys(info[0].As<Napi::Object>());
    try {
      return Napi::Number::New(env, capture_->SetKeys(keys));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("setKeys: ") + e.what());
    }
  }

  // A slot the 'batch' callback kept goes back to the worker. Only a slot
  // kept and not yet released: a second release would put it in the free
  // list twice, and the worker would fill one slot for two batches.
  Napi::Value Release(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "release: slot must be a number");
    const double d = info[0].As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && d < static_cast<double>(kept_.size())) || d != static_cast<double>(static_cast<uint32_t>(d)) ||
        !kept_[static_cast<uint32_t>(d)]) {
      throw Napi::RangeError::New(env, "release: slot " + info[0].ToString().Utf8Value() + " is not a slot JS kept");
    }
    const uint32_t slot = static_cast<uint32_t>(d);
    kept_[slot] = false;
    if (closed_ || !capture_) return Napi::Boolean::New(env, false);  // the worker is gone or going: nothing to wake
    capture_->ReturnSlot(slot);
    return Napi::Boolean::New(env, true);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    if (closed_ || !capture_) return out;
    for (const auto& s : capture_->Stats()) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("ifindex", Napi::Number::New(env, s.ifindex));
      o.Set("packets", Napi::Number::New(env, static_cast<double>(s.packets)));
      o.Set("drops", Napi::Number::New(env, static_cast<double>(s.shed)));
      o.Set("beacons", Napi::Number::New(env, static_cast<double>(s.beacons)));
      o.Set("rejected", Napi::Number::New(env, static_cast<double>(s.rejected)));
      o.Set("skipped", Napi::Number::New(env, static_cast<double>(s.skipped)));
      out.Set(s.name, o);
    }
    return out;
  }

  Napi::Value Ring(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    const SharedRingStats s = closed_ || !capture_ ? SharedRingStats{} : capture_->RingTotals();
    o.Set("open", s.open);
    o.Set("blockSize", s.block_size);
    o.Set("blockCount", s.block_count);
    o.Set("packets", static_cast<double>(s.kernel.packets));
    o.Set("drops", static_cast<double>(s.kernel.drops));
    o.Set("freezes", static_cast<double>(s.kernel.freezes));
    o.Set("unclaimed", static_cast<double>(s.unclaimed));
    return o;
  }

  // Joins the worker now (it exits within one poll wake-up), then lets the
  // thread-safe function drain; the promise settles in Finalized().
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
      capture_->Stop();
      tsfn_.Release();
    }
    return d.Promise();
  }

  void CheckOpen(Napi::Env env) {
    if (closed_) throw Napi::Error::New(env, "NativeCapture is closed");
  }

  struct Context {
    NativeCapture* self;
  };
  Context* ctx_ = nullptr;
  std::unique_ptr<Capture> capture_;
  Napi::ThreadSafeFunction tsfn_;
  std::vector<Napi::Reference<Napi::Uint8Array>> records_, plain_;
  // Slots the 'batch' callback kept (JS thread only), until release().
  std::vector<bool> kept_;
  std::vector<Napi::Promise::Deferred> close_deferred_;
  bool closed_ = false;
  bool finalized_ = false;
};

Napi::Value RecordLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  const std::pair<const char*, size_t> fields[] = {
      {"size", rec::kSize},
      {"ifindex", rec::kIfindex},
      {"sec", rec::kSec},
      {"nsec", rec::kNsec},
      {"status", rec::kStatus},
      {"version", rec::kVersion},
      {"headerType", rec::kHeaderType},
      {"flags", rec::kFlags},
      {"vid", rec::kVid},
      {"outerVid", rec::kOuterVid},
      {"srcPort", rec::kSrcPort},
      {"dstPort", rec::kDstPort},
      {"srcMac", rec::kSrcMac},
      {"dstMac", rec::kDstMac},
      {"srcIp", rec::kSrcIp},
      {"dstIp", rec::kDstIp},
      {"plainOffset", rec::kPlainOff},
      {"plainLength", rec::kPlainLen},
      {"payloadLength", rec::kPayloadLen},
      {"payloadOffset", rec::kPayloadOff},
      {"pktType", rec::kPktType},
      {"keyIndex", rec::kKeyIndex},
      {"keyGeneration", rec::kKeyGeneration},
      {"flagVid", rec::kFlagVid},
      {"flagOuterVid", rec::kFlagOuterVid},
      {"flagIpv6", rec::kFlagIpv6},
      {"flagStripped", rec::kFlagStripped},
      {"flagTruncated", rec::kFlagTruncated},
  };
  for (const auto& f : fields) o.Set(f.first, Napi::Number::New(env, static_cast<double>(f.second)));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeCapture", NativeCapture::Define(env));
  exports.Set("captureRecordLayout", Napi::Function::New(env, RecordLayout, "captureRecordLayout"));
}

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
