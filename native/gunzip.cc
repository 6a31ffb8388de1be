#include "gunzip.h"

#include <zlib.h>

#include <climits>
#include <cstring>
#include <stdexcept>

namespace netbeacon {

namespace {

// Raw deflate (negative windowBits): the gzip header and trailer are
// handled here, because zlib's own gzip wrapper is stricter than Python's
// gzip module (it rejects reserved flag bits and checks the header CRC,
// both of which Python ignores), and MAAS runs Python.
constexpr int kRawWindowBits = -15;

constexpr uint8_t kFhcrc = 0x02;
constexpr uint8_t kFextra = 0x04;
constexpr uint8_t kFname = 0x08;
constexpr uint8_t kFcomment = 0x10;
constexpr size_t kFixedHeader = 10;
constexpr size_t kTrailer = 8;  // CRC-32 and ISIZE, little-endian

// The deflate data of gzip.compress(b"x"), cut before its end. The
// constructor inflates it so that zlib allocates its 32 KiB window up
// front: it does so lazily on the first stream that does not finish in one
// call, and that must not happen while packets are being verified.
constexpr uint8_t kWarmup[] = {0xab, 0x00};

uint32_t ReadLe32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// Skips a zero-terminated field at in[p..len): the offset after its NUL.
bool SkipString(const uint8_t* in, size_t len, size_t* p) {
  const void* nul = std::memchr(in + *p, 0, len - *p);
  if (nul == nullptr) return false;
  *p = static_cast<size_t>(static_cast<const uint8_t*>(nul) - in) + 1;
  return true;
}

// Parses the RFC 1952 member header at in[0..len) as Python's
// _read_gzip_header does; on success *body is where the deflate data starts.
bool ParseHeader(const uint8_t* in, size_t len, size_t* body) {
  if (len < kFixedHeader || in[0] != 0x1f || in[1] != 0x8b || in[2] != 8) return false;
  const uint8_t flags = in[3];
  size_t p = kFixedHeader;
  if (flags & kFextra) {
    if (len - p < 2) return false;
    const size_t xlen = in[p] | static_cast<size_t>(in[p + 1]) << 8;
    p += 2;
    if (len - p < xlen) return false;
    p += xlen;
  }
  if ((flags & kFname) && !SkipString(in, len, &p)) return false;
  if ((flags & kFcomment) && !SkipString(in, len, &p)) return false;
  if (flags & kFhcrc) {
    if (len - p < 2) return false;
    p += 2;
  }
  *body = p;
  return true;
}

}  // namespace

Gunzip::Gunzip() : zs_(new z_stream_s()) {
  zs_->zalloc = Z_NULL;
  zs_->zfree = Z_NULL;
  zs_->opaque = Z_NULL;
  if (inflateInit2(zs_.get(), kRawWindowBits) != Z_OK) {
    throw std::runtime_error("zlib inflateInit2 failed");
  }
  live_ = true;
  uint8_t sink[4];
  zs_->next_in = const_cast<Bytef*>(kWarmup);
  zs_->avail_in = sizeof kWarmup;
  zs_->next_out = sink;
  zs_->avail_out = sizeof sink;
  if (inflate(zs_.get(), Z_NO_FLUSH) != Z_OK || zs_->total_out != 1) {
    throw std::runtime_error("zlib warm-up inflate failed");
  }
}

Gunzip::~Gunzip() {
  if (live_) inflateEnd(zs_.get());
}

Reason Gunzip::Deflate(uint8_t* out, size_t room) {
  inflateReset(zs_.get());
  zs_->next_out = out;
  zs_->avail_out = static_cast<uInt>(room);
  int r = inflate(zs_.get(), Z_FINISH);
  if (r == Z_STREAM_END) return kOk;
  if (r != Z_OK && r != Z_BUF_ERROR) return kGzip;  // corrupt deflate data
  // Stopped early: either the input ran out (a truncated member) or the
  // output did. Only in the latter case can there be more to produce; one
  // more byte into a probe tells "too big" from "exactly full".
  if (zs_->avail_out != 0) return kGzip;
  uint8_t probe;
  zs_->next_out = &probe;
  zs_->avail_out = 1;
  r = inflate(zs_.get(), Z_FINISH);
  if (zs_->avail_out == 0) return kSize;
  return r == Z_STREAM_END ? kOk : kGzip;
}

Reason Gunzip::Inflate(const uint8_t* in, size_t len, uint8_t* out, size_t cap, size_t* out_len) {
  *out_len = 0;
  uint8_t none;  // zlib rejects a null next_out even when there is no room
  if (out == nullptr) {
    out = &none;
    cap = 0;
  }
  // zlib counts in uInt; a UDP payload is far below that, but the
  // caller's buffer sizes are not ours to trust.
  if (len > UINT_MAX) return kSize;
  if (cap > UINT_MAX) cap = UINT_MAX;
  size_t pos = 0;
  size_t produced = 0;
  // gzip.decompress returns b"" for b"": no member at all is not an error.
  while (pos < len) {
    size_t body = 0;
    if (!ParseHeader(in + pos, len - pos, &body)) return kGzip;
    pos += body;
    zs_->next_in = const_cast<Bytef*>(in + pos);
    zs_->avail_in = static_cast<uInt>(len - pos);
    Reason r = Deflate(out + produced, cap - produced);
    if (r != kOk) return r;
    const size_t n = zs_->total_out;  // inflateReset zeroed it for this member
    pos = len - zs_->avail_in;
    if (len - pos < kTrailer) return kGzip;
    const uLong crc = crc32(0L, out + produced, static_cast<uInt>(n));
    if (ReadLe32(in + pos) != crc || ReadLe32(in + pos + 4) != static_cast<uint32_t>(n)) {
      return kGzip;
    }
    produced += n;
    pos += kTrailer;
    // Python strips zero bytes after each member, then expects another
    // member or the end.
    while (pos < len && in[pos] == 0) pos++;
  }
  *out_len = produced;
  return kOk;
}

}  // namespace netbeacon
