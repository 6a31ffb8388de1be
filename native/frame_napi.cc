// parseFrameNative: the N-API test hook over ParseFrame (frame.cc), kept
// apart so that the parser builds without N-API (the fuzz target links it).
#include <napi.h>

#include <cstdio>
#include <string>

#include "frame.h"
#include "registry.h"

namespace netbeacon {
namespace {

std::string Mac(const uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

// parseFrameNative(frame, strippedTci?) → raw fields or null. A test hook:
// the agreement test compares it with src/protocol/frame.ts on the corpus
// and random mutations. Addresses come back as bytes; the TS side formats.
Napi::Value ParseFrameJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(env, "parseFrameNative: frame must be a Uint8Array");
  auto frame = info[0].As<Napi::Uint8Array>();
  StrippedTag tag;
  if (info.Length() > 1 && !info[1].IsUndefined()) {
    if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "parseFrameNative: strippedTci must be a number");
    tag.present = true;
    tag.tci = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  }
  FrameFields ff;
  if (!ParseFrame(frame.Data(), frame.ByteLength(), tag, &ff)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("sourceMac", Mac(ff.src_mac));
  o.Set("destinationMac", Mac(ff.dst_mac));
  if (ff.has_vid) o.Set("vid", Napi::Number::New(env, ff.vid));
  if (ff.has_outer) o.Set("outerVid", Napi::Number::New(env, ff.outer_vid));
  o.Set("family", Napi::Number::New(env, ff.family));
  const size_t alen = ff.family == 4 ? 4 : 16;
  o.Set("sourceIp", Napi::Buffer<uint8_t>::Copy(env, ff.src_ip, alen));
  o.Set("destinationIp", Napi::Buffer<uint8_t>::Copy(env, ff.dst_ip, alen));
  o.Set("sourcePort", Napi::Number::New(env, ff.src_port));
  o.Set("destinationPort", Napi::Number::New(env, ff.dst_port));
  o.Set("payloadOffset", Napi::Number::New(env, ff.payload_off));
  o.Set("payloadLength", Napi::Number::New(env, ff.payload_len));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("parseFrameNative", Napi::Function::New(env, ParseFrameJs, "parseFrameNative"));
}

const RegisterInit kRegister(Init);

}  // namespace
}  // namespace netbeacon
