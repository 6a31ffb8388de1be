// JS class NativeVerifier: one Verifier per instance and one boundary
// crossing per batch. JS:
//   const v = new NativeVerifier(signing, encryption);   // Uint8Array(16) x2
//   const r = v.verify(data, offsets, now, count);
//   // r: {count, status, version, headerType: Uint8Array(count),
//   //     plainOffsets: Uint32Array(count + 1), plain: Uint8Array}
// Item i is data[offsets[i] .. offsets[i+1]), judged at floor(now[i]).
//
// Output: verdicts are gathered in buffers owned by the instance (reused,
// so a batch allocates nothing per packet), then copied into ONE fresh
// ArrayBuffer that the five views share. The copy is a few hundred bytes per
// authentic packet; handing out the reused buffers instead would let the
// next call overwrite results a caller still holds.
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "napi_args.h"
#include "registry.h"
#include "verify.h"

namespace netbeacon {

namespace {

// Plaintext room kept for the next item, so Verify can write in place.
constexpr size_t kHeadroom = kMaxInflated;
// The plaintext buffer keeps what it grew to, up to this, between calls.
constexpr size_t kKeepPlain = 4 * 1024 * 1024;

int64_t FloorSeconds(double now) {
  const double f = std::floor(now);
  // Beyond int64 no token can be in the window anyway; clamp, don't wrap.
  if (f >= 9223372036854775807.0) return std::numeric_limits<int64_t>::max();
  if (f < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

class NativeVerifier : public Napi::ObjectWrap<NativeVerifier> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeVerifier",
                       {InstanceMethod<&NativeVerifier::Verify>("verify")});
  }

  explicit NativeVerifier(const Napi::CallbackInfo& info)
      : Napi::ObjectWrap<NativeVerifier>(info) {
    const uint8_t* signing = KeyArg(info, 0, "signing");
    const uint8_t* encryption = KeyArg(info, 1, "encryption");
    try {
      verifier_.reset(new Verifier(signing, encryption));
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("cannot set up the verifier: ") + e.what());
    }
  }

 private:
  std::unique_ptr<Verifier> verifier_;
  std::vector<uint8_t> items_;   // status | version | headerType, count each
  std::vector<uint32_t> ends_;   // plainOffsets
  std::vector<uint8_t> plain_;   // concatenated plaintexts + kHeadroom

  Napi::Value Verify(const Napi::CallbackInfo& info);
  void CheckBatch(const Napi::CallbackInfo& info, const Napi::Uint8Array& data,
                  const Napi::Uint32Array& offsets, const Napi::Float64Array& now,
                  size_t count);
  Napi::Object Result(Napi::Env env, size_t count, size_t plain_len);
};

void NativeVerifier::CheckBatch(const Napi::CallbackInfo& info, const Napi::Uint8Array& data,
                                const Napi::Uint32Array& offsets,
                                const Napi::Float64Array& now, size_t count) {
  Napi::Env env = info.Env();
  if (offsets.ElementLength() < count + 1) {
    throw Napi::RangeError::New(env, "offsets must hold count + 1 entries");
  }
  if (now.ElementLength() < count) throw Napi::RangeError::New(env, "now must hold count entries");
  const uint32_t* off = offsets.Data();
  for (size_t i = 0; i < count; i++) {
    if (off[i] > off[i + 1]) {
      throw Napi::RangeError::New(env, "offsets must not decrease (at index " +
                                           std::to_string(i + 1) + ")");
    }
    if (!std::isfinite(now.Data()[i])) {
      throw Napi::RangeError::New(env, "now[" + std::to_string(i) + "] is not finite");
    }
  }
  if (count > 0 && off[count] > data.ElementLength()) {
    throw Napi::RangeError::New(env, "offsets run past the end of data");
  }
}

Napi::Value NativeVerifier::Verify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = TypedArg<uint8_t>(info, 0, "data");
  Napi::Uint32Array offsets = TypedArg<uint32_t>(info, 1, "offsets");
  Napi::Float64Array now = TypedArg<double>(info, 2, "now");
  const size_t count = CountArg(info, 3, "count", 4294967294.0);
  CheckBatch(info, data, offsets, now, count);

  items_.resize(3 * count);
  ends_.resize(count + 1);
  if (plain_.size() < kHeadroom) plain_.resize(kHeadroom);
  const uint8_t* bytes = data.Data();
  const uint32_t* off = offsets.Data();
  const double* when = now.Data();
  size_t used = 0;
  ends_[0] = 0;
  for (size_t i = 0; i < count; i++) {
    // Verify may write up to kMaxInflated bytes at plain_[used]; keep that
    // much room so it can write in place instead of into a scratch copy.
    if (plain_.size() - used < kHeadroom) plain_.resize(std::max(2 * plain_.size(), used + kHeadroom));
    VerifyResult r = verifier_->Verify(bytes + off[i], off[i + 1] - off[i], FloorSeconds(when[i]),
                                       plain_.data() + used, kHeadroom);
    items_[i] = r.status;
    items_[count + i] = r.version;
    items_[2 * count + i] = r.header_type;
    if (r.status == kOk) used += r.plain_len;
    if (used > UINT32_MAX) throw Napi::RangeError::New(env, "batch plaintext exceeds 4 GiB");
    ends_[i + 1] = static_cast<uint32_t>(used);
  }
  Napi::Object result = Result(env, count, used);
  if (plain_.size() > kKeepPlain) {
    plain_.resize(kHeadroom);
    plain_.shrink_to_fit();
  }
  return result;
}

Napi::Object NativeVerifier::Result(Napi::Env env, size_t count, size_t plain_len) {
  // One allocation for the whole result: offsets first for 4-byte alignment.
  const size_t ends_bytes = 4 * (count + 1);
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, ends_bytes + 3 * count + plain_len);
  uint8_t* base = static_cast<uint8_t*>(ab.Data());
  std::memcpy(base, ends_.data(), ends_bytes);
  if (count) std::memcpy(base + ends_bytes, items_.data(), 3 * count);
  if (plain_len) std::memcpy(base + ends_bytes + 3 * count, plain_.data(), plain_len);

  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, static_cast<double>(count)));
  o.Set("status", Napi::Uint8Array::New(env, count, ab, ends_bytes));
  o.Set("version", Napi::Uint8Array::New(env, count, ab, ends_bytes + count));
  o.Set("headerType", Napi::Uint8Array::New(env, count, ab, ends_bytes + 2 * count));
  o.Set("plain", Napi::Uint8Array::New(env, plain_len, ab, ends_bytes + 3 * count));
  o.Set("plainOffsets", Napi::Uint32Array::New(env, count + 1, ab, 0));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeVerifier", NativeVerifier::Define(env));
}

RegisterInit reg(&Init);

}  // namespace

}  // namespace netbeacon
