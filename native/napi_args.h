// Argument checks shared by the N-API glue files. TypeScript validates user
// input first; these are the second line, because a wrong type or length
// here would otherwise become an out-of-bounds read in C++.
#pragma once
#include <napi.h>

#include <string>

namespace netbeacon {

// The typed array at info[i], which must be exactly of type T (a Buffer is a
// Uint8Array; a Uint8ClampedArray or a DataView is not accepted).
template <typename T>
struct ArrayKind;
template <>
struct ArrayKind<uint8_t> {
  static constexpr napi_typedarray_type type = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};
template <>
struct ArrayKind<uint32_t> {
  static constexpr napi_typedarray_type type = napi_uint32_array;
  static constexpr const char* name = "Uint32Array";
};
template <>
struct ArrayKind<double> {
  static constexpr napi_typedarray_type type = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};

template <typename T>
Napi::TypedArrayOf<T> TypedArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Value v = info[i];
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != ArrayKind<T>::type) {
    throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a " + ArrayKind<T>::name);
  }
  return v.As<Napi::TypedArrayOf<T>>();
}

// A 16-byte key half (Fernet's signing or encryption key).
inline const uint8_t* KeyArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  Napi::Uint8Array key = TypedArg<uint8_t>(info, i, name);
  if (key.ElementLength() != 16) {
    throw Napi::RangeError::New(info.Env(),
                                std::string(name) + " must be 16 bytes, got " + std::to_string(key.ElementLength()));
  }
  return key.Data();
}

// A non-negative integer count no larger than max.
inline size_t CountArg(const Napi::CallbackInfo& info, size_t i, const char* name, double max) {
  Napi::Value v = info[i];
  if (!v.IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  // NaN fails every comparison, so it lands here too.
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<size_t>(d))) {
    throw Napi::RangeError::New(
        info.Env(), std::string(name) + " must be an integer from 0 to " + std::to_string(static_cast<size_t>(max)));
  }
  return static_cast<size_t>(d);
}

}  // namespace netbeacon
