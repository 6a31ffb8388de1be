// libFuzzer target over Verifier::Verify (built by scripts/fuzz.sh, never by
// binding.gyp). Random bytes alone almost never carry a valid HMAC, so the
// first input byte picks how the rest is used, letting the fuzzer reach the
// code behind the MAC too:
//   mode 0: the rest is a UDP payload, verified as is (seeds: the corpus);
//   mode 1: the rest is a plaintext, sealed here into an authentic token
//           with PKCS7 padding (reaches gunzip: seeds are corpus plaintexts);
//   mode 2: the rest, cut to whole blocks, sealed without padding (reaches
//           the PKCS7 check);
//   mode 3: the rest is a BSON document for BsonToJson, and an Ethernet
//           frame for ParseFrame and the observe line writers
//           (observe_lines.h), each writing into a heap block of exactly
//           the room it promises to need.
// Bit 6 makes modes 1 and 2 beacon format v3 (docs/beacon-v3.md), sealed
// with XChaCha20-Poly1305 under the fuzz v3 key: mode 1 prefixes the rest
// with valid flags (bit 7: gzip) and the current stamp, so it must get past
// the tag, flags and age; mode 2 seals the rest as the whole plaintext
// (reaching the flags and age checks). Mode-0 seeds hold v3 datagrams too.
// Every authentic plaintext of modes 0-2 goes through BsonToJson too.
// Bits 2-4 of that byte pick the output capacity, so the size limit is hit
// at small capacities too; the output buffer is allocated at exactly that
// size so that ASan sees any write past it. Bit 5 verifies through a
// KeyRing (keyring.h) whose current key is wrong and whose previous key,
// in its window, is the real one: the rotation path.
//
// The key: PBKDF2 of the secret in $NETBEACON_FUZZ_SECRET_FILE (the corpus
// secret, so mode-0 seeds are authentic), else a fixed test key. The v3 key
// is fixed (byte i is 5i+3, key id "nbf3"); scripts/fuzz.sh seals its v3
// seeds with the same.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "frame.h"
#include "keyring.h"
#include "observe_lines.h"
#include "verify.h"
#include "xchacha.h"

namespace {

using netbeacon::KeyMaterial;
using netbeacon::KeyRing;
using netbeacon::Verifier;
using netbeacon::VerifyResult;

constexpr int64_t kNow = 1795000000;
uint8_t g_key[32];
netbeacon::V3Key g_v3{};
Verifier* g_verifier = nullptr;
KeyRing* g_ring = nullptr;
netbeacon::XChaCha20Poly1305* g_aead = nullptr;

// header (3, 1, length) | key id | nonce | XChaCha20-Poly1305(plain) | tag.
std::vector<uint8_t> SealV3(const uint8_t* plain, size_t n) {
  std::vector<uint8_t> d(32 + n + netbeacon::kXTagLen);
  const size_t length = d.size() - 4;
  d[0] = 3;
  d[1] = 1;
  d[2] = static_cast<uint8_t>(length >> 8);
  d[3] = static_cast<uint8_t>(length);
  std::memcpy(d.data() + 4, g_v3.id, 4);
  for (int i = 0; i < 24; i++) d[8 + i] = static_cast<uint8_t>(i * 11);
  if (!g_aead->Seal(g_v3.key, d.data() + 8, d.data(), 32, plain, n, d.data() + 32, d.data() + 32 + n)) std::abort();
  return d;
}

void LoadKey() {
  for (int i = 0; i < 32; i++) g_key[i] = static_cast<uint8_t>(i * 7 + 1);
  const char* path = std::getenv("NETBEACON_FUZZ_SECRET_FILE");
  if (!path) return;
  std::ifstream in(path);
  std::string hex, clean;
  std::getline(in, hex);
  for (char c : hex) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  }
  std::vector<uint8_t> secret;
  for (size_t i = 0; i + 1 < clean.size(); i += 2) {
    secret.push_back(static_cast<uint8_t>(std::stoi(clean.substr(i, 2), nullptr, 16)));
  }
  if (secret.empty() || PKCS5_PBKDF2_HMAC(reinterpret_cast<const char*>(secret.data()), static_cast<int>(secret.size()),
                                          nullptr, 0, 100000, EVP_sha256(), 32, g_key) != 1) {
    std::fprintf(stderr, "fuzz_verify: cannot derive a key from %s\n", path);
    std::abort();
  }
}

