// sd_notify without libsystemd: one datagram to $NOTIFY_SOCKET (a path, or
// an abstract name written with a leading '@'). Node's dgram cannot send on
// Unix datagram sockets, so this small piece lives in the addon.
//
//   sdNotify(socketPath: string, message: string) → undefined; throws with errno text
#include <napi.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "registry.h"

namespace {

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "sdNotify(socketPath: string, message: string)");
  }
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  const std::string msg = info[1].As<Napi::String>().Utf8Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  // The name must fit sun_path; an abstract name keeps its leading NUL.
  if (path.size() < 2 || path.size() >= sizeof(addr.sun_path) || (path[0] != '/' && path[0] != '@')) {
    throw Napi::RangeError::New(env,
                                "NOTIFY_SOCKET must be an absolute path or an @abstract name shorter than 108 bytes");
  }
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw Napi::Error::New(env, std::string("sdNotify: socket: ") + std::strerror(errno));
  const ssize_t sent = sendto(fd, msg.data(), msg.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr), len);
  const int err = errno;
  close(fd);
  if (sent < 0) throw Napi::Error::New(env, "sdNotify: sendto " + path + ": " + std::strerror(err));
  return env.Undefined();
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
}

const netbeacon::RegisterInit reg(&Init);

}  // namespace
