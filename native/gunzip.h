// Gunzip with the semantics of Python's gzip.decompress, which is what MAAS
// uses (and what src/protocol/gzip.ts mirrors for the JS engine): one or
// more concatenated gzip members, each optionally followed by zero bytes of
// padding; empty input gives empty output; reserved header flags and the
// header CRC are ignored. One z_stream is reused (inflateReset) so that no
// packet allocates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "verify.h"

struct z_stream_s;

namespace netbeacon {

class Gunzip {
 public:
  // Throws std::runtime_error when zlib cannot be set up.
  Gunzip();
  ~Gunzip();
  Gunzip(const Gunzip&) = delete;
  Gunzip& operator=(const Gunzip&) = delete;

  // Inflates in[0..len) into out[0..cap). Returns kOk (*out_len set), kGzip
  // (not a sequence of complete, intact members) or kSize (more than cap
  // bytes of output; checked as output is produced, so a bomb costs at most
  // cap bytes of work).
  Reason Inflate(const uint8_t* in, size_t len, uint8_t* out, size_t cap, size_t* out_len);

 private:
  std::unique_ptr<z_stream_s> zs_;
  bool live_ = false;  // inflateInit2 succeeded: inflateEnd is owed

  Reason Deflate(uint8_t* out, size_t room);
};

}  // namespace netbeacon
