// See observe_lines.h. Mirrors src/engine/bson-json.ts rule for rule.
#include "observe_lines.h"

#include <cstring>

namespace netbeacon {

namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxKeys = 64;

int32_t ReadI32(const uint8_t* p) {
  uint32_t v = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
               static_cast<uint32_t>(p[3]) << 24;
  int32_t s;
  std::memcpy(&s, &v, 4);
  return s;
}

// Writers into a buffer whose room the caller has ensured (see the bounds
// in observe_lines.h); each returns the position after what it wrote.
uint8_t* PutDecimal(int64_t v, uint8_t* w) {
  char buf[24];
  size_t n = 0;
  // Magnitudes here are at most 2^53 - 1, so negation cannot overflow.
  uint64_t u = v < 0 ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  if (v < 0) *w++ = '-';
  while (n > 0) *w++ = static_cast<uint8_t>(buf[--n]);
  return w;
}

template <size_t N>
uint8_t* PutText(const char (&s)[N], uint8_t* w) {
  std::memcpy(w, s, N - 1);
  return w + N - 1;
}

// A JSON string from p[0..n): printable ASCII without `"` or `\`, copied; nullptr otherwise.
uint8_t* PutString(const uint8_t* p, size_t n, uint8_t* w) {
  for (size_t i = 0; i < n; i++) {
    const uint8_t c = p[i];
    if (c < 0x20 || c > 0x7e || c == '"' || c == '\\') return nullptr;
  }
  *w++ = '"';
  std::memcpy(w, p, n);
  w += n;
  *w++ = '"';
  return w;
}

struct Key {
  const uint8_t* p;
  size_t n;
};

class Transcoder {
 public:
  Transcoder(const uint8_t* doc, uint8_t* out) : b_(doc), w_(out) {}

  // The document or array at b_[at..limit); returns the index past it, or 0 when declined.
  size_t Container(size_t at, size_t limit, bool is_array, int depth) {
    if (depth > kMaxDepth || limit < at || limit - at < 5) return 0;
    const int32_t size = ReadI32(b_ + at);
    if (size < 5 || static_cast<size_t>(size) > limit - at) return 0;
    const size_t end = at + static_cast<size_t>(size) - 1;  // the EOO byte
    if (b_[end] != 0) return 0;
    Key keys[kMaxKeys];
    size_t nkeys = 0;
    *w_++ = is_array ? '[' : '{';
    bool first = true;
    size_t i = at + 4;
    while (i < end) {
      const uint8_t type = b_[i++];
      const size_t name = i;
      while (i < end && b_[i] != 0) i++;
      if (i >= end) return 0;
      const size_t name_len = i - name;
      i++;
      if (!first) *w_++ = ',';
      first = false;
      bool is_type_key = false;
      if (!is_array) {
        const uint8_t c = name_len > 0 ? b_[name] : 0;
        if (c == '$' || (c >= '0' && c <= '9')) return 0;
        if (name_len == 9 && std::memcmp(b_ + name, "__proto__", 9) == 0) return 0;
        if (nkeys == kMaxKeys) return 0;
        for (size_t k = 0; k < nkeys; k++) {
          if (keys[k].n == name_len && std::memcmp(keys[k].p, b_ + name, name_len) == 0) return 0;
        }
        keys[nkeys++] = Key{b_ + name, name_len};
        w_ = PutString(b_ + name, name_len, w_);
        if (w_ == nullptr) return 0;
        *w_++ = ':';
        is_type_key = depth == 0 && name_len == 4 && std::memcmp(b_ + name, "type", 4) == 0;
      }
      int64_t number = -1;
      bool numeric = false;
      switch (type) {
        case 0x02: {  // string: int32 length including its NUL
          if (end - i < 4) return 0;
          const int32_t len = ReadI32(b_ + i);
          i += 4;
          if (len <= 0 || static_cast<size_t>(len) > end - i || b_[i + len - 1] != 0) return 0;
          w_ = PutString(b_ + i, static_cast<size_t>(len) - 1, w_);
          if (w_ == nullptr) return 0;
          i += static_cast<size_t>(len);
          break;
        }
        case 0x03:
        case 0x04:
          i = Container(i, end, type == 0x04, depth + 1);
          if (i == 0) return 0;
          break;
        case 0x08: {
          if (end - i < 1) return 0;
          const uint8_t v = b_[i++];
          if (v > 1) return 0;
          w_ = v ? PutText("true", w_) : PutText("false", w_);
          break;
        }
        case 0x0a:
          w_ = PutText("null", w_);
          break;
        case 0x10:
          if (end - i < 4) return 0;
          number = ReadI32(b_ + i);
          numeric = true;
          i += 4;
          w_ = PutDecimal(number, w_);
          break;
        case 0x12: {
          if (end - i < 8) return 0;
          const uint64_t lo = static_cast<uint32_t>(ReadI32(b_ + i));
          const int64_t hi = ReadI32(b_ + i + 4);
          number = static_cast<int64_t>(static_cast<uint64_t>(hi) << 32 | lo);
          // bson makes a number only of a safe integer (|v| <= 2^53 - 1).
          constexpr int64_t kSafe = (int64_t{1} << 53) - 1;
          if (number > kSafe || number < -kSafe) return 0;
          numeric = true;
          i += 8;
          w_ = PutDecimal(number, w_);
          break;
        }
        default:  // doubles (JS prints those), and every other type
          return 0;
      }
      if (is_type_key) type_ = numeric ? number : -1;
    }
    *w_++ = is_array ? ']' : '}';
    return end + 1;
  }

