// Addon entry point. Exception policy: C++ exceptions are enabled
// (NODE_ADDON_API_CPP_EXCEPTIONS) so that argument errors thrown from glue
// code surface in JS as TypeError/RangeError; hot loops never throw, they
// return per-item reason codes.
#include <napi.h>

#include "registry.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  for (auto hook : netbeacon::InitHooks()) hook(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(netbeacon, Init)
