// Stable error codes of the attestation module (range 1000-1099, shared with meters).
//
// These appear in registry receipts when a meter or node registration is rejected, so
// they are part of the ledger's contract: never renumber, only add.
#pragma once

#include "base/error.hpp"

namespace gridpact::attest {

// X(constant, number, name, meaning).
#define GRIDPACT_ATTEST_CODES(X)                                                               \
  X(kMalformedEvidence, 1000, "MALFORMED_EVIDENCE",                                            \
    "the evidence TPM structures are inconsistent or unparsable")                              \
  X(kVirtualNotAllowed, 1001, "VIRTUAL_NOT_ALLOWED",                                           \
    "virtual evidence where the policy demands hardware")                                      \
  X(kBadQuoteSignature, 1002, "BAD_QUOTE_SIGNATURE",                                           \
    "the quote does not verify under the attesting key")                                       \
  X(kNonceMismatch, 1003, "ATTEST_NONCE_MISMATCH",                                             \
    "the quote is for another nonce (replay, other key or chain)")                             \
  X(kPcrMismatch, 1004, "PCR_MISMATCH", "the quoted PCR digest does not match the PCR values") \
  X(kMeasurementNotAllowed, 1005, "MEASUREMENT_NOT_ALLOWED",                                   \
    "the firmware measurement is not allowed")                                                 \
  X(kUntrustedCa, 1006, "UNTRUSTED_CA", "a certificate does not chain to a trusted root")      \
  X(kKeyNotCertified, 1007, "KEY_NOT_CERTIFIED",                                               \
    "the signing key is not certified as TPM-resident")                                        \
  X(kTpmError, 1008, "TPM_ERROR", "a TPM command failed")                                      \
  X(kEnrolmentRejected, 1009, "ENROLMENT_REJECTED",                                            \
    "the AK or activated credential fails enrolment")                                          \
  X(kBadPolicy, 1010, "BAD_ATTEST_POLICY", "an attestation policy could not be parsed")        \
  X(kResettablePcr, 1011, "RESETTABLE_PCR",                                                    \
    "the firmware PCR is resettable by software and the policy is not a development one")      \
  X(kSwtpmNotInstalled, 1012, "SWTPM_NOT_INSTALLED",                                           \
    "swtpm or swtpm_setup (the TPM emulator) is not on PATH")
GRIDPACT_CODES(kAttestCodes, "attest", 1000, GRIDPACT_ATTEST_CODES);

// Registers the names above with base/error (idempotent, thread-safe). Every public entry
// point of this module calls it, so callers only need it to name codes they build
// themselves.
void register_attest_codes();

}  // namespace gridpact::attest
