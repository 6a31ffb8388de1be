// Each native/*.cc that exports functions to JS registers an init hook here
// at static-initialisation time; addon.cc runs them all. This keeps the glue
// free of a central list of files (binding.gyp picks sources up by glob).
#pragma once
#include <napi.h>

#include <vector>

namespace netbeacon {

using InitHook = void (*)(Napi::Env env, Napi::Object exports);

inline std::vector<InitHook>& InitHooks() {
  static std::vector<InitHook> hooks;
  return hooks;
}

struct RegisterInit {
  explicit RegisterInit(InitHook hook) { InitHooks().push_back(hook); }
};

}  // namespace netbeacon
