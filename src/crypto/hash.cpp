#include "crypto/hash.hpp"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>

namespace gridpact {
namespace {

// OpenSSL 3's one-shot SHA256() looks the algorithm up by name on every call, which costs
// three times the hash of a tree node. The algorithm is fetched once, and each thread
// reuses one context.
const EVP_MD* sha256_algorithm() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

EVP_MD_CTX* thread_context() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           EVP_MD_CTX_free);
  return ctx.get();
}

}  // namespace

// OpenSSL's SHA-256 uses the CPU's SHA extensions where present: the state tree hashes
// hundreds of thousands of nodes per second, so this matters.
Hash32 sha256(const uint8_t* data, size_t size) {
  Hash32 out;
  EVP_MD_CTX* ctx = thread_context();
  const EVP_MD* md = sha256_algorithm();
  if (!ctx || !md || EVP_DigestInit_ex2(ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, data, size) != 1 || EVP_DigestFinal_ex(ctx, out.data(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return out;
}

}  // namespace gridpact
