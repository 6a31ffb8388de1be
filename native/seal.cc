#include "seal.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <climits>
#include <cstring>
#include <stdexcept>

namespace netbeacon {

namespace {

constexpr int kLevel = 9;
constexpr int kMemLevel = 8;  // Node's default, so the same stream as gzipSync
constexpr int kGzipWrapper = 16;
constexpr size_t kLookahead = 262;  // deflate's MIN_LOOKAHEAD

// zlib's deflateBound for gzip at memLevel 8 is a little over len + len/1000;
// fixed Huffman codes can cost up to 9 bits a literal, hence len/8 here.
size_t GzipBound(size_t len) { return len + len / 8 + 64; }

}  // namespace

int SealWindowBits(size_t len) {
  int bits = 9;
  while (bits < 15 && (size_t{1} << bits) - kLookahead < len) bits++;
  return bits;
}

// A stream for one beacon: made fresh each time, as gzipSync makes it.
// deflateReset would save the set-up, but it keeps the old window, and the
// deflate in Node's zlib (Chromium's) then finds different matches than a
// fresh stream does: 3% of random documents came out different.
struct Sealer::Stream {
  z_stream zs{};
  bool live = false;
  ~Stream() {
    if (live) deflateEnd(&zs);
  }
};

void Sealer::CipherFree::operator()(evp_cipher_ctx_st* p) const { EVP_CIPHER_CTX_free(p); }

Sealer::Sealer(const uint8_t signing_key[kKeyHalf], const uint8_t encryption_key[kKeyHalf])
    : mac_(signing_key, encryption_key), aes_(EVP_CIPHER_CTX_new()), gz_(new uint8_t[GzipBound(kMaxSealInput)]) {
  EVP_CIPHER* cbc = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
  // The key schedule is made once; Seal only sets the IV. Padding stays on: PKCS7.
  const bool ok = cbc && aes_ && EVP_EncryptInit_ex2(aes_.get(), cbc, encryption_key, nullptr, nullptr) == 1;
  EVP_CIPHER_free(cbc);
  if (!ok) throw std::runtime_error("OpenSSL cannot set up AES-128-CBC encryption with the Fernet key");
}

Sealer::~Sealer() = default;

size_t Sealer::MaxSealed(size_t len) { return kSealHeader + kTokenOverhead + GzipBound(len) + kAesBlock; }

size_t Sealer::Gzip(const uint8_t* in, size_t len) {
  Stream s;
  if (deflateInit2(&s.zs, kLevel, Z_DEFLATED, SealWindowBits(len) + kGzipWrapper, kMemLevel, Z_FIXED) != Z_OK) return 0;
  s.live = true;
  s.zs.next_in = const_cast<Bytef*>(in);
  s.zs.avail_in = static_cast<uInt>(len);
  s.zs.next_out = gz_.get();
  s.zs.avail_out = static_cast<uInt>(GzipBound(len));
  if (deflate(&s.zs, Z_FINISH) != Z_STREAM_END) return 0;
  return static_cast<size_t>(s.zs.total_out);
}

size_t Sealer::Seal(const uint8_t* bson, size_t len, uint8_t type, uint64_t seconds, const uint8_t iv[kAesBlock],
                    uint8_t* out) {
  if (len > kMaxSealInput) return 0;
  const size_t gz_len = Gzip(bson, len);
  if (gz_len == 0) return 0;
  const size_t ct_len = (gz_len / kAesBlock + 1) * kAesBlock;  // PKCS7 always adds 1..16 bytes
  const size_t token_len = kTokenOverhead + ct_len;
  if (token_len > 0xffff) return 0;
  uint8_t* token = out + kSealHeader;
  token[0] = 0x80;
  for (int i = 0; i < 8; i++) token[1 + i] = static_cast<uint8_t>(seconds >> (56 - 8 * i));
  std::memcpy(token + 9, iv, kAesBlock);
  uint8_t* ct = token + 25;
  int n1 = 0;
  int n2 = 0;
  if (EVP_EncryptInit_ex2(aes_.get(), nullptr, nullptr, iv, nullptr) != 1 ||
      EVP_EncryptUpdate(aes_.get(), ct, &n1, gz_.get(), static_cast<int>(gz_len)) != 1 ||
      EVP_EncryptFinal_ex(aes_.get(), ct + n1, &n2) != 1 ||
      static_cast<size_t>(n1) + static_cast<size_t>(n2) != ct_len) {
    return 0;
  }
  if (!mac_.Mac(token, 25 + ct_len, token + 25 + ct_len)) return 0;
  out[0] = 2;
  out[1] = type;
  out[2] = static_cast<uint8_t>(token_len >> 8);
  out[3] = static_cast<uint8_t>(token_len & 0xff);
  return kSealHeader + token_len;
}

}  // namespace netbeacon
