// xchacha: the native v3 primitives on their own, for known-answer tests
// against libsodium's published vectors (test/unit/v3-kat.test.ts). Not a
// hot path (one call per message); the verifier uses xchacha.h directly.
//   xchacha.hchacha20(key32, in16) -> Uint8Array(32)
//   xchacha.seal(key32, nonce24, ad, plaintext) -> Uint8Array(ciphertext || tag)
//   xchacha.open(key32, nonce24, ad, ciphertextAndTag, evp?) -> Uint8Array | null
//     (evp true: through the EVP cipher even where OpenSSL's routines are exported)
//   xchacha.direct() -> whether Open takes its own path (xchacha.h), not EVP's: always, unless forced
#include <napi.h>

#include <cstring>
#include <string>
#include <vector>

#include "napi_args.h"
#include "registry.h"
#include "xchacha.h"

namespace netbeacon {

namespace {

Napi::Uint8Array Bytes(const Napi::CallbackInfo& info, size_t i, const char* name, size_t want) {
  Napi::Uint8Array a = TypedArg<uint8_t>(info, i, name);
  if (want != 0 && a.ElementLength() != want) {
    throw Napi::RangeError::New(info.Env(), std::string(name) + " must be " + std::to_string(want) + " bytes");
  }
  return a;
}

Napi::Value HChaCha(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = Bytes(info, 0, "key", 32), in = Bytes(info, 1, "in", 16);
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), 32);
  HChaCha20(key.Data(), in.Data(), out.Data());
  return out;
}

Napi::Value Seal(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = Bytes(info, 0, "key", kXKeyLen), nonce = Bytes(info, 1, "nonce", kXNonceLen);
  Napi::Uint8Array ad = Bytes(info, 2, "ad", 0), pt = Bytes(info, 3, "plaintext", 0);
  const size_t n = pt.ElementLength();
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), n + kXTagLen);
  XChaCha20Poly1305 aead;
  if (!aead.Seal(key.Data(), nonce.Data(), ad.Data(), ad.ElementLength(), pt.Data(), n, out.Data(), out.Data() + n)) {
    throw Napi::Error::New(info.Env(), "XChaCha20-Poly1305 sealing failed");
  }
  return out;
}

Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Uint8Array key = Bytes(info, 0, "key", kXKeyLen), nonce = Bytes(info, 1, "nonce", kXNonceLen);
  Napi::Uint8Array ad = Bytes(info, 2, "ad", 0), ct = Bytes(info, 3, "ciphertext", 0);
  if (ct.ElementLength() < kXTagLen) return info.Env().Null();
  const size_t n = ct.ElementLength() - kXTagLen;
  std::vector<uint8_t> plain(n + 1);
  XChaCha20Poly1305 aead;
  if (info.Length() > 4 && info[4].ToBoolean()) aead.ForceEvp();
  if (!aead.Open(key.Data(), nonce.Data(), ad.Data(), ad.ElementLength(), ct.Data(), n, ct.Data() + n, plain.data())) {
    return info.Env().Null();
  }
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), n);
  if (n > 0) std::memcpy(out.Data(), plain.data(), n);
  return out;
}

Napi::Value Direct(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), XChaCha20Poly1305().direct());
}

void Init(Napi::Env env, Napi::Object exports) {
  Napi::Object x = Napi::Object::New(env);
  x.Set("hchacha20", Napi::Function::New(env, HChaCha, "hchacha20"));
  x.Set("seal", Napi::Function::New(env, Seal, "seal"));
  x.Set("open", Napi::Function::New(env, Open, "open"));
  x.Set("direct", Napi::Function::New(env, Direct, "direct"));
  exports.Set("xchacha", x);
}

RegisterInit reg(&Init);

}  // namespace

}  // namespace netbeacon
