// Attestation evidence: what a meter or node presents so that a verifier can decide that
// its signing key lives in trusted hardware running allowed firmware.
//
// Canonical encoding (src/codec rules, version 1):
//
//   u8     version            = 1
//   u8     platform           1 = virtual, 2 = tpm2
//   bytes  signing_key        virtual: 32-byte Ed25519 key; tpm2: 65-byte SEC1 P-256 point
//   virtual:
//     fixed64 self_signature  Ed25519 over virtual_signing_message(nonce)
//   tpm2:
//     bytes  ak_public        65-byte SEC1 P-256 point of the attestation key (AK)
//     list   ak_cert_chain    DER certificates, leaf (the AK's) first, <= 4 of <= 4096 B
//     bytes  quote            TPMS_ATTEST of TPM2_Quote, as the TPM produced it
//     fixed64 quote_signature ECDSA P-256 r||s by the AK over SHA-256(quote)
//     list   pcrs             (u8 index, fixed32 SHA-256 value), indices strictly
//                             increasing, < 24; the quote's selection is exactly these
//     bytes  signing_public   TPMT_PUBLIC of the signing key, as the TPM marshals it
//     bytes  certify_info     TPMS_ATTEST of TPM2_Certify(signing key) by the AK
//     fixed64 certify_signature ECDSA P-256 r||s by the AK over SHA-256(certify_info)
//
// Only the SHA-256 PCR bank is supported in version 1. The EK certificate is not part of
// the evidence: the AK certificate's issuer vouches for it (see enrol.hpp).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "crypto/hash.hpp"
#include "crypto/keys.hpp"

namespace gridpact::attest {

enum class Platform : uint8_t { kVirtual = 1, kTpm2 = 2 };

constexpr uint8_t kEvidenceVersion = 1;
constexpr size_t kP256PointSize = 65;  // 0x04 || x || y
constexpr size_t kMaxCertChain = 4;
constexpr size_t kMaxCertSize = 4096;
constexpr size_t kMaxAttestSize = 1024;
constexpr size_t kMaxTpmPublicSize = 512;
constexpr size_t kNumPcrs = 24;

using P256Point = FixedBytes<kP256PointSize>;
using P256Signature = FixedBytes<64>;  // r || s, each 32 bytes big-endian

struct PcrValue {
  uint8_t index = 0;
  Hash32 value;
  bool operator==(const PcrValue&) const = default;
};

struct Tpm2Evidence {
  P256Point ak_public;
  std::vector<Bytes> ak_cert_chain;
  Bytes quote;
  P256Signature quote_signature;
  std::vector<PcrValue> pcrs;
  Bytes signing_public;
  Bytes certify_info;
  P256Signature certify_signature;
  bool operator==(const Tpm2Evidence&) const = default;
};

struct VirtualEvidence {
  Signature self_signature;
  bool operator==(const VirtualEvidence&) const = default;
};

struct Evidence {
  uint8_t version = kEvidenceVersion;
  Platform platform = Platform::kVirtual;
  Bytes signing_key;
  VirtualEvidence virt;  // meaningful when platform == kVirtual
  Tpm2Evidence tpm2;     // meaningful when platform == kTpm2
  bool operator==(const Evidence&) const = default;
};

// Throws gridpact::Error with FIELD_TOO_LONG if a field exceeds its limit.
Bytes encode_evidence(const Evidence& e);
// Strict: TRUNCATED, TRAILING_BYTES, FIELD_TOO_LONG, BAD_ENCODING (wrong key size, PCR
// indices out of order), UNKNOWN_VERSION, UNKNOWN_TYPE (platform). Decoding checks shape
// only; verify_evidence() checks meaning.
Result<Evidence> decode_evidence(const uint8_t* data, size_t size);
inline Result<Evidence> decode_evidence(const Bytes& b) {
  return decode_evidence(b.data(), b.size());
}

// The nonce that must appear in the quote (and the certify info): it binds the evidence
// to one ledger and one signing key, so a quote cannot be replayed for another key or
// chain; `challenge` is an optional fresh value from the verifier (empty for
// registration transactions, whose freshness comes from the ledger's tx nonce).
//   SHA-256("GRIDPACT/attest/v1" || u32 len || chain_id || u32 len || signing_key ||
//           u32 len || challenge)
Hash32 attestation_nonce(std::string_view chain_id, const Bytes& signing_key,
                         const Bytes& challenge = {});

// What a virtual platform signs: a labelled digest of the nonce, so the signature can
// never be mistaken for a transaction or reading signature.
Hash32 virtual_signing_message(const Hash32& nonce);

}  // namespace gridpact::attest
