#include "crypto/keys.hpp"

#include <sodium.h>

#include <stdexcept>

namespace gridpact {

void crypto_init() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw std::runtime_error("libsodium failed to initialise");
}

KeyPair KeyPair::generate() {
  crypto_init();
  FixedBytes<32> seed;
  randombytes_buf(seed.data(), seed.size());
  return from_seed(seed);
}

KeyPair KeyPair::from_seed(const FixedBytes<32>& seed) {
  crypto_init();
  KeyPair kp;
  kp.seed_ = seed;
  crypto_sign_seed_keypair(kp.public_key_.data(), kp.secret_.data(), seed.data());
  return kp;
}

Signature KeyPair::sign(const uint8_t* msg, size_t size) const {
  Signature sig;
  crypto_sign_detached(sig.data(), nullptr, msg, size, secret_.data());
  return sig;
}

bool verify(const PublicKey& key, const uint8_t* msg, size_t size, const Signature& sig) {
  crypto_init();
  return crypto_sign_verify_detached(sig.data(), msg, size, key.data()) == 0;
}

}  // namespace gridpact
