// Helpers for the C++ unit tests: exact-size heap copies (so that ASan
// reports a read one byte past the input), gzip members, Fernet tokens and
// Ethernet frames built the way their senders build them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace nbtest {

using Bytes = std::vector<uint8_t>;

// The bytes in a heap block of exactly their size: one past the end is in
// ASan's redzone. An empty input still gets a (1-byte) block.
class Exact {
 public:
  explicit Exact(const Bytes& b) : n_(b.size()), p_(new uint8_t[b.empty() ? 1 : b.size()]) {
    if (n_) std::memcpy(p_.get(), b.data(), n_);
  }
  Exact(const Bytes& b, size_t n) : Exact(Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n))) {}
  const uint8_t* data() const { return p_.get(); }
  uint8_t* data() { return p_.get(); }
  size_t size() const { return n_; }

 private:
  size_t n_;
  std::unique_ptr<uint8_t[]> p_;
};

Bytes Cat(std::initializer_list<Bytes> parts);
Bytes Str(const std::string& s);
Bytes Be16(uint16_t v);

// One gzip member of `plain` (zlib's gzip wrapper: header with no flags).
Bytes Gzip(const Bytes& plain);
// Raw deflate data of `plain`, for hand-made member headers.
Bytes Deflate(const Bytes& plain);
uint32_t Crc32(const Bytes& b);
Bytes Le32(uint32_t v);

struct Key {
  uint8_t signing[16];
  uint8_t encryption[16];
};
Key TestKey(uint8_t seed);

// A beacon UDP payload: the 4-byte header (version, type, length) and a
// Fernet token over `plain` stamped `stamp`, sealed with `key`. With
// pad=false, `plain` (whole blocks) is encrypted without PKCS7 padding.
Bytes Beacon(const Key& key, const Bytes& plain, uint64_t stamp, bool pad = true, uint8_t version = 2);

// Frames. Ethernet with the given tags (TPID, TCI pairs, outermost first)
// around an IPv4 or IPv6 UDP datagram to `dst_port` with `payload`.
struct Tag {
  uint16_t tpid;
  uint16_t tci;
};
Bytes Udp4Frame(const Bytes& payload, std::initializer_list<Tag> tags = {}, uint16_t dst_port = 5240);
Bytes Udp6Frame(const Bytes& payload, std::initializer_list<Tag> tags = {}, uint16_t dst_port = 5240);

// A BSON document from already-encoded elements; and elements.
Bytes BsonDoc(std::initializer_list<Bytes> elements);
Bytes BsonInt32(const std::string& name, int32_t v);
Bytes BsonInt64(const std::string& name, int64_t v);
Bytes BsonString(const std::string& name, const std::string& v);
Bytes BsonBool(const std::string& name, bool v);
Bytes BsonNull(const std::string& name);
Bytes BsonDouble(const std::string& name, double v);
Bytes BsonSub(uint8_t type, const std::string& name, const Bytes& doc);

}  // namespace nbtest
