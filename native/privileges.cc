// Dropping root after the rings are open: become `uid:gid` and keep only
// CAP_NET_RAW (needed to open AF_PACKET sockets for interfaces that appear
// later, and for raw sends).
//
//   dropPrivileges(uid: number, gid: number) → { uid, gid, effective: bigint-as-hex string }
//
// Why raw syscalls for capabilities: libcap would need a -dev package. Why
// glibc for the id changes: glibc's setres[ug]id apply to every thread of
// the process (Node has several), while capset() is per thread. So: keep
// capabilities across the uid change on this thread (PR_SET_KEEPCAPS), then
// set this thread's sets to {CAP_NET_RAW}. The other threads lose every
// capability with the uid change, which is what we want; sockets are opened
// from this (the main) thread.
#include <grp.h>
#include <linux/capability.h>
#include <napi.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "registry.h"

namespace {

[[noreturn]] void Fail(Napi::Env env, const char* step) {
  throw Napi::Error::New(env, std::string("dropPrivileges: ") + step + ": " + std::strerror(errno));
}

Napi::Value DropPrivileges(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber())
    throw Napi::TypeError::New(env, "dropPrivileges(uid: number, gid: number)");
  const int64_t uid = info[0].As<Napi::Number>().Int64Value();
  const int64_t gid = info[1].As<Napi::Number>().Int64Value();
  if (uid <= 0 || gid < 0 || uid > 0x7fffffff || gid > 0x7fffffff)
    throw Napi::RangeError::New(env, "dropPrivileges: uid must be a non-root id and gid a valid id");
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) Fail(env, "PR_SET_KEEPCAPS");
  const gid_t g = static_cast<gid_t>(gid);
  if (setgroups(1, &g) != 0) Fail(env, "setgroups");
  if (setresgid(g, g, g) != 0) Fail(env, "setresgid");
  if (setresuid(static_cast<uid_t>(uid), static_cast<uid_t>(uid), static_cast<uid_t>(uid)) != 0) Fail(env, "setresuid");
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  hdr.pid = 0;
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = 1u << CAP_NET_RAW;
  if (syscall(SYS_capset, &hdr, data) != 0) Fail(env, "capset");
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) Fail(env, "PR_SET_KEEPCAPS off");
  // Nothing this process executes later may gain privileges back.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Fail(env, "PR_SET_NO_NEW_PRIVS");
  Napi::Object out = Napi::Object::New(env);
  out.Set("uid", Napi::Number::New(env, static_cast<double>(getuid())));
  out.Set("gid", Napi::Number::New(env, static_cast<double>(getgid())));
  return out;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("dropPrivileges", Napi::Function::New(env, DropPrivileges, "dropPrivileges"));
}

const netbeacon::RegisterInit reg(&Init);

}  // namespace
