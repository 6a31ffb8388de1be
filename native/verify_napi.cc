// JS class NativeVerifier: one Verifier per instance and one boundary
// crossing per batch. JS:
//   const v = new NativeVerifier(signing, encryption);   // Uint8Array(16) x2
//   const v3 = new NativeVerifier(signing, encryption, v3Key, v3KeyId);  // + Uint8Array(32), Uint8Array(4):
//                                                        // version 3 accepted too (docs/beacon-v3.md)
//   const r = v.verify(data, offsets, now, count);
//   // r: {count, status, version, headerType: Uint8Array(count),
//   //     plainOffsets: Uint32Array(count + 1), plain: Uint8Array}
// Item i is data[offsets[i] .. offsets[i+1]), judged at floor(now[i]).
//
// Output: verdicts are gathered in a buffer owned by the instance (reused,
// so a batch allocates nothing per packet), then copied into ONE fresh
// buffer that the five views share. The copy is a few hundred bytes per
// authentic packet; handing out the reused buffer instead would let the
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

#include "frame.h"
#include "napi_args.h"
#include "observe_lines.h"
#include "registry.h"
#include "verify.h"

namespace netbeacon {

namespace {

// Plaintext room kept for the next item, so Verify can write in place.
constexpr size_t kHeadroom = kMaxInflated;
// The staging buffer keeps what it grew to, up to this, between calls.
constexpr size_t kKeepStage = 4 * 1024 * 1024;

int64_t FloorSeconds(double now) {
  const double f = std::floor(now);
  // Beyond int64 no token can be in the window anyway; clamp, don't wrap.
  // (NaN, refused by CheckBatch, could still race in through shared memory:
  // it must not reach the undefined float-to-int conversion.)
  if (!(f < 9223372036854775807.0)) return std::numeric_limits<int64_t>::max();
  if (f < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(f);
}

class NativeVerifier : public Napi::ObjectWrap<NativeVerifier> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeVerifier",
                       {InstanceMethod<&NativeVerifier::Verify>("verify"),
                        InstanceMethod<&NativeVerifier::ObserveLines>("observeLines")});
  }

  explicit NativeVerifier(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeVerifier>(info) {
    const uint8_t* signing = KeyArg(info, 0, "signing");
    const uint8_t* encryption = KeyArg(info, 1, "encryption");
    V3Key v3{};
    const bool has_v3 = info.Length() > 2 && !info[2].IsUndefined();
    if (has_v3) {
      Napi::Uint8Array key = TypedArg<uint8_t>(info, 2, "v3Key");
      Napi::Uint8Array id = TypedArg<uint8_t>(info, 3, "v3KeyId");
      if (key.ElementLength() != sizeof v3.key) throw Napi::RangeError::New(info.Env(), "v3Key must be 32 bytes");
      if (id.ElementLength() != sizeof v3.id) throw Napi::RangeError::New(info.Env(), "v3KeyId must be 4 bytes");
      std::memcpy(v3.key, key.Data(), sizeof v3.key);
      std::memcpy(v3.id, id.Data(), sizeof v3.id);
    }
    try {
      verifier_.reset(new Verifier(signing, encryption, has_v3 ? &v3 : nullptr));
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("cannot set up the verifier: ") + e.what());
    }
  }

 private:
  std::unique_ptr<Verifier> verifier_;
  std::vector<uint8_t> stage_;  // the next result, laid out as returned
  std::vector<uint8_t> plain_;  // observeLines: one plaintext at a time
  std::vector<uint8_t> json_;   // observeLines: one payload's JSON at a time

  Napi::Value ObserveLines(const Napi::CallbackInfo& info);

  Napi::Value Verify(const Napi::CallbackInfo& info);
  void CheckBatch(const Napi::CallbackInfo& info, const Napi::Uint8Array& data, const Napi::Uint32Array& offsets,
                  const Napi::Float64Array& now, size_t count);
  Napi::Object Result(Napi::Env env, size_t count, size_t total);
  void Prepare(const uint8_t* bytes, size_t data_len, const uint32_t* off, size_t first, size_t n);
};

// The v3 keys of items [first, first + n) in one pass (Verifier::PrepareV3).
// Items whose offsets lie outside data (changed under us) are left out here;
// the loop in Verify throws on them.
void NativeVerifier::Prepare(const uint8_t* bytes, size_t data_len, const uint32_t* off, size_t first, size_t n) {
  const uint8_t* items[Verifier::kV3Batch];
  size_t lens[Verifier::kV3Batch];
  for (size_t j = 0; j < n; j++) {
    const size_t from = off[first + j], to = off[first + j + 1];
    const bool inside = from <= to && to <= data_len;
    items[j] = inside ? bytes + from : nullptr;
    lens[j] = inside ? to - from : 0;
  }
  verifier_->PrepareV3(items, lens, n);
}

