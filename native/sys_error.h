// JS errors for failed system calls: the message names what failed (an
// interface, a step) and the errno text; `code` is the errno name
// ("ENODEV"), `errno` the number, as Node's own system errors have.
#pragma once
#include <napi.h>

#include <cstring>
#include <string>

namespace netbeacon {

inline std::string ErrnoCode(int err) {
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

inline Napi::Error SysError(Napi::Env env, const std::string& what, int err) {
  Napi::Error e = Napi::Error::New(env, what + ": " + std::strerror(err) + " (" + ErrnoCode(err) + ")");
  e.Set("code", Napi::String::New(env, ErrnoCode(err)));
  e.Set("errno", Napi::Number::New(env, err));
  return e;
}

}  // namespace netbeacon