// header | 0x80 | stamp | IV | AES-128-CBC(body) | HMAC-SHA256.
std::vector<uint8_t> Seal(const uint8_t* body, size_t n, bool pad) {
  if (!pad) n -= n % 16;
  std::vector<uint8_t> d(4 + 25 + n + 16 + 32);
  uint8_t* tok = d.data() + 4;
  tok[0] = 0x80;
  for (int i = 0; i < 8; i++) tok[1 + i] = static_cast<uint8_t>(static_cast<uint64_t>(kNow) >> (56 - 8 * i));
  for (int i = 0; i < 16; i++) tok[9 + i] = static_cast<uint8_t>(i);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> c(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int a = 0, b = 0;
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_128_cbc(), nullptr, g_key + 16, tok + 9) != 1 ||
      EVP_CIPHER_CTX_set_padding(c.get(), pad ? 1 : 0) != 1 ||
      EVP_EncryptUpdate(c.get(), tok + 25, &a, body, static_cast<int>(n)) != 1 ||
      EVP_EncryptFinal_ex(c.get(), tok + 25 + a, &b) != 1) {
    std::abort();
  }
  const size_t tok_len = 25 + static_cast<size_t>(a + b) + 32;
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), g_key, 16, tok, tok_len - 32, tok + tok_len - 32, &mac_len);
  d.resize(4 + tok_len);
  d[0] = 2;
  d[1] = 1;
  d[2] = static_cast<uint8_t>(tok_len >> 8);
  d[3] = static_cast<uint8_t>(tok_len);
  return d;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  LoadKey();
  for (int i = 0; i < 32; i++) g_v3.key[i] = static_cast<uint8_t>(i * 5 + 3);
  std::memcpy(g_v3.id, "nbf3", 4);
  g_aead = new netbeacon::XChaCha20Poly1305();
  g_verifier = new Verifier(g_key, g_key + 16, &g_v3);
  KeyMaterial wrong{}, real{};
  for (int i = 0; i < 16; i++) {
    wrong.signing[i] = static_cast<uint8_t>(~g_key[i]);
    wrong.encryption[i] = static_cast<uint8_t>(~g_key[16 + i]);
  }
  // The current key's v3 key and id are wrong too: the id must route to the previous key.
  wrong.has_v3 = real.has_v3 = true;
  for (int i = 0; i < 32; i++) wrong.v3.key[i] = static_cast<uint8_t>(~g_v3.key[i]);
  std::memcpy(wrong.v3.id, "zzzz", 4);
  real.v3 = g_v3;
  wrong.accept_until = INT64_MAX;
  std::memcpy(real.signing, g_key, 16);
  std::memcpy(real.encryption, g_key + 16, 16);
  real.accept_until = kNow + 1;
  g_ring = new KeyRing({wrong, real});
  return 0;
}

// BsonToJson into exactly JsonRoom(n) bytes: a write past them is ASan's.
void Transcode(const uint8_t* doc, size_t n) {
  std::unique_ptr<uint8_t[]> in(new uint8_t[n ? n : 1]);
  if (n) std::memcpy(in.get(), doc, n);
  std::unique_ptr<uint8_t[]> json(new uint8_t[netbeacon::JsonRoom(n)]);
  int64_t type = 0;
  uint8_t* end = netbeacon::BsonToJson(in.get(), n, json.get(), &type);
  if (end != nullptr && (end < json.get() + 2 || end > json.get() + netbeacon::JsonRoom(n))) __builtin_trap();
}

