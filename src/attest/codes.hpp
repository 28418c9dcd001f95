// Stable error codes of the attestation module (range 1000-1099, shared with meters).
//
// These appear in registry receipts when a meter or node registration is rejected, so
// they are part of the ledger's contract: never renumber, only add.
#pragma once

#include "base/error.hpp"

namespace gridpact::attest {

// Evidence that decodes but whose TPM structures are inconsistent or unparsable.
constexpr Code kMalformedEvidence = static_cast<Code>(1000);
// A `virtual` platform evidence offered where the policy demands hardware.
constexpr Code kVirtualNotAllowed = static_cast<Code>(1001);
// The quote (or a virtual self-signature) does not verify under the attesting key.
constexpr Code kBadQuoteSignature = static_cast<Code>(1002);
// The quote's extraData is not the nonce the verifier expected (replay, other key/chain).
constexpr Code kNonceMismatch = static_cast<Code>(1003);
// The quoted PCR selection or digest does not match the PCR values in the evidence.
constexpr Code kPcrMismatch = static_cast<Code>(1004);
// The firmware PCR is not the extension of any allowed measurement.
constexpr Code kMeasurementNotAllowed = static_cast<Code>(1005);
// The AK certificate (or an EK certificate at enrolment) does not chain to a trusted root.
constexpr Code kUntrustedCa = static_cast<Code>(1006);
// The signing key is not certified by the AK as a TPM-resident, sign-only key.
constexpr Code kKeyNotCertified = static_cast<Code>(1007);
// A TPM command failed (device side; never appears in verification results).
constexpr Code kTpmError = static_cast<Code>(1008);
// Enrolment: the AK is not a restricted, TPM-bound signing key, or the activated
// credential does not match.
constexpr Code kEnrolmentRejected = static_cast<Code>(1009);
// A policy (root certificates, measurements) could not be parsed.
constexpr Code kBadPolicy = static_cast<Code>(1010);
// The policy's firmware PCR is one software may reset (16-23) and the policy is not a
// development one: a PCR the agent resets and extends itself proves nothing.
constexpr Code kResettablePcr = static_cast<Code>(1011);

// Registers the names above with base/error (idempotent, thread-safe). Every public entry
// point of this module calls it, so callers only need it to name codes they build
// themselves.
void register_attest_codes();

}  // namespace gridpact::attest
