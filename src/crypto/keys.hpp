// Ed25519 keys and signatures (libsodium). Every account, validator and virtual meter is
// an Ed25519 public key; its 32 bytes are the account's address.
#pragma once

#include <string>

#include "crypto/hash.hpp"

namespace gridpact {

using PublicKey = FixedBytes<32>;
using Signature = FixedBytes<64>;

// A secret key. It never appears in logs: there is deliberately no hex() or operator<<.
class KeyPair {
 public:
  static KeyPair generate();
  // Deterministic key from a 32-byte seed (tests, benchmarks, key files).
  static KeyPair from_seed(const FixedBytes<32>& seed);

  const PublicKey& public_key() const { return public_key_; }
  const FixedBytes<32>& seed() const { return seed_; }
  Signature sign(const uint8_t* msg, size_t size) const;
  Signature sign(const Hash32& digest) const { return sign(digest.data(), digest.size()); }

 private:
  PublicKey public_key_;
  FixedBytes<32> seed_;
  FixedBytes<64> secret_;  // libsodium's expanded form: seed || public key
};

bool verify(const PublicKey& key, const uint8_t* msg, size_t size, const Signature& sig);
inline bool verify(const PublicKey& key, const Hash32& digest, const Signature& sig) {
  return verify(key, digest.data(), digest.size(), sig);
}

// Initialises libsodium once; safe to call from any thread.
void crypto_init();

}  // namespace gridpact
