// OpenSSL's SHA256_* functions, declared as OpenSSL 1.1 declared them: OpenSSL 3 keeps them
// (deprecated in favour of EVP) and they run the same code, the CPU's SHA extensions where
// present, without EVP's per-call context setup. That setup cost a third of the hash of a
// state tree node (65 bytes: 98 ns against 121-164 ns through a reused EVP context), and
// a block hashes some 30 nodes per changed key.
#define OPENSSL_API_COMPAT 0x10100000L

#include "crypto/hash.hpp"

#include <openssl/sha.h>

#include <stdexcept>

namespace gridpact {

Hash32 sha256(const uint8_t* data, size_t size) {
  Hash32 out;
  SHA256_CTX ctx;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, size) != 1 ||
      SHA256_Final(out.data(), &ctx) != 1)
    throw std::runtime_error("SHA-256 failed");
  return out;
}

}  // namespace gridpact
