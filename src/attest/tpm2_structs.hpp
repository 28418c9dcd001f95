// The TPM 2.0 structures a verifier reads (via tss2-mu, no TPM needed) and a software
// TPM2_MakeCredential for the enrolment CA.
#pragma once

#include <cstdint>
#include <vector>

#include "attest/evidence.hpp"

namespace gridpact::attest {

// TPM2_ST_ATTEST_* values of TPMS_ATTEST.type that we use.
constexpr uint16_t kAttestQuote = 0x8018;
constexpr uint16_t kAttestCertify = 0x8017;

// The fields of a TPMS_ATTEST that verification needs. Unmarshalling is strict: the magic
// must be TPM_GENERATED_VALUE (so the structure was made by a TPM, not fed to it for
// signing) and every byte must be consumed.
struct AttestInfo {
  uint16_t type = 0;
  Bytes extra_data;  // the caller's nonce (qualifyingData)
  // Quote: the selected SHA-256 PCRs (ascending) and the digest over their values.
  std::vector<uint8_t> pcr_indices;
  bool other_banks_selected = false;
  Bytes pcr_digest;
  // Certify: the certified object's name.
  Bytes certified_name;
};
// kMalformedEvidence on anything unparsable.
Result<AttestInfo> parse_attest(const Bytes& tpms_attest);

// TPMA_OBJECT bits.
constexpr uint32_t kAttrFixedTpm = 0x00000002;
constexpr uint32_t kAttrFixedParent = 0x00000010;
constexpr uint32_t kAttrSensitiveDataOrigin = 0x00000020;
constexpr uint32_t kAttrUserWithAuth = 0x00000040;
constexpr uint32_t kAttrRestricted = 0x00010000;
constexpr uint32_t kAttrDecrypt = 0x00020000;
constexpr uint32_t kAttrSign = 0x00040000;

// The fields of a TPMT_PUBLIC we check for P-256 signing keys (signing key, AK).
struct PublicInfo {
  uint16_t type = 0;      // TPM2_ALG_ECC = 0x0023
  uint16_t name_alg = 0;  // TPM2_ALG_SHA256 = 0x000b
  uint32_t attributes = 0;
  uint16_t curve = 0;   // TPM2_ECC_NIST_P256 = 0x0003
  uint16_t scheme = 0;  // TPM2_ALG_ECDSA = 0x0018
  uint16_t scheme_hash = 0;
  Bytes point;  // 0x04 || x || y for ECC keys (coordinates left-padded), else empty
};
// `tpmt_public` is a marshalled TPMT_PUBLIC (not TPM2B). kMalformedEvidence on error.
Result<PublicInfo> parse_public(const Bytes& tpmt_public);
// Name = nameAlg (u16) || H_nameAlg(TPMT_PUBLIC). SHA-256 names only.
Result<Bytes> object_name(const Bytes& tpmt_public);
// True if `info` describes a TPM-generated, non-duplicable ECDSA P-256 / SHA-256 key;
// `restricted` selects an attestation key (true) or a general signing key (false).
bool is_tpm_p256_signing_key(const PublicInfo& info, bool restricted);

// The TPM2_MakeCredential output: the contents of TPM2B_ID_OBJECT and
// TPM2B_ENCRYPTED_SECRET (without their size prefixes).
struct Credential {
  Bytes id_object;
  Bytes encrypted_secret;
};
// Wraps `secret` (<= 32 bytes) so that only the TPM holding the EK whose TPM2B_PUBLIC is
// `ek_public` can recover it, and only for a loaded object named `object_name`
// (TPM 2.0 Part 1, 24 "Credential Protection"). ECC EKs (P-256, P-384) only.
Result<Credential> make_credential(const Bytes& ek_public, const Bytes& object_name,
                                   const Bytes& secret);

// The ECC point of a marshalled TPM2B_PUBLIC (any curve), for matching the EK against its
// certificate.
Result<Bytes> tpm2b_public_ecc_point(const Bytes& tpm2b_public);
// TPMT_PUBLIC bytes inside a marshalled TPM2B_PUBLIC.
Result<Bytes> tpmt_from_tpm2b_public(const Bytes& tpm2b_public);

}  // namespace gridpact::attest
