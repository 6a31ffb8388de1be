// bpfProgram(ifindexes?): the beacon filter (bpf.cc) as JS objects, for the unit
// test's interpreter and its comparison with tcpdump's. Kept apart so that
// the filter builds without N-API (the C++ tests link it).
#include <napi.h>

#include <string>
#include <vector>

#include "bpf.h"
#include "registry.h"

namespace netbeacon {
namespace {

// bpfProgram(ifindexes?) → [{code, jt, jf, k}], for the unit test's
// interpreter: BeaconFilter(), or BeaconFilterOn(ifindexes).
Napi::Value BpfProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<sock_filter> prog;
  if (info[0].IsUndefined()) {
    prog = BeaconFilter();
  } else {
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "bpfProgram: ifindexes must be an array");
    Napi::Array list = info[0].As<Napi::Array>();
    if (list.Length() > kMaxFilterInterfaces)
      throw Napi::RangeError::New(env, "bpfProgram: at most " + std::to_string(kMaxFilterInterfaces) + " interfaces");
    std::vector<int> ifindexes;
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsNumber()) throw Napi::TypeError::New(env, "bpfProgram: ifindexes must be numbers");
      ifindexes.push_back(v.As<Napi::Number>().Int32Value());
    }
    prog = BeaconFilterOn(ifindexes);
  }
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
