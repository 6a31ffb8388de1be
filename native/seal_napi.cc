// JS class NativeSealer: one Sealer (seal.h) per key and one boundary
// crossing per batch of v2 beacons (a whole multicast round). JS:
//   const s = new NativeSealer(signing, encryption);     // Uint8Array(16) x2
//   const r = s.seal(data, offsets, types, times, ivs, count);
//   // r: {data: Buffer, offsets: Uint32Array(count + 1)}
// Document i is data[offsets[i] .. offsets[i+1]) (BSON), sealed with header
// type types[i] (1 or 2), stamped floor(times[i]) (seconds), with IV
// ivs[16i .. 16i+16); with ivs undefined, every IV is drawn here with
// RAND_bytes, one call for the batch. Datagram i is r.data[r.offsets[i] ..
// r.offsets[i+1]). src/engine/native-sealer.ts checks the same things first;
// these checks are the addon's own, because it must never read out of bounds.
#include <napi.h>
#include <openssl/rand.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "napi_args.h"
#include "registry.h"
#include "seal.h"

namespace netbeacon {

namespace {

// A round is interfaces x addresses x formats; far below this.
constexpr double kMaxBatch = 65536;
// Times are whole seconds a double holds exactly (Number.MAX_SAFE_INTEGER).
constexpr double kMaxTime = 9007199254740991.0;

std::string At(const char* what, size_t i) { return std::string("seal: ") + what + "[" + std::to_string(i) + "]"; }

class NativeSealer : public Napi::ObjectWrap<NativeSealer> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeSealer", {InstanceMethod<&NativeSealer::Seal>("seal")});
  }

  explicit NativeSealer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeSealer>(info) {
    const uint8_t* signing = KeyArg(info, 0, "signing");
    const uint8_t* encryption = KeyArg(info, 1, "encryption");
    try {
      sealer_.reset(new Sealer(signing, encryption));
    } catch (const std::exception& e) {
      throw Napi::Error::New(info.Env(), std::string("cannot set up the sealer: ") + e.what());
    }
  }

 private:
  std::unique_ptr<Sealer> sealer_;
  std::vector<uint8_t> stage_;
  std::vector<uint8_t> drawn_;

  Napi::Value Seal(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Uint8Array data = TypedArg<uint8_t>(info, 0, "seal: data");
    Napi::Uint32Array offsets = TypedArg<uint32_t>(info, 1, "seal: offsets");
    Napi::Uint8Array types = TypedArg<uint8_t>(info, 2, "seal: types");
    Napi::Float64Array times = TypedArg<double>(info, 3, "seal: times");
    const bool draw = info[4].IsUndefined();
    const size_t count = CountArg(info, 5, "seal: count", kMaxBatch);
    if (offsets.ElementLength() != count + 1) {
      throw Napi::RangeError::New(env, "seal: offsets must have count + 1 = " + std::to_string(count + 1) +
                                           " entries, got " + std::to_string(offsets.ElementLength()));
    }
    if (types.ElementLength() != count || times.ElementLength() != count) {
      throw Napi::RangeError::New(env, "seal: types and times must have count = " + std::to_string(count) + " entries");
    }
    const uint8_t* ivs = nullptr;
    if (!draw) {
      Napi::Uint8Array given = TypedArg<uint8_t>(info, 4, "seal: ivs");
      if (given.ElementLength() != count * kAesBlock) {
        throw Napi::RangeError::New(env, "seal: ivs must be 16 x count = " + std::to_string(count * kAesBlock) +
                                             " bytes, got " + std::to_string(given.ElementLength()));
      }
      ivs = given.Data();
    }
    const uint32_t* off = offsets.Data();
    if (off[0] != 0) throw Napi::RangeError::New(env, "seal: offsets[0] must be 0");
    size_t room = 0;
    for (size_t i = 0; i < count; i++) {
      if (off[i + 1] < off[i] || off[i + 1] > data.ByteLength()) {
        throw Napi::RangeError::New(env, At("offsets", i + 1) + " must be non-decreasing and within data (" +
                                             std::to_string(data.ByteLength()) + " bytes)");
      }
      const size_t len = off[i + 1] - off[i];
      if (len > kMaxSealInput) {
        throw Napi::RangeError::New(env, "seal: document " + std::to_string(i) + " is " + std::to_string(len) +
                                             " bytes, more than " + std::to_string(kMaxSealInput));
      }
      if (types[i] != 1 && types[i] != 2) throw Napi::RangeError::New(env, At("types", i) + " must be 1 or 2");
      const double t = times[i];
      if (!(t >= 0 && t <= kMaxTime)) {
        throw Napi::RangeError::New(env, At("times", i) + " must be seconds from 0 to 2^53 - 1");
      }
      room += Sealer::MaxSealed(len);
    }
    if (draw) {
      drawn_.resize(count * kAesBlock);
      if (count > 0 && RAND_bytes(drawn_.data(), static_cast<int>(drawn_.size())) != 1) {
        throw Napi::Error::New(env, "seal: OpenSSL's RAND_bytes failed to draw the IVs");
      }
      ivs = drawn_.data();
    }
    stage_.resize(room);
    Napi::Uint32Array out_offsets = Napi::Uint32Array::New(env, count + 1);
    size_t at = 0;
    out_offsets[0] = 0;
    for (size_t i = 0; i < count; i++) {
      const size_t n =
          sealer_->Seal(data.Data() + off[i], off[i + 1] - off[i], types[i],
                        static_cast<uint64_t>(std::floor(times[i])), ivs + i * kAesBlock, stage_.data() + at);
      if (n == 0) throw Napi::Error::New(env, "seal: document " + std::to_string(i) + ": zlib or OpenSSL failed");
      at += n;
      out_offsets[i + 1] = static_cast<uint32_t>(at);
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("data", Napi::Buffer<uint8_t>::Copy(env, stage_.data(), at));
    r.Set("offsets", out_offsets);
    return r;
  }
};

void Init(Napi::Env env, Napi::Object exports) { exports.Set("NativeSealer", NativeSealer::Define(env)); }

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
