// cryptoFloor(tokens, offsets, signing, encryption, iterations) -> ns/token
// (nanoseconds of the calling thread's CPU time per token)
//
// The cost of the cryptography alone: HMAC-SHA256 check, AES-128-CBC decrypt
// with PKCS7 unpad, and gunzip, over raw Fernet tokens (no beacon header, no
// age check, no JS boundary per token), through the same FernetCrypto and
// Gunzip classes the Verifier uses. Benchmarks divide the verifier's cost by
// this to see what the rest of the pipeline adds. Token i is
// tokens[offsets[i] .. offsets[i+1]); every token must be authentic.
#include <napi.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "fernet_crypto.h"
#include "gunzip.h"
#include "napi_args.h"
#include "registry.h"

namespace netbeacon {

namespace {

constexpr size_t kIv = 9;   // after 0x80 and the 8-byte timestamp
constexpr size_t kCt = 25;  // after the IV
constexpr size_t kMin = kCt + kAesBlock + kMacLen;

// CPU time of this thread, not wall time: on a shared machine the floor
// must not include time spent preempted. Compare it with CPU time.
double ThreadCpuNs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct Floor {
  FernetCrypto crypto;
  Gunzip gunzip;
  std::vector<uint8_t> padded = std::vector<uint8_t>(0x10000);
  std::vector<uint8_t> plain = std::vector<uint8_t>(kMaxInflated);

  Floor(const uint8_t* sign, const uint8_t* enc) : crypto(sign, enc) {}

  // The work of one token; false if any step rejects it.
  bool Run(const uint8_t* tok, size_t n) {
    const size_t ct_len = n - kCt - kMacLen;
    if (!crypto.MacMatches(tok, n - kMacLen, tok + n - kMacLen)) return false;
    const long p = crypto.DecryptUnpad(tok + kIv, tok + kCt, ct_len, padded.data());
    size_t out = 0;
    return p >= 0 && gunzip.Inflate(padded.data(), static_cast<size_t>(p), plain.data(), plain.size(), &out) == kOk;
  }
};

Napi::Value CryptoFloor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array tokens = TypedArg<uint8_t>(info, 0, "tokens");
  Napi::Uint32Array offsets = TypedArg<uint32_t>(info, 1, "offsets");
  const uint8_t* signing = KeyArg(info, 2, "signing");
  const uint8_t* encryption = KeyArg(info, 3, "encryption");
  const size_t iterations = CountArg(info, 4, "iterations", 1e9);
  if (offsets.ElementLength() < 2) throw Napi::RangeError::New(env, "offsets must delimit at least one token");
  if (iterations == 0) throw Napi::RangeError::New(env, "iterations must be at least 1");
  const size_t count = offsets.ElementLength() - 1;
  const uint32_t* off = offsets.Data();
  const uint8_t* bytes = tokens.Data();
  if (off[count] > tokens.ElementLength()) throw Napi::RangeError::New(env, "offsets run past the end of tokens");
  for (size_t i = 0; i < count; i++) {
    const size_t n = off[i + 1] >= off[i] ? off[i + 1] - off[i] : 0;
    if (n < kMin || n > 0xffff || (n - kMin) % kAesBlock != 0 || bytes[off[i]] != 0x80) {
      throw Napi::RangeError::New(env, "token " + std::to_string(i) + " is not a Fernet token");
    }
  }

  std::unique_ptr<Floor> floor;
  try {
    floor.reset(new Floor(signing, encryption));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("cannot set up the crypto floor: ") + e.what());
  }
  // An untimed pass: proves every token authentic (a failing token would
  // measure an early exit) and warms the caches as the verifier's are.
  for (size_t i = 0; i < count; i++) {
    if (!floor->Run(bytes + off[i], off[i + 1] - off[i])) {
      throw Napi::RangeError::New(env, "token " + std::to_string(i) + " does not verify under this key");
    }
  }
  size_t failures = 0;
  const double t0 = ThreadCpuNs();
  for (size_t it = 0; it < iterations; it++) {
    for (size_t i = 0; i < count; i++) failures += !floor->Run(bytes + off[i], off[i + 1] - off[i]);
  }
  const double t1 = ThreadCpuNs();
  if (failures) throw Napi::Error::New(env, "a token stopped verifying mid-run");
  return Napi::Number::New(env, (t1 - t0) / (static_cast<double>(iterations) * static_cast<double>(count)));
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("cryptoFloor", Napi::Function::New<CryptoFloor>(env, "cryptoFloor"));
}

RegisterInit reg(&Init);

}  // namespace

}  // namespace netbeacon
