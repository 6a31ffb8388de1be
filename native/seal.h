// Sealing v2 beacons as MAAS builds them (and as src/protocol/beacon.ts's
// sealV2 does, byte for byte): the 4-byte header (version 2, type, token
// length), then a raw Fernet token over gzip of the BSON document:
//   gzip: level 9, Z_FIXED, memLevel 8, the smallest window that holds the
//         input and deflate's look-ahead (deflateWindowBits in beacon.ts),
//         zlib's own gzip wrapper (no name, mtime 0);
//   token: 0x80 | time (8 bytes BE) | IV | AES-128-CBC (PKCS7) | HMAC-SHA256.
// The cipher context (its key schedule) and the HMAC key states are made
// once per key; a deflate stream per beacon (see Stream in seal.cc). What
// this saves is Node's per-beacon JS objects: a zlib stream object for
// gzipSync, a Cipher for createCipheriv, an Hmac, and the buffers between
// them. Not thread-safe: one per thread.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "fernet_crypto.h"

struct z_stream_s;

namespace netbeacon {

constexpr size_t kSealHeader = 4;
constexpr size_t kTokenOverhead = 1 + 8 + 16 + kMacLen;
// The header's length field is 16 bits; a document whose token would not
// fit is refused before any work (gzip of incompressible bytes grows them).
constexpr size_t kMaxSealInput = 60000;

// deflateWindowBits of src/protocol/beacon.ts: 2^bits - 262 >= len, 9..15.
int SealWindowBits(size_t len);

class Sealer {
 public:
  // Throws std::runtime_error when OpenSSL or zlib cannot be set up.
  Sealer(const uint8_t signing_key[kKeyHalf], const uint8_t encryption_key[kKeyHalf]);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  // Room a sealed beacon of a len-byte document can need (len <= kMaxSealInput).
  static size_t MaxSealed(size_t len);

  // Seals bson[0..len) (len <= kMaxSealInput) as a v2 beacon of header type
  // `type`, stamped `seconds`, with `iv`, into out (room for MaxSealed(len)).
  // Returns the datagram's length, or 0 when zlib or OpenSSL failed or the
  // token would not fit the header's length field.
  size_t Seal(const uint8_t* bson, size_t len, uint8_t type, uint64_t seconds, const uint8_t iv[kAesBlock],
              uint8_t* out);

 private:
  struct CipherFree {
    void operator()(evp_cipher_ctx_st* p) const;
  };
  struct Stream;
  FernetCrypto mac_;
  std::unique_ptr<evp_cipher_ctx_st, CipherFree> aes_;
  std::unique_ptr<uint8_t[]> gz_;  // the gzip member, before encryption

  size_t Gzip(const uint8_t* in, size_t len);
};

}  // namespace netbeacon