  int64_t type() const { return type_; }
  uint8_t* written() const { return w_; }

 private:
  const uint8_t* b_;
  uint8_t* w_;
  int64_t type_ = -1;
};

const char kHex[] = "0123456789abcdef";

uint8_t* PutMac(const uint8_t* m, uint8_t* w) {
  for (int i = 0; i < 6; i++) {
    if (i) *w++ = ':';
    *w++ = static_cast<uint8_t>(kHex[m[i] >> 4]);
    *w++ = static_cast<uint8_t>(kHex[m[i] & 15]);
  }
  return w;
}

uint8_t* PutIpv4(const uint8_t* a, uint8_t* w) {
  for (int i = 0; i < 4; i++) {
    if (i) *w++ = '.';
    w = PutDecimal(a[i], w);
  }
  return w;
}

}  // namespace

uint8_t* BsonToJson(const uint8_t* doc, size_t len, uint8_t* out, int64_t* type) {
  Transcoder t(doc, out);
  const size_t next = t.Container(0, len, false, 0);
  if (next == 0 || next != len) return nullptr;
  *type = t.type();
  return t.written();
}

uint8_t* LinePrefix(const FrameFields& f, int64_t time_sec, uint8_t version, int64_t type, uint8_t* w) {
  if (f.family != 4 || (type != 1 && type != 2)) return nullptr;
  w = PutText("{\"source_mac\":\"", w);
  w = PutMac(f.src_mac, w);
  w = PutText("\",\"destination_mac\":\"", w);
  w = PutMac(f.dst_mac, w);
  w = PutText("\",\"source_ip\":\"", w);
  w = PutIpv4(f.src_ip, w);
  w = PutText("\",\"destination_ip\":\"", w);
  w = PutIpv4(f.dst_ip, w);
  w = PutText("\",\"source_port\":", w);
  w = PutDecimal(f.src_port, w);
  w = PutText(",\"destination_port\":", w);
  w = PutDecimal(f.dst_port, w);
  w = PutText(",\"time\":", w);
  w = PutDecimal(time_sec, w);
  w = PutText(",\"version\":", w);
  w = PutDecimal(version, w);
  return type == 1 ? PutText(",\"type\":\"solicitation\",\"payload\":", w)
                   : PutText(",\"type\":\"advertisement\",\"payload\":", w);
}

uint8_t* LineSuffix(const FrameFields& f, uint8_t* w) {
  // In observedBeacon's order: added after payload.
  if (f.has_vid) {
    w = PutText(",\"vid\":", w);
    w = PutDecimal(f.vid, w);
  }
  if (f.has_outer) {
    w = PutText(",\"outer_vid\":", w);
    w = PutDecimal(f.outer_vid, w);
  }
  *w++ = '}';
  *w++ = '\n';
  return w;
}

}  // namespace netbeacon