void NativeVerifier::CheckBatch(const Napi::CallbackInfo& info, const Napi::Uint8Array& data,
                                const Napi::Uint32Array& offsets, const Napi::Float64Array& now, size_t count) {
  Napi::Env env = info.Env();
  if (offsets.ElementLength() < count + 1) {
    throw Napi::RangeError::New(env, "offsets must hold count + 1 entries");
  }
  if (now.ElementLength() < count) throw Napi::RangeError::New(env, "now must hold count entries");
  const uint32_t* off = offsets.Data();
  for (size_t i = 0; i < count; i++) {
    if (off[i] > off[i + 1]) {
      throw Napi::RangeError::New(env, "offsets must not decrease (at index " + std::to_string(i + 1) + ")");
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

  // The result is staged exactly as it is returned (see Result), so that
  // one copy hands it over: plainOffsets | status | version | headerType |
  // plain. Verify writes each plaintext in place at the end.
  const size_t head = 4 * (count + 1) + 3 * count;
  if (stage_.size() < head + kHeadroom) stage_.resize(head + kHeadroom);
  const uint8_t* bytes = data.Data();
  const size_t data_len = data.ElementLength();
  const uint32_t* off = offsets.Data();
  const double* when = now.Data();
  size_t used = 0;
  uint32_t end = 0;
  std::memcpy(stage_.data(), &end, 4);
  for (size_t i = 0; i < count; i++) {
    if (i % Verifier::kV3Batch == 0) Prepare(bytes, data_len, off, i, std::min(count - i, Verifier::kV3Batch));
    // Verify may write up to kMaxInflated bytes; keep that much room.
    if (stage_.size() - head - used < kHeadroom) {
      stage_.resize(std::max(2 * stage_.size(), head + used + kHeadroom));
    }
    // Read each offset once and check it again: arrays over a
    // SharedArrayBuffer can change under us after CheckBatch.
    const size_t from = off[i], to = off[i + 1];
    if (from > to || to > data_len) throw Napi::RangeError::New(env, "offsets changed during the call");
    uint8_t* s = stage_.data();
    const VerifyResult r =
        verifier_->Verify(bytes + from, to - from, FloorSeconds(when[i]), s + head + used, kHeadroom);
    s[4 * (count + 1) + i] = r.status;
    s[4 * (count + 1) + count + i] = r.version;
    s[4 * (count + 1) + 2 * count + i] = r.header_type;
    if (r.status == kOk) used += r.plain_len;
    if (used > UINT32_MAX) throw Napi::RangeError::New(env, "batch plaintext exceeds 4 GiB");
    end = static_cast<uint32_t>(used);
    std::memcpy(s + 4 * (i + 1), &end, 4);
  }
  verifier_->ForgetV3();
  Napi::Object result = Result(env, count, head + used);
  if (stage_.size() > kKeepStage) {
    stage_.resize(kHeadroom);
    stage_.shrink_to_fit();
  }
  return result;
}

Napi::Object NativeVerifier::Result(Napi::Env env, size_t count, size_t total) {
  // One allocation and one copy for the whole result. (Buffer::Copy, which
  // skips zeroing, measured no faster: the fixed cost of a call is in the
  // N-API calls below, ~3 us, under 1% of a batch of authentic beacons.)
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, total);
  std::memcpy(ab.Data(), stage_.data(), total);
  const size_t ends = 4 * (count + 1);
  Napi::Object o = Napi::Object::New(env);
  o.Set("count", Napi::Number::New(env, static_cast<double>(count)));
  o.Set("status", Napi::Uint8Array::New(env, count, ab, ends));
  o.Set("version", Napi::Uint8Array::New(env, count, ab, ends + count));
  o.Set("headerType", Napi::Uint8Array::New(env, count, ab, ends + 2 * count));
  o.Set("plain", Napi::Uint8Array::New(env, total - ends - 3 * count, ab, ends + 3 * count));
  o.Set("plainOffsets", Napi::Uint32Array::New(env, count + 1, ab, 0));
  return o;
}

// observeLines(frames, offsets, times, count, out) ->
//   {processed, kind: Uint8Array(count), reason: Uint8Array(count),
//    lineEnds: Uint32Array(count + 1)}
// Frame i is frames[offsets[i] .. offsets[i+1]), captured at times[i]
// (seconds; its token is judged at the floor). Lines are written into out
// (the caller's, reused from batch to batch: no allocation, no page faults
// per batch). Frames are taken in order until one's line might not fit:
// `processed` says how many were, and only their entries are meaningful.
// kind[i] is a LineKind (observe_lines.h); for kLine its line is
// out[lineEnds[i] .. lineEnds[i+1]), for kRejected reason[i] says why.
Napi::Value NativeVerifier::ObserveLines(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array data = TypedArg<uint8_t>(info, 0, "frames");
  Napi::Uint32Array offsets = TypedArg<uint32_t>(info, 1, "offsets");
  Napi::Float64Array times = TypedArg<double>(info, 2, "times");
  const size_t count = CountArg(info, 3, "count", 4294967294.0);
  Napi::Uint8Array out = TypedArg<uint8_t>(info, 4, "out");
  if (offsets.ElementLength() < count + 1) throw Napi::RangeError::New(env, "offsets must hold count + 1 entries");
  if (times.ElementLength() < count) throw Napi::RangeError::New(env, "times must hold count entries");
  if (out.ByteLength() > UINT32_MAX) throw Napi::RangeError::New(env, "out must be under 4 GiB");
  const uint8_t* bytes = data.Data();
  const size_t data_len = data.ElementLength();
  const uint32_t* off = offsets.Data();
  const double* when = times.Data();
  uint8_t* text = out.Data();
  const size_t room = out.ByteLength();
  if (plain_.size() < kMaxInflated) plain_.resize(kMaxInflated);
  if (json_.size() < JsonRoom(kMaxInflated)) json_.resize(JsonRoom(kMaxInflated));
  size_t used = 0;
  Napi::ArrayBuffer meta = Napi::ArrayBuffer::New(env, 4 * (count + 1) + 2 * count);
  uint32_t* ends = static_cast<uint32_t*>(meta.Data());
  uint8_t* kind = static_cast<uint8_t*>(meta.Data()) + 4 * (count + 1);
  uint8_t* reason = kind + count;
  ends[0] = 0;
  size_t i = 0;
  for (; i < count; i++) {
    // Each offset read once and checked here: arrays over shared memory may change under us.
    const size_t from = off[i], to = off[i + 1];
    if (from > to || to > data_len)
      throw Napi::RangeError::New(env, "frame " + std::to_string(i) + " lies outside frames");
    kind[i] = kDeclined;
    reason[i] = 0;
    FrameFields ff{};
    const double t = when[i];
    if (!ParseFrame(bytes + from, to - from, StrippedTag{}, &ff)) {
      kind[i] = kNotBeacon;
    } else if (std::isfinite(t) && t >= 0 && t < 9007199254740992.0) {
      const VerifyResult r = verifier_->Verify(bytes + from + ff.payload_off, ff.payload_len, FloorSeconds(t),
                                               plain_.data(), plain_.size());
      int64_t type = -1;
      const uint8_t* json_end = nullptr;
      if (r.status != kOk) {
        kind[i] = kRejected;
        reason[i] = r.status;
      } else if (r.plain_len > 0 &&
                 (json_end = BsonToJson(plain_.data(), r.plain_len, json_.data(), &type)) != nullptr) {
        const size_t json_len = static_cast<size_t>(json_end - json_.data());
        if (type != 1 && type != 2) {
          kind[i] = kRejected;
          reason[i] = kType;
        } else if (ff.family == 4) {
          if (room - used < json_len + kLineFrameRoom) break;  // the caller goes on with a larger out
          uint8_t* w = LinePrefix(ff, static_cast<int64_t>(std::floor(t)), r.version, type, text + used);
          if (w != nullptr) {
            std::memcpy(w, json_.data(), json_len);
            w = LineSuffix(ff, w + json_len);
            used = static_cast<size_t>(w - text);
            kind[i] = kLine;
          }
        }
      }
    }
    ends[i + 1] = static_cast<uint32_t>(used);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("processed", Napi::Number::New(env, static_cast<double>(i)));
  o.Set("kind", Napi::Uint8Array::New(env, count, meta, 4 * (count + 1)));
  o.Set("reason", Napi::Uint8Array::New(env, count, meta, 4 * (count + 1) + count));
  o.Set("lineEnds", Napi::Uint32Array::New(env, count + 1, meta, 0));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) { exports.Set("NativeVerifier", NativeVerifier::Define(env)); }

RegisterInit reg(&Init);

}  // namespace

}  // namespace netbeacon
