// AK enrolment: how an attestation key (AK) earns the certificate that verify_evidence()
// chains to a trusted root. The enrolment CA plays the TCG "privacy CA" role:
//
//   device -> CA : EK public (TPM2B_PUBLIC), EK certificate chain, AK public (TPMT_PUBLIC)
//   CA           : EK certificate chains to a trusted TPM manufacturer root (for swtpm,
//                  swtpm-localca's root) and certifies exactly this EK public key; the AK
//                  is a fixedTPM, restricted ECDSA P-256 signing key; then
//                  TPM2_MakeCredential(EK, name(AK), random secret), in software
//   CA -> device : credential blob + encrypted seed
//   device       : TPM2_ActivateCredential(AK, EK) -> secret; the TPM releases it only if
//                  it holds the EK's private key *and* has the named AK loaded
//   device -> CA : secret
//   CA           : secret matches -> X.509 certificate for the AK's P-256 key
//
// So an AK certificate from this CA means: a key that cannot leave a TPM whose EK a
// trusted manufacturer certified. The CA's root is what Policy::trusted_roots holds. The
// protocol is transport-free: the caller carries the messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "attest/tpm2_structs.hpp"
#include "attest/x509.hpp"

namespace gridpact::attest {

struct EnrolmentRequest {
  Bytes ek_public;                   // marshalled TPM2B_PUBLIC of the (ECC) EK
  std::vector<Bytes> ek_cert_chain;  // DER, EK certificate first, then intermediates
  Bytes ak_public;                   // marshalled TPMT_PUBLIC of the AK
};

// What the CA remembers between the two steps (keep it server-side: it holds the secret).
struct PendingEnrolment {
  Bytes secret;
  P256Point ak_point;
};

struct EnrolmentChallenge {
  Credential credential;  // to TPM2_ActivateCredential
  PendingEnrolment pending;
};

class EnrolmentCa {
 public:
  // `ek_roots`: DER roots of TPM manufacturers whose EK certificates are trusted.
  // `at_time`: as in Policy (nullopt ignores validity periods).
  EnrolmentCa(CertificateAuthority ca, std::vector<Bytes> ek_roots,
              std::optional<int64_t> at_time = std::nullopt)
      : ca_(std::move(ca)), ek_roots_(std::move(ek_roots)), at_time_(at_time) {}

  // UNTRUSTED_CA if the EK certificate does not chain to an EK root; ENROLMENT_REJECTED if
  // the certificate is for another key or the AK is not a restricted TPM signing key.
  Result<EnrolmentChallenge> challenge(const EnrolmentRequest& request) const;
  // The AK certificate (DER), or ENROLMENT_REJECTED if `activated` is not the secret.
  Result<Bytes> complete(const PendingEnrolment& pending, const Bytes& activated,
                         const std::string& common_name) const;

  const CertificateAuthority& ca() const { return ca_; }

 private:
  CertificateAuthority ca_;
  std::vector<Bytes> ek_roots_;
  std::optional<int64_t> at_time_;
};

}  // namespace gridpact::attest
