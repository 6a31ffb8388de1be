// bpfProgram(): the beacon filter (bpf.cc) as JS objects, for the unit
// test's interpreter and its comparison with tcpdump's. Kept apart so that
// the filter builds without N-API (the C++ tests link it).
#include <napi.h>

#include "bpf.h"
#include "registry.h"

namespace netbeacon {
namespace {

// bpfProgram() → [{code, jt, jf, k}], for the unit test's interpreter.
Napi::Value BpfProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto prog = BeaconFilter();
  Napi::Array out = Napi::Array::New(env, prog.size());
  for (size_t i = 0; i < prog.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("code", Napi::Number::New(env, prog[i].code));
    o.Set("jt", Napi::Number::New(env, prog[i].jt));
    o.Set("jf", Napi::Number::New(env, prog[i].jf));
    o.Set("k", Napi::Number::New(env, prog[i].k));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("bpfProgram", Napi::Function::New(env, BpfProgram, "bpfProgram"));
}

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
