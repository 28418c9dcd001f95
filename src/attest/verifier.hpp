// Verifying attestation evidence against a policy.
//
// A `tpm2` evidence is accepted when all of these hold (in this order, the first failure
// decides the code):
//   0. the policy's firmware PCR is not resettable (16-23), unless the policy allows
//      resettable PCRs (development chains only) (RESETTABLE_PCR);
//   1. the AK certificate chain's leaf is for ak_public, is a signing certificate (key
//      usage digitalSignature, not a CA) and chains to a trusted root, every certificate
//      valid at the policy's time, or now when none is given (UNTRUSTED_CA) -- the root is
//      the enrolment CA of enrol.hpp, which certified the AK only after checking the TPM's
//      EK certificate and activating a credential;
//   2. the quote is signed by the AK (BAD_QUOTE_SIGNATURE);
//   3. the quote is a TPM-generated TPM2_Quote (MALFORMED_EVIDENCE) whose extraData is the
//      expected nonce (ATTEST_NONCE_MISMATCH);
//   4. the quote selects exactly the SHA-256 PCRs listed in the evidence and its PCR digest
//      is SHA-256 over their values in index order (PCR_MISMATCH);
//   5. the firmware PCR equals SHA-256(32 zero bytes || m) for an allowed measurement m,
//      i.e. it was reset and extended exactly once with m (MEASUREMENT_NOT_ALLOWED);
//   6. a TPM2_Certify by the AK, over the same nonce, names the signing key's TPMT_PUBLIC,
//      and that public area is a fixedTPM, fixedParent, TPM-generated, sign-only ECDSA
//      P-256 key whose point is signing_key (KEY_NOT_CERTIFIED).
// A `virtual` evidence is accepted only when the policy allows it
// (VIRTUAL_NOT_ALLOWED), and then only if its Ed25519 self-signature over the nonce
// verifies (BAD_QUOTE_SIGNATURE). It proves possession of the key and nothing else.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "attest/evidence.hpp"

namespace gridpact::attest {

// PCR 16 is the TPM's debug PCR: resettable and unused by boot firmware, which is why a
// software meter agent (and swtpm) can own it -- and why it proves nothing: an agent that
// resets and extends it itself can sign any register values with a genuine TPM key. Only
// development policies accept it (allow_resettable_pcrs). On real hardware pick a PCR
// that only the boot chain extends (0-7, or 8-15 per platform convention); see README.md.
constexpr uint8_t kDefaultFirmwarePcr = 16;
// PCRs 16-23 can be reset after boot (16 and 23 from locality 0, 17-22 from higher
// localities, per the TCG PC Client profile).
constexpr bool is_resettable_pcr(uint8_t index) {
  return index >= 16 && index <= 23;
}

struct Policy {
  std::vector<Bytes> trusted_roots;          // DER certificates of enrolment CAs
  std::vector<Hash32> allowed_measurements;  // SHA-256 of allowed firmware images
  uint8_t firmware_pcr = kDefaultFirmwarePcr;
  bool allow_virtual = false;
  // Whether a resettable firmware PCR is accepted. The meters module sets it from the
  // chain's genesis `development` flag (meters::policy); node attestation, which checks a
  // node's own executable and has no ledger policy, keeps this default.
  bool allow_resettable_pcrs = true;
  // Time at which certificate validity is checked (unix seconds; the block time on the
  // ledger, which must always give one so that every node decides alike). nullopt: now.
  std::optional<int64_t> at_time;

  // Adds roots given as PEM (one or more) or DER. BAD_ATTEST_POLICY if none parse.
  Status add_trusted_roots(std::string_view pem_or_der);
};

// The expected value of a PCR reset to zeros and extended once with `measurement`.
Hash32 firmware_pcr_value(const Hash32& measurement);

struct Verified {
  Platform platform = Platform::kVirtual;
  Bytes signing_key;
  std::optional<Hash32> measurement;  // tpm2: the allowed measurement that matched
  bool insecure = true;               // true for virtual evidence
};

Result<Verified> verify_evidence(const Evidence& evidence, const Hash32& expected_nonce,
                                 const Policy& policy);
// Decodes first; any decoding failure is reported as MALFORMED_EVIDENCE (the message
// names the codec error).
Result<Verified> verify_evidence(const Bytes& encoded, const Hash32& expected_nonce,
                                 const Policy& policy);
// The usual call: the nonce is attestation_nonce(chain_id, evidence.signing_key,
// challenge), which ties the attested key to the evidence.
Result<Verified> verify_evidence_for_chain(const Evidence& evidence, std::string_view chain_id,
                                           const Bytes& challenge, const Policy& policy);

}  // namespace gridpact::attest
