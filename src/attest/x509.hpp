// The X.509 pieces attestation needs (OpenSSL): parse certificates, verify a chain to a
// set of trusted roots, and a minimal certificate authority that issues AK certificates
// (enrol.hpp) and test CAs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "attest/p256.hpp"

namespace gridpact::attest {

// One or more PEM certificates, or exactly one DER certificate, as DER. kBadPolicy on
// anything else.
Result<std::vector<Bytes>> parse_certificates(std::string_view pem_or_der);

// What the leaf certificate must be good for. kSigning: an end-entity certificate whose
// key usage includes digitalSignature (an AK certificate); kAny: only the chain matters
// (TPM EK certificates carry TCG extensions and an ekCertificate EKU).
enum class LeafUse { kAny, kSigning };

// Verifies that chain[0] chains to one of `roots` through chain[1..] (untrusted
// intermediates). `at_time` (unix seconds) is the time at which validity periods are
// checked; on the ledger it must be the block time so that every node decides alike.
// With nullopt they are checked now. kUntrustedCa on failure.
Status verify_chain(const std::vector<Bytes>& chain, const std::vector<Bytes>& roots,
                    std::optional<int64_t> at_time, LeafUse use = LeafUse::kAny);

// The uncompressed EC point of a certificate's subject key, or nullopt (not EC, bad DER).
std::optional<Bytes> certificate_ec_point(const Bytes& der);

// A P-256 certificate authority with its private key in memory.
class CertificateAuthority {
 public:
  // A self-signed root valid for `days` from an hour ago, or from `valid_from` (unix
  // seconds) when given; such a root also dates the certificates it issues from then. A
  // chain whose block times lie in the past (gridpact simulate --tpm replays a simulated
  // year) checks them at those times.
  static CertificateAuthority create_root(const std::string& common_name, int days = 3650,
                                          std::optional<int64_t> valid_from = std::nullopt);
  // Loads a CA from its certificate (DER or PEM) and PEM private key.
  static Result<CertificateAuthority> load(std::string_view cert, std::string_view key_pem);

  const Bytes& certificate() const { return cert_der_; }
  std::string certificate_pem() const;
  std::string private_key_pem() const;

  // Issues a certificate for a P-256 point. `is_ca` makes an intermediate CA (whose key
  // is `subject_key`, for which the caller must hold the private key).
  Result<Bytes> issue(const P256Point& subject_point, const std::string& common_name,
                      bool is_ca = false, int days = 3650) const;
  // An intermediate CA signed by this one (dated as this one).
  CertificateAuthority create_intermediate(const std::string& common_name) const;

 private:
  P256KeyPair key_;
  Bytes cert_der_;
  std::optional<int64_t> valid_from_;
};

}  // namespace gridpact::attest
