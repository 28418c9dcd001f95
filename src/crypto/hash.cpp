#include "crypto/hash.hpp"

#include <openssl/sha.h>

namespace gridpact {

// OpenSSL's SHA-256 uses the CPU's SHA extensions where present: the state tree hashes
// hundreds of thousands of nodes per second, so this matters.
Hash32 sha256(const uint8_t* data, size_t size) {
  Hash32 out;
  SHA256(data, size, out.data());
  return out;
}

}  // namespace gridpact
