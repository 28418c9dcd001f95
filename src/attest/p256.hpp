// ECDSA P-256 / SHA-256, the signature scheme of TPM-resident meter keys (OpenSSL EVP).
//
// On the ledger a P-256 public key is its 65-byte uncompressed SEC1 point (0x04 || x || y)
// and a signature is 64 bytes r || s (each big-endian, left-padded to 32 bytes): fixed
// size, so it encodes canonically, unlike DER. der_to_raw() converts what OpenSSL and
// tpm2-tools produce; the TPM's own TPMS_SIGNATURE_ECDSA is converted in tpm2_device.cpp.
#pragma once

#include <memory>
#include <optional>

#include "attest/evidence.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace gridpact::attest {

// A parsed public key: parse once, verify many times (parsing costs about as much as
// one verification).
class P256PublicKey {
 public:
  // Empty if `point` is not an uncompressed point on P-256.
  static std::optional<P256PublicKey> parse(const P256Point& point);
  // SHA-256 of `msg`, then ECDSA. Both low- and high-S signatures verify (TPMs emit
  // either), so a signature is malleable: identify readings by content, never by
  // signature bytes.
  bool verify(const uint8_t* msg, size_t size, const P256Signature& sig) const;
  bool verify(const Bytes& msg, const P256Signature& sig) const {
    return verify(msg.data(), msg.size(), sig);
  }
  // ECDSA over an already computed SHA-256 digest.
  bool verify_digest(const Hash32& digest, const P256Signature& sig) const;
  EVP_PKEY* pkey() const { return key_.get(); }

 private:
  struct Free {
    void operator()(EVP_PKEY* k) const;
  };
  std::shared_ptr<EVP_PKEY> key_;
};

// One-shot helpers: false on a bad key, a bad signature or a mismatch.
bool verify_p256(const P256Point& pubkey, const uint8_t* msg, size_t size,
                 const P256Signature& sig);
inline bool verify_p256(const P256Point& pubkey, const Bytes& msg, const P256Signature& sig) {
  return verify_p256(pubkey, msg.data(), msg.size(), sig);
}
bool verify_p256_digest(const P256Point& pubkey, const Hash32& digest, const P256Signature& sig);

// DER ECDSA-Sig-Value <-> r || s. Empty optional on malformed input or out-of-range
// integers.
std::optional<P256Signature> der_to_raw(const uint8_t* der, size_t size);
Bytes raw_to_der(const P256Signature& sig);

// A software P-256 key, for tools, tests and benchmarks (a real meter's key never leaves
// its TPM).
class P256KeyPair {
 public:
  static P256KeyPair generate();
  const P256Point& public_point() const { return point_; }
  P256Signature sign(const uint8_t* msg, size_t size) const;
  P256Signature sign(const Bytes& msg) const { return sign(msg.data(), msg.size()); }
  EVP_PKEY* pkey() const { return key_.get(); }
  // Takes ownership of an OpenSSL P-256 private key whose point is `point`.
  static P256KeyPair adopt(EVP_PKEY* key, const P256Point& point);

 private:
  std::shared_ptr<EVP_PKEY> key_;
  P256Point point_;
};

// The uncompressed point of an EC public key (any curve), e.g. from a certificate.
std::optional<Bytes> ec_public_point(EVP_PKEY* key);

}  // namespace gridpact::attest