// A frame's line around a small payload, into exactly the room promised.
void Frame(const uint8_t* f, size_t n) {
  std::unique_ptr<uint8_t[]> in(new uint8_t[n ? n : 1]);
  if (n) std::memcpy(in.get(), f, n);
  netbeacon::FrameFields ff{};
  if (!netbeacon::ParseFrame(in.get(), n, netbeacon::StrippedTag{n > 0 && (f[0] & 1), 0x0fff}, &ff)) return;
  if (ff.payload_off > n || ff.payload_len > n - ff.payload_off) __builtin_trap();
  std::unique_ptr<uint8_t[]> line(new uint8_t[netbeacon::kLineFrameRoom]);
  for (int64_t type : {1, 2}) {
    uint8_t* w = netbeacon::LinePrefix(ff, INT64_C(9007199254740991), 255, type, line.get());
    if (w == nullptr) continue;
    w = netbeacon::LineSuffix(ff, w);
    if (w > line.get() + netbeacon::kLineFrameRoom) __builtin_trap();
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  if ((data[0] & 3) == 3) {
    Transcode(data + 1, size - 1);
    Frame(data + 1, size - 1);
    return 0;
  }
  static const size_t kCaps[] = {netbeacon::kMaxInflated, 0, 1, 16, 200, 4096, 65536, 1 << 20};
  const int mode = data[0] & 3;
  const size_t cap = kCaps[(data[0] >> 2) & 7];
  const bool v3 = (data[0] & 0x40) != 0 && mode != 0;
  std::vector<uint8_t> packet;
  if (v3) {
    if (size - 1 > 65000) return 0;
    std::vector<uint8_t> plain;
    if (mode == 1) {
      plain.push_back(static_cast<uint8_t>(data[0] >> 7));  // flags: gzip or not
      for (int i = 0; i < 8; i++) plain.push_back(static_cast<uint8_t>(static_cast<uint64_t>(kNow) >> (56 - 8 * i)));
    }
    plain.insert(plain.end(), data + 1, data + size);
    packet = SealV3(plain.data(), plain.size());
  } else if (mode == 1 || mode == 2) {
    // A sealed token must fit the 16-bit length field.
    if (size - 1 > 65000) return 0;
    packet = Seal(data + 1, size - 1, mode == 1);
  } else {
    packet.assign(data + 1, data + size);
  }
  // One output block per capacity, kept across inputs: still exactly cap
  // bytes (ASan's redzone follows), without an mmap and munmap of up to
  // 1 MiB per input, which cost two thirds of the run time.
  static std::unique_ptr<uint8_t[]> outs[8];
  std::unique_ptr<uint8_t[]>& out = outs[(data[0] >> 2) & 7];
  if (cap && !out) out.reset(new uint8_t[cap]);
  // The packet itself in an exact-size heap block too.
  std::unique_ptr<uint8_t[]> in(new uint8_t[packet.size()]);
  if (!packet.empty()) std::memcpy(in.get(), packet.data(), packet.size());
  const bool ring = (data[0] & 0x20) != 0;
  uint8_t key_index = 0;
  const VerifyResult r = ring ? g_ring->Verify(in.get(), packet.size(), kNow, out.get(), cap, &key_index)
                              : g_verifier->Verify(in.get(), packet.size(), kNow, out.get(), cap);
  // Contract checks: a broken one is a crash, which libFuzzer reports.
  if (r.status > netbeacon::kKey || r.status == netbeacon::kType) __builtin_trap();
  if (r.status != netbeacon::kOk && r.plain_len != 0) __builtin_trap();
  if (r.plain_len > cap || r.plain_len > netbeacon::kMaxInflated) __builtin_trap();
  if (packet.size() < 4 && (r.status != netbeacon::kShort || r.version || r.header_type)) __builtin_trap();
  if (mode == 1 && (r.status == netbeacon::kMac || r.status == netbeacon::kPadding)) __builtin_trap();
  // A v3 datagram sealed with the key, its id, valid flags and a fresh stamp gets past all of those.
  if (v3 && mode == 1 &&
      (r.status == netbeacon::kKey || r.status == netbeacon::kToken || r.status == netbeacon::kExpired ||
       r.status == netbeacon::kFuture || r.version != 3))
    __builtin_trap();
  if (v3 && mode == 2 && (r.status == netbeacon::kKey || r.status == netbeacon::kMac)) __builtin_trap();
  if (!v3 && r.status == netbeacon::kKey && (packet.size() < 4 || packet[0] != 3)) __builtin_trap();
  // Through the ring, a sealed token matched the previous key, nothing else can.
  if (ring && mode == 1 && key_index != 1) __builtin_trap();
  if (key_index > 1 || (!ring && key_index != 0)) __builtin_trap();
  if (r.status == netbeacon::kOk && r.plain_len > 0) Transcode(out.get(), r.plain_len);
  return 0;
}
