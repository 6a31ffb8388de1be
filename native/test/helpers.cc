#include "helpers.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include <stdexcept>

namespace nbtest {

Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

Bytes Str(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes Be16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }

Bytes Le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}

static Bytes Compress(const Bytes& plain, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflate");
  Bytes out(deflateBound(&zs, plain.size()) + 32);
  zs.next_in = const_cast<Bytef*>(plain.data());
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Bytes Gzip(const Bytes& plain) { return Compress(plain, 15 + 16); }
Bytes Deflate(const Bytes& plain) { return Compress(plain, -15); }

uint32_t Crc32(const Bytes& b) { return static_cast<uint32_t>(crc32(0L, b.data(), static_cast<uInt>(b.size()))); }

Key TestKey(uint8_t seed) {
  Key k;
  for (int i = 0; i < 16; i++) {
    k.signing[i] = static_cast<uint8_t>(seed + i);
    k.encryption[i] = static_cast<uint8_t>(seed * 3 + 100 + i);
  }
  return k;
}

Bytes Beacon(const Key& key, const Bytes& plain, uint64_t stamp, bool pad, uint8_t version) {
  Bytes tok(25);
  tok[0] = 0x80;
  for (int i = 0; i < 8; i++) tok[1 + i] = static_cast<uint8_t>(stamp >> (56 - 8 * i));
  for (int i = 0; i < 16; i++) tok[9 + i] = static_cast<uint8_t>(0xa0 + i);
  Bytes ct(plain.size() + 16);
  int a = 0, b = 0;
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> c(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_128_cbc(), nullptr, key.encryption, tok.data() + 9) != 1 ||
      EVP_CIPHER_CTX_set_padding(c.get(), pad ? 1 : 0) != 1 ||
      EVP_EncryptUpdate(c.get(), ct.data(), &a, plain.data(), static_cast<int>(plain.size())) != 1 ||
      EVP_EncryptFinal_ex(c.get(), ct.data() + a, &b) != 1) {
    throw std::runtime_error("AES-128-CBC failed (pad=false needs whole blocks)");
  }
  ct.resize(static_cast<size_t>(a + b));
  tok.insert(tok.end(), ct.begin(), ct.end());
  uint8_t mac[32];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), key.signing, 16, tok.data(), tok.size(), mac, &mac_len);
  tok.insert(tok.end(), mac, mac + 32);
  return Cat({{version, 1}, Be16(static_cast<uint16_t>(tok.size())), tok});
}

static Bytes Ether(std::initializer_list<Tag> tags, uint16_t type) {
  Bytes f = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x76, 0x02, 0xfc, 0x00, 0x00, 0x00, 0x01};
  for (const Tag& t : tags) f = Cat({f, Be16(t.tpid), Be16(t.tci)});
  return Cat({f, Be16(type)});
}

static Bytes UdpHeader(const Bytes& payload, uint16_t dst_port) {
  return Cat({Be16(40000), Be16(dst_port), Be16(static_cast<uint16_t>(8 + payload.size())), Be16(0), payload});
}

Bytes Udp4Frame(const Bytes& payload, std::initializer_list<Tag> tags, uint16_t dst_port) {
  const Bytes udp = UdpHeader(payload, dst_port);
  Bytes ip = {0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 1, 17, 0, 0, 10, 0, 0, 1, 224, 0, 0, 118};
  const uint16_t total = static_cast<uint16_t>(20 + udp.size());
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  return Cat({Ether(tags, 0x0800), ip, udp});
}

Bytes Udp6Frame(const Bytes& payload, std::initializer_list<Tag> tags, uint16_t dst_port) {
  const Bytes udp = UdpHeader(payload, dst_port);
  Bytes ip = {0x60, 0, 0, 0};
  ip = Cat({ip, Be16(static_cast<uint16_t>(udp.size())), {17, 1}});
  Bytes src(16, 0), dst(16, 0);
  src[0] = 0xfe;
  src[1] = 0x80;
  src[15] = 1;
  dst[0] = 0xff;
  dst[1] = 0x02;
  dst[14] = 0x01;
  dst[15] = 0x5a;
  return Cat({Ether(tags, 0x86dd), ip, src, dst, udp});
}

static Bytes Name(uint8_t type, const std::string& name) { return Cat({{type}, Str(name), {0}}); }

Bytes BsonDoc(std::initializer_list<Bytes> elements) {
  Bytes body;
  for (const Bytes& e : elements) body.insert(body.end(), e.begin(), e.end());
  return Cat({Le32(static_cast<uint32_t>(body.size() + 5)), body, {0}});
}

Bytes BsonInt32(const std::string& name, int32_t v) { return Cat({Name(0x10, name), Le32(static_cast<uint32_t>(v))}); }

Bytes BsonInt64(const std::string& name, int64_t v) {
  const uint64_t u = static_cast<uint64_t>(v);
  return Cat({Name(0x12, name), Le32(static_cast<uint32_t>(u)), Le32(static_cast<uint32_t>(u >> 32))});
}

Bytes BsonString(const std::string& name, const std::string& v) {
  return Cat({Name(0x02, name), Le32(static_cast<uint32_t>(v.size() + 1)), Str(v), {0}});
}

Bytes BsonBool(const std::string& name, bool v) { return Cat({Name(0x08, name), {static_cast<uint8_t>(v)}}); }
Bytes BsonNull(const std::string& name) { return Name(0x0a, name); }

Bytes BsonDouble(const std::string& name, double v) {
  uint8_t b[8];
  std::memcpy(b, &v, 8);
  return Cat({Name(0x01, name), Bytes(b, b + 8)});
}

Bytes BsonSub(uint8_t type, const std::string& name, const Bytes& doc) { return Cat({Name(type, name), doc}); }

}  // namespace nbtest
